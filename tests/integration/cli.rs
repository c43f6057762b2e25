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
