//! Token endpoint errors (RFC 6749 §5.2): the right code and status, a description, never
//! cached, and `WWW-Authenticate` when HTTP Basic authentication failed.

use crate::common::*;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_type_must_be_present_and_supported() {
    let server = TestServer::start().await;
    let basic = Some((CLIENT_ID, CLIENT_SECRET));
    server.token(basic, &[("code", "x")]).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    server.token(basic, &[("grant_type", "")]).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    for grant in ["magic", "password", "client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"] {
        server
            .token(basic, &[("grant_type", grant)])
            .await
            .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_authentication_failures() {
    let server = TestServer::start().await;
    let code = server.login_code(CLIENT_ID, REDIRECT_URI, "openid").await;
    let form =
        [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)];

    let wrong_basic = server.token(Some((CLIENT_ID, "wrong")), &form).await;
    wrong_basic.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(
        wrong_basic.header("www-authenticate").unwrap().starts_with("Basic"),
        "{:?}",
        wrong_basic.headers
    );

    let mut wrong_post = form.to_vec();
    wrong_post.extend([("client_id", CLIENT_ID), ("client_secret", "wrong")]);
    server.token(None, &wrong_post).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    server
        .token(Some(("no-such-client", "x")), &form)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    server.token(None, &form).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let mut secretless = form.to_vec();
    secretless.push(("client_id", CLIENT_ID));
    server.token(None, &secretless).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    // Two authentication methods at once that disagree (identical ones are one client: see
    // kubernetes_client.rs).
    let mut both = form.to_vec();
    both.push(("client_secret", OTHER_SECRET));
    server
        .token(Some((CLIENT_ID, CLIENT_SECRET)), &both)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    // A malformed Authorization header.
    let response = api()
        .post(server.url("/token"))
        .header("authorization", "Basic !!!")
        .form(&form)
        .send()
        .await
        .unwrap();
    ApiResponse::read(response).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    // None of this consumed the code.
    assert_eq!(server.redeem(&code).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_must_be_a_form() {
    let server = TestServer::start().await;
    let json = api()
        .post(server.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&serde_json::json!({"grant_type": "authorization_code", "code": "x"}))
        .send()
        .await
        .unwrap();
    let json = ApiResponse::read(json).await;
    json.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(json.header("content-type").unwrap().starts_with("application/json"));

    let none = api()
        .post(server.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .body("grant_type=x")
        .send()
        .await
        .unwrap();
    ApiResponse::read(none).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    let garbage = api()
        .post(server.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', b'%', b'Z'])
        .send()
        .await
        .unwrap();
    let garbage = ApiResponse::read(garbage).await;
    assert!(garbage.status.is_client_error(), "{}", garbage.status);
    assert_eq!(garbage.header("cache-control"), Some("no-store"));

    let get = api().get(server.url("/token")).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
}
