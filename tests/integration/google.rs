//! The `google` connector against a fake Google on 127.0.0.1: discovery, JWKS, an
//! authorization endpoint that sends the browser straight back, a token endpoint answering
//! with an ID token signed here (with `hd`, `email`, `email_verified`), the service account's
//! `token_uri` (which verifies the JWT-bearer assertion) and the Directory API's groups list
//! in two pages.

use crate::common::*;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tessera::oauth2::subject;
use tessera::signer::keys::{self, SigningAlgorithm};
use url::Url;

const GOOGLE_CLIENT: &str = "google-client";
const GOOGLE_SECRET: &str = "google-secret";
const SA_EMAIL: &str = "tessera@project.iam.gserviceaccount.com";
const ADMIN: &str = "admin@example.com";
const SA_ACCESS_TOKEN: &str = "directory-access-token";

struct FakeGoogle {
    issuer: String,
    id_key: jsonwebtoken::EncodingKey,
    id_jwk: Value,
    kid: String,
    /// The service account's public key, to check assertions with.
    sa_jwk: Value,
    hd: String,
    email: String,
    nonce: Mutex<String>,
    /// The `hd` parameter of the last authorization request.
    hd_param: Mutex<Option<String>>,
    assertions: AtomicUsize,
    /// Once set, the user is in no group any more.
    removed: AtomicBool,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
}

impl FakeGoogle {
    fn id_token(&self) -> String {
        let now = now();
        let claims = json!({
            "iss": self.issuer, "aud": GOOGLE_CLIENT, "azp": GOOGLE_CLIENT, "sub": "1234567890",
            "name": "Alice Example", "email": self.email, "email_verified": true, "hd": self.hd,
            "iat": now, "exp": now + 300, "nonce": *self.nonce.lock().unwrap(),
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.id_key).unwrap()
    }

    fn token_uri(&self) -> String {
        format!("{}/sa/token", self.issuer)
    }

    /// Checks a JWT-bearer assertion as Google's token endpoint would.
    fn check_assertion(&self, form: &HashMap<String, String>) -> Result<(), String> {
        if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
            return Err(format!("grant_type {:?}", form.get("grant_type")));
        }
        let assertion = form.get("assertion").ok_or("no assertion")?;
        let (_, key, alg) = keys::decoding_key(&self.sa_jwk).map_err(|e| e.to_string())?;
        assert_eq!(alg, jsonwebtoken::Algorithm::RS256);
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[self.token_uri()]);
        validation.set_issuer(&[SA_EMAIL]);
        let data = jsonwebtoken::decode::<Value>(assertion, &key, &validation).map_err(|e| e.to_string())?;
        let claims = data.claims;
        if claims["sub"] != ADMIN {
            return Err(format!("sub {}", claims["sub"]));
        }
        if claims["scope"] != "https://www.googleapis.com/auth/admin.directory.group.readonly" {
            return Err(format!("scope {}", claims["scope"]));
        }
        if data.header.kid.as_deref() != Some("sa-key-1") {
            return Err(format!("kid {:?}", data.header.kid));
        }
        Ok(())
    }

    /// The Directory API's answer for `userKey` (and `pageToken`).
    fn groups(&self, user_key: &str, page: Option<&str>) -> Value {
        if self.removed.load(Ordering::SeqCst) {
            return json!({"kind": "admin#directory#groups"});
        }
        match (user_key, page) {
            ("alice@example.com", None) => json!({
                "groups": [{"email": "devs@example.com", "name": "Devs"}], "nextPageToken": "page-2"
            }),
            ("alice@example.com", Some("page-2")) => json!({"groups": [{"email": "staff@example.com"}]}),
            // devs is itself in platform (transitive membership), and in staff (seen already).
            ("devs@example.com", None) => {
                json!({"groups": [{"email": "platform@example.com"}, {"email": "staff@example.com"}]})
            }
            _ => json!({}),
        }
    }
}

