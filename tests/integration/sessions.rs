//! Single sign-on sessions and logout: a second client does not ask the user again, `prompt`
//! and `max_age` are honoured, and RP-initiated and back-channel logout end the session.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;
use url::Url;

/// The code flow's `/auth` URL for a client, with extra parameters.
fn auth(server: &TestServer, client_id: &str, redirect_uri: &str, extra: &[(&str, &str)]) -> Url {
    let mut url = server.code_auth_url(client_id, redirect_uri, "openid email profile offline_access");
    url.query_pairs_mut().extend_pairs(extra);
    url
}

async fn redeem_for(server: &TestServer, client: (&str, &str), redirect_uri: &str, code: &str) -> Value {
    let response = server
        .token(
            Some(client),
            &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri)],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.json
}

fn code_of(url: &Url) -> String {
    query_param(url, "code").unwrap_or_else(|| panic!("no code in {url}"))
}

#[tokio::test]
async fn a_second_client_reuses_the_session() {
    second_client_reuses_the_session(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_client_reuses_the_session_on_postgres() {
    second_client_reuses_the_session(Store::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_client_reuses_the_session_on_mysql() {
    second_client_reuses_the_session(Store::Mysql).await;
}

async fn second_client_reuses_the_session(store: Store) {
    let server = TestServer::builder().store(store).start().await;
    let browser = browser();
    let first = login_with_password(
        &browser,
        &auth(&server, CLIENT_ID, REDIRECT_URI, &[]),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    let first_tokens = redeem_for(&server, (CLIENT_ID, CLIENT_SECRET), REDIRECT_URI, &code_of(&first)).await;

    // The other client: no password form, straight to its consent page.
    let page = navigate(&browser, &auth(&server, OTHER_ID, OTHER_REDIRECT_URI, &[])).await.page();
    assert!(page.url.path().ends_with("/approval"), "expected consent, got {}:\n{}", page.url, page.body);
    let second = approve(&browser, &page).await.client();
    let second_tokens =
        redeem_for(&server, (OTHER_ID, OTHER_SECRET), OTHER_REDIRECT_URI, &code_of(&second)).await;

    let (a, b) = (
        jwt_claims(first_tokens["id_token"].as_str().unwrap()),
        jwt_claims(second_tokens["id_token"].as_str().unwrap()),
    );
    assert_eq!(a["sub"], b["sub"]);
    assert!(a["sid"].as_str().is_some_and(|s| !s.is_empty()), "{a}");
    assert_eq!(a["sid"], b["sid"], "one session, one sid");
    assert_eq!(a["auth_time"], b["auth_time"], "auth_time is the time of the one login");

    // The first client again: consent was given in this session, so no page at all.
    let again = navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[])).await.client();
    assert!(query_param(&again, "code").is_some(), "{again}");

    // A different browser has no session.
    let fresh =
        navigate(&crate::common::browser(), &auth(&server, CLIENT_ID, REDIRECT_URI, &[])).await.page();
    assert!(fresh.url.path().ends_with("/login"), "{}", fresh.url);
}

#[tokio::test]
async fn prompt_none_login_and_consent_rules() {
    let server = TestServer::start().await;
    let browser = browser();

    // No session yet: prompt=none cannot show a page.
    let url =
        navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[("prompt", "none")])).await.client();
    assert_eq!(query_param(&url, "error").as_deref(), Some("login_required"), "{url}");
    assert_eq!(query_param(&url, "state").as_deref(), Some("st4te"));

    login_with_password(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[]), ADMIN_EMAIL, ADMIN_PASSWORD)
        .await;

    // With the session and the consent: a code without any page.
    let url =
        navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[("prompt", "none")])).await.client();
    let tokens = redeem_for(&server, (CLIENT_ID, CLIENT_SECRET), REDIRECT_URI, &code_of(&url)).await;
    assert!(tokens["id_token"].is_string());

    // Another client was never approved: consent_required.
    let url = navigate(&browser, &auth(&server, OTHER_ID, OTHER_REDIRECT_URI, &[("prompt", "none")]))
        .await
        .client();
    assert_eq!(query_param(&url, "error").as_deref(), Some("consent_required"), "{url}");

    // prompt=login asks for the password again despite the session.
    let page =
        navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[("prompt", "login")])).await.page();
    assert!(page.url.path().ends_with("/login"), "{}", page.url);

    // prompt=consent shows the consent page again.
    let page =
        navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[("prompt", "consent")])).await.page();
    assert!(page.url.path().ends_with("/approval"), "{}", page.url);

    // prompt=none with anything else is invalid.
    let url = navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[("prompt", "none login")]))
        .await
        .client();
    assert_eq!(query_param(&url, "error").as_deref(), Some("invalid_request"), "{url}");
}

