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
