//! The container image: `deploy/image/build` makes it from this build's binary, runc runs it
//! the way Kubernetes runs the chart's pod (user 65532, read-only root file system, no
//! capabilities, no privilege escalation, the config mounted read-only, a volume for SQLite),
//! and a user logs in through it; after a restart of the container the refresh token issued
//! before still works (the state lives on the volume, nothing in the image is written).

use crate::common::rp::{self, RpHttp};
use crate::common::*;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const UID: u32 = 65532;

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One JSON blob of the OCI layout, by digest.
fn blob(layout: &Path, digest: &str) -> Value {
    let path = layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A container of the image, removed when dropped (also when the test fails).
struct Container {
    id: String,
    process: std::process::Child,
    log: PathBuf,
}

impl Container {
    fn start(bundle: &Path, id: &str) -> Container {
        let log = bundle.with_extension("log");
        let out = std::fs::File::create(&log).unwrap();
        let process = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(bundle)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("runc must be installed (bash .ci/setup --tests)");
        Container { id: id.to_string(), process, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_ready(&mut self, telemetry: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = api().get(format!("{telemetry}/healthz/ready")).send().await
                && response.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.process.try_wait() {
                panic!("the container exited ({status}):\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "not ready within 60 s:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(mut self) {
        // SIGTERM, as the kubelet sends: the server finishes in-flight requests and exits 0.
        run(Command::new("runc").args(["kill", &self.id, "TERM"]));
        let status = self.process.wait().unwrap();
        assert!(status.success(), "the server did not stop cleanly ({status}):\n{}", self.log());
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("runc").args(["delete", "--force", &self.id]).output();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// runc's bundle for the image, set up as the chart's pod: the image's user, entrypoint and
/// working directory, plus what the pod spec adds.
fn bundle(
    layout: &Path,
    tag: &str,
    dir: &Path,
    config_dir: &Path,
    data_dir: &Path,
    args: &[String],
) -> PathBuf {
    let bundle = dir.join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:{tag}", layout.display()))
        .arg(&bundle));
    let path = bundle.join("config.json");
    let mut spec: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(spec["process"]["user"]["uid"], UID, "the image's user");
    assert_eq!(spec["process"]["args"][0], "/usr/local/bin/tessera", "the image's entrypoint");
    spec["root"]["readonly"] = json!(true);
    spec["process"]["terminal"] = json!(false);
    spec["process"]["noNewPrivileges"] = json!(true);
    spec["process"]["capabilities"] =
        json!({"bounding": [], "effective": [], "permitted": [], "ambient": []});
    // The host's network namespace, so the test reaches the ports on 127.0.0.1.
    spec["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "network");
    let mut process_args = vec![json!("/usr/local/bin/tessera")];
    process_args.extend(args.iter().map(|a| json!(a)));
    spec["process"]["args"] = json!(process_args);
    let mounts = spec["mounts"].as_array_mut().unwrap();
    mounts.push(json!({"destination": "/etc/tessera", "type": "bind", "source": config_dir, "options": ["rbind", "ro"]}));
    mounts.push(json!({"destination": "/var/lib/tessera", "type": "bind", "source": data_dir, "options": ["rbind", "rw"]}));
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    bundle
}

/// What is in the image, path by path: the binary, shared libraries, a few files in /etc,
/// and empty directories. No shell, no package manager, no other program.
fn assert_minimal(rootfs: &Path) {
    let mut programs = Vec::new();
    for entry in walkdir(rootfs) {
        let relative = entry.strip_prefix(rootfs).unwrap().to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(&entry).unwrap();
        if meta.is_dir() {
            continue;
        }
        let allowed = relative == "usr/local/bin/tessera"
            || relative.starts_with("lib/") && relative.contains(".so")
            || relative.starts_with("lib64/ld-linux")
            || [
                "etc/passwd",
                "etc/group",
                "etc/nsswitch.conf",
                "etc/ssl/certs/ca-certificates.crt",
                "etc/tessera/config.yaml",
            ]
            .contains(&relative.as_str());
        assert!(allowed, "unexpected file in the image: /{relative}");
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 != 0
            && !relative.contains(".so")
            && !relative.starts_with("lib64/")
        {
            programs.push(relative);
        }
    }
    assert_eq!(programs, ["usr/local/bin/tessera"], "the only program in the image");
    for shell in ["bin/sh", "bin/bash", "usr/bin/apt", "usr/bin/dpkg"] {
        assert!(!rootfs.join(shell).exists(), "/{shell} must not be in the image");
    }
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            out.extend(walkdir(&path));
        }
        out.push(path);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_runs_read_only_as_non_root_and_logs_users_in() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layout = dir.path().join("image");
    let built = run(Command::new("bash")
        .arg(root.join("deploy/image/build"))
        .args(["--binary", env!("CARGO_BIN_EXE_tessera"), "--tag", "test", "--out"])
        .arg(&layout));
    assert!(built.contains("built "), "{built}");

    // The image's configuration: non-root user, the server as entrypoint, its ports.
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest = blob(&layout, index["manifests"][0]["digest"].as_str().unwrap());
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1, "one layer, FROM scratch");
    let config = blob(&layout, manifest["config"]["digest"].as_str().unwrap());
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["config"]["Entrypoint"], json!(["/usr/local/bin/tessera"]));
    assert_eq!(config["config"]["Cmd"][0], "serve");
    for port in ["5556/tcp", "5557/tcp", "5558/tcp"] {
        assert!(config["config"]["ExposedPorts"].get(port).is_some(), "{port} exposed");
    }

    // The server's own config, mounted read-only at /etc/tessera as the chart's ConfigMap is.
    let (http, telemetry) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{http}/dex");
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.yaml"),
        format!(
            r#"issuer: {issuer}
storage:
  type: sqlite3
  config:
    file: /var/lib/tessera/tessera.db
staticClients:
  - id: {CLIENT_ID}
    secret: {CLIENT_SECRET}
    name: Example App
    redirectURIs: ["{REDIRECT_URI}"]
enablePasswordDB: true
staticPasswords:
{admin}"#,
            admin = admin_password(&["admins"])
        ),
    )
    .unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    std::os::unix::fs::chown(&data_dir, Some(UID), Some(UID)).expect("the image test runs as root (runc)");
    let args = [
        "serve".to_string(),
        "/etc/tessera/config.yaml".to_string(),
        format!("--web-http-addr=127.0.0.1:{http}"),
        format!("--telemetry-addr=127.0.0.1:{telemetry}"),
    ];
    let bundle = bundle(&layout, "test", dir.path(), &config_dir, &data_dir, &args);
    assert_minimal(&bundle.join("rootfs"));

    let id = format!("tessera-test-{}", std::process::id());
    let telemetry_url = format!("http://127.0.0.1:{telemetry}");
    let mut container = Container::start(&bundle, &id);
    container.wait_ready(&telemetry_url).await;

    // A user logs in through the container: discovery, code flow with PKCE, ID token verified.
    let http_client = RpHttp::new();
    let app = rp::client_at(&issuer, &http_client, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;
    let login = rp::code_flow(&app, &http_client, &["email", "groups", "offline_access"]).await;
    assert_eq!(login.claims.email().map(|e| e.as_str()), Some(ADMIN_EMAIL));
    let refresh = login.tokens.refresh_token().expect("offline_access gives a refresh token").clone();
    let metrics = api().get(format!("{telemetry_url}/metrics")).send().await.unwrap();
    assert!(metrics.status().is_success(), "Prometheus metrics on the telemetry port");
    // Its state went to the volume, as the image's user.
    let db = data_dir.join("tessera.db");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&db).expect("SQLite's file on the volume").uid(), UID);
    container.stop();

    // A new container on the same volume: the refresh token issued before still works.
    let mut container = Container::start(&bundle, &id);
    container.wait_ready(&telemetry_url).await;
    let app = rp::client_at(&issuer, &http_client, CLIENT_ID, Some(CLIENT_SECRET), REDIRECT_URI).await;
    let refreshed = app
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http_client)
        .await
        .unwrap_or_else(|e| panic!("refresh after a restart failed: {e:?}\n{}", container.log()));
    assert!(refreshed.id_token().is_some());
    let log = container.log();
    container.stop();
    assert!(!log.contains(CLIENT_SECRET) && !log.contains(refresh.secret()), "no secrets in the logs");
    assert!(
        log.contains("tessera started") && !log.contains('\u{1b}'),
        "plain-text logs, no colour codes:\n{log}"
    );
}
