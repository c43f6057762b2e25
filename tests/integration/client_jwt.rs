//! Client authentication with JWTs (RFC 7523, OIDC Core §9): `private_key_jwt` with the
//! client's keys published at a `jwksURI` (served here by a small HTTP server, rotated
//! mid-test) and `client_secret_jwt`, at PAR, `/token`, introspection and revocation. The
//! negative cases follow the FAPI 2.0 test plan: a wrong `aud`, a replayed `jti`, another
//! method than the registered one.

use crate::common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tessera::clock::Clock;
use tessera::signer::keys::{SigningAlgorithm, encoding_key, generate};

const JWT_ID: &str = "fapi-app";
const HMAC_ID: &str = "hmac-app";
const HMAC_SECRET: &str = "an-hmac-secret-that-is-long-enough-0123";
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const VERIFIER: &str = "a-verifier-of-enough-length-for-pkce-0123456789";

/// A client's key pair.
pub(crate) struct Key {
    encoding: EncodingKey,
    kid: String,
    pub(crate) public: Value,
}

pub(crate) fn key() -> Key {
    let (key, public) = generate(SigningAlgorithm::Es256).unwrap();
    Key { encoding: encoding_key(SigningAlgorithm::Es256, &key.private_pkcs8).unwrap(), kid: key.kid, public }
}

