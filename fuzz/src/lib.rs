//! What the fuzz targets share: one Tessera app, built once per process (in-memory storage,
//! the password database, a static client), driven through its real router with
//! `tower::ServiceExt::oneshot`, and the one property every HTTP target checks: whatever the
//! input, the answer is never a 5xx (a client's mistake is a 4xx, never a server error) and
//! the handler never panics (libFuzzer reports a panic as a crash).

use axum::body::Body;
use axum::http::{Request, Response};
use std::sync::OnceLock;
use tower::ServiceExt;

pub const CLIENT_ID: &str = "example-app";
pub const CLIENT_SECRET: &str = "ZXhhbXBsZS1hcHAtc2VjcmV0";

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
staticClients:
  - id: example-app
    secret: ZXhhbXBsZS1hcHAtc2VjcmV0
    name: Example App
    redirectURIs: ["http://127.0.0.1:5555/callback"]
  - id: cli
    name: CLI
    public: true
enablePasswordDB: true
staticPasswords:
  - email: admin@example.com
    hash: "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W"
    username: admin
    userID: 08a8684b-db88-4b73-90a9-3cd1661f5466
"#;

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let config = tessera::config::load_str(CONFIG).expect("fuzz config").config;
        let router = runtime.block_on(async {
            let app = tessera::app::App::build(&config).await.expect("app");
            tessera::server::router(app, &config)
        });
        Harness { runtime, router }
    })
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
