//! Faults, with nothing lost: the database restarting under Tessera. A PostgreSQL cluster of
//! the test's own (initdb in a scratch directory, its own port) is stopped and started again
//! while Tessera keeps running: requests fail fast with `503` and `Retry-After` instead of
//! hanging, `/healthz/ready` follows, and once the database is back everything works again
//! without a restart of Tessera.

use crate::common::*;
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A PostgreSQL server of the test's own, run as the `postgres` system user (the tests run as
/// root on CI machines, where `.ci/setup --tests` installed PostgreSQL).
struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

fn run_as_postgres(program: &Path, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("runuser {}: {e} (the fault tests need root and PostgreSQL)", program.display())
        });
    assert!(out.status.success(), "{} {args:?}: {}", program.display(), String::from_utf8_lossy(&out.stderr));
}

impl PrivatePostgres {
    fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries in /usr/lib/postgresql (bash .ci/setup --tests)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("an initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("chown").arg("postgres").arg(dir.path()).status().unwrap();
        assert!(status.success(), "chown postgres {}", dir.path().display());
        let data = dir.path().join("data");
        run_as_postgres(
            &bin.join("initdb"),
            &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = Self { dir, bin, port };
        pg.up();
        pg
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let mut all = vec!["-D", data.to_str().unwrap()];
        all.extend_from_slice(args);
        run_as_postgres(&self.bin.join("pg_ctl"), &all);
    }

    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        self.pg_ctl(&["-o", &options, "-l", log.to_str().unwrap(), "-w", "start"]);
    }

    fn down(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

async fn ready_status(base: &str) -> StatusCode {
    api().get(format!("{base}/healthz/ready")).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_fails_fast_and_recovers_without_restarting_tessera() {
    let pg = PrivatePostgres::start();
    let port = pg.port;
    let server = TestServer::builder()
        .yaml_with(move |yaml| {
            yaml["storage"] = serde_norway::from_str(&format!(
                "type: postgres\nconfig:\n  host: 127.0.0.1\n  port: {port}\n  database: postgres\n  user: postgres\n  ssl:\n    mode: disable\n"
            ))
            .unwrap();
        })
        .start()
        .await;
    tessera::web::telemetry::prometheus();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let telemetry = format!("http://{}", listener.local_addr().unwrap());
    let router = tessera::web::telemetry::router(server.running().app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let tokens = server.login_tokens("openid email offline_access").await;
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let rotated = server.refresh(&refresh).await;
    assert_eq!(rotated.status, StatusCode::OK);
    refresh = rotated.str("refresh_token").to_string();
    assert_eq!(ready_status(&telemetry).await, StatusCode::OK);

    // Down: every request is answered, quickly, with 503 and Retry-After.
    pg.down();
    let started = Instant::now();
    let refused = server.refresh(&refresh).await;
    let failed_in = started.elapsed();
    refused.assert_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert!(refused.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()), "{:?}", refused.text);
    assert!(failed_in < Duration::from_secs(10), "failed after {failed_in:?}, not fast");
    assert_eq!(
        ready_status(&telemetry).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready without its database"
    );
    let browser = browser();
    let page = navigate(&browser, &server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid")).await.page();
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.body);
    assert!(page.headers.contains_key("retry-after") && page.content_type().starts_with("text/html"));

    // Back: within 5 s everything works again, Tessera untouched.
    pg.up();
    let back = Instant::now();
    let mut recovered = None;
    while back.elapsed() < Duration::from_secs(5) {
        let r = server.refresh(&refresh).await;
        if r.status == StatusCode::OK {
            refresh = r.str("refresh_token").to_string();
            recovered = Some(back.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = recovered.expect("refresh works again within 5 s of the database's return");
    assert_eq!(ready_status(&telemetry).await, StatusCode::OK);
    let done = login_with_password(
        &browser,
        &server.code_auth_url(CLIENT_ID, REDIRECT_URI, "openid email"),
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    .await;
    assert!(query_param(&done, "code").is_some());
    assert_eq!(server.refresh(&refresh).await.status, StatusCode::OK, "the token chain is intact");
    eprintln!("faults: postgres down: 503 after {failed_in:?}; back: first success after {recovered:?}");
    server.stop().await;
}
