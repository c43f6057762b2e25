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

/// A method an endpoint does not take is `405` with `Allow`: an RFC 6749 JSON error on the
/// API, the error page in the browser; never an empty body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_is_a_405_that_says_so() {
    let server = TestServer::start().await;
    for (method, path, allow) in [
        (reqwest::Method::GET, "/token", "POST"),
        (reqwest::Method::GET, "/token/introspect", "POST"),
        (reqwest::Method::PUT, "/token/revoke", "POST"),
        (reqwest::Method::DELETE, "/userinfo", "GET,HEAD,POST"),
        (reqwest::Method::POST, "/keys", "GET,HEAD"),
        (reqwest::Method::GET, "/device/code", "POST"),
    ] {
        let response = api().request(method.clone(), server.url(path)).send().await.unwrap();
        let r = ApiResponse::read(response).await;
        r.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        assert!(r.header("content-type").unwrap().starts_with("application/json"), "{method} {path}");
    }
    let response = browser().post(server.url("/auth/local")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    let body = response.text().await.unwrap();
    assert!(body.contains("<html") && body.contains("Not available"), "{body}");
    assert_still_serving(&server).await;
}

/// Reads until the server closes the connection (or 10 s pass, which fails the test).
async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("the server kept the connection open");
    seen
}

/// A client that trickles its headers is cut off after `web.readHeaderTimeout`, and so is an
/// idle keep-alive connection; a normal request on a fresh connection still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::builder().yaml("web:\n  readHeaderTimeout: 1s\n").start().await;

    // Slowloris: a byte of header every 200 ms, never finishing.
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /dex/keys HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let trickle = async {
        for _ in 0..50 {
            if slow.write_all(b"X").await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), trickle).await;
    let answer = closed_by_server(&mut slow).await;
    assert!(!answer.starts_with(b"HTTP/1.1 200"), "a trickled request was served");

    // Keep-alive: one request answered, then the idle connection is closed.
    let mut idle = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /dex/keys HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = closed_by_server(&mut idle).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));

    assert_still_serving(&server).await;
}
