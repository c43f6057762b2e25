//! Hostile or broken input never causes a 500 and never stops the server.

use crate::common::*;
use reqwest::StatusCode;
use tessera::signer::keys::{SigningAlgorithm, encoding_key, generate};

/// After the abuse, the server still serves discovery.
async fn assert_still_serving(server: &TestServer) {
    let response = api().get(server.url("/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let metadata: serde_json::Value = response.json().await.unwrap();
    assert_eq!(metadata["issuer"], server.issuer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused() {
    let server = TestServer::start().await;
    let big = format!("grant_type=authorization_code&code={}", "a".repeat(1024 * 1024));
    let response = api()
        .post(server.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let browser = browser();
    let page = navigate(&browser, &server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid")).await.page();
    let response = browser
        .post(page.form().action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bearer_tokens_are_invalid_token() {
    let server = TestServer::start().await;
    for token in
        ["x", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "eyJ.eyJ.sig", &"A".repeat(10_000), "Zm9v.YmFy.YmF6"]
    {
        let response = server.userinfo(token).await;
        response.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
        assert!(response.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
    let none = ApiResponse::read(api().get(server.url("/userinfo")).send().await.unwrap()).await;
    none.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let basic = ApiResponse::read(
        api()
            .get(server.url("/userinfo"))
            .header("authorization", "Basic Zm9vOmJhcg==")
            .send()
            .await
            .unwrap(),
    )
    .await;
    basic.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_signed_by_another_key_are_refused() {
    let server = TestServer::start().await;
    let tokens = server.login_tokens("openid email").await;
    let genuine = tokens["access_token"].as_str().unwrap();
    let claims = jwt_claims(genuine);
    let our_kid = jwt_header(genuine)["kid"].as_str().unwrap().to_string();

    let (foreign, _) = generate(SigningAlgorithm::Rs256).unwrap();
    let key = encoding_key(SigningAlgorithm::Rs256, &foreign.private_pkcs8).unwrap();
    for kid in [our_kid.clone(), foreign.kid.clone()] {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid);
        let forged = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        server.userinfo(&forged).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }

    // Algorithm confusion: HS256 keyed with something public, and alg "none".
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(our_kid.clone());
    let hs =
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(our_kid.as_bytes()))
            .unwrap();
    server.userinfo(&hs).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let payload = genuine.split('.').nth(1).unwrap();
    let none_header = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        format!(r#"{{"alg":"none","kid":"{our_kid}"}}"#),
    );
    server
        .userinfo(&format!("{none_header}.{payload}."))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    // A tampered payload with the genuine signature.
    let mut tampered = claims.clone();
    tampered["email"] = "evil@example.com".into();
    let tampered_payload =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, tampered.to_string());
    let parts: Vec<&str> = genuine.split('.').collect();
    let forged = format!("{}.{tampered_payload}.{}", parts[0], parts[2]);
    server.userinfo(&forged).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    // The genuine token still works; an expired one does not.
    assert_eq!(server.userinfo(genuine).await.status, StatusCode::OK);
    server.advance(24 * 3600 + 1);
    server.userinfo(genuine).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_still_serving(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_get_pages_not_errors() {
    let server = TestServer::start().await;
    let browser = browser();
    for path in [
        "/auth?client_id=%ZZ&&==&redirect_uri",
        "/auth?client_id=%FF%FE",
        "/auth?client_id=example-app&client_id=other-app",
        "/auth?scope[]=x&state[a]=b",
        "/auth/local?client_id=%00",
        "/auth/nope?client_id=no-such-client",
        "/auth/local/login",
        "/auth/local/login?state=%FF",
        "/approval",
        "/approval?req=x",
        "/approval?req=%ZZ&hmac=%",
        "/callback",
        "/callback?state=%FF%FF&code=x",
        "/callback?state=nope",
    ] {
        let url = url::Url::parse(&format!("{}{path}", server.base_url)).unwrap();
        let response = browser.get(url.clone()).send().await.unwrap();
        let status = response.status();
        assert!(status.is_client_error(), "{path}: {status}");
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
    }
    let response = browser
        .post(server.url("/approval"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("%%%")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    let response = api().get(server.url("/no-such-endpoint")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_still_serving(&server).await;
}
