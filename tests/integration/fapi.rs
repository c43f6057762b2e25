//! The FAPI 2.0 flow with real, certified client libraries, not only Tessera's own tests:
//! panva's openid-client (Node) with private_key_jwt, PAR, PKCE and DPoP (nonces on), and
//! Authlib (Python) with private_key_jwt. Each runs as a child process; this test does the
//! browser's part (the login form) in between.

use crate::common::*;
use base64::Engine;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use tessera::signer::keys::{SigningAlgorithm, generate};
use url::Url;

const FAPI_ID: &str = "fapi-client";

/// The client's key pair: the private half for the library, the public JWK for Tessera.
struct ClientKey {
    pkcs8: Vec<u8>,
    kid: String,
    public: Value,
}

fn client_key() -> ClientKey {
    let (key, public) = generate(SigningAlgorithm::Es256).unwrap();
    ClientKey { pkcs8: key.private_pkcs8, kid: key.kid, public }
}

/// A server with the FAPI client registered as a Dex config would have it, ES256 ID tokens
/// and DPoP nonces.
async fn fapi_server(key: &ClientKey, dpop_bound: bool) -> TestServer {
    let jwks = json!({ "keys": [key.public] }).to_string();
    TestServer::builder()
        .yaml("oauth2:\n  dpop:\n    nonces: true\nsigner:\n  type: local\n  config:\n    algorithm: ES256\n")
        .yaml_with(move |yaml| {
            let entry = format!(
                "id: {FAPI_ID}\nname: FAPI client\nredirectURIs: ['{REDIRECT_URI}']\ntokenEndpointAuthMethod: private_key_jwt\nrequirePushedAuthorizationRequests: true\ndpopBoundAccessTokens: {dpop_bound}\njwks: {jwks}\n"
            );
            yaml["staticClients"].as_sequence_mut().unwrap().push(serde_norway::from_str(&entry).unwrap());
        })
        .start()
        .await
}

/// A client library in a child process speaking one JSON line at a time.
struct Library {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Library {
    fn spawn(mut command: Command) -> Self {
        let mut child =
            command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("start the client");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self { child, stdin, stdout }
    }

