//! The device authorization grant (RFC 8628) as `kubectl oidc-login --grant-type=device-code`
//! drives it: the device asks for codes and polls `/token`, while the user types the code in
//! a browser on another machine and logs in there.

use crate::common::rp::{self, DexIdToken, RpHttp};
use crate::common::*;
use openidconnect::core::{CoreDeviceAuthorizationResponse, CoreTokenResponse};
use openidconnect::{DeviceAuthorizationUrl, Nonce, OAuth2TokenResponse, Scope, TokenResponse};
use reqwest::StatusCode;
use std::time::Duration;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// POST /device/code as a public client (client_id in the body) with extra fields.
async fn device_code(server: &TestServer, client_id: &str, extra: &[(&str, &str)]) -> ApiResponse {
    let mut form = vec![("client_id", client_id)];
    form.extend_from_slice(extra);
    ApiResponse::read(api().post(server.url("/device/code")).form(&form).send().await.unwrap()).await
}

/// A device flow for `kubectl`: `(device_code, user_code)`.
async fn start(server: &TestServer, extra: &[(&str, &str)]) -> (String, String) {
    let mut form = vec![("scope", "openid email groups")];
    form.extend_from_slice(extra);
    let response = device_code(server, KUBECTL_ID, &form).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    (response.str("device_code").to_string(), response.str("user_code").to_string())
}

/// One poll of the token endpoint, as a public client.
async fn poll(
    server: &TestServer,
    client_id: &str,
    device_code: &str,
    extra: &[(&str, &str)],
) -> ApiResponse {
    let mut form = vec![("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", client_id)];
    form.extend_from_slice(extra);
    server.token(None, &form).await
}

/// The user's side up to the consent page: the code form (reached through
/// `verification_uri_complete`), then the password form.
async fn log_in_on_browser(browser: &reqwest::Client, server: &TestServer, user_code: &str) -> Page {
    let url = url::Url::parse(&server.url(&format!("/device?user_code={user_code}"))).unwrap();
    let page = navigate(browser, &url).await.page();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(input_value(&page.body, "user_code").as_deref(), Some(user_code), "pre-filled");
    let password = submit(browser, &page.form(), &[("user_code", user_code)]).await.page();
    assert_eq!(password.status, StatusCode::OK, "{}", password.body);
    submit_password(browser, &password, ADMIN_EMAIL, ADMIN_PASSWORD).await.page()
}

/// The user's whole side: code, login, consent; returns the page the browser ends on.
async fn approve_on_browser(server: &TestServer, user_code: &str) -> Page {
    let browser = browser();
    let consent = log_in_on_browser(&browser, server, user_code).await;
    approve(&browser, &consent).await.page()
}

