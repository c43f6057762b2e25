//! The `oidc` connector against real upstreams: oidc-provider (Node, OpenID-certified) and
//! another Tessera, driven through the whole browser login across both servers; and against a
//! hostile upstream that answers with bad ID tokens, is down, or never answers.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use tessera::oauth2::subject;
use url::Url;

const DOWNSTREAM_CLIENT: &str = "tessera-downstream";
const DOWNSTREAM_SECRET: &str = "downstream-secret";

/// A free port on 127.0.0.1 (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// oidc-provider as a child process, killed on drop.
struct NodeProvider {
    child: Child,
    issuer: String,
}

impl NodeProvider {
    fn start(redirect_uri: &str) -> Self {
        let dir = npm_fixture("oidc-provider", "oidc-provider");
        let port = free_port();
        let client = json!({
            "client_id": DOWNSTREAM_CLIENT, "client_secret": DOWNSTREAM_SECRET, "redirect_uris": [redirect_uri],
        });
        let mut child = Command::new(node())
            .arg("index.mjs")
            .arg(port.to_string())
            .env("OP_CLIENT", client.to_string())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with("ready "), "oidc-provider did not start: {line:?}");
        // Keep draining its output: a closed pipe would kill it at its next notice.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self { child, issuer: line.trim_start_matches("ready ").trim().to_string() }
    }
}

impl Drop for NodeProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The YAML of a downstream `oidc` connector with id `up`.
fn connector_yaml(issuer: &str, extra: &str) -> String {
    format!(
        r#"
connectors:
  - type: oidc
    id: up
    name: Upstream
    config:
      issuer: {issuer}
      clientID: {DOWNSTREAM_CLIENT}
      clientSecret: {DOWNSTREAM_SECRET}
{extra}"#
    )
}

/// A Tessera whose address is known before it starts (the upstream needs its callback URL).
async fn bound() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/dex/callback", listener.local_addr().unwrap());
    (listener, callback)
}

/// `/auth` for `example-app` straight to the `up` connector.
fn auth_url(server: &TestServer, scope: &str) -> Url {
    server.auth_url(&[
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("connector_id", "up"),
    ])
}

/// Starts the login at Tessera and returns the upstream URL the browser is sent to.
async fn to_upstream(browser: &reqwest::Client, server: &TestServer, scope: &str) -> Url {
    let upstream = navigate(browser, &auth_url(server, scope)).await.client();
    assert!(query_param(&upstream, "state").is_some(), "{upstream}");
    upstream
}