#[tokio::test]
async fn max_age_and_session_lifetime() {
    let server =
        TestServer::builder().yaml("sessions: {validIfNotUsedFor: 30m, absoluteLifetime: 2h}").start().await;
    let browser = browser();
    let done = login_with_password(
        &browser,
        &auth(&server, CLIENT_ID, REDIRECT_URI, &[]),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    let tokens = redeem_for(&server, (CLIENT_ID, CLIENT_SECRET), REDIRECT_URI, &code_of(&done)).await;
    let auth_time = jwt_claims(tokens["id_token"].as_str().unwrap())["auth_time"].as_i64().unwrap();

    server.advance(600);
    // The login is 10 minutes old: max_age=300 demands a new one, max_age=3600 does not.
    let page =
        navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[("max_age", "300")])).await.page();
    assert!(page.url.path().ends_with("/login"), "{}", page.url);
    let url =
        navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[("max_age", "3600")])).await.client();
    let tokens = redeem_for(&server, (CLIENT_ID, CLIENT_SECRET), REDIRECT_URI, &code_of(&url)).await;
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["auth_time"].as_i64(), Some(auth_time));

    // Each use moves the idle expiry; 20 minutes apart keeps the session alive…
    server.advance(20 * 60);
    assert!(
        query_param(&navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[])).await.client(), "code")
            .is_some()
    );
    // …but 31 minutes of silence ends it.
    server.advance(31 * 60);
    let page = navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[])).await.page();
    assert!(page.url.path().ends_with("/login"), "{}", page.url);
}

