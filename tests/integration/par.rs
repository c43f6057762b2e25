//! Pushed authorization requests (RFC 9126): `/par`, `request_uri` at `/auth`, and clients
//! that may only push. The negative cases follow the OpenID Foundation's FAPI 2.0 test plan:
//! PAR without client authentication, a reused or expired `request_uri`, a front-channel
//! request from a client that must push.

use crate::common::*;
use reqwest::StatusCode;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// The authorization request the tests push, with these changes (an empty value removes).
fn request<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, String)> {
    let mut p: Vec<(&str, String)> = vec![
        ("response_type", "code".into()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("scope", "openid email offline_access".into()),
        ("state", "pushed-state".into()),
        ("nonce", "pushed-nonce".into()),
        ("code_challenge", s256(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ];
    for (k, v) in overrides {
        p.retain(|(name, _)| name != k);
        if !v.is_empty() {
            p.push((k, v.to_string()));
        }
    }
    p
}

/// POST /par, with HTTP Basic when `basic` is given.
async fn push(server: &TestServer, basic: Option<(&str, &str)>, form: &[(&str, String)]) -> ApiResponse {
    let mut request = api().post(server.url("/par")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    ApiResponse::read(request.send().await.unwrap()).await
}

/// Pushes the standard request for `example-app` and returns its `request_uri`.
async fn pushed(server: &TestServer) -> String {
    let answer = push(server, Some((CLIENT_ID, CLIENT_SECRET)), &request(&[])).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.str("request_uri").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_request_logs_in_once() {
    let server = TestServer::start().await;
    let d = server.discovery().await;
    assert_eq!(d["pushed_authorization_request_endpoint"], server.url("/par"));
    assert_eq!(d["require_pushed_authorization_requests"], false);

    let answer = push(&server, Some((CLIENT_ID, CLIENT_SECRET)), &request(&[])).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.json["expires_in"], 60);
    let request_uri = answer.str("request_uri").to_string();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"), "{request_uri}");

    // The browser carries only client_id and request_uri; the pushed parameters win.
    let url =
        server.auth_url(&[("client_id", CLIENT_ID), ("request_uri", &request_uri), ("state", "ignored")]);
    let browser = browser();
    let form = navigate(&browser, &url).await.page();
    assert!(!form.url.as_str().contains("pushed-state"), "the parameters stay on the server: {}", form.url);
    let done = match submit_password(&browser, &form, ADMIN_EMAIL, ADMIN_PASSWORD).await {
        Hop::Client(url) => url,
        Hop::Page(page) => approve(&browser, &page).await.client(),
    };
    assert!(done.as_str().starts_with(REDIRECT_URI), "{done}");
    assert_eq!(query_param(&done, "state").as_deref(), Some("pushed-state"));
    assert_eq!(query_param(&done, "iss").as_deref(), Some(server.issuer.as_str()));
    let code = query_param(&done, "code").unwrap();
    let tokens = server
        .token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "the pushed PKCE challenge binds the code: {}", tokens.text);
    assert_eq!(jwt_claims(tokens.str("id_token"))["nonce"], "pushed-nonce");

    // Used once: the same request_uri again, even in the browser that used it, is refused.
    for b in [browser, crate::common::browser()] {
        navigate(&b, &url).await.page().assert_error_page();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_sign_on_session_uses_the_request_uri_up_too() {
    let server = TestServer::builder().yaml("oauth2:\n  skipApprovalScreen: true\n").start().await;
    let browser = browser();
    login_with_password(
        &browser,
        &server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid"),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    // Logged in: the pushed request is answered at once, from the session.
    let request_uri = pushed(&server).await;
    let url = server.auth_url(&[("client_id", CLIENT_ID), ("request_uri", &request_uri)]);
    let done = navigate(&browser, &url).await.client();
    assert_eq!(query_param(&done, "state").as_deref(), Some("pushed-state"));
    navigate(&browser, &url).await.page().assert_error_page();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn par_refuses_bad_requests_with_json_errors() {
    let server = TestServer::start().await;
    let basic = Some((CLIENT_ID, CLIENT_SECRET));
    // No client authentication, or the wrong secret.
    push(&server, None, &request(&[("client_id", CLIENT_ID)]))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    push(&server, Some((CLIENT_ID, "wrong")), &request(&[]))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    // A request_uri inside a pushed request (RFC 9126 §2.1), and request objects.
    push(&server, basic, &request(&[("request_uri", "urn:ietf:params:oauth:request_uri:x")]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    push(&server, basic, &request(&[("request", "eyJhbGciOiJub25lIn0.e30.")]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "request_not_supported");
    // What /auth would show on a page or send back to the client comes back as JSON here.
    push(&server, basic, &request(&[("redirect_uri", "https://attacker.example.com/cb")]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    push(&server, basic, &request(&[("response_type", "token")]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_response_type");
    push(&server, basic, &request(&[("client_id", OTHER_ID)]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // A parameter twice.
    let mut twice = request(&[]);
    twice.push(("scope", "openid".into()));
    push(&server, basic, &twice).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // Not a form.
    let response = api()
        .post(server.url("/par"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    ApiResponse::read(response).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // Only POST.
    let response = api().get(server.url("/par")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    // client_secret_post, and a public client with its client_id alone.
    let mut post = request(&[("client_id", CLIENT_ID)]);
    post.push(("client_secret", CLIENT_SECRET.into()));
    assert_eq!(push(&server, None, &post).await.status, StatusCode::CREATED);
    let native = request(&[("client_id", NATIVE_ID), ("redirect_uri", NATIVE_REDIRECT_URI)]);
    let answer = push(&server, None, &native).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_uri_is_refused_when_expired_forged_or_of_another_client() {
    let server = TestServer::start().await;
    let (request_uri, waiting) = (pushed(&server).await, pushed(&server).await);
    for (client_id, uri) in [
        (OTHER_ID, request_uri.as_str()),
        (CLIENT_ID, "urn:ietf:params:oauth:request_uri:made-up"),
        (CLIENT_ID, "https://client.example.com/request.jwt"),
        ("", request_uri.as_str()),
    ] {
        let url = server.auth_url(&[("client_id", client_id), ("request_uri", uri)]);
        assert!(api().get(url.clone()).send().await.unwrap().headers().get("location").is_none(), "{url}");
        navigate(&browser(), &url).await.page().assert_error_page();
    }
    // None of that used it up.
    let url = server.auth_url(&[("client_id", CLIENT_ID), ("request_uri", &request_uri)]);
    assert!(login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await.query().is_some());
    // Time does: 60 s by default.
    server.advance(61);
    let url = server.auth_url(&[("client_id", CLIENT_ID), ("request_uri", &waiting)]);
    navigate(&browser(), &url).await.page().assert_error_page();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_must_push_cannot_use_the_front_channel() {
    let server = TestServer::builder()
        .config(|c| {
            let client = c.static_clients.iter_mut().find(|c| c.id == CLIENT_ID).unwrap();
            client.options.require_pushed_authorization_requests = true;
        })
        .start()
        .await;
    let plain = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid");
    assert!(api().get(plain.clone()).send().await.unwrap().headers().get("location").is_none());
    navigate(&browser(), &plain).await.page().assert_error_page();
    // Other clients are not affected; the pushed request works.
    login_with_password(
        &browser(),
        &server.code_auth_url(OTHER_ID, OTHER_REDIRECT_URI, "openid"),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    let url = server.auth_url(&[("client_id", CLIENT_ID), ("request_uri", &pushed(&server).await)]);
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(query_param(&done, "code").is_some(), "{done}");

    // requireForAll: every client, and discovery says so.
    let server = TestServer::builder().yaml("oauth2:\n  par:\n    requireForAll: true\n").start().await;
    assert_eq!(server.discovery().await["require_pushed_authorization_requests"], true);
    let plain = server.code_auth_url(OTHER_ID, OTHER_REDIRECT_URI, "openid");
    navigate(&browser(), &plain).await.page().assert_error_page();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn par_can_be_turned_off() {
    let server = TestServer::builder().yaml("oauth2:\n  par:\n    enabled: false\n").start().await;
    let d = server.discovery().await;
    assert!(d.get("pushed_authorization_request_endpoint").is_none(), "{d}");
    assert!(d.get("require_pushed_authorization_requests").is_none(), "{d}");
    let response = push(&server, Some((CLIENT_ID, CLIENT_SECRET)), &request(&[])).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", response.text);
    let url =
        server.auth_url(&[("client_id", CLIENT_ID), ("request_uri", "urn:ietf:params:oauth:request_uri:x")]);
    navigate(&browser(), &url).await.page().assert_error_page();
}
