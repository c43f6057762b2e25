//! Dex's gRPC API (`api/v2`) against a running server, driven by a client that is not
//! Tessera's code: Python `grpcio` with stubs generated from `proto/api.proto` in the test run.
//! What each call did is then checked where users meet it: the OIDC endpoints and the login
//! page. The Rust client (tonic) covers mutual TLS.
//!
//! The Python is the venv `.ci/setup --tests` makes (`~/.cache/tessera-grpcio`) unless
//! `TESSERA_GRPC_PYTHON` names another.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tessera::grpc::api;

fn python() -> String {
    let python = std::env::var("TESSERA_GRPC_PYTHON").unwrap_or_else(|_| {
        format!("{}/.cache/tessera-grpcio/bin/python", std::env::var("HOME").unwrap_or_default())
    });
    assert!(
        Path::new(&python).exists(),
        "grpcio's Python not found at {python}: run `bash .ci/setup --tests` (or set TESSERA_GRPC_PYTHON)"
    );
    python
}

/// Python stubs for `proto/api.proto`, generated once per test run by grpc_tools.
fn stubs() -> &'static Path {
    static STUBS: OnceLock<PathBuf> = OnceLock::new();
    STUBS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tessera-grpc-stubs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
        let out = std::process::Command::new(python())
            .args(["-m", "grpc_tools.protoc", "-I"])
            .arg(&proto)
            .arg(format!("--python_out={}", dir.display()))
            .arg(format!("--grpc_python_out={}", dir.display()))
            .arg(proto.join("api.proto"))
            .output()
            .unwrap();
        assert!(out.status.success(), "grpc_tools.protoc failed: {}", String::from_utf8_lossy(&out.stderr));
        dir
    })
}

/// One call through grpcio; the response as JSON, or `{"error": CODE, "details": ...}`.
async fn call(server: &TestServer, method: &str, request: Value) -> Value {
    let target = server.running().grpc_addr.expect("grpc.addr is set").to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grpc/call.py");
    let out = tokio::process::Command::new(python())
        .arg(script)
        .arg(stubs())
        .arg(target)
        .arg(method)
        .arg(request.to_string())
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{method}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{method}: {e}: {:?}", out.stdout))
}

async fn grpc_server(crud: bool) -> TestServer {
    TestServer::builder()
        .yaml("grpc:\n  addr: 127.0.0.1:0\n")
        .config(move |c| c.grpc.connectors_crud = crud)
        .start()
        .await
}

