//! The `tessera` command: version, check-config, hash-password, and serve with a clean
//! shutdown on SIGTERM.

use crate::common::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn tessera() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
}

#[test]
fn version_prints_the_crate_version() {
    let out = tessera().arg("version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("tessera {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_config_accepts_the_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.yaml");
    let out = tessera().args(["check-config", example]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout).unwrap().contains("OK"));
}

#[test]
fn check_config_names_a_misspelt_key_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        "issuer: http://127.0.0.1:5556/dex\nstorage:\n  type: memory\nweb:\n  http: 127.0.0.1:5556\noauth2:\n  skipAprovalScreen: true\n",
    )
    .unwrap();
    let out = tessera().args(["check-config", path.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("skipAprovalScreen"), "{stderr}");
    assert!(stderr.contains("line 7"), "{stderr}");

    let out = tessera().args(["check-config", "/no/such/config.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_password_output_works_as_a_static_password() {
    let mut child =
        tessera().arg("hash-password").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let server = TestServer::builder()
        .yaml(&format!(
            "staticPasswords:\n  - email: cli@example.com\n    hash: \"{hash}\"\n    username: cli\n    userID: cli-user\n"
        ))
        .start()
        .await;
    let browser = browser();
    let url = server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email");
    let form = navigate(&browser, &url).await.page();
    let wrong = submit_password(&browser, &form, "cli@example.com", "correct horse battery").await.page();
    assert_eq!(wrong.status, reqwest::StatusCode::UNAUTHORIZED);
    let approval = submit_password(&browser, &form, "cli@example.com", "correct horse").await.page();
    let done = approve(&browser, &approval).await.client();
    let tokens = server.redeem(&query_param(&done, "code").unwrap()).await;
    assert_eq!(jwt_claims(tokens.str("id_token"))["email"], "cli@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_cleanly_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "issuer: http://127.0.0.1:{port}/dex\nstorage:\n  type: memory\nweb:\n  http: 127.0.0.1:{port}\n\
             logger:\n  level: warn\nstaticClients:\n  - id: a\n    secret: s\n    name: A\n    redirectURIs: [\"http://127.0.0.1:1/cb\"]\n"
        ),
    )
    .unwrap();
    let mut child = tessera()
        .args(["serve", path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait until it serves discovery (startup, not time-based behaviour), bounded.
    let discovery = format!("http://127.0.0.1:{port}/dex/.well-known/openid-configuration");
    let mut ready = false;
    for _ in 0..400 {
        if let Ok(response) = api().get(&discovery).send().await
            && response.status().is_success()
        {
            ready = true;
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("tessera serve exited early: {status}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "tessera serve never answered discovery");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
}

/// Starts `tessera serve` on a config file and waits until `probe` answers.
async fn serve_until_ready(
    config: &std::path::Path,
    probe: &str,
    client: &reqwest::Client,
) -> std::process::Child {
    let mut command = tessera();
    command.args(["serve", config.to_str().unwrap()]);
    spawn_until_ready(command, probe, client).await
}

/// Spawns a prepared `tessera` command and waits until `probe` answers.
async fn spawn_until_ready(command: Command, probe: &str, client: &reqwest::Client) -> std::process::Child {
    spawn_logging_until_ready(command, probe, client, Stdio::null()).await
}

/// [`spawn_until_ready`] with the server's log (its standard output) going to `log`.
async fn spawn_logging_until_ready(
    mut command: Command,
    probe: &str,
    client: &reqwest::Client,
    log: Stdio,
) -> std::process::Child {
    let mut child = command.stdout(log).stderr(Stdio::piped()).spawn().unwrap();
    let mut last = String::new();
    for _ in 0..400 {
        match client.get(probe).send().await {
            Ok(response) if response.status().is_success() => return child,
            Ok(response) => last = response.status().to_string(),
            Err(e) => last = format!("{e:?}"),
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("tessera serve exited early: {status}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    panic!("tessera serve never answered {probe}: {last}");
}

/// `web.https` with `tlsCert`/`tlsKey` and `tlsMinVersion`, the telemetry listener, and the
/// example config's sqlite storage, through the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_https_and_telemetry_from_the_binary() {
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (https, telemetry) = (free(), free());
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    // A test CA and a server certificate it signs (webpki refuses a CA as end entity).
    let script = format!(
        "set -e; cd {dir}; \
         openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
           -subj /CN=TestCA -keyout ca.key -out ca.crt; \
         openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
           -keyout tls.key -out tls.csr; \
         printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf; \
         openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out tls.crt",
        dir = dir.path().display()
    );
    let made = Command::new("sh")
        .args(["-c", &script])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl made a test certificate");
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "issuer: https://127.0.0.1:{https}/dex\nstorage: {{type: sqlite3, config: {{file: {db}}}}}\n\
             web:\n  https: 127.0.0.1:{https}\n  tlsCert: {cert}\n  tlsKey: {key}\n  tlsMinVersion: \"1.3\"\n\
             telemetry: {{http: 127.0.0.1:{telemetry}}}\nlogger: {{level: warn, format: json}}\n",
            db = dir.path().join("t.db").display(),
            cert = cert.display(),
            key = key.display()
        ),
    )
    .unwrap();
    let pem = std::fs::read(dir.path().join("ca.crt")).unwrap();
    let tls = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let discovery = format!("https://127.0.0.1:{https}/dex/.well-known/openid-configuration");
    let mut child = serve_until_ready(&path, &discovery, &tls).await;

    let metadata: serde_json::Value = tls.get(&discovery).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["issuer"], format!("https://127.0.0.1:{https}/dex"));
    // HSTS on an https issuer.
    let response = tls.get(format!("https://127.0.0.1:{https}/dex/keys")).send().await.unwrap();
    assert!(response.headers().contains_key("strict-transport-security"));
    // TLS 1.2 is refused with tlsMinVersion 1.3.
    let tls12 = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .tls_version_max(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert!(tls12.get(&discovery).send().await.is_err(), "TLS 1.2 handshake must fail");
    // The telemetry listener.
    let ready = api().get(format!("http://127.0.0.1:{telemetry}/healthz/ready")).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let metrics = api()
        .get(format!("http://127.0.0.1:{telemetry}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tessera_http_requests_total"), "{metrics}");

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Stops a `tessera serve` child with SIGTERM and returns what it wrote to stderr.
async fn stop(child: std::process::Child) -> String {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success(), "exit {:?}", out.status);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// GETs `url`, following the server's own redirects (which name the issuer; the test reaches
/// the server at `base` instead), and stops at a redirect that leaves it (to the client).
async fn follow(
    browser: &reqwest::Client,
    mut response: reqwest::Response,
    issuer: &str,
    base: &str,
) -> reqwest::Response {
    for _ in 0..10 {
        if !response.status().is_redirection() {
            return response;
        }
        let location = response.headers()["location"].to_str().unwrap().to_string();
        if !location.starts_with(issuer) && !location.starts_with('/') {
            return response;
        }
        let next = response.url().join(&location.replacen(issuer, base, 1)).unwrap();
        response = browser.get(next).send().await.unwrap();
    }
    panic!("redirect loop");
}

/// The README's server command serves `config.example.yaml` as it is (only the listeners are
/// moved, with Dex's flags, to free ports): the example user logs in through the example
/// client, the tokens carry the example user, and the database is `tessera.db` in the
/// working directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_example_config_serves_a_login() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.yaml");
    let (web, telemetry) = (free_port(), free_port());
    let cwd = tempfile::tempdir().unwrap();
    let mut command = tessera();
    command.current_dir(cwd.path()).args([
        "serve",
        example,
        "--web-http-addr",
        &format!("127.0.0.1:{web}"),
        "--telemetry-addr",
        &format!("127.0.0.1:{telemetry}"),
    ]);
    let base = format!("http://127.0.0.1:{web}/dex");
    let child = spawn_until_ready(command, &format!("{base}/keys"), &api()).await;
    let issuer = "http://127.0.0.1:5556/dex";

    let browser = browser();
    let auth = format!(
        "{base}/auth?client_id=example-app&redirect_uri=http://127.0.0.1:5555/callback&response_type=code\
         &scope=openid%20email%20profile%20offline_access&state=xyz&nonce=abc"
    );
    let page = follow(&browser, browser.get(&auth).send().await.unwrap(), issuer, &base).await;
    let page_url = page.url().clone();
    let form = crate::common::html::forms(&page_url, &page.text().await.unwrap()).remove(0);
    let mut fields = form.hidden.clone();
    fields.extend([
        ("login".to_string(), "admin@example.com".to_string()),
        ("password".into(), "password".into()),
    ]);
    let here = |url: &url::Url| url.as_str().replacen(issuer, &base, 1);
    let posted = browser.post(here(&form.action)).form(&fields).send().await.unwrap();
    let approval = follow(&browser, posted, issuer, &base).await;
    let approval_url = approval.url().clone();
    let form = crate::common::html::forms(&approval_url, &approval.text().await.unwrap()).remove(0);
    let mut fields = form.hidden.clone();
    fields.push(("approval".into(), "approve".into()));
    let approved = browser.post(here(&form.action)).form(&fields).send().await.unwrap();
    let done = follow(&browser, approved, issuer, &base).await;
    let location = url::Url::parse(done.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with("http://127.0.0.1:5555/callback?"), "{location}");
    let code = query_param(&location, "code").unwrap();

    let tokens: serde_json::Value = api()
        .post(format!("{base}/token"))
        .basic_auth("example-app", Some("ZXhhbXBsZS1hcHAtc2VjcmV0"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:5555/callback"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], "admin@example.com");
    assert_eq!(claims["iss"], issuer);
    assert!(tokens["refresh_token"].as_str().is_some(), "{tokens}");
    let ready = api().get(format!("http://127.0.0.1:{telemetry}/healthz/ready")).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    stop(child).await;
    assert!(cwd.path().join("tessera.db").exists(), "the example keeps its state in ./tessera.db");
}

/// Dex's Helm chart runs `serve --web-http-addr 0.0.0.0:5556 --telemetry-addr 0.0.0.0:5558
/// /etc/dex/config.yaml` on a file with no `web:` key (flags before or after the file), and
/// may add `--grpc-addr`: Tessera starts, serves on the flags' addresses (the admin API
/// too). `check-config` takes the same flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dex_helm_chart_arguments_start_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        "issuer: http://127.0.0.1:5556/dex\nstorage:\n  type: memory\nenablePasswordDB: true\n\
         staticClients:\n  - id: a\n    secret: s\n    name: A\n    redirectURIs: [\"http://127.0.0.1:1/cb\"]\n",
    )
    .unwrap();
    let config = path.to_str().unwrap();
    let out = tessera().args(["check-config", config]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "no listener without the flags");
    assert!(String::from_utf8_lossy(&out.stderr).contains("web: no address"));
    for flags_first in [true, false] {
        let (web, telemetry) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
        let grpc = format!("127.0.0.1:{}", free_port());
        let flags = ["--web-http-addr", &web, "--telemetry-addr", &telemetry, "--grpc-addr", &grpc];
        let mut args = vec!["serve"];
        if flags_first {
            args.extend(flags);
            args.push(config);
        } else {
            args.push(config);
            args.extend(flags);
        }
        let mut command = tessera();
        command.args(&args);
        let child = spawn_until_ready(command, &format!("http://{telemetry}/healthz/ready"), &api()).await;
        let keys = api().get(format!("http://{web}/dex/keys")).send().await.unwrap();
        assert_eq!(keys.status(), reqwest::StatusCode::OK);
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let version = tessera::grpc::api::dex_client::DexClient::new(channel)
            .get_version(tessera::grpc::api::VersionReq {})
            .await
            .unwrap();
        assert!(version.into_inner().server.starts_with("tessera-"));
        stop(child).await;
        let mut check = vec!["check-config", config];
        check.extend(flags);
        let out = tessera().args(&check).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Every Dex connector type is built: `check-config` reads each one's `config` as its type
/// does (a missing or misspelt key is an error at its path) and has no warning for a valid one.
#[test]
fn check_config_validates_every_dex_connector_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let head = "issuer: http://127.0.0.1:5556/dex\nstorage:\n  type: memory\nweb:\n  http: 127.0.0.1:5556\nconnectors:\n";
    let valid = [
        "  - {type: keystone, id: openstack, name: OpenStack, config: {keystoneHost: 'http://keystone:5000', domain: default}}",
        "  - {type: linkedin, id: li, name: LinkedIn, config: {clientID: a, clientSecret: b, redirectURI: 'http://127.0.0.1:5556/dex/callback'}}",
        "  - {type: atlassian-crowd, id: crowd, name: Crowd, config: {baseURL: 'https://crowd', clientID: app, clientSecret: pw, preferredUsernameField: email}}",
        "  - {type: gitea, id: gitea, name: Gitea, config: {clientID: a, clientSecret: b, redirectURI: 'http://127.0.0.1:5556/dex/callback', orgs: [{name: acme, teams: [ops]}], loadAllGroups: true}}",
        "  - {type: bitbucket-cloud, id: bb, name: Bitbucket, config: {clientID: a, clientSecret: b, redirectURI: 'http://127.0.0.1:5556/dex/callback', teams: [acme], includeTeamGroups: true}}",
        "  - {type: openshift, id: ocp, name: OpenShift, config: {issuer: 'https://api.ocp:6443', clientID: a, clientSecret: b, redirectURI: 'http://127.0.0.1:5556/dex/callback', groups: [admins], insecureCA: true}}",
        "",
    ]
    .join("\n");
    std::fs::write(&path, format!("{head}{valid}")).unwrap();
    let out = tessera().args(["check-config", path.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");

    std::fs::write(
        &path,
        format!(
            "{head}  - {{type: keystone, id: openstack, name: OpenStack, config: {{domain: default}}}}\n  - {{type: atlassian-crowd, id: crowd, name: Crowd, config: {{baseURL: 'https://crowd', clientID: a, clientSecret: b, groupz: [x]}}}}\n"
        ),
    )
    .unwrap();
    let out = tessera().args(["check-config", path.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("connectors[0].config") && stderr.contains("keystoneHost"), "{stderr}");
    assert!(stderr.contains("connectors[1].config") && stderr.contains("groupz"), "{stderr}");
}

/// `check-config` reads each connector's `config` as its type does: a key the type does not
/// know fails the check, with the connector's YAML path. The server skips that connector and
/// serves the others (its failure is listed at `/healthz/ready`), as when one fails to open.
#[test]
fn check_config_reports_a_connector_config_its_type_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        "issuer: http://127.0.0.1:5556/dex\nstorage:\n  type: memory\nweb:\n  http: 127.0.0.1:5556\n\
         connectors:\n  - type: mockCallback\n    id: mock\n    name: Mock\n  - type: github\n    id: gh\n    name: GitHub\n    config:\n      clientID: x\n      clientSecret: y\n      redirectURI: http://127.0.0.1:5556/dex/callback\n      orgz: [acme]\n",
    )
    .unwrap();
    let out = tessera().args(["check-config", path.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("error: connectors[1].config"), "{stderr}");
    assert!(stderr.contains("orgz"), "{stderr}");
}

/// `check-config` accepts Dex's MySQL storage section as Dex's docs write it, and names a
/// misspelt key or a wrong value in it by its YAML path.
#[test]
fn check_config_accepts_a_dex_mysql_storage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let config = |storage: &str| {
        format!(
            "issuer: http://127.0.0.1:5556/dex\nweb:\n  http: 127.0.0.1:5556\nstorage:\n  type: mysql\n  config:\n{storage}"
        )
    };
    let dex = "    host: db.example.com\n    port: 3306\n    database: dex\n    user: dex\n    password: secret\n    ssl:\n      mode: \"false\"\n";
    std::fs::write(&path, config(dex)).unwrap();
    let out = tessera().args(["check-config", path.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8(out.stdout).unwrap().contains("OK"));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));

    for (wrong, path_in_error) in [
        (dex.replace("    user:", "    usr:"), "storage.config.usr"),
        (dex.replace("3306", "mysql"), "storage.config.port"),
        (dex.replace("\"false\"", "verify-full"), "storage.config.ssl.mode"),
    ] {
        std::fs::write(&path, config(&wrong)).unwrap();
        let out = tessera().args(["check-config", path.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(&format!("error: {path_in_error}")), "{path_in_error}: {stderr}");
    }
}

/// A config for the reload tests: one static client (and more in `extra_clients`), the
/// password database, `X-Frame-Options` as given.
fn reload_config(web: &str, telemetry: &str, issuer_port: &str, extra_clients: &str, frame: &str) -> String {
    format!(
        "issuer: http://127.0.0.1:{issuer_port}/dex\nstorage:\n  type: memory\nweb:\n  http: {web}\n  headers:\n    X-Frame-Options: {frame}\n\
         telemetry:\n  http: {telemetry}\nenablePasswordDB: true\nstaticPasswords:\n  - email: {ADMIN_EMAIL}\n    hash: \"{hash}\"\n    username: admin\n    userID: u-1\n\
         staticClients:\n  - id: first\n    secret: first-secret\n    name: First\n    redirectURIs: [\"http://127.0.0.1:1/cb\"]\n{extra_clients}",
        hash = bcrypt::hash(ADMIN_PASSWORD, 4).unwrap()
    )
}

/// A scratch directory with the first reload config: (dir, config path, web address,
/// telemetry address, issuer port).
fn reload_setup() -> (tempfile::TempDir, std::path::PathBuf, String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let port = free_port();
    let (web, telemetry) = (format!("127.0.0.1:{port}"), format!("127.0.0.1:{}", free_port()));
    let port = port.to_string();
    std::fs::write(&path, reload_config(&web, &telemetry, &port, "", "DENY")).unwrap();
    (dir, path, web, telemetry, port)
}

fn auth_page(web: &str, client: &str) -> String {
    format!(
        "http://{web}/dex/auth?client_id={client}&redirect_uri=http://127.0.0.1:1/cb&response_type=code&scope=openid&state=s"
    )
}

/// SIGHUP reloads static clients and `web.headers` under load with no failed request; a
/// login started before the reload finishes after it; a broken file is refused whole and the
/// running configuration stays; a key that needs a restart is named in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sighup_reloads_the_config_without_dropping_a_request() {
    let (dir, path, web, telemetry, port) = reload_setup();
    let mut command = tessera();
    command.arg("serve").arg(&path);
    let log_path = dir.path().join("tessera.log");
    let log = Stdio::from(std::fs::File::create(&log_path).unwrap());
    let child =
        spawn_logging_until_ready(command, &format!("http://{telemetry}/healthz/ready"), &api(), log).await;
    let hup =
        || assert!(Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());

    // Load for the whole test: discovery and keys, counted.
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let load = {
        let (running, web) = (running.clone(), web.clone());
        tokio::spawn(async move {
            let client = api();
            let (mut ok, mut failed) = (0u32, 0u32);
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                for path in ["/dex/.well-known/openid-configuration", "/dex/keys"] {
                    match client.get(format!("http://{web}{path}")).send().await {
                        Ok(r) if r.status().is_success() => ok += 1,
                        _ => failed += 1,
                    }
                }
            }
            (ok, failed)
        })
    };

    // A login in flight: its password form is open before the reload.
    let browser = browser();
    let form = navigate(&browser, &url::Url::parse(&auth_page(&web, "first")).unwrap()).await.page();
    let second = auth_page(&web, "second");
    assert_eq!(browser.get(&second).send().await.unwrap().status(), reqwest::StatusCode::BAD_REQUEST);

    let extra = "  - id: second\n    secret: second-secret\n    name: Second\n    redirectURIs: [\"http://127.0.0.1:1/cb\"]\n";
    std::fs::write(&path, reload_config(&web, &telemetry, &port, extra, "SAMEORIGIN")).unwrap();
    hup();
    let mut reloaded = false;
    for _ in 0..100 {
        let response = api().get(&second).send().await.unwrap();
        // Known: on to the password form (a redirect); unknown: the error page (400).
        if response.status() != reqwest::StatusCode::BAD_REQUEST {
            assert_eq!(response.headers()["x-frame-options"], "SAMEORIGIN");
            reloaded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reloaded, "the new static client and header are served after SIGHUP");
    // The login started before the reload completes.
    let done = match submit_password(&browser, &form, ADMIN_EMAIL, ADMIN_PASSWORD).await {
        Hop::Page(approval) => approve(&browser, &approval).await.client(),
        Hop::Client(url) => url,
    };
    assert!(query_param(&done, "code").is_some(), "{done}");

    // A broken file is refused whole: the second client stays, nothing else changes.
    std::fs::write(&path, reload_config(&web, &telemetry, &port, "", "DENY") + "unknownKey: 1\n").unwrap();
    hup();
    // A key that needs a restart (the issuer) is named, and the rest applies.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_ne!(api().get(&second).send().await.unwrap().status(), reqwest::StatusCode::BAD_REQUEST);
    std::fs::write(&path, reload_config(&web, &telemetry, "1", "", "DENY") + "logger:\n  level: debug\n")
        .unwrap();
    hup();
    let mut removed = false;
    for _ in 0..100 {
        if api().get(&second).send().await.unwrap().status() == reqwest::StatusCode::BAD_REQUEST {
            removed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(removed, "the second client is gone after the next good reload");
    // Tokens still carry the issuer the server started with.
    let discovery: serde_json::Value = api()
        .get(format!("http://{web}/dex/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], format!("http://127.0.0.1:{port}/dex"));

    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = load.await.unwrap();
    assert!(ok > 0);
    assert_eq!(failed, 0, "no request failed across three reloads ({ok} succeeded)");
    stop(child).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("config reload refused") && log.contains("unknownKey"), "{log}");
    assert!(log.contains("applies at the next restart") && log.contains("issuer"), "{log}");
    assert_eq!(log.matches("configuration reloaded").count(), 2, "{log}");
    // logger.level: debug applied live (the request traces are debug lines).
    let after = log.split("configuration reloaded").last().unwrap_or_default();
    assert!(after.contains("DEBUG"), "debug lines after the level changed: {after}");
}

/// `--watch-config`: a change of the file is picked up without a signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_config_reloads_when_the_file_changes() {
    let (_dir, path, web, telemetry, port) = reload_setup();
    let mut command = tessera();
    command.arg("serve").arg(&path).arg("--watch-config");
    let child = spawn_until_ready(command, &format!("http://{telemetry}/healthz/ready"), &api()).await;
    let extra =
        "  - id: second\n    secret: s\n    name: Second\n    redirectURIs: [\"http://127.0.0.1:1/cb\"]\n";
    std::fs::write(&path, reload_config(&web, &telemetry, &port, extra, "DENY")).unwrap();
    let mut seen = false;
    // Bounded: the file is checked every 2 seconds.
    for _ in 0..100 {
        if api().get(auth_page(&web, "second")).send().await.unwrap().status()
            != reqwest::StatusCode::BAD_REQUEST
        {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the changed file was reloaded");
    stop(child).await;
}

/// The HTTPS certificate and key are read again on SIGHUP: new connections get the new
/// certificate, with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_https_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let make = |cn: &str| {
        let script = format!(
            "set -e; cd {dir}; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
             -subj /CN={cn} -addext subjectAltName=IP:127.0.0.1 -keyout tls.key -out tls.crt",
            dir = dir.path().display()
        );
        let made =
            Command::new("sh").args(["-c", &script]).stderr(Stdio::null()).stdout(Stdio::null()).status();
        assert!(made.unwrap().success(), "openssl made a certificate");
    };
    // The subject of the certificate the server presents to a new connection.
    let served = |port: u16| {
        let script = format!(
            "openssl s_client -connect 127.0.0.1:{port} </dev/null 2>/dev/null | openssl x509 -noout -subject"
        );
        String::from_utf8_lossy(&Command::new("sh").args(["-c", &script]).output().unwrap().stdout)
            .into_owned()
    };
    make("first-cert");
    let (https, telemetry) = (free_port(), free_port());
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "issuer: https://127.0.0.1:{https}/dex\nstorage: {{type: memory}}\n\
             web:\n  https: 127.0.0.1:{https}\n  tlsCert: {dir}/tls.crt\n  tlsKey: {dir}/tls.key\n\
             telemetry: {{http: 127.0.0.1:{telemetry}}}\n",
            dir = dir.path().display()
        ),
    )
    .unwrap();
    let mut command = tessera();
    command.arg("serve").arg(&path);
    let child =
        spawn_until_ready(command, &format!("http://127.0.0.1:{telemetry}/healthz/ready"), &api()).await;
    assert!(served(https).contains("first-cert"), "{}", served(https));
    make("second-cert");
    assert!(Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
    let mut now = String::new();
    for _ in 0..50 {
        now = served(https);
        if now.contains("second-cert") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(now.contains("second-cert"), "the new certificate after SIGHUP: {now}");
    stop(child).await;
}