fn input_value(body: &str, name: &str) -> Option<String> {
    let document = scraper::Html::parse_document(body);
    let selector = scraper::Selector::parse(&format!(r#"input[name="{name}"]"#)).unwrap();
    document.select(&selector).next().and_then(|input| input.value().attr("value").map(str::to_string))
}

#[track_caller]
fn assert_success_page(page: &Page) {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.url.path().ends_with("/device/callback"), "{}", page.url);
    assert_eq!(html::text(&page.body, "h1").as_deref(), Some("Device connected"), "{}", page.body);
    assert!(page.body.contains("kubectl"), "the client's name: {}", page.body);
}

/// kubelogin's flow with the `openidconnect` crate: discovery, device authorization, and the
/// crate's own polling loop (its sleep moves the server clock instead of sleeping; the first
/// sleep waits until the user is done in the browser).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelogin_device_flow_with_rp_library() {
    let server = TestServer::start().await;
    let discovery = api().get(server.url("/.well-known/openid-configuration")).send().await.unwrap();
    let discovery: serde_json::Value = discovery.json().await.unwrap();
    let endpoint = discovery["device_authorization_endpoint"].as_str().unwrap().to_string();
    assert_eq!(endpoint, format!("{}/device/code", server.issuer));
    assert!(discovery["grant_types_supported"].as_array().unwrap().iter().any(|g| g == DEVICE_GRANT));

    let http = RpHttp::new();
    let client = rp::client(&server, &http, KUBECTL_ID, None, "http://localhost:8000")
        .await
        .set_device_authorization_url(DeviceAuthorizationUrl::new(endpoint).unwrap());
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("groups".into()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("device authorization failed: {e:?}"));
    let user_code = details.user_code().secret().clone();
    assert_eq!(details.verification_uri().as_str(), format!("{}/device", server.issuer));
    let complete = details.verification_uri_complete().unwrap().secret().clone();
    assert_eq!(complete, format!("{}/device?user_code={user_code}", server.issuer));
    assert_eq!(details.interval(), Duration::from_secs(5));
    assert_eq!(details.expires_in(), Duration::from_secs(300));

    let (done, done_rx) = tokio::sync::watch::channel(false);
    let clock = server.clock.clone();
    let sleep = move |interval: Duration| {
        let mut done = done_rx.clone();
        let clock = clock.clone();
        async move {
            done.wait_for(|d| *d).await.unwrap();
            clock.advance(interval.as_secs() as i64);
        }
    };
    let polling = async {
        client
            .exchange_device_access_token(&details)
            .unwrap()
            .request_async(&http, sleep, None)
            .await
            .unwrap_or_else(|e| panic!("polling failed: {e:?}"))
    };
    let user = async {
        let page = approve_on_browser(&server, &user_code).await;
        done.send(true).unwrap();
        page
    };
    let (tokens, page): (CoreTokenResponse, Page) = tokio::join!(polling, user);
    assert_success_page(&page);

    let id_token: DexIdToken = tokens.id_token().unwrap().to_string().parse().unwrap();
    let claims = id_token
        .claims(&client.id_token_verifier(), |nonce: Option<&Nonce>| match nonce {
            None => Ok(()),
            Some(_) => Err("the device flow sends no nonce".to_string()),
        })
        .unwrap_or_else(|e| panic!("ID token rejected: {e:?}"));
    assert_eq!(claims.audiences().iter().map(|a| a.as_str()).collect::<Vec<_>>(), [KUBECTL_ID]);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(ADMIN_EMAIL));
    let groups = claims.additional_claims().groups.clone().unwrap_or_default();
    assert_eq!(groups, ["admins", "developers"]);
    let userinfo = server.userinfo(tokens.access_token().secret()).await;
    assert_eq!(userinfo.status, StatusCode::OK, "{}", userinfo.text);
    assert_eq!(userinfo.str("email"), ADMIN_EMAIL);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authorization_response() {
    let server = TestServer::start().await;
    let response = device_code(&server, KUBECTL_ID, &[("scope", "openid email")]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let user_code = response.str("user_code");
    assert_eq!(user_code.len(), 9);
    assert!(user_code.chars().enumerate().all(|(i, c)| if i == 4 {
        c == '-'
    } else {
        "BCDFGHJKLMNPQRSTVWXZ".contains(c)
    }));
    assert!(response.str("device_code").len() >= 43, "high entropy");
    assert_eq!(response.str("verification_uri"), format!("{}/device", server.issuer));
    assert_eq!(
        response.str("verification_uri_complete"),
        format!("{}/device?user_code={user_code}", server.issuer)
    );
    assert_eq!(response.json["expires_in"], 300);
    assert_eq!(response.json["interval"], 5);

    let other = device_code(&server, KUBECTL_ID, &[]).await;
    assert_eq!(other.status, StatusCode::OK, "no scope means openid, as in Dex: {}", other.text);
    assert_ne!(other.str("user_code"), user_code);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authorization_errors() {
    let server = TestServer::start().await;
    device_code(&server, "nobody", &[("scope", "openid")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    device_code(&server, "", &[("scope", "openid")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    // A confidential client authenticates as at the token endpoint.
    device_code(&server, CLIENT_ID, &[("scope", "openid")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let wrong = api()
        .post(server.url("/device/code"))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[("scope", "openid")]);
    ApiResponse::read(wrong.send().await.unwrap())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let right = api()
        .post(server.url("/device/code"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("scope", "openid")]);
    let right = ApiResponse::read(right.send().await.unwrap()).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text);

    device_code(&server, KUBECTL_ID, &[("scope", "email")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    device_code(&server, KUBECTL_ID, &[("scope", "openid admin")])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    let pkce = [("scope", "openid"), ("code_challenge", "short"), ("code_challenge_method", "S256")];
    device_code(&server, KUBECTL_ID, &pkce).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let method =
        [("scope", "openid"), ("code_challenge", &s256(&"v".repeat(43))), ("code_challenge_method", "S512")];
    device_code(&server, KUBECTL_ID, &method).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let json = api().post(server.url("/device/code")).json(&serde_json::json!({ "client_id": KUBECTL_ID }));
    ApiResponse::read(json.send().await.unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_pending_then_tokens_exactly_once() {
    pending_then_tokens_once(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_pending_then_tokens_exactly_once_on_postgres() {
    pending_then_tokens_once(Store::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_pending_then_tokens_exactly_once_on_mysql() {
    pending_then_tokens_once(Store::Mysql).await;
}

async fn pending_then_tokens_once(store: Store) {
    let server = TestServer::builder().store(store).start().await;
    let (device, user_code) = start(&server, &[]).await;
    poll(&server, KUBECTL_ID, &device, &[])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "authorization_pending");

    // The user is at the consent screen: still pending.
    let browser = browser();
    let consent = log_in_on_browser(&browser, &server, &user_code).await;
    server.advance(5);
    poll(&server, KUBECTL_ID, &device, &[])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "authorization_pending");

    assert_success_page(&approve(&browser, &consent).await.page());
    server.advance(5);
    let tokens = poll(&server, KUBECTL_ID, &device, &[]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.header("cache-control"), Some("no-store"));
    assert_eq!(tokens.str("token_type"), "bearer");
    assert!(!tokens.str("access_token").is_empty());
    let claims = jwt_claims(tokens.str("id_token"));
    assert_eq!(claims["aud"], KUBECTL_ID);
    assert_eq!(claims["email"], ADMIN_EMAIL);

    // Single use: the device code is gone once the tokens were handed out.
    server.advance(5);
    poll(&server, KUBECTL_ID, &device, &[]).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // And the user code cannot start another login.
    let page = navigate(&browser, &url::Url::parse(&server.url("/device")).unwrap()).await.page();
    let again = submit(&browser, &page.form(), &[("user_code", &user_code)]).await.page();
    again.assert_error_page();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_down_when_polling_too_fast() {
    let server = TestServer::start().await;
    let (device, _) = start(&server, &[]).await;
    poll(&server, KUBECTL_ID, &device, &[])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "authorization_pending");
    let fast = poll(&server, KUBECTL_ID, &device, &[]).await;
    fast.assert_error(StatusCode::BAD_REQUEST, "slow_down");
    assert!(fast.str("error_description").contains("10 seconds"), "{}", fast.text);
    // The interval is now 10s for good: 5s is too fast, and the interval grows again.
    server.advance(5);
    let still = poll(&server, KUBECTL_ID, &device, &[]).await;
    still.assert_error(StatusCode::BAD_REQUEST, "slow_down");
    assert!(still.str("error_description").contains("15 seconds"), "{}", still.text);
    server.advance(15);
    poll(&server, KUBECTL_ID, &device, &[])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "authorization_pending");

    // A storm of concurrent polls: every answer is an RFC 8628 error, never a 5xx.
    let mut storm = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (url, device) = (server.url("/token"), device.clone());
        storm.spawn(async move {
            let form = [("grant_type", DEVICE_GRANT), ("device_code", &device), ("client_id", KUBECTL_ID)];
            ApiResponse::read(api().post(url).form(&form).send().await.unwrap()).await
        });
    }
    for response in storm.join_all().await {
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.text);
        assert!(["slow_down", "authorization_pending"].contains(&response.str("error")), "{}", response.text);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_after_device_requests_lifetime() {
    let server = TestServer::start().await;
    let (device, user_code) = start(&server, &[]).await;
    server.advance(301);
    poll(&server, KUBECTL_ID, &device, &[]).await.assert_error(StatusCode::BAD_REQUEST, "expired_token");
    // The user code no longer leads to a login either.
    let browser = browser();
    let url = url::Url::parse(&server.url(&format!("/device?user_code={user_code}"))).unwrap();
    let page = navigate(&browser, &url).await.page();
    let expired = submit(&browser, &page.form(), &[("user_code", &user_code)]).await.page();
    expired.assert_error_page();
    assert!(html::text(&expired.body, "#device-error").is_some(), "{}", expired.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expires_in_follows_expiry_device_requests() {
    let server = TestServer::builder().yaml("expiry:\n  deviceRequests: 90s\n").start().await;
    let response = device_code(&server, KUBECTL_ID, &[("scope", "openid")]).await;
    assert_eq!(response.json["expires_in"], 90, "{}", response.text);
    let device = response.str("device_code").to_string();
    server.advance(91);
    poll(&server, KUBECTL_ID, &device, &[]).await.assert_error(StatusCode::BAD_REQUEST, "expired_token");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_when_the_user_declines() {
    let server = TestServer::start().await;
    let (device, user_code) = start(&server, &[]).await;
    let browser = browser();
    let consent = log_in_on_browser(&browser, &server, &user_code).await;
    let declined = submit(&browser, &consent.form(), &[("approval", "rejected")]).await.page();
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    assert!(declined.url.path().ends_with("/device/callback"), "{}", declined.url);
    assert_eq!(html::text(&declined.body, "h1").as_deref(), Some("Access denied"), "{}", declined.body);

    poll(&server, KUBECTL_ID, &device, &[]).await.assert_error(StatusCode::BAD_REQUEST, "access_denied");
    server.advance(5);
    poll(&server, KUBECTL_ID, &device, &[]).await.assert_error(StatusCode::BAD_REQUEST, "access_denied");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_belongs_to_its_client() {
    let server = TestServer::start().await;
    let (device, user_code) = start(&server, &[]).await;
    assert_success_page(&approve_on_browser(&server, &user_code).await);
    poll(&server, NATIVE_ID, &device, &[]).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let confidential = server
        .token(Some((CLIENT_ID, CLIENT_SECRET)), &[("grant_type", DEVICE_GRANT), ("device_code", &device)])
        .await;
    confidential.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    poll(&server, KUBECTL_ID, "no-such-device-code", &[])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    poll(&server, KUBECTL_ID, "", &[]).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // The wrong clients did not use the code up. Go's oauth2 package (kubelogin) sends a
    // public client as HTTP Basic with an empty secret.
    let form = [("grant_type", DEVICE_GRANT), ("device_code", device.as_str())];
    let tokens = server.token(Some((KUBECTL_ID, "")), &form).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_on_the_device_request() {
    let server = TestServer::start().await;
    let verifier = "device-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    let challenge = s256(verifier);
    let (device, user_code) =
        start(&server, &[("code_challenge", &challenge), ("code_challenge_method", "S256")]).await;
    poll(&server, KUBECTL_ID, &device, &[("code_verifier", verifier)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "authorization_pending");
    assert_success_page(&approve_on_browser(&server, &user_code).await);
    server.advance(5);
    poll(&server, KUBECTL_ID, &device, &[]).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let wrong = "wrong-verifier-0123456789-abcdefghijklmnopqrstuvwxyz-0";
    poll(&server, KUBECTL_ID, &device, &[("code_verifier", wrong)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let tokens = poll(&server, KUBECTL_ID, &device, &[("code_verifier", verifier)]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);

    // A verifier without a challenge is refused too.
    let (plain, user_code) = start(&server, &[]).await;
    assert_success_page(&approve_on_browser(&server, &user_code).await);
    poll(&server, KUBECTL_ID, &plain, &[("code_verifier", verifier)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_page_and_unknown_codes() {
    let server = TestServer::start().await;
    let browser = browser();
    let page = navigate(&browser, &url::Url::parse(&server.url("/device")).unwrap()).await.page();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.content_type().starts_with("text/html"));
    let form = page.form();
    assert!(form.action.path().ends_with("/device/auth/verify_code"), "{}", form.action);
    assert!(form.hidden("csrf_token").is_some_and(|t| !t.is_empty()));
    assert_eq!(input_value(&page.body, "user_code").as_deref(), Some(""));

    let unknown = submit(&browser, &form, &[("user_code", "BCDF-GHJK")]).await.page();
    unknown.assert_error_page();
    assert!(html::text(&unknown.body, "#device-error").is_some(), "{}", unknown.body);
    assert_eq!(input_value(&unknown.body, "user_code").as_deref(), Some("BCDF-GHJK"), "what was typed stays");
    let garbage = submit(&browser, &unknown.form(), &[("user_code", "<script>")]).await.page();
    garbage.assert_error_page();
    assert!(!garbage.body.contains("<script>"), "escaped");

    // Case, spaces and the dash do not matter.
    let (_, user_code) = start(&server, &[]).await;
    let sloppy = format!(" {} ", user_code.replace('-', " ").to_lowercase());
    let login = submit(&browser, &unknown.form(), &[("user_code", &sloppy)]).await.page();
    assert!(login.url.path().ends_with("/login"), "on to the password form: {} {}", login.url, login.body);

    // The form needs the session's CSRF token.
    let forged =
        api().post(form.action.clone()).form(&[("user_code", user_code.as_str()), ("csrf_token", "forged")]);
    let forged = forged.send().await.unwrap();
    assert!(forged.status().is_client_error(), "{}", forged.status());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_refuses_forged_or_stale_state() {
    let server = TestServer::start().await;
    let (_, user_code) = start(&server, &[]).await;
    let browser = browser();
    for query in [
        "code=abc&state=".to_string(),
        format!("code=abc&state={user_code}"),
        format!("code=abc&state={user_code}.forged-mac"),
        format!("error=access_denied&state={user_code}.forged-mac"),
    ] {
        let url = url::Url::parse(&server.url(&format!("/device/callback?{query}"))).unwrap();
        navigate(&browser, &url).await.page().assert_error_page();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_when_grant_types_leave_it_out() {
    let server = TestServer::builder()
        .yaml("oauth2:\n  grantTypes: [authorization_code, refresh_token]\n")
        .start()
        .await;
    let discovery: serde_json::Value = api()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(discovery.get("device_authorization_endpoint").is_none(), "{discovery}");
    assert_eq!(device_code(&server, KUBECTL_ID, &[("scope", "openid")]).await.status, StatusCode::NOT_FOUND);
    poll(&server, KUBECTL_ID, "whatever", &[])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    server.stop().await;
}

/// A confidential client registers the device callback by path, as in Dex's configs, and
/// authenticates both when asking for codes and when polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confidential_client_with_registered_device_callback() {
    let server = TestServer::builder()
        .yaml_with(|yaml| {
            let clients = yaml.get_mut("staticClients").unwrap().as_sequence_mut().unwrap();
            let tv =
                "id: tv\nsecret: tv-secret\nname: Living-room TV\nredirectURIs: [/dex/device/callback]\n";
            clients.push(serde_norway::from_str(tv).unwrap());
        })
        .start()
        .await;
    let request = api()
        .post(server.url("/device/code"))
        .basic_auth("tv", Some("tv-secret"))
        .form(&[("scope", "openid email")]);
    let codes = ApiResponse::read(request.send().await.unwrap()).await;
    assert_eq!(codes.status, StatusCode::OK, "{}", codes.text);
    let device = codes.str("device_code").to_string();

    let browser = browser();
    let consent = log_in_on_browser(&browser, &server, codes.str("user_code")).await;
    let done = approve(&browser, &consent).await.page();
    assert_eq!(html::text(&done.body, "h1").as_deref(), Some("Device connected"), "{}", done.body);
    assert!(done.body.contains("Living-room TV"), "{}", done.body);

    let form = [("grant_type", DEVICE_GRANT), ("device_code", device.as_str())];
    server
        .token(None, &[&form[..], &[("client_id", "tv")]].concat())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let tokens = server.token(Some(("tv", "tv-secret")), &form).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(jwt_claims(tokens.str("id_token"))["aud"], "tv");

    // Without the device callback registered, the login refuses to start (Dex's rule).
    let request = api()
        .post(server.url("/device/code"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("scope", "openid")]);
    let codes = ApiResponse::read(request.send().await.unwrap()).await;
    let url = url::Url::parse(codes.str("verification_uri_complete")).unwrap();
    let page = navigate(&browser, &url).await.page();
    let refused = submit(&browser, &page.form(), &[("user_code", codes.str("user_code"))]).await.page();
    refused.assert_error_page();
    assert!(refused.body.contains("not registered"), "{}", refused.body);
    server.stop().await;
}

/// `oauth2.par.requireForAll` is about clients' own authorization requests: the device flow's
/// login, which ends at our device callback, still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_flow_works_when_every_client_must_push() {
    let server = TestServer::builder().yaml("oauth2:\n  par:\n    requireForAll: true\n").start().await;
    let (device, user_code) = start(&server, &[]).await;
    assert_success_page(&approve_on_browser(&server, &user_code).await);
    server.advance(5);
    let tokens = poll(&server, KUBECTL_ID, &device, &[]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
}
