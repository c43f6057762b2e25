//! Running Tessera: the telemetry listener (metrics, liveness, readiness), security headers,
//! branding and the `frontend.dir` override of the static assets.

use crate::common::*;
use reqwest::StatusCode;

/// Serves the telemetry routes of `server` on their own listener, as `telemetry.http` does.
async fn telemetry(server: &TestServer) -> String {
    tessera::web::telemetry::prometheus();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = tessera::web::telemetry::router(server.running().app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

#[tokio::test]
async fn metrics_and_health() {
    let server = TestServer::start().await;
    let base = telemetry(&server).await;

    // Some traffic: a login with a token issuance, and a failed token request.
    server.login_tokens("openid email").await;
    server.token(Some((CLIENT_ID, "wrong")), &[("grant_type", "authorization_code"), ("code", "x")]).await;

    for path in ["/healthz/live", "/healthz/ready"] {
        let response = api().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let metrics = api().get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let has = |needle: &str| metrics.lines().any(|l| !l.starts_with('#') && l.contains(needle));
    assert!(
        has(r#"tessera_http_requests_total{route="/dex/token",method="POST",status="200"}"#),
        "{metrics}"
    );
    assert!(
        has(r#"tessera_http_requests_total{route="/dex/token",method="POST",status="401"}"#),
        "{metrics}"
    );
    assert!(has("tessera_http_request_duration_seconds_bucket"), "{metrics}");
    assert!(has(r#"tessera_token_issuance_total{grant_type="authorization_code",result="ok"}"#), "{metrics}");
    assert!(has(r#"tessera_logins_total{connector="local",result="ok"}"#), "{metrics}");
    // The main listener's /healthz answers too.
    assert_eq!(api().get(server.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn pages_carry_security_headers_and_branding() {
    let server = TestServer::builder().yaml("frontend: {issuer: Acme Login, theme: dark}").start().await;
    let page = navigate(&browser(), &server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid")).await.page();
    assert_eq!(page.status, StatusCode::OK);
    let header =
        |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(header("content-security-policy").contains("default-src 'self'"), "{:?}", page.headers);
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert!(!header("x-request-id").is_empty(), "every response names its request id");
    assert!(page.body.contains("Acme Login"), "frontend.issuer names the product");
    assert!(page.body.contains(r#"data-theme="dark""#), "frontend.theme");
    // The session cookie of the login form.
    let cookie = header("set-cookie");
    assert!(cookie.starts_with("tessera_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/dex"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http issuer: no Secure flag");

    // The embedded assets.
    let css = api().get(server.url("/static/main.css")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert_eq!(
        api().get(server.url("/static/nope.css")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn web_headers_override_the_defaults() {
    let server = TestServer::builder()
        .yaml(r#"web: {headers: {X-Frame-Options: SAMEORIGIN, Strict-Transport-Security: "max-age=60"}}"#)
        .start()
        .await;
    let response = api().get(server.url("/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(response.headers()["x-frame-options"], "SAMEORIGIN");
    assert_eq!(response.headers()["strict-transport-security"], "max-age=60");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff", "defaults not overridden stay");
}

#[tokio::test]
async fn frontend_dir_overrides_static_assets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("static")).unwrap();
    std::fs::write(dir.path().join("static/main.css"), "body { color: hotpink }").unwrap();
    let frontend = dir.path().display().to_string();
    let server = TestServer::builder().yaml(&format!("frontend: {{dir: '{frontend}'}}")).start().await;
    let css = api().get(server.url("/static/main.css")).send().await.unwrap().text().await.unwrap();
    assert_eq!(css, "body { color: hotpink }");
    // Dex's /theme/ path serves the same folder; nothing outside it is reachable.
    assert_eq!(api().get(server.url("/theme/main.css")).send().await.unwrap().text().await.unwrap(), css);
    let escape = api().get(server.url("/static/..%2F..%2Fetc%2Fpasswd")).send().await.unwrap();
    assert_eq!(escape.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cors_follows_allowed_origins_and_headers() {
    let server = TestServer::builder()
        .yaml("web: {allowedOrigins: ['https://app.example'], allowedHeaders: [Authorization, X-Custom]}")
        .start()
        .await;
    let preflight = api()
        .request(reqwest::Method::OPTIONS, server.url("/token"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-custom")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://app.example");
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("x-custom") && allowed.contains("authorization"), "{allowed}");

    let discovery = api()
        .get(server.url("/.well-known/openid-configuration"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        discovery.headers().get("access-control-allow-origin").is_none(),
        "an unlisted origin gets no CORS grant"
    );
}