/// The client's own web server, publishing its JWK Set and counting the fetches.
struct KeyServer {
    url: String,
    keys: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

impl KeyServer {
    async fn start(first: &Key) -> Self {
        let keys = Arc::new(Mutex::new(json!({ "keys": [first.public] })));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (k, f) = (keys.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (k, f) = (k.clone(), f.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    axum::Json(k.lock().unwrap().clone())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, keys, fetches }
    }

    /// The client rotates: only `next` is published from now on.
    fn rotate_to(&self, next: &Key) {
        *self.keys.lock().unwrap() = json!({ "keys": [next.public] });
    }
}

async fn server_with_clients(jwks_uri: &str) -> TestServer {
    let jwks_uri = jwks_uri.to_string();
    TestServer::builder()
        .yaml("oauth2:\n  grantTypes: [authorization_code, refresh_token, client_credentials]\n")
        .yaml_with(move |yaml| {
            let clients = yaml["staticClients"].as_sequence_mut().unwrap();
            let entry = format!(
                "id: {JWT_ID}\nname: FAPI app\nredirectURIs: ['{REDIRECT_URI}']\ntokenEndpointAuthMethod: private_key_jwt\njwksURI: {jwks_uri}\n"
            );
            clients.push(serde_norway::from_str(&entry).unwrap());
            let entry = format!(
                "id: {HMAC_ID}\nname: HMAC app\nsecret: {HMAC_SECRET}\nredirectURIs: ['{REDIRECT_URI}']\ntokenEndpointAuthMethod: client_secret_jwt\n"
            );
            clients.push(serde_norway::from_str(&entry).unwrap());
        })
        .start()
        .await
}

/// Claims of a fresh assertion by `client` for `aud`, by the server's clock.
pub(crate) fn claims(server: &TestServer, client: &str, aud: &str) -> Value {
    let now = server.clock.now();
    json!({ "iss": client, "sub": client, "aud": aud, "iat": now, "exp": now + 60, "jti": random() })
}

fn random() -> String {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

pub(crate) fn signed(key: &Key, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

/// POSTs `form` plus the assertion to `path`.
async fn post(server: &TestServer, path: &str, assertion: &str, form: &[(&str, &str)]) -> ApiResponse {
    let mut body: Vec<(&str, &str)> = form.to_vec();
    body.push(("client_assertion_type", ASSERTION_TYPE));
    body.push(("client_assertion", assertion));
    ApiResponse::read(api().post(server.url(path)).form(&body).send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt_through_par_login_token_introspection_and_revocation() {
    let first = key();
    let keys = KeyServer::start(&first).await;
    let server = server_with_clients(&keys.url).await;
    let d = server.discovery().await;
    for field in ["token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported"] {
        let methods = d[field].as_array().unwrap();
        assert!(
            methods.contains(&json!("private_key_jwt")) && methods.contains(&json!("client_secret_jwt")),
            "{d}"
        );
    }
    assert!(
        d["token_endpoint_auth_signing_alg_values_supported"].as_array().unwrap().contains(&json!("ES256"))
    );
    let issuer = server.issuer.clone();

    // PAR, authenticated by the key; the assertion's aud is the issuer (FAPI 2.0).
    let challenge = s256(VERIFIER);
    let par = post(
        &server,
        "/par",
        &signed(&first, &claims(&server, JWT_ID, &issuer)),
        &[
            ("client_id", JWT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid email offline_access"),
            ("state", "s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_eq!(par.status, StatusCode::CREATED, "{}", par.text);
    let url = server.auth_url(&[("client_id", JWT_ID), ("request_uri", par.str("request_uri"))]);
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let code = query_param(&done, "code").unwrap();

    // The token endpoint, with the assertion alone (no client_id: its sub names the client),
    // its aud the token endpoint's URL (OIDC Core §9).
    let token_url = format!("{issuer}/token");
    let assertion = signed(&first, &claims(&server, JWT_ID, &token_url));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let tokens = post(&server, "/token", &assertion, &form).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(jwt_claims(tokens.str("id_token"))["aud"], JWT_ID);

    // A replayed assertion is refused, whatever it is sent with.
    let replay =
        post(&server, "/token/introspect", &assertion, &[("token", tokens.str("access_token"))]).await;
    replay.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(replay.text.contains("jti was used before"), "{}", replay.text);

    let fresh = || signed(&first, &claims(&server, JWT_ID, &issuer));
    let introspected =
        post(&server, "/token/introspect", &fresh(), &[("token", tokens.str("access_token"))]).await;
    assert_eq!(introspected.status, StatusCode::OK, "{}", introspected.text);
    assert_eq!(introspected.json["active"], true, "{}", introspected.text);

    // Wrong audience, and the registered method only.
    let elsewhere = signed(&first, &claims(&server, JWT_ID, "https://elsewhere.example/token"));
    post(&server, "/token/introspect", &elsewhere, &[("token", "x")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let basic = api()
        .post(server.url("/token/introspect"))
        .basic_auth(JWT_ID, Some("guess"))
        .form(&[("token", tokens.str("access_token"))])
        .send()
        .await
        .unwrap();
    ApiResponse::read(basic).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    // The client rotates its key: an assertion with the new kid makes us fetch again, but
    // not more than once per REFETCH_AFTER (made-up kids cannot make us fetch in a loop).
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1, "the keys are cached");
    let second = key();
    keys.rotate_to(&second);
    let early = signed(&second, &claims(&server, JWT_ID, &issuer));
    post(&server, "/token/introspect", &early, &[("token", "x")])
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);
    server.advance(tessera::oauth2::client_keys::REFETCH_AFTER);
    let revoke = post(
        &server,
        "/token/revoke",
        &signed(&second, &claims(&server, JWT_ID, &issuer)),
        &[("token", tokens.str("refresh_token"))],
    )
    .await;
    assert_eq!(revoke.status, StatusCode::OK, "{}", revoke.text);
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 2);
    let refresh = post(
        &server,
        "/token",
        &signed(&second, &claims(&server, JWT_ID, &issuer)),
        &[("grant_type", "refresh_token"), ("refresh_token", tokens.str("refresh_token"))],
    )
    .await;
    refresh.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_jwt_at_the_token_endpoint() {
    let keys = KeyServer::start(&key()).await;
    let server = server_with_clients(&keys.url).await;
    let hmac = |claims: &Value| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(HMAC_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let assertion = hmac(&claims(&server, HMAC_ID, &server.issuer));
    let form = [("grant_type", "client_credentials"), ("scope", "openid")];
    let tokens = post(&server, "/token", &assertion, &form).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.header("cache-control"), Some("no-store"));
    post(&server, "/token", &assertion, &form).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    // Malformed combinations are the client's mistake, and say so.
    let fresh = hmac(&claims(&server, HMAC_ID, &server.issuer));
    let no_type = api()
        .post(server.url("/token"))
        .form(&[("grant_type", "client_credentials"), ("client_assertion", fresh.as_str())]);
    ApiResponse::read(no_type.send().await.unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let both = api().post(server.url("/token")).basic_auth(HMAC_ID, Some(HMAC_SECRET)).form(&[
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", fresh.as_str()),
    ]);
    ApiResponse::read(both.send().await.unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // The secret itself is no longer a way in for this client.
    let secret = api().post(server.url("/token")).basic_auth(HMAC_ID, Some(HMAC_SECRET)).form(&form);
    ApiResponse::read(secret.send().await.unwrap())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
}