const PY_APP: &str = "py-app";
const PY_REDIRECT: &str = "http://127.0.0.1:5599/callback";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_created_with_grpcio_logs_in_and_its_secret_is_shown_once() {
    let server = grpc_server(false).await;
    let version = call(&server, "GetVersion", json!({})).await;
    assert!(version["server"].as_str().unwrap().starts_with("tessera-"), "{version}");
    assert_eq!(version["api"], 3);

    let created = call(
        &server,
        "CreateClient",
        json!({"client": {"id": PY_APP, "name": "Py App", "redirect_uris": [PY_REDIRECT]}}),
    )
    .await;
    assert_eq!(created["already_exists"], false, "{created}");
    let secret = created["client"]["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 32, "a generated secret: {created}");
    assert_eq!(
        call(&server, "CreateClient", json!({"client": {"id": PY_APP}})).await["already_exists"],
        true
    );
    // A static client's id is taken too; the config's clients are read-only.
    assert_eq!(
        call(&server, "CreateClient", json!({"client": {"id": CLIENT_ID}})).await["already_exists"],
        true
    );
    let refused = call(&server, "UpdateClient", json!({"id": CLIENT_ID, "name": "renamed"})).await;
    assert_eq!(refused["error"], "FAILED_PRECONDITION", "{refused}");
    let refused = call(&server, "DeleteClient", json!({"id": CLIENT_ID})).await;
    assert_eq!(refused["error"], "FAILED_PRECONDITION", "{refused}");
    assert_eq!(call(&server, "CreateClient", json!({})).await["error"], "INVALID_ARGUMENT");

    // The secret is shown once: never by GetClient or ListClients, and not kept in storage.
    let got = call(&server, "GetClient", json!({"id": PY_APP})).await;
    assert_eq!(got["client"]["name"], "Py App");
    assert_eq!(got["client"]["secret"], "");
    assert_eq!(call(&server, "GetClient", json!({"id": "nobody"})).await["error"], "NOT_FOUND");
    let stored = server.running().app.storage.get_client(&PY_APP.into()).await.unwrap().unwrap();
    assert!(stored.secret.is_empty() && stored.secret_hash.is_some());
    assert!(!serde_json::to_string(&stored).unwrap().contains(&secret));
    let listed = call(&server, "ListClients", json!({})).await;
    let ids: Vec<&str> =
        listed["clients"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&PY_APP) && ids.contains(&CLIENT_ID), "{ids:?}");

    // The client logs a user in and redeems the code with the secret it was shown.
    let code = server.login_code(PY_APP, PY_REDIRECT, "openid email").await;
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", PY_REDIRECT)];
    let tokens = server.token(Some((PY_APP, &secret)), &form).await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.json);
    assert_eq!(jwt_claims(tokens.str("id_token"))["aud"], PY_APP);
    let code = server.login_code(PY_APP, PY_REDIRECT, "openid").await;
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", PY_REDIRECT)];
    server
        .token(Some((PY_APP, "wrong")), &form)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    // Updated, then deleted: the client is gone from /auth.
    let updated = call(&server, "UpdateClient", json!({"id": PY_APP, "name": "Renamed"})).await;
    assert_eq!(updated["not_found"], false, "{updated}");
    assert_eq!(call(&server, "GetClient", json!({"id": PY_APP})).await["client"]["name"], "Renamed");
    assert_eq!(call(&server, "DeleteClient", json!({"id": PY_APP})).await["not_found"], false);
    assert_eq!(call(&server, "DeleteClient", json!({"id": PY_APP})).await["not_found"], true);
    let page = navigate(&browser(), &server.code_auth_url(PY_APP, PY_REDIRECT, "openid")).await.page();
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_created_with_grpcio_log_in_and_verify() {
    let server = grpc_server(false).await;
    // Dex's API takes a ready bcrypt hash of cost 10 to 16.
    let hash = bcrypt::hash("py-password", 10).unwrap();
    let weak = bcrypt::hash("py-password", 4).unwrap();
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let password = |hash: &str| json!({"password": {"email": "Py@Example.com", "hash": b64(hash), "username": "py", "user_id": "py-user"}});
    assert_eq!(call(&server, "CreatePassword", password(&weak)).await["error"], "INVALID_ARGUMENT");
    assert_eq!(call(&server, "CreatePassword", password(&hash)).await["already_exists"], false);
    assert_eq!(call(&server, "CreatePassword", password(&hash)).await["already_exists"], true);
    let verify = |email: &str, pw: &str| json!({"email": email, "password": pw});
    let ok = call(&server, "VerifyPassword", verify("py@example.com", "py-password")).await;
    assert_eq!((ok["verified"].clone(), ok["not_found"].clone()), (json!(true), json!(false)), "{ok}");
    assert_eq!(call(&server, "VerifyPassword", verify("py@example.com", "nope")).await["verified"], false);
    assert_eq!(call(&server, "VerifyPassword", verify("nobody@example.com", "x")).await["not_found"], true);
    let listed = call(&server, "ListPasswords", json!({})).await;
    let emails: Vec<&str> =
        listed["passwords"].as_array().unwrap().iter().map(|p| p["email"].as_str().unwrap()).collect();
    assert_eq!(emails, [ADMIN_EMAIL, "py@example.com"]);
    assert!(listed["passwords"].as_array().unwrap().iter().all(|p| p["hash"] == ""), "hashes are not listed");

    // The new user logs in through the password form.
    let browser = browser();
    let url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email");
    let done = login_with_password(&browser, &url, "py@example.com", "py-password").await;
    let tokens = server.redeem(&query_param(&done, "code").unwrap()).await;
    assert_eq!(jwt_claims(tokens.str("id_token"))["email"], "py@example.com");

    // A new username; then deleted, the user can no longer log in. Static passwords stay.
    let renamed =
        call(&server, "UpdatePassword", json!({"email": "py@example.com", "new_username": "pyth"})).await;
    assert_eq!(renamed["not_found"], false);
    let refused = call(&server, "DeletePassword", json!({"email": ADMIN_EMAIL})).await;
    assert_eq!(refused["error"], "FAILED_PRECONDITION");
    assert_eq!(call(&server, "DeletePassword", json!({"email": "py@example.com"})).await["not_found"], false);
    assert_eq!(
        call(&server, "VerifyPassword", verify("py@example.com", "py-password")).await["not_found"],
        true
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_revoked_with_grpcio_stops_working() {
    let server = grpc_server(false).await;
    let tokens = server.login_tokens("openid offline_access").await;
    let sub = jwt_claims(tokens["id_token"].as_str().unwrap())["sub"].as_str().unwrap().to_string();
    let listed = call(&server, "ListRefresh", json!({"user_id": sub})).await;
    let refs = listed["refresh_tokens"].as_array().unwrap();
    assert_eq!(refs.len(), 1, "{listed}");
    assert_eq!(refs[0]["client_id"], CLIENT_ID);
    assert!(refs[0]["created_at"].as_str().unwrap().parse::<i64>().unwrap() > 0, "{listed}");
    assert_eq!(
        call(&server, "ListRefresh", json!({"user_id": "not-a-sub!"})).await["error"],
        "INVALID_ARGUMENT"
    );

    let revoked = call(&server, "RevokeRefresh", json!({"user_id": sub, "client_id": CLIENT_ID})).await;
    assert_eq!(revoked["not_found"], false, "{revoked}");
    server
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let again = call(&server, "RevokeRefresh", json!({"user_id": sub, "client_id": CLIENT_ID})).await;
    assert_eq!(again["not_found"], true);
    assert_eq!(call(&server, "ListRefresh", json!({"user_id": sub})).await["refresh_tokens"], json!([]));
    server.stop().await;
}

fn chooser_names(page: &Page) -> Vec<String> {
    html::links(&page.url, &page.body, "a.choice").into_iter().map(|(name, _)| name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_change_at_run_time_only_when_dex_allows_it() {
    let server = grpc_server(false).await;
    let mock = json!({"connector": {"id": "py-mock", "type": "mockCallback", "name": "Py Mock", "config": b64_json(&json!({}))}});
    let refused = call(&server, "CreateConnector", mock.clone()).await;
    assert_eq!(refused["error"], "FAILED_PRECONDITION", "off without DEX_API_CONNECTORS_CRUD: {refused}");
    server.stop().await;

    let server = grpc_server(true).await;
    let bad = json!({"connector": {"id": "bad", "type": "ldap", "name": "Bad", "config": b64_json(&json!({"nope": 1}))}});
    let refused = call(&server, "CreateConnector", bad).await;
    assert_eq!(refused["error"], "INVALID_ARGUMENT", "{refused}");
    assert!(refused["details"].as_str().unwrap().contains("config"), "{refused}");
    assert_eq!(call(&server, "CreateConnector", mock.clone()).await["already_exists"], false);
    assert_eq!(call(&server, "CreateConnector", mock).await["already_exists"], true);
    let local = json!({"connector": {"id": "local", "type": "mockCallback", "name": "X", "config": b64_json(&json!({}))}});
    assert_eq!(call(&server, "CreateConnector", local).await["already_exists"], true);

    // The new connector is on the login page at once, and logs a user in.
    let browser = browser();
    let url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid");
    let page = navigate(&browser, &url).await.page();
    assert!(chooser_names(&page).iter().any(|n| n.contains("Py Mock")), "{:?}", chooser_names(&page));
    let mut with_mock = url.clone();
    with_mock.query_pairs_mut().append_pair("connector_id", "py-mock");
    let done = match navigate(&browser, &with_mock).await {
        Hop::Page(approval) => approve(&browser, &approval).await.client(),
        Hop::Client(url) => url,
    };
    let tokens = server.redeem(&query_param(&done, "code").unwrap()).await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.json);

    let listed = call(&server, "ListConnectors", json!({})).await;
    assert_eq!(listed["connectors"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["connectors"][0]["id"], "py-mock");
    let renamed = call(&server, "UpdateConnector", json!({"id": "py-mock", "new_name": "Py Renamed"})).await;
    assert_eq!(renamed["not_found"], false, "{renamed}");
    // A new browser: this one's single sign-on session would skip the login page.
    let page = navigate(&crate::common::browser(), &url).await.page();
    assert!(chooser_names(&page).iter().any(|n| n.contains("Py Renamed")), "{:?}", chooser_names(&page));

    // Deleted: gone from the chooser (one connector left: straight to its form).
    assert_eq!(call(&server, "DeleteConnector", json!({"id": "py-mock"})).await["not_found"], false);
    assert_eq!(call(&server, "DeleteConnector", json!({"id": "py-mock"})).await["not_found"], true);
    let page = navigate(&crate::common::browser(), &url).await.page();
    assert!(chooser_names(&page).is_empty(), "{:?}", chooser_names(&page));
    assert!(page.body.contains("password"), "the password form");
    server.stop().await;
}

fn b64_json(value: &Value) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_over_grpc_matches_the_discovery_document() {
    let server = grpc_server(false).await;
    let over_grpc = call(&server, "GetDiscovery", json!({})).await;
    let document: Value = api()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"] {
        assert_eq!(over_grpc[key], document[key], "{key}");
    }
    assert_eq!(over_grpc["scopes_supported"], document["scopes_supported"]);
    server.stop().await;
}

/// With `tlsClientCA` the API answers only clients with a certificate from that CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let files = pki.write_to(dir.path());
    let (ca, cert, key) = (files.ca, files.server_cert, files.server_key);
    let audit = dir.path().join("audit.jsonl");
    let server = TestServer::builder()
        .yaml(&format!(
            "grpc:\n  addr: 127.0.0.1:0\n  tlsCert: {cert}\n  tlsKey: {key}\n  tlsClientCA: {ca}\nlogger:\n  auditFile: {}\n",
            audit.display()
        ))
        .start()
        .await;
    let addr = server.running().grpc_addr.unwrap();
    let endpoint = |identity: Option<(&str, &str)>| {
        let mut tls = tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(&pki.ca_pem))
            .domain_name("localhost");
        if let Some((cert, key)) = identity {
            tls = tls.identity(tonic::transport::Identity::from_pem(cert, key));
        }
        tonic::transport::Endpoint::from_shared(format!("https://{addr}")).unwrap().tls_config(tls).unwrap()
    };
    // With the client certificate: served.
    let channel = endpoint(Some((&pki.client_pem, &pki.client_key))).connect().await.unwrap();
    let mut client = api::dex_client::DexClient::new(channel);
    let version = client.get_version(api::VersionReq {}).await.unwrap().into_inner();
    // A change is audited with the subject of the client certificate.
    let create =
        api::CreateClientReq { client: Some(api::Client { id: "by-mtls".into(), ..Default::default() }) };
    client.create_client(create).await.unwrap();
    let mut who = String::new();
    for _ in 0..100 {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("admin_change")) {
            who = serde_json::from_str::<Value>(line).unwrap()["who"].as_str().unwrap().to_string();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(who, "CN=tessera-admin");
    assert_eq!(version.api, 3);
    // Without one, or with one from another CA: refused in the handshake.
    let no_cert = match endpoint(None).connect().await {
        Err(_) => true,
        Ok(channel) => {
            api::dex_client::DexClient::new(channel).get_version(api::VersionReq {}).await.is_err()
        }
    };
    assert!(no_cert, "a client without a certificate is refused");
    let stranger = Pki::new();
    let foreign = match endpoint(Some((&stranger.client_pem, &stranger.client_key))).connect().await {
        Err(_) => true,
        Ok(channel) => {
            api::dex_client::DexClient::new(channel).get_version(api::VersionReq {}).await.is_err()
        }
    };
    assert!(foreign, "a certificate from another CA is refused");
    server.stop().await;
}

/// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made by rcgen
/// (`admin_cli` uses it too).
pub(crate) struct Pki {
    pub(crate) ca_pem: String,
    pub(crate) server_pem: String,
    pub(crate) server_key: String,
    pub(crate) client_pem: String,
    pub(crate) client_key: String,
}

/// The paths of a [`Pki`]'s PEM files, written by [`Pki::write_to`].
pub(crate) struct PkiFiles {
    pub(crate) ca: String,
    pub(crate) server_cert: String,
    pub(crate) server_key: String,
    pub(crate) client_cert: String,
    pub(crate) client_key: String,
}

impl Pki {
    /// Writes the CA, the server's and the client's PEM files into `dir`.
    pub(crate) fn write_to(&self, dir: &Path) -> PkiFiles {
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        PkiFiles {
            ca: write("ca.pem", &self.ca_pem),
            server_cert: write("server.pem", &self.server_pem),
            server_key: write("server.key", &self.server_key),
            client_cert: write("client.pem", &self.client_pem),
            client_key: write("client.key", &self.client_key),
        }
    }

    pub(crate) fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "tessera test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf = |names: Vec<String>, cn: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, cn);
            let cert = params.signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_pem, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()], "tessera");
        let (client_pem, client_key) = leaf(Vec::new(), "tessera-admin");
        Self { ca_pem: ca.pem(), server_pem, server_key, client_pem, client_key }
    }
}