async fn fake_google(
    hd: &str,
    email: &str,
) -> (Arc<FakeGoogle>, tempfile::TempDir, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let (id_signing, id_jwk) = keys::generate(SigningAlgorithm::Rs256).unwrap();
    let (sa_signing, sa_jwk) = keys::generate(SigningAlgorithm::Rs256).unwrap();
    let google = Arc::new(FakeGoogle {
        id_key: keys::encoding_key(SigningAlgorithm::Rs256, &id_signing.private_pkcs8).unwrap(),
        kid: id_signing.kid.clone(),
        id_jwk,
        sa_jwk,
        issuer,
        hd: hd.into(),
        email: email.into(),
        nonce: Mutex::new(String::new()),
        hd_param: Mutex::new(None),
        assertions: AtomicUsize::new(0),
        removed: AtomicBool::new(false),
    });
    let dir = tempfile::tempdir().unwrap();
    let account = json!({
        "type": "service_account", "project_id": "project", "private_key_id": "sa-key-1",
        "private_key": pem(&sa_signing.private_pkcs8), "client_email": SA_EMAIL, "client_id": "1",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": google.token_uri(),
    });
    std::fs::write(dir.path().join("sa.json"), account.to_string()).unwrap();

    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|State(g): State<Arc<FakeGoogle>>| async move {
                axum::Json(json!({
                    "issuer": g.issuer, "authorization_endpoint": format!("{}/o/oauth2/v2/auth", g.issuer),
                    "token_endpoint": format!("{}/token", g.issuer), "jwks_uri": format!("{}/certs", g.issuer),
                    "userinfo_endpoint": format!("{}/userinfo", g.issuer),
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["plain", "S256"],
                }))
            }),
        )
        .route("/certs", get(|State(g): State<Arc<FakeGoogle>>| async move { axum::Json(json!({"keys": [g.id_jwk]})) }))
        .route(
            "/o/oauth2/v2/auth",
            get(|State(g): State<Arc<FakeGoogle>>, Query(q): Query<HashMap<String, String>>| async move {
                *g.nonce.lock().unwrap() = q.get("nonce").cloned().unwrap_or_default();
                *g.hd_param.lock().unwrap() = q.get("hd").cloned();
                let mut back = Url::parse(&q["redirect_uri"]).unwrap();
                back.query_pairs_mut().append_pair("code", "the-code").append_pair("state", &q["state"]);
                Redirect::to(back.as_str())
            }),
        )
        .route(
            "/token",
            post(|State(g): State<Arc<FakeGoogle>>, Form(form): Form<HashMap<String, String>>| async move {
                match form.get("grant_type").map(String::as_str) {
                    Some("authorization_code") if form.get("code").map(String::as_str) == Some("the-code") => {}
                    Some("refresh_token") if form.get("refresh_token").map(String::as_str) == Some("google-rt") => {
                        // Google leaves out the nonce on refresh.
                        g.nonce.lock().unwrap().clear();
                    }
                    _ => {
                        return (AxumStatus::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"})))
                            .into_response();
                    }
                }
                axum::Json(json!({"access_token": "google-at", "token_type": "Bearer", "expires_in": 3600,
                                  "refresh_token": "google-rt", "id_token": g.id_token()}))
                .into_response()
            }),
        )
        .route(
            "/sa/token",
            post(|State(g): State<Arc<FakeGoogle>>, Form(form): Form<HashMap<String, String>>| async move {
                match g.check_assertion(&form) {
                    Ok(()) => {
                        g.assertions.fetch_add(1, Ordering::SeqCst);
                        axum::Json(json!({"access_token": SA_ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}))
                            .into_response()
                    }
                    Err(why) => (
                        AxumStatus::BAD_REQUEST,
                        axum::Json(json!({"error": "invalid_grant", "error_description": why})),
                    )
                        .into_response(),
                }
            }),
        )
        .route(
            "/admin/directory/v1/groups",
            get(
                |State(g): State<Arc<FakeGoogle>>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                    let bearer = format!("Bearer {SA_ACCESS_TOKEN}");
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
                        return AxumStatus::UNAUTHORIZED.into_response();
                    }
                    let user_key = q.get("userKey").cloned().unwrap_or_default();
                    axum::Json(g.groups(&user_key, q.get("pageToken").map(String::as_str))).into_response()
                },
            ),
        )
        .with_state(google.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (google, dir, task)
}

/// The YAML of a `google` connector with id `google`, as a Dex config would have it.
fn connector_yaml(google: &FakeGoogle, dir: &tempfile::TempDir, callback: &str, extra: &str) -> String {
    format!(
        r#"
connectors:
  - type: google
    id: google
    name: Google
    config:
      clientID: {GOOGLE_CLIENT}
      clientSecret: {GOOGLE_SECRET}
      redirectURI: {callback}
      serviceAccountFilePath: {}
      domainToAdminEmail:
        "*": {ADMIN}
      issuer: {}
      adminAPIURL: {}
{extra}"#,
        dir.path().join("sa.json").display(),
        google.issuer,
        google.issuer,
    )
}

