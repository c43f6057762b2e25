//! Authorization codes at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6): single use,
//! bound to the client, the `redirect_uri` and the PKCE challenge, short-lived.

use crate::common::*;
use reqwest::StatusCode;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-long-enough";

async fn pkce_code(server: &TestServer, method: &str, challenge: &str) -> String {
    let url = server.auth_url(&[
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
        ("code_challenge", challenge),
        ("code_challenge_method", method),
    ]);
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    query_param(&done, "code").unwrap()
}

async fn redeem_with(server: &TestServer, code: &str, extra: &[(&str, &str)]) -> ApiResponse {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI)];
    form.extend_from_slice(extra);
    server.token(Some((CLIENT_ID, CLIENT_SECRET)), &form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_code_is_refused_and_revokes_what_it_issued() {
    let server = TestServer::start().await;
    let code = server.login_code(CLIENT_ID, REDIRECT_URI, "openid email offline_access").await;
    let first = server.redeem(&code).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let access = first.str("access_token").to_string();
    let refresh = first.str("refresh_token").to_string();
    assert_eq!(server.userinfo(&access).await.status, StatusCode::OK);

    server.redeem(&code).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // RFC 6749 §4.1.2: the tokens issued from the code are revoked.
    let info = server.userinfo(&access).await;
    info.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(info.header("www-authenticate").unwrap().starts_with("Bearer"));
    server.refresh(&refresh).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_is_bound_to_redirect_uri_and_client() {
    let server = TestServer::start().await;
    let code = server.login_code(CLIENT_ID, REDIRECT_URI, "openid").await;
    server
        .token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:5555/other"),
            ],
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let missing_redirect = server.login_code(CLIENT_ID, REDIRECT_URI, "openid").await;
    server
        .token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[("grant_type", "authorization_code"), ("code", &missing_redirect)],
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let code = server.login_code(CLIENT_ID, REDIRECT_URI, "openid").await;
    server
        .token(
            Some((OTHER_ID, OTHER_SECRET)),
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)],
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_missing_codes() {
    let server = TestServer::start().await;
    server.redeem("no-such-code").await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    server
        .token(
            Some((CLIENT_ID, CLIENT_SECRET)),
            &[("grant_type", "authorization_code"), ("redirect_uri", REDIRECT_URI)],
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_s256_and_plain() {
    let server = TestServer::start().await;
    let code = pkce_code(&server, "S256", &s256(VERIFIER)).await;
    let ok = redeem_with(&server, &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);

    let code = pkce_code(&server, "plain", VERIFIER).await;
    let ok = redeem_with(&server, &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_verifier_must_match_the_challenge() {
    let server = TestServer::start().await;
    let code = pkce_code(&server, "S256", &s256(VERIFIER)).await;
    let wrong = format!("{VERIFIER}-wrong");
    redeem_with(&server, &code, &[("code_verifier", &wrong)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let code = pkce_code(&server, "S256", &s256(VERIFIER)).await;
    redeem_with(&server, &code, &[]).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // The S256 challenge itself is not a valid plain verifier.
    let code = pkce_code(&server, "S256", &s256(VERIFIER)).await;
    redeem_with(&server, &code, &[("code_verifier", &s256(VERIFIER))])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifier_without_a_challenge_is_refused() {
    let server = TestServer::start().await;
    let code = server.login_code(CLIENT_ID, REDIRECT_URI, "openid").await;
    redeem_with(&server, &code, &[("code_verifier", VERIFIER)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_code_is_invalid_grant() {
    let server = TestServer::start().await;
    let code = server.login_code(CLIENT_ID, REDIRECT_URI, "openid").await;
    server.advance(601); // expiry.authCodes defaults to 10m
    server.redeem(&code).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_lifetime_is_configurable() {
    let server = TestServer::builder().yaml("expiry:\n  authCodes: 30s\n").start().await;
    let fresh = server.login_code(CLIENT_ID, REDIRECT_URI, "openid").await;
    let late = server.login_code(CLIENT_ID, REDIRECT_URI, "openid").await;
    server.advance(20);
    assert_eq!(server.redeem(&fresh).await.status, StatusCode::OK);
    server.advance(11);
    server.redeem(&late).await.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}
