//! What the fuzz targets share: one Tessera app, built once per process (in-memory storage,
//! the password database, a static client).
//!
//! The `http_*` targets drive it through its real router with `tower::ServiceExt::oneshot`
//! and check the one property every HTTP answer must have: whatever the input, never a 5xx (a
//! client's mistake is a 4xx, never a server error) and never a panic (libFuzzer reports a
//! panic as a crash). The router's layers (sessions, telemetry, pages) cost most of each run,
//! so the targets that must reach ten million runs (`auth_request`, `token_request`,
//! `bearer_tokens`) call the same code one layer down: the extractors and the protocol
//! functions the handlers call, with [`app`] and [`block_on`].

use axum::body::Body;
use axum::http::{Request, Response};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

pub const CLIENT_ID: &str = "example-app";
pub const CLIENT_SECRET: &str = "ZXhhbXBsZS1hcHAtc2VjcmV0";
pub const ISSUER: &str = "http://127.0.0.1:5556/dex";
/// The client's only registered redirect URI.
pub const REDIRECT_URI: &str = "http://127.0.0.1:5555/callback";

/// The harness's config; `{upstream}` is the issuer of the in-process upstream provider.
const CONFIG: &str = r#"
issuer: http://127.0.0.1:5556/dex
storage:
  type: memory
web:
  http: 127.0.0.1:5556
oauth2:
  grantTypes: [authorization_code, refresh_token, password, client_credentials,
    "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange"]
  passwordConnector: local
  # No background tasks run here, so the revoked-token list is never re-read: without this,
  # after 30 s every token check would fail closed (503), as it should in a real outage.
  introspection:
    revocationsMaxAge: 8760h
throttle:
  enabled: false
# ES256: a successful client_credentials grant signs a token; an RSA signature would cost
# more than everything else in the run. Verification is what the fuzzer reaches, either way.
signer:
  type: local
  config:
    algorithm: ES256
staticClients:
  - id: example-app
    secret: ZXhhbXBsZS1hcHAtc2VjcmV0
    name: Example App
    redirectURIs: ["http://127.0.0.1:5555/callback"]
  - id: cli
    name: CLI
    public: true
  # Client assertions (RFC 7523) reach their checks: a key (the RFC 7517 §A.1 example P-256
  # key, kid "1") and an HMAC secret.
  - id: keyed
    name: Keyed
    redirectURIs: ["http://127.0.0.1:5555/callback"]
    tokenEndpointAuthMethod: private_key_jwt
    jwks: {keys: [{kty: EC, crv: P-256, kid: "1", x: MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4, y: 4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM}]}
  - id: hmac
    name: HMAC
    secret: an-hmac-secret-of-at-least-32-characters
    redirectURIs: ["http://127.0.0.1:5555/callback"]
    tokenEndpointAuthMethod: client_secret_jwt
enablePasswordDB: true
# Token exchange verifies its subject token with this connector's provider: `upstream()`.
connectors:
  - type: oidc
    id: upstream
    name: Upstream
    config:
      issuer: {upstream}
      clientID: tessera
      clientSecret: upstream-secret
      redirectURI: http://127.0.0.1:5556/dex/callback
staticPasswords:
  - email: admin@example.com
    hash: "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W"
    username: admin
    userID: 08a8684b-db88-4b73-90a9-3cd1661f5466
"#;

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: Arc<tessera::app::App>,
    router: axum::Router,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let upstream = runtime.block_on(upstream());
        let config = tessera::config::load_str(&CONFIG.replace("{upstream}", &upstream)).expect("fuzz config").config;
        let (app, router) = runtime.block_on(async {
            let app = tessera::app::App::build(&config).await.expect("app");
            (app.clone(), tessera::server::router(app, &config))
        });
        Harness { runtime, app, router }
    })
}

/// A stand-in upstream OpenID provider on a loopback port, serving only what the `oidc`
/// connector reads before it verifies a token: discovery and a JWKS with one P-256 key (the
/// example key of RFC 7517 §A.1, whose private half nobody here holds). It runs on the
/// harness's runtime, so it answers while a target is blocked on it. Returns its issuer.
async fn upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let discovery = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/keys"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    });
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "1",
        "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
    }]});
    let router = axum::Router::new()
        .route("/.well-known/openid-configuration", axum::routing::get(move || async move { axum::Json(discovery) }))
        .route("/keys", axum::routing::get(move || async move { axum::Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("upstream") });
    issuer
}

/// Serves one request and checks the property; returns the response for target-specific
/// checks.
pub fn serve(request: Request<Body>) -> Response<Body> {
    let h = harness();
    let what = format!("{} {}", request.method(), request.uri());
    let response = h.runtime.block_on(h.router.clone().oneshot(request)).expect("infallible");
    assert!(!response.status().is_server_error(), "{what} answered {}", response.status());
    response
}

/// The app the router serves, for targets that call its functions directly.
pub fn app() -> &'static tessera::app::App {
    &harness().app
}

/// Runs `future` on the harness's runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    harness().runtime.block_on(future)
}

/// The client's credentials as an `Authorization: Basic` header would carry them.
pub fn client_credentials() -> tessera::oauth2::client_auth::ClientCredentials {
    tessera::oauth2::client_auth::ClientCredentials {
        client_id: tessera::types::ClientId::from(CLIENT_ID),
        client_secret: Some(tessera::types::Secret::new(CLIENT_SECRET.to_string())),
        basic: true,
        ..Default::default()
    }
}

/// An OAuth error answering a client's mistake: a 4xx, and not brute-force protection (off
/// here).
pub fn assert_client_error(error: &tessera::oauth2::OAuthError) {
    assert!(error.code.status() < 500 && !error.too_many_requests, "{error:?}");
}

/// Splits fuzz input into `n` parts at 0xFF bytes (missing parts are empty), lossily as UTF-8.
pub fn parts(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data.splitn(n, |b| *b == 0xFF).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
    out.resize(n, String::new());
    out
}

/// `value` percent-encoded for a query or form (so the fuzzer's bytes reach the parser
/// intact and never break the request line).
pub fn encode(value: &str) -> String {
    value.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// A `/token` request with this `Authorization` header (none when empty) and form body;
/// `None` when the header is not a value HTTP can carry.
pub fn token_request(authorization: &str, body: String) -> Option<Request<Body>> {
    let mut request = Request::post("/dex/token").header("content-type", "application/x-www-form-urlencoded");
    if !authorization.is_empty() {
        request = request.header("authorization", authorization);
    }
    request.body(Body::from(body)).ok()
}

pub fn form(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request")
}

/// The whole body of a response.
pub fn body(response: Response<Body>) -> Vec<u8> {
    use http_body_util::BodyExt;
    harness()
        .runtime
        .block_on(response.into_body().collect())
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default()
}
