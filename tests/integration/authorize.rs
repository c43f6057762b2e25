//! The authorization endpoint and the login pages around it (RFC 6749 §4.1.1/§4.1.2.1, OIDC
//! Core §3.1.2): which errors are pages and which go back to the client, connectors, consent,
//! native clients, implicit flow and cross-client audiences.

use crate::common::html;
use crate::common::rp::{self, RpHttp};
use crate::common::*;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{CsrfToken, Nonce, Scope};
use reqwest::StatusCode;

const MOCK_CONNECTOR: &str = "connectors:\n  - type: mockCallback\n    id: mock\n    name: Mock\n";

fn params<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid email"),
        ("state", "xyz"),
    ];
    for (k, v) in overrides {
        p.retain(|(name, _)| name != k);
        if !v.is_empty() {
            p.push((k, v));
        }
    }
    p
}

/// `/auth` with these overrides must redirect to the client with this error and the state.
async fn assert_client_error(server: &TestServer, overrides: &[(&str, &str)], error: &str) {
    let url = server.auth_url(&params(overrides));
    let response = api().get(url.clone()).send().await.unwrap();
    assert!(response.status().is_redirection(), "{url}: {}", response.status());
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT_URI), "{location}");
    // Implicit and hybrid requests get their errors in the fragment (OAuth 2.0 Multiple
    // Response Types §5; Dex always uses the query).
    let response_type =
        params(overrides).iter().find(|(k, _)| *k == "response_type").map(|(_, v)| v.to_string());
    let fragment = response_type.is_some_and(|t| t.split(' ').any(|t| t == "token" || t == "id_token"));
    let get =
        |name: &str| if fragment { fragment_param(&location, name) } else { query_param(&location, name) };
    assert_eq!(get("error").as_deref(), Some(error), "{location}");
    assert_eq!(get("state").as_deref(), Some("xyz"), "{location}");
    assert_eq!(get("iss").as_deref(), Some(server.issuer.as_str()), "RFC 9207: {location}");
    assert!(get("code").is_none());
}