    /// The next JSON line it prints (blocking: the library runs in its own process).
    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|_| {
            let status = self.child.wait().unwrap();
            panic!("the client library failed ({status}); its output: {line:?}")
        })
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the library prints first is the authorization URL; the user logs in in a browser,
/// and the URL the browser is sent back to goes to the library.
async fn log_in_for(library: &mut Library) -> Url {
    let start = tokio::task::block_in_place(|| library.read());
    let url = Url::parse(start["authorization_url"].as_str().unwrap()).unwrap();
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    tokio::task::block_in_place(|| library.send(done.as_str()));
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_does_the_fapi2_flow() {
    let key = client_key();
    let server = fapi_server(&key, true).await;
    let dir = npm_fixture("openid-client", "openid-client");
    let mut command = Command::new(node());
    command
        .arg(dir.join("fapi.mjs"))
        .env("ISSUER", &server.issuer)
        .env("CLIENT_ID", FAPI_ID)
        .env("CLIENT_KID", &key.kid)
        .env("CLIENT_KEY_PKCS8", base64::engine::general_purpose::STANDARD.encode(&key.pkcs8))
        .env("REDIRECT_URI", REDIRECT_URI);
    let mut library = Library::spawn(command);
    let done = log_in_for(&mut library).await;
    assert_eq!(query_param(&done, "iss").as_deref(), Some(server.issuer.as_str()), "RFC 9207");
    let result = tokio::task::block_in_place(|| library.read());

    assert_eq!(result["token_type"], "dpop", "{result}");
    assert_eq!(result["userinfo_email"], ADMIN_EMAIL);
    assert_eq!(result["refreshed_token_type"], "dpop");
    let access = jwt_claims(result["access_token"].as_str().unwrap());
    assert!(access["cnf"]["jkt"].is_string(), "{access}");
    assert_eq!(jwt_header(result["refreshed_access_token"].as_str().unwrap())["alg"], "ES256");
}

/// The Python with Authlib: the one `.ci/setup --tests` installed, or `TESSERA_AUTHLIB_PYTHON`.
fn authlib_python() -> String {
    std::env::var("TESSERA_AUTHLIB_PYTHON").unwrap_or_else(|_| {
        format!("{}/.cache/tessera-authlib/bin/python", std::env::var("HOME").unwrap_or_default())
    })
}

fn pkcs8_pem(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap()).collect();
    format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_does_the_flow_with_private_key_jwt() {
    let key = client_key();
    let server = fapi_server(&key, false).await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/authlib/fapi.py");
    let mut command = Command::new(authlib_python());
    command
        .arg(script)
        .env("ISSUER", &server.issuer)
        .env("CLIENT_ID", FAPI_ID)
        .env("CLIENT_KID", &key.kid)
        .env("CLIENT_KEY_PEM", pkcs8_pem(&key.pkcs8))
        .env("REDIRECT_URI", REDIRECT_URI);
    let mut library = Library::spawn(command);
    log_in_for(&mut library).await;
    let result = tokio::task::block_in_place(|| library.read());
    assert_eq!(result["token_type"], "bearer", "{result}");
    assert_eq!(result["userinfo_email"], ADMIN_EMAIL);
    assert_eq!(result["refreshed_token_type"], "bearer");
    assert_eq!(jwt_claims(result["id_token"].as_str().unwrap())["aud"], FAPI_ID);
}

// ---- the `profile: fapi2` switch ----------------------------------------------------------

const PROFILE_ID: &str = "fapi2-client";
const VERIFIER: &str = "a-fapi2-profile-verifier-long-enough-for-pkce-0123456789";

/// A server with one client under `profile: fapi2` (and nothing else FAPI-specific in its
/// registration: the profile switches PAR, DPoP and the rest on).
async fn profile_server(key: &crate::client_jwt::Key) -> TestServer {
    let jwks = json!({ "keys": [key.public] }).to_string();
    TestServer::builder()
        .yaml("signer:\n  type: local\n  config:\n    algorithm: ES256\n")
        .yaml_with(move |yaml| {
            let entry = format!(
                "id: {PROFILE_ID}\nname: FAPI 2.0 client\nredirectURIs: ['{REDIRECT_URI}']\nprofile: fapi2\ntokenEndpointAuthMethod: private_key_jwt\njwks: {jwks}\n"
            );
            yaml["staticClients"].as_sequence_mut().unwrap().push(serde_norway::from_str(&entry).unwrap());
        })
        .start()
        .await
}

fn profile_request(overrides: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut form: Vec<(&'static str, String)> = vec![
        ("client_id", PROFILE_ID.into()),
        ("response_type", "code".into()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("scope", "openid offline_access".into()),
        ("state", "st".into()),
        ("code_challenge", s256(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ];
    for (name, value) in overrides {
        form.retain(|(n, _)| n != name);
        if !value.is_empty() {
            form.push((name, value.to_string()));
        }
    }
    form
}

/// POSTs `form` to `path` with a fresh client assertion and these DPoP proofs.
async fn as_profile_client(
    server: &TestServer,
    key: &crate::client_jwt::Key,
    path: &str,
    mut form: Vec<(&'static str, String)>,
    dpop: Option<String>,
) -> ApiResponse {
    use crate::client_jwt::{ASSERTION_TYPE, claims, signed};
    form.push(("client_assertion_type", ASSERTION_TYPE.into()));
    form.push(("client_assertion", signed(key, &claims(server, PROFILE_ID, &server.issuer))));
    let mut request = api().post(server.url(path)).form(&form);
    if let Some(proof) = dpop {
        request = request.header("DPoP", proof);
    }
    ApiResponse::read(request.send().await.unwrap()).await
}

async fn pushed_code(server: &TestServer, key: &crate::client_jwt::Key) -> String {
    let pushed = as_profile_client(server, key, "/par", profile_request(&[]), None).await;
    assert_eq!(pushed.status, reqwest::StatusCode::CREATED, "{}", pushed.text);
    let url = server.auth_url(&[("client_id", PROFILE_ID), ("request_uri", pushed.str("request_uri"))]);
    let done = login_with_password(&browser(), &url, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    query_param(&done, "code").unwrap()
}

fn code_exchange(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.into()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("code_verifier", VERIFIER.into()),
    ]
}

/// The FAPI 2.0 test plan's negative cases for the profile, and the flow it allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fapi2_profile_refuses_what_it_forbids() {
    use reqwest::StatusCode;
    let key = crate::client_jwt::key();
    let server = profile_server(&key).await;
    let dpop = crate::dpop::DpopKey::new();
    let token_url = format!("{}/token", server.issuer);

    // A front-channel request: an error page, never a redirect.
    let plain: Vec<(&str, String)> = profile_request(&[]);
    let plain: Vec<(&str, &str)> = plain.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = server.auth_url(&plain);
    assert!(api().get(url.clone()).send().await.unwrap().headers().get("location").is_none());
    navigate(&browser(), &url).await.page().assert_error_page();
    // PAR without client authentication, without PKCE, with plain PKCE, with a hybrid type.
    let anonymous = api().post(server.url("/par")).form(&profile_request(&[])).send().await.unwrap();
    ApiResponse::read(anonymous).await.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let bad_requests = [
        (profile_request(&[("code_challenge", ""), ("code_challenge_method", "")]), "invalid_request"),
        (
            profile_request(&[("code_challenge", VERIFIER), ("code_challenge_method", "plain")]),
            "invalid_request",
        ),
        (profile_request(&[("response_type", "code id_token"), ("nonce", "n")]), "unsupported_response_type"),
    ];
    for (form, error) in bad_requests {
        as_profile_client(&server, &key, "/par", form, None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, error);
    }

    // The code without a DPoP proof is refused (and used up); a code older than 60 s too.
    let code = pushed_code(&server, &key).await;
    as_profile_client(&server, &key, "/token", code_exchange(&code), None)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let code = pushed_code(&server, &key).await;
    server.advance(61);
    let proof = dpop.proof(&server, "POST", &token_url, json!({}));
    as_profile_client(&server, &key, "/token", code_exchange(&code), Some(proof))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // The flow the profile allows: DPoP-bound tokens, ES256, and a refresh token that is
    // not rotated (FAPI 2.0 §5.3.2.1).
    let code = pushed_code(&server, &key).await;
    let proof = dpop.proof(&server, "POST", &token_url, json!({}));
    let tokens = as_profile_client(&server, &key, "/token", code_exchange(&code), Some(proof)).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.str("token_type"), "DPoP");
    assert_eq!(jwt_header(tokens.str("id_token"))["alg"], "ES256");
    let refresh = vec![("grant_type", "refresh_token"), ("refresh_token", tokens.str("refresh_token"))];
    let refresh: Vec<(&'static str, String)> = refresh.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    let proof = dpop.proof(&server, "POST", &token_url, json!({}));
    let renewed = as_profile_client(&server, &key, "/token", refresh, Some(proof)).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.text);
    assert_eq!(renewed.str("refresh_token"), tokens.str("refresh_token"), "not rotated");
}