/// Two replicas on one PostgreSQL database: a client and a connector created through one
/// replica's API work on the other without a restart (the connector within the poll interval).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_through_one_replica_reach_the_other() {
    let database = std::sync::Arc::new(ScratchDatabase::create().await);
    let replica = || {
        TestServer::builder()
            .shared_postgres(database.clone())
            .yaml("grpc:\n  addr: 127.0.0.1:0\n")
            .config(|c| c.grpc.connectors_crud = true)
            .start()
    };
    let (a, b) = tokio::join!(replica(), replica());
    let created = call(
        &a,
        "CreateClient",
        json!({"client": {"id": PY_APP, "name": "Py App", "redirect_uris": [PY_REDIRECT]}}),
    )
    .await;
    let secret = created["client"]["secret"].as_str().unwrap().to_string();
    let code = b.login_code(PY_APP, PY_REDIRECT, "openid").await;
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", PY_REDIRECT)];
    assert_eq!(b.token(Some((PY_APP, &secret)), &form).await.status, StatusCode::OK);

    let mock = json!({"connector": {"id": "py-mock", "type": "mockCallback", "name": "Py Mock", "config": b64_json(&json!({}))}});
    assert_eq!(call(&a, "CreateConnector", mock).await["already_exists"], false);
    let url = b.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid");
    let poll = tessera::app::CONNECTOR_POLL_INTERVAL;
    let mut seen = false;
    // Bounded: three poll intervals at most.
    for _ in 0..(3 * poll.as_millis() / 200) {
        let page = navigate(&browser(), &url).await;
        if let Hop::Page(page) = page
            && chooser_names(&page).iter().any(|n| n.contains("Py Mock"))
        {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(seen, "the connector reached the other replica within {poll:?} or so");
    a.stop().await;
    b.stop().await;
}

/// `grpc.reflection: true` (Dex's key) serves server reflection: a tool that has no
/// `.proto` (grpcurl) finds Dex's service and its methods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_dexs_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let ask = |request: MessageRequest| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let server = TestServer::builder().yaml("grpc:\n  addr: 127.0.0.1:0\n  reflection: true\n").start().await;
    let url = format!("http://{}", server.running().grpc_addr.unwrap());
    let channel = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([
            ask(MessageRequest::ListServices(String::new())),
            ask(MessageRequest::FileContainingSymbol("api.Dex".into())),
        ]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("no service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"api.Dex".to_string()), "{names:?}");
    let Some(MessageResponse::FileDescriptorResponse(file)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("no file for api.Dex");
    };
    let descriptor = &file.file_descriptor_proto[0];
    assert!(descriptor.windows(b"CreateClient".len()).any(|w| w == b"CreateClient"));
    server.stop().await;

    // Off by default, as in Dex.
    let server = grpc_server(false).await;
    let url = format!("http://{}", server.running().grpc_addr.unwrap());
    let channel = tonic::transport::Endpoint::from_shared(url).unwrap().connect().await.unwrap();
    let refused = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([ask(MessageRequest::ListServices(String::new()))]))
        .await;
    let unimplemented = match refused {
        Err(status) => status.code() == tonic::Code::Unimplemented,
        Ok(response) => response.into_inner().message().await.is_err(),
    };
    assert!(unimplemented);
    server.stop().await;
}

/// Tessera's client options (`ClientOptions`, beyond Dex's fields) through grpcio: a
/// private_key_jwt client with its own lifetimes and grants, made and changed at run time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_options_are_set_through_the_api() {
    let server = TestServer::builder()
        .yaml("grpc:\n  addr: 127.0.0.1:0\noauth2:\n  grantTypes: [authorization_code, refresh_token, client_credentials]\n")
        .start()
        .await;
    let key = crate::client_jwt::key();
    let jwks = json!({ "keys": [key.public] }).to_string();
    let options = json!({
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": jwks,
        "expiry": { "access_tokens": 60 },
        "allowed_resources": ["https://api.example.com"],
    });
    let created = call(
        &server,
        "CreateClient",
        json!({"client": {"id": "keyed", "name": "Keyed", "redirect_uris": [PY_REDIRECT], "options": options}}),
    )
    .await;
    assert_eq!(created["already_exists"], false, "{created}");
    assert_eq!(created["client"]["secret"], "", "a client with a key gets no secret: {created}");
    let got = call(&server, "GetClient", json!({"id": "keyed"})).await;
    assert_eq!(got["client"]["options"]["token_endpoint_auth_method"], "private_key_jwt", "{got}");

    let cc = |resource: &'static str| {
        let assertion =
            crate::client_jwt::signed(&key, &crate::client_jwt::claims(&server, "keyed", &server.issuer));
        let form = vec![
            ("grant_type", "client_credentials".to_string()),
            ("resource", resource.to_string()),
            ("client_assertion_type", crate::client_jwt::ASSERTION_TYPE.to_string()),
            ("client_assertion", assertion),
        ];
        api().post(server.url("/token")).form(&form).send()
    };
    let tokens = ApiResponse::read(cc("https://api.example.com").await.unwrap()).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.json["expires_in"], 60);
    assert_eq!(jwt_claims(tokens.str("access_token"))["aud"], "https://api.example.com");

    // Options are replaced whole: now only the code flow.
    let changed = call(
        &server,
        "UpdateClient",
        json!({"id": "keyed", "options": {"token_endpoint_auth_method": "private_key_jwt", "jwks": jwks, "grant_types": ["authorization_code"]}}),
    )
    .await;
    assert_eq!(changed["not_found"], false, "{changed}");
    ApiResponse::read(cc("https://api.example.com").await.unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");

    // Options that do not fit the client are refused, and say why.
    for (options, why) in [
        (json!({"token_endpoint_auth_method": "client_secret_jwt"}), "in clear"),
        (json!({"token_endpoint_auth_method": "private_key_jwt"}), "public keys"),
        (json!({"expiry": {"id_tokens": 10 * 24 * 3600}}), "at most"),
        (json!({"profile": "fapi3"}), "profile"),
    ] {
        let refused = call(
            &server,
            "CreateClient",
            json!({"client": {"id": "bad", "name": "Bad", "options": options}}),
        )
        .await;
        assert_eq!(refused["error"], "INVALID_ARGUMENT", "{refused}");
        assert!(refused["details"].as_str().unwrap().contains(why), "{refused}");
    }
}
