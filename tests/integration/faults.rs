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

// --- SIGKILL under load ----------------------------------------------------------------------

/// `tessera serve` as a process of its own, on a fixed port so that its issuer survives a
/// restart.
struct Process {
    child: std::process::Child,
}

impl Process {
    /// Starts the binary and returns it with the time from exec to the first JWKS answer.
    async fn start(config: &Path, base: &str) -> (Self, Duration) {
        let started = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["serve", config.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut process = Self { child };
        let http = api();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = http.get(format!("{base}/keys")).send().await
                && r.status().is_success()
            {
                return (process, started.elapsed());
            }
            assert!(process.child.try_wait().unwrap().is_none(), "tessera serve exited early");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("tessera serve never answered {base}/keys");
    }

    fn sigkill(&mut self) {
        let _ = Command::new("kill").args(["-KILL", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one client of the load received.
#[derive(Default)]
struct Received {
    /// The latest access and refresh token this client was answered.
    access: Option<String>,
    refresh: Option<String>,
    /// Codes redeemed with an answer, and codes whose redemption got no answer (the kill).
    redeemed: Vec<String>,
    unanswered: Vec<String>,
}

/// One client: logs in (mockCallback, no consent page), redeems the code, then refreshes its
/// token chain, again and again, until the server dies under it.
async fn client_load(base: String, in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Received {
    let mut got = Received::default();
    let http = api();
    loop {
        let browser = browser();
        let mut url = url::Url::parse(&format!("{base}/auth")).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email offline_access")
            .append_pair("state", "s")
            .append_pair("connector_id", "mock");
        let Ok(first) = browser.get(url.clone()).send().await else { return got };
        let Some(code) = follow_to_code(&browser, first, &url).await else { return got };
        let form =
            [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)];
        if !token_request(&http, &base, &form, &in_flight, &mut got).await {
            got.unanswered.push(code);
            return got;
        }
        got.redeemed.push(code);
        for _ in 0..5 {
            let refresh = got.refresh.clone().unwrap_or_default();
            let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
            if !token_request(&http, &base, &form, &in_flight, &mut got).await {
                return got;
            }
        }
    }
}

/// One `/token` request, counted in flight while it runs; an answer's tokens become the
/// client's latest. `false` when no answer came (the server died under it).
async fn token_request(
    http: &reqwest::Client,
    base: &str,
    form: &[(&str, &str)],
    in_flight: &std::sync::atomic::AtomicUsize,
    got: &mut Received,
) -> bool {
    use std::sync::atomic::Ordering::SeqCst;
    in_flight.fetch_add(1, SeqCst);
    let answer =
        http.post(format!("{base}/token")).basic_auth(CLIENT_ID, Some(CLIENT_SECRET)).form(form).send().await;
    in_flight.fetch_sub(1, SeqCst);
    let Some(tokens) = json_ok(answer).await else { return false };
    got.access = tokens["access_token"].as_str().map(str::to_string);
    got.refresh = tokens["refresh_token"].as_str().map(str::to_string);
    true
}

async fn json_ok(answer: reqwest::Result<reqwest::Response>) -> Option<serde_json::Value> {
    let response = answer.ok()?;
    assert!(!response.status().is_server_error(), "a 5xx under load: {}", response.status());
    if !response.status().is_success() {
        panic!("a refused request under load: {} {:?}", response.status(), response.text().await);
    }
    response.json().await.ok()
}

/// Follows the server's redirects to the client's redirect URI and returns its `code`.
async fn follow_to_code(
    browser: &reqwest::Client,
    mut response: reqwest::Response,
    origin: &url::Url,
) -> Option<String> {
    for _ in 0..10 {
        let location = response.headers().get("location")?.to_str().ok()?.to_string();
        let next = response.url().join(&location).ok()?;
        if next.origin() != origin.origin() {
            return query_param(&next, "code");
        }
        response = browser.get(next).send().await.ok()?;
    }
    None
}

/// Kills `tessera serve` with SIGKILL while clients log in, redeem codes and refresh, starts
/// it again on the same database, and checks nothing a client was answered is lost.
async fn sigkill_under_load(storage: &str) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}/dex");
    let config = dir.path().join("tessera.yaml");
    std::fs::write(
        &config,
        format!(
            "issuer: {base}\nstorage:\n{storage}\nweb:\n  http: 127.0.0.1:{port}\nlogger:\n  level: error\n\
             oauth2:\n  skipApprovalScreen: true\nexpiry:\n  refreshTokens:\n    reuseInterval: 30s\n\
             throttle:\n  authRequestsPerSecond: 0\nstaticClients:\n  - id: {CLIENT_ID}\n    secret: {CLIENT_SECRET}\n\
             \x20   name: Example App\n    redirectURIs: [\"{REDIRECT_URI}\"]\n\
             connectors:\n  - type: mockCallback\n    id: mock\n    name: Mock\n"
        ),
    )
    .unwrap();
    let (mut process, _) = Process::start(&config, &base).await;
    let in_flight = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> =
        (0..8).map(|_| tokio::spawn(client_load(base.clone(), in_flight.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let in_flight_at_kill = in_flight.load(std::sync::atomic::Ordering::SeqCst);
    process.sigkill();
    let mut received = Vec::new();
    for client in clients {
        received.push(client.await.unwrap());
    }
    let (process, startup) = Process::start(&config, &base).await;
    assert!(startup < Duration::from_secs(1), "start-up after the crash took {startup:?}");

    let http = api();
    let refresh = |token: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let form = [("grant_type", "refresh_token"), ("refresh_token", token.as_str())];
            let r = http
                .post(format!("{base}/token"))
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(status, StatusCode::OK, "a refresh token a client holds stopped working: {body}");
            body["refresh_token"].as_str().unwrap().to_string()
        }
    };
    let (mut tokens_checked, mut codes_checked) = (0, 0);
    for got in &received {
        // Every access token a client holds still works (the signing keys survived).
        if let Some(access) = &got.access {
            let r = http.get(format!("{base}/userinfo")).bearer_auth(access).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "an access token a client holds stopped working");
        }
        // The refresh token last received works, whether or not the server committed a
        // rotation whose answer the kill swallowed (that is a retry within reuseInterval), and
        // the family is not split: the same token twice gives one successor.
        if let Some(token) = &got.refresh {
            let (one, two) = (refresh(token.clone()).await, refresh(token.clone()).await);
            assert_eq!(one, two, "one successor per token");
            refresh(one).await;
            tokens_checked += 1;
        }
    }
    for got in &received {
        // No code is redeemable twice: an answered one is refused; an unanswered one at most once.
        for (code, answered) in
            got.redeemed.iter().map(|c| (c, true)).chain(got.unanswered.iter().map(|c| (c, false)))
        {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT_URI),
            ];
            let mut successes = 0;
            for _ in 0..2 {
                let r = http
                    .post(format!("{base}/token"))
                    .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                assert!(!r.status().is_server_error());
                successes += usize::from(r.status() == StatusCode::OK);
            }
            assert_eq!(successes, if answered { 0 } else { successes.min(1) }, "a code redeemed twice");
            codes_checked += 1;
        }
    }
    assert!(tokens_checked >= 8, "every client got tokens before the kill");
    eprintln!(
        "faults: SIGKILL with {in_flight_at_kill} requests in flight; restart answered in {startup:?}; \
         {tokens_checked} token chains and {codes_checked} codes checked, nothing lost"
    );
    drop(process);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tessera.db");
    sigkill_under_load(&format!("  type: sqlite3\n  config:\n    file: {}", file.display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_nothing_on_postgres() {
    let database = ScratchDatabase::create().await;
    sigkill_under_load(&format!(
        "  type: postgres\n  config:\n    host: 127.0.0.1\n    port: 5432\n    database: {}\n    user: postgres\n    ssl:\n      mode: disable",
        database.name()
    ))
    .await;
}

// --- Disk full under SQLite ------------------------------------------------------------------

/// A small tmpfs of the test's own (root only), unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs needs root (the fault tests run as root on CI)");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the file system is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.flush();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_sqlite_is_503_without_corruption_and_service_resumes() {
    let disk = SmallDisk::mount("2m");
    let file = disk.path().join("tessera.db");
    let storage = format!("type: sqlite3\nconfig:\n  file: {}\n", file.display());
    let server = TestServer::builder()
        .yaml_with(move |yaml| yaml["storage"] = serde_norway::from_str(&storage).unwrap())
        .start()
        .await;
    let before = server.login_tokens("openid email offline_access").await;
    let device_code = || async {
        api()
            .post(server.url("/device/code"))
            .form(&[("client_id", KUBECTL_ID), ("scope", "openid")])
            .send()
            .await
            .unwrap()
    };

    // Full: writes fail with 503 and Retry-After, never a 500, a hang or a crash.
    let filler = disk.fill();
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..3000 {
        let r = device_code().await;
        let status = r.status();
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
        assert!(
            status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}: {:?}",
            r.text().await
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(r.headers().contains_key("retry-after"));
            break;
        }
    }
    assert!(statuses.contains_key(&503), "the disk never filled up: {statuses:?}");
    // Reads that need no write still work.
    assert_eq!(server.userinfo(before["access_token"].as_str().unwrap()).await.status, StatusCode::OK);

    // Space again: service resumes, nothing restarted, nothing lost.
    std::fs::remove_file(filler).unwrap();
    let back = Instant::now();
    while device_code().await.status() != StatusCode::OK {
        assert!(back.elapsed() < Duration::from_secs(5), "writes did not resume within 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resumed = back.elapsed();
    assert_eq!(server.refresh(before["refresh_token"].as_str().unwrap()).await.status, StatusCode::OK);
    server.login_tokens("openid").await;
    server.stop().await;

    // And the database file is sound.
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display())).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.unwrap();
    assert_eq!(check, "ok");
    conn.close().await.unwrap();
    eprintln!(
        "faults: disk full: {statuses:?} before the first 503; writes resumed {resumed:?} after space returned; integrity_check ok"
    );
}