#[tokio::test]
async fn logout_with_a_hint_ends_the_session_and_bound_refresh_tokens() {
    logout_with_a_hint(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_with_a_hint_on_postgres() {
    logout_with_a_hint(Store::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_with_a_hint_on_mysql() {
    logout_with_a_hint(Store::Mysql).await;
}

async fn logout_with_a_hint(store: Store) {
    let server = TestServer::builder()
        .store(store)
        .yaml_with(|yaml| {
            let clients = yaml["staticClients"].as_sequence_mut().unwrap();
            for client in clients.iter_mut() {
                if client["id"].as_str() == Some(CLIENT_ID) {
                    client["postLogoutRedirectURIs"] =
                        serde_norway::from_str(r#"["http://127.0.0.1:5555/bye"]"#).unwrap();
                    client["refreshTokenLifetime"] = "session".into();
                }
            }
        })
        .start()
        .await;
    let browser = browser();
    let done = login_with_password(
        &browser,
        &auth(&server, CLIENT_ID, REDIRECT_URI, &[]),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    let bound = redeem_for(&server, (CLIENT_ID, CLIENT_SECRET), REDIRECT_URI, &code_of(&done)).await;
    // A standalone client in the same session.
    let page = navigate(&browser, &auth(&server, OTHER_ID, OTHER_REDIRECT_URI, &[])).await.page();
    let other = approve(&browser, &page).await.client();
    let standalone =
        redeem_for(&server, (OTHER_ID, OTHER_SECRET), OTHER_REDIRECT_URI, &code_of(&other)).await;

    // An unregistered post-logout URI: an error page, no redirect, nobody logged out.
    let mut bad = Url::parse(&server.url("/logout")).unwrap();
    bad.query_pairs_mut()
        .append_pair("id_token_hint", bound["id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", "https://evil.example/");
    navigate(&browser, &bad).await.page().assert_error_page();

    let mut logout = Url::parse(&server.url("/logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", bound["id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", "http://127.0.0.1:5555/bye")
        .append_pair("state", "bye-state");
    let landed = navigate(&browser, &logout).await.client();
    assert_eq!(landed.path(), "/bye");
    assert_eq!(query_param(&landed, "state").as_deref(), Some("bye-state"));

    // The session is gone: the next login asks for the password.
    let page = navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[])).await.page();
    assert!(page.url.path().ends_with("/login"), "{}", page.url);
    // The session-bound refresh token ended with it; the standalone one did not.
    server
        .refresh(bound["refresh_token"].as_str().unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let refreshed = server
        .token(
            Some((OTHER_ID, OTHER_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", standalone["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
}

#[tokio::test]
async fn logout_without_a_hint_asks_first() {
    let server = TestServer::start().await;
    let browser = browser();
    login_with_password(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[]), ADMIN_EMAIL, ADMIN_PASSWORD)
        .await;

    // A bare GET (a cross-site image could do this) only shows a question.
    let page = navigate(&browser, &Url::parse(&server.url("/logout")).unwrap()).await.page();
    assert_eq!(page.status, StatusCode::OK);
    let form = page.form();
    assert!(form.hidden("csrf_token").is_some_and(|t| !t.is_empty()));
    assert!(
        navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[])).await.client().query().is_some(),
        "still logged in"
    );

    // A forged confirmation is refused.
    let forged = submit(&browser, &form, &[("csrf_token", "forged")]).await.page();
    forged.assert_error_page();
    assert!(
        query_param(&navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[])).await.client(), "code")
            .is_some()
    );

    // The real confirmation logs out.
    let page = navigate(&browser, &Url::parse(&server.url("/logout")).unwrap()).await.page();
    let done = submit(&browser, &page.form(), &[]).await.page();
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let page = navigate(&browser, &auth(&server, CLIENT_ID, REDIRECT_URI, &[])).await.page();
    assert!(page.url.path().ends_with("/login"), "{}", page.url);

    // A garbage hint is an error page, not a logout or a 500.
    let mut garbage = Url::parse(&server.url("/logout")).unwrap();
    garbage.query_pairs_mut().append_pair("id_token_hint", "not-a-jwt");
    navigate(&browser, &garbage).await.page().assert_error_page();
}

/// A relying party's back-channel logout endpoint: answers 500 to the first `failures`
/// deliveries, then 200, and reports every token it receives.
async fn backchannel_receiver(failures: usize) -> (String, mpsc::UnboundedReceiver<String>) {
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    backchannel_receiver_until(failures, up).await
}

/// [`backchannel_receiver`] that also answers 500 while `up` is false; it reports every
/// token with whether it answered 200.
async fn backchannel_receiver_until(
    failures: usize,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (String, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(
            move |axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| {
                let tx = tx.clone();
                let seen = seen.clone();
                let up = up.clone();
                async move {
                    let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = tx.send(form.get("logout_token").cloned().unwrap_or_default());
                    let up = up.load(std::sync::atomic::Ordering::SeqCst);
                    if n < failures || !up { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn next_token(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.expect("a logout token arrives").unwrap()
}

#[tokio::test]
async fn back_channel_logout_is_signed_and_retried() {
    let (endpoint, mut rx) = backchannel_receiver(1).await;
    let server = TestServer::builder()
        .yaml_with(move |yaml| {
            for client in yaml["staticClients"].as_sequence_mut().unwrap().iter_mut() {
                if client["id"].as_str() == Some(CLIENT_ID) {
                    client["backchannelLogoutURI"] = endpoint.clone().into();
                }
            }
        })
        .start()
        .await;
    let discovery: Value = api()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["end_session_endpoint"], server.url("/logout"));
    assert_eq!(discovery["backchannel_logout_supported"], true);

    let browser = browser();
    let done = login_with_password(
        &browser,
        &auth(&server, CLIENT_ID, REDIRECT_URI, &[]),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    let tokens = redeem_for(&server, (CLIENT_ID, CLIENT_SECRET), REDIRECT_URI, &code_of(&done)).await;
    let id_claims = jwt_claims(tokens["id_token"].as_str().unwrap());

    let mut logout = Url::parse(&server.url("/logout")).unwrap();
    logout.query_pairs_mut().append_pair("id_token_hint", tokens["id_token"].as_str().unwrap());
    let page = navigate(&browser, &logout).await.page();
    assert_eq!(page.status, StatusCode::OK, "the logged-out page, at once: {}", page.body);

    // The first delivery is refused with a 500; the retry brings a token for the same logout
    // (signed afresh: its own jti, the same sub and sid).
    let first = next_token(&mut rx).await;
    let second = next_token(&mut rx).await;
    let (a, b) = (jwt_claims(&first), jwt_claims(&second));
    assert_eq!((&a["sub"], &a["sid"], &a["aud"]), (&b["sub"], &b["sid"], &b["aud"]));

    let header = jwt_header(&second);
    assert_eq!(header["typ"], "logout+jwt");
    let kid = header["kid"].as_str().unwrap();
    let jwks = server.jwks().await;
    assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid), "signed with a published key");
    let claims = jwt_claims(&second);
    assert_eq!(claims["iss"], server.issuer.as_str());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
    assert!(claims["jti"].is_string() && claims["iat"].is_i64() && claims["exp"].is_i64());
}

/// A back-channel logout is stored before the logout answers: when the client's endpoint is
/// down and the replica that ended the session stops, another replica on the same database
/// delivers it once the endpoint is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn back_channel_logout_survives_a_restart_and_another_replica_delivers_it() {
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (endpoint, mut rx) = backchannel_receiver_until(0, up.clone()).await;
    let database = std::sync::Arc::new(ScratchDatabase::create().await);
    let replica = |endpoint: String| {
        TestServer::builder().shared_postgres(database.clone()).yaml_with(move |yaml| {
            for client in yaml["staticClients"].as_sequence_mut().unwrap().iter_mut() {
                if client["id"].as_str() == Some(CLIENT_ID) {
                    client["backchannelLogoutURI"] = endpoint.clone().into();
                }
            }
        })
    };
    let a = replica(endpoint.clone()).start().await;
    let browser = browser();
    let done =
        login_with_password(&browser, &auth(&a, CLIENT_ID, REDIRECT_URI, &[]), ADMIN_EMAIL, ADMIN_PASSWORD)
            .await;
    let tokens = redeem_for(&a, (CLIENT_ID, CLIENT_SECRET), REDIRECT_URI, &code_of(&done)).await;
    let mut logout = Url::parse(&a.url("/logout")).unwrap();
    logout.query_pairs_mut().append_pair("id_token_hint", tokens["id_token"].as_str().unwrap());
    assert_eq!(navigate(&browser, &logout).await.page().status, StatusCode::OK);

    // The endpoint is down: the first attempt fails, and the replica goes away.
    next_token(&mut rx).await;
    for _ in 0..50 {
        // The failed attempt is recorded (the claim released) before the replica goes.
        if database.scalar("SELECT MAX(claimed_until) FROM logout_deliveries").await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a.stop().await;
    assert_eq!(database.scalar("SELECT COUNT(*) FROM logout_deliveries").await, 1, "still owed");

    up.store(true, std::sync::atomic::Ordering::SeqCst);
    let b = replica(endpoint).start().await;
    let delivered = next_token(&mut rx).await;
    assert_eq!(jwt_claims(&delivered)["sid"], jwt_claims(tokens["id_token"].as_str().unwrap())["sid"]);
    for _ in 0..50 {
        if database.scalar("SELECT COUNT(*) FROM logout_deliveries").await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(database.scalar("SELECT COUNT(*) FROM logout_deliveries").await, 0, "delivered, not owed");
    b.stop().await;
}
