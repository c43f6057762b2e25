//! The OIDC auth provider of the official Kubernetes clients (kubectl's built-in `oidc` auth
//! provider and the Python `kubernetes` client, which share its behaviour) refreshing through
//! Tessera. It sends the client's credentials twice, in `Authorization: Basic` and in the
//! body; Tessera takes identical credentials as one client, as Dex does.
//!
//! The real Python client (PyPI `kubernetes`) loads a kubeconfig whose ID token has expired,
//! refreshes it at Tessera, and lists namespaces at an API server stand-in that checks the
//! token as kube-apiserver does (`--oidc-issuer-url`, `--oidc-client-id`,
//! `--oidc-username-claim=email`): signature against the JWKS, `iss`, `aud`, expiry,
//! `email_verified`.

use crate::common::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The Python with the `kubernetes` package that `.ci/setup --tests` makes.
fn python() -> String {
    std::env::var("TESSERA_KUBERNETES_PYTHON").unwrap_or_else(|_| {
        format!("{}/.cache/tessera-kubernetes/bin/python", std::env::var("HOME").unwrap_or_default())
    })
}

/// What the API server stand-in is configured with, and the users it let in.
#[derive(Clone)]
struct ApiServer {
    issuer: String,
    jwks_url: String,
    client_id: String,
    users: Arc<Mutex<Vec<String>>>,
}

impl ApiServer {
    /// kube-apiserver's OIDC checks; the username is the `email` claim.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<String, String> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or("no bearer token")?;
        let jwks: JwkSet = reqwest::get(&self.jwks_url)
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        if header.alg != jsonwebtoken::Algorithm::RS256 {
            return Err(format!("{:?} is not an accepted signing algorithm", header.alg));
        }
        let claims = verify_jwt(token, &jwks, &self.issuer, std::slice::from_ref(&self.client_id), 60)?;
        if claims["email_verified"] != true {
            return Err("email not verified".into());
        }
        claims["email"].as_str().map(str::to_string).ok_or_else(|| "no email claim".into())
    }
}

async fn list_namespaces(State(api): State<ApiServer>, headers: HeaderMap) -> Response {
    match api.authenticate(&headers).await {
        Ok(user) => {
            api.users.lock().unwrap().push(user);
            axum::Json(json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": []})).into_response()
        }
        Err(reason) => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": reason, "reason": "Unauthorized", "code": 401})),
        )
            .into_response(),
    }
}