/// Back at Tessera's `/callback`: approve and return the code.
async fn finish_at_tessera(browser: &reqwest::Client, callback: &Url) -> String {
    let done = match navigate(browser, callback).await {
        Hop::Page(page) => approve(browser, &page).await.client(),
        Hop::Client(url) => url,
    };
    assert_eq!(query_param(&done, "state").as_deref(), Some("st4te"), "{done}");
    query_param(&done, "code").unwrap_or_else(|| panic!("no code in {done}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_through_oidc_provider_maps_claims_like_dex() {
    let (listener, callback) = bound().await;
    let op = NodeProvider::start(&callback);
    let extra = "      scopes: [profile, email, groups]\n      insecureEnableGroups: true\n      claimModifications:\n        modifyGroupNames:\n          prefix: 'op:'\n";
    let server =
        TestServer::builder().listener(listener).yaml(&connector_yaml(&op.issuer, extra)).start().await;

    let browser = browser();
    let upstream = to_upstream(&browser, &server, "openid profile email groups").await;
    assert!(upstream.as_str().starts_with(&op.issuer), "{upstream}");
    assert!(query_param(&upstream, "nonce").is_some_and(|n| n.len() >= 16));
    assert_eq!(query_param(&upstream, "code_challenge_method").as_deref(), Some("S256"));
    let login = navigate(&browser, &upstream).await.page();
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let back = match submit(&browser, &login.form(), &[("login", "alice"), ("password", "wonderland")]).await
    {
        Hop::Client(url) => url,
        Hop::Page(page) => panic!("stuck upstream at {}: {} {}", page.url, page.status, page.body),
    };
    assert!(back.as_str().starts_with(&callback), "{back}");
    let code = finish_at_tessera(&browser, &back).await;

    let tokens = server.redeem(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let claims = jwt_claims(tokens.str("id_token"));
    assert_eq!(claims["sub"], subject::encode("alice", &"up".into()), "Dex's sub for the upstream user");
    assert_eq!(claims["name"], "Alice Liddell");
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["email"], "alice@example.org");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["groups"], json!(["op:admins", "op:devs", "op:readers"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_groups_refuse_outsiders_with_a_clear_page() {
    let (listener, callback) = bound().await;
    let op = NodeProvider::start(&callback);
    let extra = "      scopes: [profile, email, groups]\n      insecureEnableGroups: true\n      allowedGroups: [wizards]\n";
    let server =
        TestServer::builder().listener(listener).yaml(&connector_yaml(&op.issuer, extra)).start().await;
    let browser = browser();
    let upstream = to_upstream(&browser, &server, "openid email").await;
    let login = navigate(&browser, &upstream).await.page();
    let back =
        submit(&browser, &login.form(), &[("login", "alice"), ("password", "wonderland")]).await.client();
    let page = navigate(&browser, &back).await.page();
    page.assert_error_page();
    assert!(page.body.contains("not a member of any group allowed"), "{}", page.body);
}

/// Another Tessera as the upstream: the login chains through both, upstream refresh works,
/// and once the upstream refuses (its refresh token expired) the downstream refresh fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tessera_upstream_login_refresh_and_refusal() {
    let (listener, callback) = bound().await;
    let callback_for_upstream = callback.clone();
    let upstream = TestServer::builder()
        .yaml("sessions:\n  cookieName: upstream_session\nexpiry:\n  refreshTokens:\n    absoluteLifetime: 1h\n")
        .yaml_with(move |yaml| {
            let clients = yaml["staticClients"].as_sequence_mut().unwrap();
            clients.push(
                serde_norway::from_str(&format!(
                    "{{id: {DOWNSTREAM_CLIENT}, secret: {DOWNSTREAM_SECRET}, name: Downstream, redirectURIs: ['{callback_for_upstream}'], postLogoutRedirectURIs: ['{}']}}",
                    callback_for_upstream.replace("/callback", "/logout/callback")
                ))
                .unwrap(),
            );
        })
        .start()
        .await;
    let extra = "      scopes: [profile, email, groups, offline_access]\n      insecureEnableGroups: true\n";
    let server =
        TestServer::builder().listener(listener).yaml(&connector_yaml(&upstream.issuer, extra)).start().await;

    let browser = browser();
    let to = to_upstream(&browser, &server, "openid profile email groups offline_access").await;
    assert!(to.as_str().starts_with(&upstream.issuer), "{to}");
    assert_eq!(
        query_param(&to, "prompt").as_deref(),
        Some("consent"),
        "Dex asks for consent with offline_access"
    );
    let form = navigate(&browser, &to).await.page();
    let back = match submit_password(&browser, &form, ADMIN_EMAIL, ADMIN_PASSWORD).await {
        Hop::Page(page) => approve(&browser, &page).await.client(),
        Hop::Client(url) => url,
    };
    assert!(back.as_str().starts_with(&callback), "{back}");
    let code = finish_at_tessera(&browser, &back).await;
    let tokens = server.redeem(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let claims = jwt_claims(tokens.str("id_token"));
    let upstream_sub = subject::encode(ADMIN_USER_ID, &"local".into());
    assert_eq!(claims["sub"], subject::encode(&upstream_sub, &"up".into()));
    assert_eq!(claims["email"], ADMIN_EMAIL);
    assert_eq!(claims["groups"], json!(["admins", "developers"]));

    let refresh = tokens.str("refresh_token").to_string();
    let refreshed = server.refresh(&refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK, "upstream refresh works: {}", refreshed.text);
    assert_eq!(jwt_claims(refreshed.str("id_token"))["sub"], claims["sub"]);

    // Logging out of the downstream logs out of the upstream too, and comes back.
    let confirm = navigate(&browser, &Url::parse(&server.url("/logout")).unwrap()).await.page();
    let to_upstream_logout = submit(&browser, &confirm.form(), &[]).await.client();
    assert!(to_upstream_logout.as_str().starts_with(&upstream.url("/logout")), "{to_upstream_logout}");
    assert!(query_param(&to_upstream_logout, "id_token_hint").is_some());
    let back = navigate(&browser, &to_upstream_logout).await.client();
    assert!(back.as_str().starts_with(&server.url("/logout/callback")), "{back}");
    let done = navigate(&browser, &back).await.page();
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    // The upstream session is gone: a new login there asks for the password again.
    let again = navigate(&browser, &auth_url(&server, "openid email")).await.client();
    assert!(navigate(&browser, &again).await.page().url.path().ends_with("/login"));

    // The upstream's refresh token outlives its absolute lifetime: the upstream says no.
    upstream.advance(2 * 3600);
    let refused = server.refresh(refreshed.str("refresh_token")).await;
    refused.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

// A hostile upstream: discovery, JWKS, an authorization endpoint that sends the browser
// straight back, and a token endpoint that answers with the ID token a test chose.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Valid,
    WrongAudience,
    ForeignKey,
    Expired,
    AlgNone,
    Hs256WithPublicKey,
    WrongNonce,
}

struct Hostile {
    issuer: String,
    key: Arc<aws_lc_rs::signature::EcdsaKeyPair>,
    pkcs8: Vec<u8>,
    answer: Answer,
    nonce: Mutex<String>,
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn ec_key() -> (Arc<aws_lc_rs::signature::EcdsaKeyPair>, Vec<u8>) {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
            .unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    (Arc::new(key), pkcs8.as_ref().to_vec())
}

impl Hostile {
    fn jwk(&self) -> Value {
        use aws_lc_rs::signature::KeyPair;
        let point = self.key.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
               "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    }

    fn id_token(&self) -> String {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let nonce = self.nonce.lock().unwrap().clone();
        let mut claims = json!({
            "iss": self.issuer, "aud": DOWNSTREAM_CLIENT, "sub": "mallory", "name": "Mallory",
            "email": "m@example.net", "email_verified": true, "iat": now, "exp": now + 300, "nonce": nonce,
        });
        match self.answer {
            Answer::WrongAudience => claims["aud"] = json!("someone-else"),
            Answer::Expired => claims["exp"] = json!(now - 600),
            Answer::WrongNonce => claims["nonce"] = json!("not-the-nonce"),
            _ => {}
        }
        let encode = |alg: jsonwebtoken::Algorithm, key: &jsonwebtoken::EncodingKey| {
            let mut header = jsonwebtoken::Header::new(alg);
            header.kid = Some("k1".into());
            jsonwebtoken::encode(&header, &claims, key).unwrap()
        };
        match self.answer {
            Answer::AlgNone => {
                let header = b64(br#"{"alg":"none","kid":"k1"}"#);
                format!("{header}.{}.", b64(claims.to_string().as_bytes()))
            }
            Answer::Hs256WithPublicKey => {
                use aws_lc_rs::signature::KeyPair;
                let secret = self.key.public_key().as_ref().to_vec();
                encode(jsonwebtoken::Algorithm::HS256, &jsonwebtoken::EncodingKey::from_secret(&secret))
            }
            Answer::ForeignKey => {
                let (_, other) = ec_key();
                encode(jsonwebtoken::Algorithm::ES256, &jsonwebtoken::EncodingKey::from_ec_der(&other))
            }
            _ => encode(jsonwebtoken::Algorithm::ES256, &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8)),
        }
    }
}

async fn hostile(answer: Answer) -> (Arc<Hostile>, tokio::task::JoinHandle<()>) {
    use axum::extract::{Query, State};
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::{get, post};
    use std::collections::HashMap;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let (key, pkcs8) = ec_key();
    let op = Arc::new(Hostile { issuer, key, pkcs8, answer, nonce: Mutex::new(String::new()) });
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|State(op): State<Arc<Hostile>>| async move {
                axum::Json(json!({
                    "issuer": op.issuer, "authorization_endpoint": format!("{}/authorize", op.issuer),
                    "token_endpoint": format!("{}/token", op.issuer), "jwks_uri": format!("{}/jwks", op.issuer),
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["ES256", "HS256", "none"],
                }))
            }),
        )
        .route("/jwks", get(|State(op): State<Arc<Hostile>>| async move { axum::Json(json!({"keys": [op.jwk()]})) }))
        .route(
            "/authorize",
            get(|State(op): State<Arc<Hostile>>, Query(q): Query<HashMap<String, String>>| async move {
                *op.nonce.lock().unwrap() = q.get("nonce").cloned().unwrap_or_default();
                let mut back = Url::parse(&q["redirect_uri"]).unwrap();
                back.query_pairs_mut().append_pair("code", "the-code").append_pair("state", &q["state"]);
                Redirect::to(back.as_str())
            }),
        )
        .route(
            "/token",
            post(|State(op): State<Arc<Hostile>>| async move {
                axum::Json(json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                                  "id_token": op.id_token()}))
                .into_response()
            }),
        )
        .with_state(op.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (op, task)
}

/// Logs in through the `up` connector; the page the browser ends on, or the code.
async fn login_via(server: &TestServer) -> Result<String, Page> {
    let browser = browser();
    let upstream = navigate(&browser, &auth_url(server, "openid email profile")).await;
    let upstream = match upstream {
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
async fn bad_upstream_id_tokens_get_an_error_page_never_tokens() {
    let (op, _task) = hostile(Answer::Valid).await;
    let server = TestServer::builder().yaml(&connector_yaml(&op.issuer, "")).start().await;
    let code = login_via(&server).await.unwrap_or_else(|p| panic!("the control login failed: {}", p.body));
    assert_eq!(
        jwt_claims(server.redeem(&code).await.str("id_token"))["sub"],
        subject::encode("mallory", &"up".into())
    );

    for answer in [
        Answer::WrongAudience,
        Answer::ForeignKey,
        Answer::Expired,
        Answer::AlgNone,
        Answer::Hs256WithPublicKey,
        Answer::WrongNonce,
    ] {
        let (op, _task) = hostile(answer).await;
        let server = TestServer::builder().yaml(&connector_yaml(&op.issuer, "")).start().await;
        let page = login_via(&server).await.err().unwrap_or_else(|| panic!("{answer:?} was accepted"));
        page.assert_error_page();
        assert!(page.body.contains("could not be verified"), "{answer:?}: {}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_state_finds_no_login() {
    let (op, _task) = hostile(Answer::Valid).await;
    let server = TestServer::builder().yaml(&connector_yaml(&op.issuer, "")).start().await;
    let browser = browser();
    let upstream = navigate(&browser, &auth_url(&server, "openid email profile")).await.client();
    let mut back = navigate(&browser, &upstream).await.client();
    let pairs: Vec<(String, String)> = back
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" { "forged".into() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    back.query_pairs_mut().clear().extend_pairs(pairs);
    navigate(&browser, &back).await.page().assert_error_page();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_or_slow_gets_an_error_page_and_the_server_keeps_serving() {
    // Down: nothing listens (also: the issuer was unreachable when the server started).
    let down = format!("http://127.0.0.1:{}", free_port());
    // Slow: accepts connections and never answers.
    let slow_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow = format!("http://{}", slow_listener.local_addr().unwrap());
    let _slow_task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = slow_listener.accept().await {
            held.push(socket);
        }
    });
    let yaml = format!(
        r#"
connectors:
  - {{type: oidc, id: down, name: Down, config: {{issuer: "{down}", clientID: a, clientSecret: b}}}}
  - {{type: oidc, id: slow, name: Slow, config: {{issuer: "{slow}", clientID: a, clientSecret: b, upstreamTimeout: 1s}}}}
"#
    );
    let server = TestServer::builder().yaml(&yaml).start().await;
    for id in ["down", "slow"] {
        let mut url = auth_url(&server, "openid email");
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "connector_id" { id.into() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        // The connector's own timeout ends the wait; the outer bound only keeps a broken
        // timeout from hanging the test run.
        let hop = tokio::time::timeout(std::time::Duration::from_secs(60), navigate(&browser(), &url))
            .await
            .unwrap_or_else(|_| panic!("{id}: the upstream timeout did not end the request"));
        let page = hop.page();
        assert_eq!(page.status, reqwest::StatusCode::BAD_GATEWAY, "{id}: {}", page.body);
        assert!(page.content_type().starts_with("text/html"));
        assert!(page.body.contains("could not be reached"), "{id}: {}", page.body);
    }
    // The other connectors still work.
    let mut local = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email");
    local.query_pairs_mut().append_pair("connector_id", "local");
    let done = login_with_password(&browser(), &local, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(server.redeem(&query_param(&done, "code").unwrap()).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_exchange_verifies_upstream_id_tokens() {
    let (op, _task) = hostile(Answer::Valid).await;
    let server = TestServer::builder()
        .yaml(&connector_yaml(&op.issuer, ""))
        .yaml("oauth2:\n  grantTypes: [authorization_code, refresh_token, 'urn:ietf:params:oauth:grant-type:token-exchange']\n")
        .start()
        .await;
    // Discovery runs in the background at start; a first exchange may trigger it.
    let exchange = |token: String| {
        let server = &server;
        async move {
            server
                .token(
                    Some((CLIENT_ID, CLIENT_SECRET)),
                    &[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                        ("connector_id", "up"),
                        ("scope", "openid email"),
                        ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"),
                        ("subject_token", &token),
                        ("requested_token_type", "urn:ietf:params:oauth:token-type:id_token"),
                    ],
                )
                .await
        }
    };
    let ok = exchange(op.id_token()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(jwt_claims(ok.str("access_token"))["sub"], subject::encode("mallory", &"up".into()));

    let (other, _task2) = hostile(Answer::ForeignKey).await;
    exchange(other.id_token()).await.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}
