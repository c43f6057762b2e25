//! `tessera admin`: the built binary against a running server's gRPC API. What each command
//! did is checked where users meet it (a created client logs in, a revoked refresh token stops
//! working), its output is parsed in each format, and each exit code a script relies on is
//! produced by the situation it names.

use crate::common::*;
use crate::grpc_api::Pki;
use reqwest::StatusCode;
use serde_json::Value;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// One run of `tessera admin`.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    fn failed(&self, code: i32, needle: &str) -> &Self {
        assert_eq!(self.code, code, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stderr.contains(needle), "{needle:?} not in stderr: {}", self.stderr);
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    fn yaml(&self) -> Value {
        serde_norway::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// `tessera admin ARGS` with `stdin` (none: empty) and extra environment variables.
async fn run(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Out {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    command.arg("admin").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for name in ["ADDR", "CA_CERT", "CLIENT_CERT", "CLIENT_KEY", "SERVER_NAME", "TIMEOUT", "OUTPUT"] {
        command.env_remove(format!("TESSERA_ADMIN_{name}"));
    }
    command.envs(env.iter().copied());
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let out = child.wait_with_output().await.unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `tessera admin --addr ADDR ARGS` against `server`'s plain-text gRPC listener.
async fn admin(server: &TestServer, args: &[&str], stdin: Option<&str>) -> Out {
    let addr = server.running().grpc_addr.expect("grpc.addr is set").to_string();
    let mut all = vec!["--addr", addr.as_str()];
    all.extend_from_slice(args);
    run(&all, stdin, &[]).await
}

async fn grpc_server(crud: bool) -> TestServer {
    TestServer::builder()
        .yaml("grpc:\n  addr: 127.0.0.1:0\n")
        .config(move |c| c.grpc.connectors_crud = crud)
        .start()
        .await
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|e| e[key].as_str().unwrap().to_string()).collect()
}

const CLI_APP: &str = "cli-app";
const CLI_REDIRECT: &str = "http://127.0.0.1:5598/callback";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_created_with_the_cli_logs_in_and_lists_in_every_format() {
    let server = grpc_server(false).await;
    let version = admin(&server, &["version", "-o", "json"], None).await.ok().json();
    assert!(version["server"].as_str().unwrap().starts_with("tessera-"), "{version}");
    assert_eq!(version["api"], 3);

    let args = ["clients", "create", "--id", CLI_APP, "--name", "CLI App", "--redirect-uri", CLI_REDIRECT];
    let created = admin(&server, &[&args[..], &["--output", "json"]].concat(), None).await.ok().json();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 32, "a generated secret: {created}");
    assert_eq!(created["redirect_uris"][0], CLI_REDIRECT);

    // The client logs a user in with the secret it was shown.
    let code = server.login_code(CLI_APP, CLI_REDIRECT, "openid").await;
    let form =
        [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", CLI_REDIRECT)];
    let tokens = server.token(Some((CLI_APP, &secret)), &form).await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.json);
    assert_eq!(jwt_claims(tokens.str("id_token"))["aud"], CLI_APP);

    // Listed in every format; the secret never again.
    let json = admin(&server, &["clients", "list", "-o", "json"], None).await.ok().json();
    let listed = ids(&json, "id");
    assert!(listed.iter().any(|id| id == CLI_APP) && listed.iter().any(|id| id == CLIENT_ID), "{listed:?}");
    assert!(json.as_array().unwrap().iter().all(|c| c.get("secret").is_none()), "{json}");
    let yaml = admin(&server, &["clients", "list", "--output", "yaml"], None).await.ok().yaml();
    assert_eq!(yaml, json, "YAML carries the same data as JSON");
    let table = admin(&server, &["clients", "list"], None).await.ok().stdout.clone();
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("ID "), "{table}");
    let row = lines.find(|l| l.starts_with(CLI_APP)).unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("CLI App") && row.contains(CLI_REDIRECT), "{row}");
    let got = admin(&server, &["clients", "get", "--id", CLI_APP, "-o", "json"], None).await.ok().json();
    assert_eq!((got["name"].as_str(), got.get("secret")), (Some("CLI App"), None), "{got}");

    // Exit codes: 5 already exists, 6 refused (a client of the config file is read-only),
    // 4 not found.
    admin(&server, &args, None).await.failed(5, "already exists");
    admin(&server, &["clients", "update", "--id", CLIENT_ID, "--name", "x"], None)
        .await
        .failed(6, "read-only");
    admin(&server, &["clients", "update", "--id", CLI_APP, "--name", "Renamed"], None).await.ok();
    let got = admin(&server, &["clients", "get", "--id", CLI_APP, "-o", "yaml"], None).await.ok().yaml();
    assert_eq!(got["name"], "Renamed");
    let deleted = admin(&server, &["clients", "delete", "--id", CLI_APP], None).await;
    assert_eq!(deleted.ok().stdout.trim(), format!("client {CLI_APP:?} deleted"));
    admin(&server, &["clients", "delete", "--id", CLI_APP], None).await.failed(4, "not found");
    admin(&server, &["clients", "get", "--id", CLI_APP], None).await.failed(4, "not found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_read_from_stdin_are_hashed_log_in_and_verify() {
    let server = grpc_server(false).await;
    let email = "cli@example.com";
    let create = ["passwords", "create", "--email", email, "--username", "cli", "--user-id", "cli-user"];
    let created = admin(&server, &[&create[..], &["-o", "json"]].concat(), Some("s3cret pass\n")).await;
    assert_eq!(created.ok().json()["user_id"], "cli-user");
    let stored = server.running().app.storage.get_password(email).await.unwrap().unwrap();
    assert!(stored.hash.expose().starts_with("$2b$12$"), "bcrypt, cost 12");
    admin(&server, &create, Some("another\n")).await.failed(5, "already exists");
    // A ready hash is checked by the server: cost 4 is below Dex's bounds.
    let weak = bcrypt::hash("x", 4).unwrap();
    let with_hash = ["passwords", "create", "--email", "weak@example.com", "--username", "w", "--hash"];
    admin(&server, &with_hash, Some(&weak)).await.failed(6, "cost 4");
    admin(&server, &create, Some("")).await.failed(2, "empty");

    let listed = admin(&server, &["passwords", "list", "-o", "json"], None).await.ok().json();
    assert_eq!(ids(&listed, "email"), [ADMIN_EMAIL, email]);

    // verify: 0 when the password matches, 7 when not, 4 for an unknown user.
    let verify = ["passwords", "verify", "--email", email];
    let ok = admin(&server, &[&verify[..], &["-o", "json"]].concat(), Some("s3cret pass\n")).await;
    assert_eq!(ok.ok().json()["verified"], true);
    let wrong = admin(&server, &verify, Some("s3cret\n")).await;
    assert_eq!((wrong.code, wrong.stdout.trim()), (7, "the password does not match"), "{}", wrong.stderr);
    admin(&server, &["passwords", "verify", "--email", "nobody@example.com"], Some("x\n"))
        .await
        .failed(4, "not found");

    // The user logs in through the password form.
    let browser = browser();
    let url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email");
    let done = login_with_password(&browser, &url, email, "s3cret pass").await;
    let tokens = server.redeem(&query_param(&done, "code").unwrap()).await;
    assert_eq!(jwt_claims(tokens.str("id_token"))["email"], email);

    // A new password and username; then deleted. Static passwords are read-only.
    let update = ["passwords", "update", "--email", email, "--username", "cli2", "--password"];
    admin(&server, &update, Some("n3w pass\n")).await.ok();
    admin(&server, &verify, Some("n3w pass\n")).await.ok();
    admin(&server, &["passwords", "update", "--email", email], None).await.failed(2, "--username");
    admin(&server, &["passwords", "delete", "--email", ADMIN_EMAIL], None).await.failed(6, "read-only");
    admin(&server, &["passwords", "delete", "--email", email], None).await.ok();
    admin(&server, &["passwords", "delete", "--email", email], None).await.failed(4, "not found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_are_listed_and_revoked_by_sub_or_user_and_connector() {
    let server = grpc_server(false).await;
    let tokens = server.login_tokens("openid offline_access").await;
    let sub = jwt_claims(tokens["id_token"].as_str().unwrap())["sub"].as_str().unwrap().to_string();
    let listed = admin(&server, &["tokens", "list", "--sub", &sub, "-o", "json"], None).await.ok().json();
    assert_eq!(ids(&listed, "client_id"), [CLIENT_ID]);
    assert!(listed[0]["created_at"].as_i64().unwrap() > 0, "{listed}");

    let (user_id, connector_id) = tessera::oauth2::subject::decode(&sub).unwrap();
    let by_user = ["tokens", "list", "--user-id", &user_id, "--connector-id", connector_id.as_str()];
    let yaml = admin(&server, &[&by_user[..], &["-o", "yaml"]].concat(), None).await.ok().yaml();
    assert_eq!(yaml, listed);
    admin(&server, &["tokens", "list", "--user-id", &user_id], None).await.failed(2, "--connector-id");
    admin(&server, &["tokens", "list", "--sub", "not-a-sub!"], None).await.failed(6, "not the sub");

    let revoke = ["tokens", "revoke", "--sub", &sub, "--client-id", CLIENT_ID];
    admin(&server, &revoke, None).await.ok();
    server
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    admin(&server, &revoke, None).await.failed(4, "no refresh token");
    let listed = admin(&server, &[&by_user[..], &["-o", "json"]].concat(), None).await.ok().json();
    assert_eq!(listed, serde_json::json!([]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_are_created_from_a_yaml_file_when_the_server_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("mock.yaml");
    std::fs::write(&yaml, "username: kilgore\npassword: trout\n").unwrap();
    let yaml = yaml.to_str().unwrap();
    let create = [
        "connectors",
        "create",
        "--id",
        "cli-mock",
        "--type",
        "mockPassword",
        "--name",
        "CLI Mock",
        "--config-file",
        yaml,
    ];

    let server = grpc_server(false).await;
    admin(&server, &create, None).await.failed(6, "DEX_API_CONNECTORS_CRUD");
    server.stop().await;

    let server = grpc_server(true).await;
    admin(&server, &create, None).await.ok();
    admin(&server, &create, None).await.failed(5, "already exists");
    let listed = admin(&server, &["connectors", "list", "-o", "json"], None).await.ok().json();
    assert_eq!(ids(&listed, "id"), ["cli-mock"]);
    assert_eq!(listed[0]["type"], "mockPassword");
    assert_eq!(listed[0]["config"]["username"], "kilgore", "the YAML file was sent as JSON: {listed}");

    // The server checks the config as its type reads it; a file that is not YAML is ours.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"nope": 1}"#).unwrap();
    let update = ["connectors", "update", "--id", "cli-mock", "--config-file", bad.to_str().unwrap()];
    admin(&server, &update, None).await.failed(6, "nope");
    std::fs::write(&bad, "{ not: [json").unwrap();
    admin(&server, &update, None).await.failed(2, "--config-file");

    let rename = [
        "connectors",
        "update",
        "--id",
        "cli-mock",
        "--name",
        "Renamed",
        "--grant-type",
        "authorization_code",
    ];
    admin(&server, &rename, None).await.ok();
    let listed = admin(&server, &["connectors", "list", "-o", "yaml"], None).await.ok().yaml();
    assert_eq!(
        (listed[0]["name"].as_str(), listed[0]["grant_types"][0].as_str()),
        (Some("Renamed"), Some("authorization_code"))
    );
    admin(&server, &["connectors", "delete", "--id", "local"], None).await.failed(6, "read-only");
    admin(&server, &["connectors", "delete", "--id", "cli-mock"], None).await.ok();
    admin(&server, &["connectors", "delete", "--id", "cli-mock"], None).await.failed(4, "not found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_and_a_bad_command_line_have_their_own_codes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    run(&["--addr", &addr, "version"], None, &[]).await.failed(3, "connection refused");
    run(&["version"], None, &[("TESSERA_ADMIN_ADDR", &addr)]).await.failed(3, &addr);
    // A listener that never answers: exit 3 after --timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let started = std::time::Instant::now();
    run(&["--addr", &silent_addr, "--timeout", "1", "version"], None, &[]).await.failed(3, "no answer");
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "{:?}", started.elapsed());
    held.abort();
    run(&["--addr", "http://127.0.0.1:1", "version"], None, &[]).await.failed(2, "HOST:PORT");
    run(&["clients", "frobnicate"], None, &[]).await.failed(2, "frobnicate");
    let help = run(&["--help"], None, &[]).await;
    assert!(help.ok().stdout.contains("Exit codes:"), "{}", help.stdout);
}

/// With `grpc.tlsClientCA` the CLI connects with its certificate (given through the
/// environment); without one it exits 3 and says the server wants a certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_works_with_the_client_certificate_and_names_it_when_missing() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let files = pki.write_to(dir.path());
    let (ca, cert, key) = (files.ca, files.server_cert, files.server_key);
    let (client_cert, client_key) = (files.client_cert, files.client_key);
    let server = TestServer::builder()
        .yaml(&format!(
            "grpc:\n  addr: 127.0.0.1:0\n  tlsCert: {cert}\n  tlsKey: {key}\n  tlsClientCA: {ca}\n"
        ))
        .start()
        .await;
    let addr = server.running().grpc_addr.unwrap().to_string();
    let env = [
        ("TESSERA_ADMIN_ADDR", addr.as_str()),
        ("TESSERA_ADMIN_CA_CERT", ca.as_str()),
        ("TESSERA_ADMIN_CLIENT_CERT", client_cert.as_str()),
        ("TESSERA_ADMIN_CLIENT_KEY", client_key.as_str()),
    ];
    let version = run(&["version", "-o", "json"], None, &env).await.ok().json();
    assert_eq!(version["api"], 3);
    let by_name = ["--server-name", "localhost", "clients", "list", "-o", "json"];
    let clients = run(&by_name, None, &env).await.ok().json();
    assert!(ids(&clients, "id").contains(&CLIENT_ID.to_string()));

    // Without a client certificate: refused, and the message says so.
    let no_cert = run(&["--addr", &addr, "--ca-cert", &ca, "version"], None, &[]).await;
    no_cert.failed(3, "certificate refused by the server");
    // Plain text to a TLS listener, and a server certificate from another CA.
    run(&["--addr", &addr, "version"], None, &[]).await.failed(3, &addr);
    let stranger = Pki::new();
    let other_ca = write("other-ca.pem", &stranger.ca_pem);
    let foreign = [("TESSERA_ADMIN_CA_CERT", other_ca.as_str()), env[0], env[2], env[3]];
    run(&["version"], None, &foreign).await.failed(3, "not issued by the CA of --ca-cert");
    run(&["--addr", &addr, "--ca-cert", "/no/such/ca.pem", "version"], None, &[]).await.failed(2, "ca.pem");
    server.stop().await;
}

/// `--options FILE`: Tessera's client options written as in a staticClients entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_options_come_from_a_file() {
    let server = TestServer::builder()
        .yaml("grpc:\n  addr: 127.0.0.1:0\noauth2:\n  grantTypes: [authorization_code, refresh_token, client_credentials]\n")
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("options.yaml");
    let write = |text: &str| std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap().to_string();
    write(
        "allowedResources: [https://api.example.com]\naccessTokenFormat: rfc9068\nexpiry:\n  accessTokens: 2m\n",
    );
    let args = ["clients", "create", "--id", "with-options", "--name", "With options", "--options", &path];
    let created = admin(&server, &[&args[..], &["-o", "json"]].concat(), None).await.ok().json();
    assert_eq!(created["options"]["access_token_format"], "rfc9068", "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    let form = [("grant_type", "client_credentials"), ("resource", "https://api.example.com")];
    let tokens = server.token(Some(("with-options", &secret)), &form).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(jwt_header(tokens.str("access_token"))["typ"], "at+jwt");
    assert_eq!(tokens.json["expires_in"], 120);

    // Replaced whole by update; a typo is the command line's mistake (exit 2), a rule the
    // server enforces is refused with its reason.
    write("grantTypes: [authorization_code]\n");
    admin(&server, &["clients", "update", "--id", "with-options", "--options", &path], None).await.ok();
    let got =
        admin(&server, &["clients", "get", "--id", "with-options", "-o", "json"], None).await.ok().json();
    assert_eq!(got["options"]["grant_types"], serde_json::json!(["authorization_code"]), "{got}");
    assert!(got["options"].get("allowed_resources").is_none(), "{got}");
    write("tokenEndpointAuthMethd: none\n");
    admin(&server, &["clients", "update", "--id", "with-options", "--options", &path], None)
        .await
        .failed(2, "not a client option");
    write("tokenEndpointAuthMethod: client_secret_jwt\n");
    admin(&server, &["clients", "update", "--id", "with-options", "--options", &path], None)
        .await
        .failed(6, "in clear");
}