async fn start_api_server(server: &TestServer, client_id: &str) -> (String, ApiServer) {
    let api = ApiServer {
        issuer: server.issuer.clone(),
        jwks_url: server.url("/keys"),
        client_id: client_id.to_string(),
        users: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/api/v1/namespaces", axum::routing::get(list_namespaces))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, api)
}

/// The kubeconfig kubectl's `oidc` auth provider reads (and writes the refreshed tokens to).
fn kubeconfig(
    api_server: &str,
    issuer: &str,
    client_id: &str,
    secret: &str,
    id_token: &str,
    refresh: &str,
) -> String {
    format!(
        r#"apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: {api_server}
users:
  - name: oidc
    user:
      auth-provider:
        name: oidc
        config:
          idp-issuer-url: {issuer}
          client-id: {client_id}
          client-secret: "{secret}"
          id-token: {id_token}
          refresh-token: {refresh}
contexts:
  - name: test
    context: {{cluster: test, user: oidc}}
current-context: test
"#
    )
}

/// Runs the Python client against the kubeconfig: it refreshes the expired ID token (the
/// kubeconfig is persisted with the new tokens) and lists namespaces.
async fn python_lists_namespaces(path: &std::path::Path) -> String {
    let script = r#"
import os, sys
# The test's Tessera listens on plain http (127.0.0.1); oauthlib wants https otherwise.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1], persist_config=True)
namespaces = client.CoreV1Api().list_namespace()
print("listed", len(namespaces.items))
"#;
    let output = tokio::process::Command::new(python())
        .args(["-c", script])
        .arg(path)
        .output()
        .await
        .expect("the Python kubernetes client (bash .ci/setup --tests) must be installed");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the Python kubernetes client failed:\n{text}");
    text
}

/// Both kinds of client kubectl users configure: the public `kubectl` (empty secret, so
/// `Basic a2ViZWN0bDo=` and `client_id` in the body) and a confidential one (the same id and
/// secret in the header and in the body).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_kubernetes_client_refreshes_an_expired_id_token() {
    let server = TestServer::builder().yaml("oauth2:\n  passwordConnector: local\n").start().await;
    // Log in a day and an hour ago (the server's clock set back), so the ID tokens have expired
    // by the wall clock the Python client reads; the refresh tokens are still good.
    server.advance(-(25 * 3600));
    let login = |client_id: &'static str, secret: &'static str| {
        let server = &server;
        async move {
            let form = [
                ("grant_type", "password"),
                ("username", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("scope", "openid email groups offline_access"),
                ("client_id", client_id),
                ("client_secret", secret),
            ];
            let tokens = server.token(None, &form).await;
            assert_eq!(tokens.status, reqwest::StatusCode::OK, "{}", tokens.text);
            (client_id, secret, tokens.str("id_token").to_string(), tokens.str("refresh_token").to_string())
        }
    };
    let cases = [login(KUBECTL_ID, "").await, login(CLIENT_ID, CLIENT_SECRET).await];
    server.advance(25 * 3600);

    for (client_id, secret, id_token, refresh) in cases {
        let (api_url, api) = start_api_server(&server, client_id).await;
        // The stand-in refuses the expired token, as kube-apiserver would.
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {id_token}").parse().unwrap());
        assert!(api.authenticate(&headers).await.unwrap_err().contains("Expired"), "{client_id}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, kubeconfig(&api_url, &server.issuer, client_id, secret, &id_token, &refresh))
            .unwrap();
        let printed = python_lists_namespaces(&path).await;
        assert!(printed.contains("listed 0"), "{client_id}: {printed}");
        assert_eq!(*api.users.lock().unwrap(), [ADMIN_EMAIL], "{client_id}: the API server let the user in");

        // The client stored the new tokens in the kubeconfig: a new ID token, a rotated
        // refresh token that works once more.
        let stored: Value = serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let config = &stored["users"][0]["user"]["auth-provider"]["config"];
        assert_ne!(config["id-token"].as_str().unwrap(), id_token, "{client_id}");
        let rotated = config["refresh-token"].as_str().unwrap();
        assert_ne!(rotated, refresh, "{client_id}");
        let again = server
            .token(
                None,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rotated),
                    ("client_id", client_id),
                    ("client_secret", secret),
                ],
            )
            .await;
        assert_eq!(again.status, reqwest::StatusCode::OK, "{client_id}: {}", again.text);
    }
}

/// Different credentials in the header and the body are still refused, at every endpoint that
/// authenticates clients; identical ones are accepted at each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_sent_twice_must_agree_at_every_endpoint() {
    let server = TestServer::builder().yaml("oauth2:\n  passwordConnector: local\n").start().await;
    let tokens = server.login_tokens("openid email offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let both = |url: &str, form: Vec<(&'static str, String)>, secret: &str| {
        let mut form = form;
        form.push(("client_id", CLIENT_ID.into()));
        form.push(("client_secret", secret.into()));
        api().post(url).basic_auth(CLIENT_ID, Some(CLIENT_SECRET)).form(&form)
    };
    type Form = Vec<(&'static str, String)>;
    let endpoints: [(&str, Form, StatusCode); 5] = [
        (
            "/token",
            vec![
                ("grant_type", "password".into()),
                ("username", ADMIN_EMAIL.into()),
                ("password", ADMIN_PASSWORD.into()),
                ("scope", "openid".into()),
            ],
            StatusCode::OK,
        ),
        ("/token/introspect", vec![("token", access.into())], StatusCode::OK),
        ("/device/code", vec![("scope", "openid".into())], StatusCode::OK),
        ("/token/revoke", vec![("token", "not-a-token".into())], StatusCode::OK),
        (
            "/par",
            vec![
                ("response_type", "code".into()),
                ("redirect_uri", REDIRECT_URI.into()),
                ("scope", "openid".into()),
                ("code_challenge", s256("a-verifier-long-enough-for-pkce-0123456789abcdef")),
                ("code_challenge_method", "S256".into()),
            ],
            StatusCode::CREATED,
        ),
    ];
    for (path, form, ok) in endpoints {
        let url = server.url(path);
        let same = ApiResponse::read(both(&url, form.clone(), CLIENT_SECRET).send().await.unwrap()).await;
        assert_eq!(same.status.as_u16(), ok.as_u16(), "{path}: identical credentials twice: {}", same.text);
        let differ = ApiResponse::read(both(&url, form.clone(), OTHER_SECRET).send().await.unwrap()).await;
        differ.assert_error(reqwest::StatusCode::BAD_REQUEST, "invalid_request");
    }
}