/// `/auth` with these overrides must show an error page and never redirect.
async fn assert_error_page(server: &TestServer, overrides: &[(&str, &str)]) {
    let url = server.auth_url(&params(overrides));
    let response = api().get(url.clone()).send().await.unwrap();
    assert!(response.headers().get("location").is_none(), "{url} redirected");
    let page = navigate(&browser(), &url).await.page();
    page.assert_error_page();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_client_or_redirect_uri_gets_a_page_not_a_redirect() {
    let server = TestServer::start().await;
    assert_error_page(&server, &[("client_id", "no-such-client")]).await;
    assert_error_page(&server, &[("client_id", "")]).await;
    assert_error_page(&server, &[("redirect_uri", "https://evil.example/callback")]).await;
    // Exact match: a longer path or an added query is another URI.
    assert_error_page(&server, &[("redirect_uri", "http://127.0.0.1:5555/callback/x")]).await;
    assert_error_page(&server, &[("redirect_uri", "http://127.0.0.1:5555/callback?x=1")]).await;
    // An error in another parameter is still a page while the redirect URI is untrusted.
    assert_error_page(&server, &[("redirect_uri", "https://evil.example/"), ("scope", "email")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_errors_go_back_to_the_client_with_state() {
    let server = TestServer::start().await;
    assert_client_error(&server, &[("scope", "email")], "invalid_scope").await;
    assert_client_error(&server, &[("scope", "openid bogus")], "invalid_scope").await;
    assert_client_error(&server, &[("response_type", "bogus")], "unsupported_response_type").await;
    // Implicit is not enabled by default (oauth2.responseTypes: [code]).
    assert_client_error(&server, &[("response_type", "token")], "unsupported_response_type").await;
    assert_client_error(&server, &[("response_type", "")], "invalid_request").await;
    assert_client_error(&server, &[("prompt", "none")], "login_required").await;
    assert_client_error(
        &server,
        &[("code_challenge", &"a".repeat(43)), ("code_challenge_method", "S512")],
        "invalid_request",
    )
    .await;
    assert_client_error(
        &server,
        &[("code_challenge", "short"), ("code_challenge_method", "S256")],
        "invalid_request",
    )
    .await;
    assert_client_error(&server, &[("code_challenge_method", "S256")], "invalid_request").await;
    assert_client_error(&server, &[("max_age", "-1")], "invalid_request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforced_pkce_requires_a_challenge() {
    let server = TestServer::builder().yaml("oauth2:\n  pkce:\n    enforce: true\n").start().await;
    assert_client_error(&server, &[], "invalid_request").await;
    // With a challenge the login proceeds to the connector.
    let url = server.auth_url(&params(&[
        ("code_challenge", &s256("v".repeat(50).as_str())),
        ("code_challenge_method", "S256"),
    ]));
    let page = navigate(&browser(), &url).await.page();
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.url.path().ends_with("/auth/local/login"), "{}", page.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_connectors_show_a_chooser() {
    let server = TestServer::builder().yaml(MOCK_CONNECTOR).start().await;
    let browser = browser();
    let page = navigate(&browser, &server.auth_url(&params(&[]))).await.page();
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    let choices = html::links(&page.url, &page.body, "a.choice");
    let names: Vec<&str> = choices.iter().map(|(text, _)| text.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.iter().any(|n| n.contains("Email")) && names.iter().any(|n| n.contains("Mock")),
        "{names:?}"
    );

    // Choosing the password connector leads to its form, the request intact.
    let (_, local) = choices.iter().find(|(n, _)| n.contains("Email")).unwrap();
    let form = navigate(&browser, local).await.page();
    let done = match submit_password(&browser, &form, ADMIN_EMAIL, ADMIN_PASSWORD).await {
        Hop::Page(approval) => approve(&browser, &approval).await.client(),
        Hop::Client(url) => url,
    };
    assert_eq!(query_param(&done, "state").as_deref(), Some("xyz"));
    assert_eq!(server.redeem(&query_param(&done, "code").unwrap()).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_callback_login_with_connector_id_skips_the_chooser() {
    let server = TestServer::builder().yaml(MOCK_CONNECTOR).start().await;
    let browser = browser();
    let url = server.auth_url(&params(&[("connector_id", "mock"), ("scope", "openid email profile groups")]));
    let approval = navigate(&browser, &url).await.page();
    assert!(approval.url.path().ends_with("/approval"), "{}", approval.url);
    let done = approve(&browser, &approval).await.client();
    let tokens = server.redeem(&query_param(&done, "code").unwrap()).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let claims = jwt_claims(tokens.str("id_token"));
    assert_eq!(claims["sub"], tessera::oauth2::subject::encode("0-385-28089-0", &"mock".into()));
    assert_eq!(claims["name"], "Kilgore Trout");
    assert_eq!(claims["email"], "kilgore@kilgore.trout");
    assert_eq!(claims["groups"], serde_json::json!(["authors"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_approval_screen_goes_straight_to_the_client() {
    let server = TestServer::builder().yaml("oauth2:\n  skipApprovalScreen: true\n").start().await;
    let browser = browser();
    let form = navigate(&browser, &server.auth_url(&params(&[]))).await.page();
    let done = submit_password(&browser, &form, ADMIN_EMAIL, ADMIN_PASSWORD).await.client();
    assert_eq!(query_param(&done, "state").as_deref(), Some("xyz"));
    // RFC 9207: the response names who sent it.
    assert_eq!(query_param(&done, "iss").as_deref(), Some(server.issuer.as_str()));
    assert_eq!(server.redeem(&query_param(&done, "code").unwrap()).await.status, StatusCode::OK);

    // prompt=consent still asks (the browser's session spares the password form).
    let page = navigate(&browser, &server.auth_url(&params(&[("prompt", "consent")]))).await.page();
    assert!(page.url.path().ends_with("/approval"), "{}", page.url);
    // So does it in a new browser, after the password form.
    let other = crate::common::browser();
    let form = navigate(&other, &server.auth_url(&params(&[("prompt", "consent")]))).await.page();
    let page = submit_password(&other, &form, ADMIN_EMAIL, ADMIN_PASSWORD).await.page();
    assert!(page.url.path().ends_with("/approval"), "{}", page.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_consent_is_access_denied() {
    let server = TestServer::start().await;
    let browser = browser();
    let form = navigate(&browser, &server.auth_url(&params(&[]))).await.page();
    let approval = submit_password(&browser, &form, ADMIN_EMAIL, ADMIN_PASSWORD).await.page();
    assert!(approval.body.contains("Example App"), "the consent page names the client");
    let done = submit(&browser, &approval.form(), &[("approval", "rejected")]).await.client();
    assert!(done.as_str().starts_with(REDIRECT_URI));
    assert_eq!(query_param(&done, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&done, "state").as_deref(), Some("xyz"));
    assert_eq!(query_param(&done, "iss").as_deref(), Some(server.issuer.as_str()));
    assert!(query_param(&done, "code").is_none());
    // The request is gone: approving afterwards does not work.
    let again = submit(&browser, &approval.form(), &[("approval", "approve")]).await.page();
    again.assert_error_page();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_client_may_use_any_loopback_port() {
    let server = TestServer::start().await;
    let redirect = "http://localhost:45678/callback";
    let url = server.auth_url(&params(&[("client_id", NATIVE_ID), ("redirect_uri", redirect)]));
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(done.as_str().starts_with(redirect), "{done}");
    let code = query_param(&done, "code").unwrap();
    // A public client authenticates with its id alone.
    let tokens = server
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect),
                ("client_id", NATIVE_ID),
            ],
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);

    assert_error_page(&server, &[("client_id", NATIVE_ID), ("redirect_uri", "http://evil.example/")]).await;
    assert_error_page(
        &server,
        &[("client_id", NATIVE_ID), ("redirect_uri", "http://localhost:45678/elsewhere")],
    )
    .await;
    // A confidential client gets no such leeway.
    assert_error_page(&server, &[("redirect_uri", "http://127.0.0.1:5556/callback")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_band_code_is_shown_on_a_page_and_redeems() {
    let server = TestServer::start().await;
    let oob = "urn:ietf:wg:oauth:2.0:oob";
    let browser = browser();
    let url = server.auth_url(&params(&[("client_id", KUBECTL_ID), ("redirect_uri", oob)]));
    let form = navigate(&browser, &url).await.page();
    let approval = submit_password(&browser, &form, ADMIN_EMAIL, ADMIN_PASSWORD).await.page();
    let page = approve(&browser, &approval).await.page();
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    let code = html::text(&page.body, "#oob-code").unwrap();
    assert!(!code.is_empty());
    let tokens = server
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", oob),
                ("client_id", KUBECTL_ID),
            ],
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(jwt_claims(tokens.str("id_token"))["aud"], KUBECTL_ID);
    // A confidential client cannot use the out-of-band URI.
    assert_error_page(&server, &[("redirect_uri", oob)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_flow_returns_tokens_in_the_fragment() {
    let server =
        TestServer::builder().yaml("oauth2:\n  responseTypes: [code, token, id_token]\n").start().await;
    let http = RpHttp::new();
    let client = rp::client(&server, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;
    let url = server.auth_url(&params(&[("response_type", "id_token token"), ("nonce", "n-implicit")]));
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(done.query().is_none(), "nothing in the query: {done}");
    assert_eq!(fragment_param(&done, "state").as_deref(), Some("xyz"));
    assert_eq!(fragment_param(&done, "iss").as_deref(), Some(server.issuer.as_str()), "RFC 9207");
    assert_eq!(
        fragment_param(&done, "token_type").as_deref().map(str::to_lowercase).as_deref(),
        Some("bearer")
    );
    let access = fragment_param(&done, "access_token").unwrap();
    let id_token: rp::DexIdToken = fragment_param(&done, "id_token").unwrap().parse().unwrap();
    let claims = id_token.claims(&client.id_token_verifier(), &Nonce::new("n-implicit".into())).unwrap();
    assert_eq!(claims.subject().as_str(), tessera::oauth2::subject::encode(ADMIN_USER_ID, &"local".into()));
    assert_eq!(server.userinfo(&access).await.status, StatusCode::OK);

    // An implicit ID token without a nonce is refused, in the fragment.
    let response =
        api().get(server.auth_url(&params(&[("response_type", "id_token")]))).send().await.unwrap();
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(fragment_param(&location, "error").as_deref(), Some("invalid_request"), "{location}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_client_audience_needs_trust() {
    let server = TestServer::start().await;
    let http = RpHttp::new();
    let client = rp::client(&server, &http, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;
    let (url, _, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new(format!("audience:server:client_id:{PEER_ID}")))
        .url();
    let url = url::Url::parse(url.as_str()).unwrap();
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let tokens = server.redeem(&query_param(&done, "code").unwrap()).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let raw = tokens.str("id_token");
    let id_token: rp::DexIdToken = raw.parse().unwrap();
    // The RP accepts the extra audience it expects (the peer), with itself as azp.
    let verifier = client.id_token_verifier().set_other_audience_verifier_fn(|aud| aud.as_str() == PEER_ID);
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    let mut audiences: Vec<&str> = claims.audiences().iter().map(|a| a.as_str()).collect();
    audiences.sort();
    assert_eq!(audiences, [CLIENT_ID, PEER_ID]);
    assert_eq!(claims.authorized_party().map(|a| a.as_str()), Some(CLIENT_ID));

    // other-app is not among peer-app's trusted peers.
    let url = server.auth_url(&[
        ("client_id", OTHER_ID),
        ("redirect_uri", OTHER_REDIRECT_URI),
        ("response_type", "code"),
        ("scope", &format!("openid audience:server:client_id:{PEER_ID}")),
        ("state", "xyz"),
    ]);
    let response = api().get(url).send().await.unwrap();
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(OTHER_REDIRECT_URI));
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_show_login_screen_shows_the_chooser_for_one_connector() {
    let server = TestServer::builder().config(|c| c.oauth2.always_show_login_screen = true).start().await;
    let page = navigate(&browser(), &server.auth_url(&params(&[]))).await.page();
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.url.path().ends_with("/login"), "{}", page.url);
    assert_eq!(html::links(&page.url, &page.body, "a.choice").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_connectors_limit_what_a_client_may_use() {
    let server = TestServer::builder()
        .yaml(MOCK_CONNECTOR)
        .config(|c| {
            let client = c.static_clients.iter_mut().find(|c| c.id == CLIENT_ID).unwrap();
            client.allowed_connectors = vec!["mock".into()];
        })
        .start()
        .await;
    // One allowed connector: no chooser, straight to the mock login.
    let page = navigate(&browser(), &server.auth_url(&params(&[]))).await.page();
    assert!(page.url.path().ends_with("/approval"), "{}", page.url);
    // A connector the client may not use is as unknown to it as one that does not exist.
    assert_error_page(&server, &[("connector_id", "local")]).await;
}

/// An unknown `connector_id`, or an unknown `/auth/{connector}`, is an error page, as in Dex:
/// a wrong link that only the application's administrator can fix, never a redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_connector_is_an_error_page_and_no_redirect() {
    let server = TestServer::start().await;
    assert_error_page(&server, &[("connector_id", "nope")]).await;
    let direct = server.auth_url(&params(&[])).as_str().replacen("/auth?", "/auth/nope?", 1);
    let response = api().get(&direct).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let body = response.text().await.unwrap();
    assert!(body.contains("Unknown connector"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_request_by_post() {
    // OIDC Core §3.1.2.1: the authorization endpoint accepts POST with a form body.
    let server = TestServer::start().await;
    let browser = browser();
    let request = browser.post(server.url("/auth")).form(&params(&[]));
    let page =
        send_and_follow(&browser, request, &url::Url::parse(&server.url("/auth")).unwrap()).await.page();
    assert!(page.url.path().ends_with("/login"), "{}: {}", page.url, page.body);
    let done = submit_password(&browser, &page, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let done = match done {
        Hop::Client(url) => url,
        Hop::Page(consent) => approve(&browser, &consent).await.client(),
    };
    assert_eq!(query_param(&done, "state").as_deref(), Some("xyz"));
    assert_eq!(server.redeem(&query_param(&done, "code").unwrap()).await.status, StatusCode::OK);
}