async fn bound() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/dex/callback", listener.local_addr().unwrap());
    (listener, callback)
}

/// Logs in through the `google` connector; the code, or the page the browser ends on.
async fn login_via(server: &TestServer, scope: &str) -> Result<String, Page> {
    let browser = browser();
    let url = server.auth_url(&[
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st4te"),
        ("connector_id", "google"),
    ]);
    let upstream = match navigate(&browser, &url).await {
        Hop::Client(url) => url,
        Hop::Page(page) => return Err(page),
    };
    let back = navigate(&browser, &upstream).await.client();
    match navigate(&browser, &back).await {
        Hop::Page(page) if page.url.path().ends_with("/approval") => {
            let done = approve(&browser, &page).await.client();
            Ok(query_param(&done, "code").unwrap())
        }
        Hop::Page(page) => Err(page),
        Hop::Client(done) => Ok(query_param(&done, "code").unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_login_maps_claims_and_directory_groups_and_refresh_rechecks_them() {
    let (google, dir, _task) = fake_google("example.com", "alice@example.com").await;
    let (listener, callback) = bound().await;
    let extra = "      hostedDomains: [example.com]\n      groups: [devs@example.com, platform@example.com, staff@example.com]\n      fetchTransitiveGroupMembership: true\n";
    let server = TestServer::builder()
        .listener(listener)
        .yaml(&connector_yaml(&google, &dir, &callback, extra))
        .start()
        .await;

    let code = login_via(&server, "openid profile email groups offline_access")
        .await
        .unwrap_or_else(|p| panic!("login failed: {} {}", p.status, p.body));
    assert_eq!(google.hd_param.lock().unwrap().as_deref(), Some("example.com"), "Dex sends hd");
    let tokens = server.redeem(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let claims = jwt_claims(tokens.str("id_token"));
    assert_eq!(claims["sub"], subject::encode("1234567890", &"google".into()));
    assert_eq!(claims["name"], "Alice Example");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    // Depth first as Dex: devs, then devs' groups (platform; staff), then page 2 (staff, seen).
    assert_eq!(claims["groups"], json!(["devs@example.com", "platform@example.com", "staff@example.com"]));
    assert!(google.assertions.load(Ordering::SeqCst) >= 1, "the service account authenticated");

    let refreshed = server.refresh(tokens.str("refresh_token")).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    assert_eq!(jwt_claims(refreshed.str("id_token"))["sub"], claims["sub"]);

    // Out of every group: the next refresh is refused.
    google.removed.store(true, Ordering::SeqCst);
    server
        .refresh(refreshed.str("refresh_token"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_domain_outside_the_list_is_refused() {
    let (google, dir, _task) = fake_google("other.com", "bob@other.com").await;
    let (listener, callback) = bound().await;
    let extra = "      hostedDomains: [example.com, example.org]\n";
    let server = TestServer::builder()
        .listener(listener)
        .yaml(&connector_yaml(&google, &dir, &callback, extra))
        .start()
        .await;
    let page =
        login_via(&server, "openid email").await.err().unwrap_or_else(|| panic!("other.com was let in"));
    assert_eq!(google.hd_param.lock().unwrap().as_deref(), Some("*"), "several domains: hd=*");
    page.assert_error_page();
    assert!(page.body.contains("other.com, which may not log in here"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_in_none_of_the_groups_is_refused() {
    let (google, dir, _task) = fake_google("example.com", "alice@example.com").await;
    let (listener, callback) = bound().await;
    let extra = "      groups: [admins@example.com]\n";
    let server = TestServer::builder()
        .listener(listener)
        .yaml(&connector_yaml(&google, &dir, &callback, extra))
        .start()
        .await;
    let page = login_via(&server, "openid email groups")
        .await
        .err()
        .unwrap_or_else(|| panic!("a non-member was let in"));
    page.assert_error_page();
    assert!(page.body.contains("not a member of any Google group allowed"), "{}", page.body);
    assert!(google.assertions.load(Ordering::SeqCst) >= 1);
    // Without the groups scope the restriction still holds (Dex would skip it).
    let page =
        login_via(&server, "openid email").await.err().unwrap_or_else(|| panic!("no groups scope: let in"));
    assert!(page.body.contains("not a member of any Google group allowed"), "{}", page.body);
}
