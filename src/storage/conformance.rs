//! The storage conformance suite: every guarantee of the contract in `storage/mod.rs`, written
//! once over `Arc<dyn Storage>` and run against each backend: a SQLite file, SQLite in memory
//! and PostgreSQL.
//!
//! PostgreSQL is expected at 127.0.0.1:5432, user `postgres`, trust auth; each test creates its
//! own database `tessera_test_*` and drops it afterwards (even when the test fails). If the
//! server cannot be reached the PostgreSQL tests fail, unless `TESSERA_SKIP_POSTGRES=1`.
//!
//! Races are real: tasks are spawned on a multi-threaded runtime and released together by a
//! barrier, so the database, not the test, decides who wins.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::sql::{PostgresOptions, SqlStorage};
use super::*;
use crate::types::Secret;
use sqlx::{Connection, PgConnection};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Barrier;

type Store = Arc<dyn Storage>;

const NOW: UnixTime = 1_700_000_000;

// ---------------------------------------------------------------------------------------------
// Backends

#[derive(Debug, Clone, Copy)]
enum Kind {
    SqliteFile,
    Memory,
    Postgres,
}

/// A storage under test plus whatever must outlive it (temp dir, scratch database).
struct Backend {
    storage: Arc<SqlStorage>,
    _dir: Option<tempfile::TempDir>,
    _database: Option<ScratchDatabase>,
}

impl Backend {
    /// `None` only for PostgreSQL when `TESSERA_SKIP_POSTGRES=1`.
    async fn open(kind: Kind) -> Option<Self> {
        let backend = match kind {
            Kind::SqliteFile => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("tessera.db");
                let storage = SqlStorage::open_sqlite(path.to_str().unwrap())
                    .await
                    .unwrap();
                Backend {
                    storage: Arc::new(storage),
                    _dir: Some(dir),
                    _database: None,
                }
            }
            Kind::Memory => {
                let storage = SqlStorage::open_memory().await.unwrap();
                Backend {
                    storage: Arc::new(storage),
                    _dir: None,
                    _database: None,
                }
            }
            Kind::Postgres => {
                let database = ScratchDatabase::create().await?;
                let storage = SqlStorage::open_postgres(&database.options())
                    .await
                    .unwrap();
                Backend {
                    storage: Arc::new(storage),
                    _dir: None,
                    _database: Some(database),
                }
            }
        };
        Some(backend)
    }
}

/// Runs one check against one backend, then closes the pool before the scratch database goes.
async fn run<F, Fut>(kind: Kind, check: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(backend) = Backend::open(kind).await else {
        return;
    };
    check(backend.storage.clone()).await;
    backend.storage.close().await;
}

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A uniquely named PostgreSQL database, dropped (with its connections) on `Drop`.
struct ScratchDatabase {
    name: String,
}

impl ScratchDatabase {
    async fn create() -> Option<Self> {
        if std::env::var("TESSERA_SKIP_POSTGRES").as_deref() == Ok("1") {
            return None;
        }
        let mut admin = PgConnection::connect(PG_ADMIN_URL).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is not reachable at {PG_ADMIN_URL} ({e}); set TESSERA_SKIP_POSTGRES=1 to skip")
        });
        let name = unique_name();
        let create = format!("CREATE DATABASE {name}");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Some(Self { name })
    }

    fn options(&self) -> PostgresOptions {
        PostgresOptions {
            host: "127.0.0.1".into(),
            port: 5432,
            database: self.name.clone(),
            user: "postgres".into(),
            ssl_mode: "disable".into(),
            ..PostgresOptions::default()
        }
    }
}

impl Drop for ScratchDatabase {
    /// Drop runs outside async code, so a helper thread with its own runtime does the work.
    fn drop(&mut self) {
        let drop_sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(PG_ADMIN_URL).await?;
                sqlx::query(sqlx::AssertSqlSafe(drop_sql))
                    .execute(&mut admin)
                    .await?;
                admin.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop scratch database {}", self.name);
        }
    }
}

/// `tessera_test_<pid>_<nanos>_<n>`: unique across processes and within one.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "tessera_test_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `n` copies of a task at once (released together by a barrier) and collects results.
async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let work = task(i);
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

/// Declares every check as a test for each backend: `sqlite_file::x`, `memory::x`, `postgres::x`.
macro_rules! conformance_suite {
    ($($check:ident),* $(,)?) => {
        conformance_suite!(@backend sqlite_file, SqliteFile, $($check),*);
        conformance_suite!(@backend memory, Memory, $($check),*);
        conformance_suite!(@backend postgres, Postgres, $($check),*);
    };
    (@backend $module:ident, $kind:ident, $($check:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::run(super::Kind::$kind, super::$check).await;
                }
            )*
        }
    };
}

conformance_suite!(
    ping,
    clients_crud,
    concurrent_creates_have_one_winner,
    connectors_crud,
    passwords_ignore_email_case,
    auth_requests_crud,
    take_auth_request_once,
    take_auth_request_concurrently,
    auth_codes_crud,
    redeem_auth_code_once,
    redeem_auth_code_concurrently,
    refresh_tokens_crud,
    rotate_refresh_token_once,
    rotate_refresh_token_concurrently,
    offline_sessions_upsert,
    revoked_access_tokens,
    keys_compare_and_swap,
    swap_keys_concurrently,
    device_flow_crud,
    device_token_cas_concurrently,
    web_sessions,
    garbage_collect_removes_only_expired,
);

// ---------------------------------------------------------------------------------------------
// Sample records

fn claims(user: &str) -> Claims {
    Claims {
        user_id: user.into(),
        username: format!("{user} name"),
        preferred_username: user.into(),
        email: format!("{user}@example.com"),
        email_verified: true,
        groups: vec!["admins".into(), "devs".into()],
    }
}

fn pkce() -> Pkce {
    Pkce {
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        code_challenge_method: "S256".into(),
    }
}

fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        secret: Secret::new(format!("{id}-secret")),
        redirect_uris: vec![format!("https://{id}.example.com/callback")],
        name: format!("Client {id}"),
        trusted_peers: vec!["peer".into()],
        allowed_connectors: vec!["ldap".into()],
        ..Client::default()
    }
}

fn auth_request(id: &str, expiry: UnixTime) -> AuthRequest {
    AuthRequest {
        id: id.into(),
        client_id: "app".into(),
        response_types: vec!["code".into()],
        scopes: vec!["openid".into(), "email".into()],
        redirect_uri: "https://app.example.com/cb".into(),
        nonce: "n-0S6_WzA2Mj".into(),
        state: "af0ifjsldkj".into(),
        max_age: Some(300),
        expiry,
        claims: claims("alice"),
        connector_id: "ldap".into(),
        connector_data: Some(vec![0, 1, 2, 255]),
        pkce: pkce(),
        hmac_key: vec![9; 32],
        ..AuthRequest::default()
    }
}

fn auth_code(id: &str, expiry: UnixTime) -> AuthCode {
    AuthCode {
        id: id.into(),
        client_id: "app".into(),
        redirect_uri: "https://app.example.com/cb".into(),
        nonce: "nonce".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        connector_id: "ldap".into(),
        connector_data: Some(vec![7, 7, 7]),
        claims: claims("alice"),
        expiry,
        auth_time: NOW - 10,
        pkce: pkce(),
        redeemed_at: None,
        issued: None,
    }
}

fn refresh_token(id: &str, user: &str, expires_at: Option<UnixTime>) -> RefreshToken {
    RefreshToken {
        id: id.into(),
        token_hash: format!("hash-{id}").into_bytes(),
        obsolete_hash: None,
        rotation_salt: vec![1, 2, 3],
        rotated_at: NOW,
        created_at: NOW,
        last_used: NOW,
        expires_at,
        client_id: "app".into(),
        connector_id: "ldap".into(),
        connector_data: Some(vec![0xde, 0xad]),
        claims: claims(user),
        scopes: vec!["openid".into(), "offline_access".into()],
        nonce: "nonce".into(),
        session_id: "session-1".into(),
        auth_time: NOW - 5,
    }
}

fn rotation(expected: &[u8], new: &[u8], now: UnixTime) -> RefreshRotation {
    RefreshRotation {
        expected_hash: expected.to_vec(),
        new_hash: new.to_vec(),
        rotation_salt: new.iter().rev().copied().collect(),
        now,
        claims: Claims {
            groups: vec!["new-group".into()],
            ..claims("alice")
        },
        connector_data: Some(new.to_vec()),
    }
}

fn password(email: &str) -> Password {
    Password {
        email: email.into(),
        hash: Secret::new("$2a$10$abcdefghijklmnopqrstuv"),
        username: "alice".into(),
        user_id: "user-1".into(),
        name: "Alice".into(),
        email_verified: Some(true),
        groups: vec!["g".into()],
        ..Password::default()
    }
}

fn connector(id: &str) -> Connector {
    Connector {
        id: id.into(),
        kind: "ldap".into(),
        name: "LDAP".into(),
        resource_version: "1".into(),
        config: serde_json::json!({ "host": "ldap.example.com:636", "insecureNoSSL": false }),
        grant_types: vec!["authorization_code".into()],
    }
}

fn keys(kid: &str) -> Keys {
    Keys {
        signing_key: Some(SigningKey {
            kid: kid.into(),
            alg: "RS256".into(),
            private_pkcs8: vec![48, 130, 1, 2],
        }),
        signing_key_pub: Some(serde_json::json!({ "kid": kid, "kty": "RSA" })),
        verification_keys: vec![VerificationKey {
            jwk: serde_json::json!({ "kid": "old" }),
            expiry: NOW + 3600,
        }],
        next_rotation: NOW + 21600,
        version: 0,
    }
}

fn device_request(user_code: &str, expiry: UnixTime) -> DeviceRequest {
    DeviceRequest {
        user_code: user_code.into(),
        device_code: format!("device-{user_code}"),
        client_id: "tv".into(),
        client_secret: Secret::new("tv-secret"),
        scopes: vec!["openid".into()],
        expiry,
    }
}

fn device_token(device_code: &str, expiry: UnixTime) -> DeviceToken {
    DeviceToken {
        device_code: device_code.into(),
        status: "pending".into(),
        token: String::new(),
        expiry,
        last_request: NOW,
        poll_interval_seconds: 5,
        pkce: pkce(),
    }
}

fn web_session(id: &str, expiry: UnixTime) -> WebSession {
    WebSession {
        id: id.into(),
        data: vec![0, 159, 146, 150, 255],
        expiry,
    }
}

fn assert_already_exists<T: std::fmt::Debug>(result: Result<T>) {
    assert!(
        matches!(result, Err(StorageError::AlreadyExists)),
        "expected AlreadyExists, got {result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Checks

async fn ping(s: Store) {
    s.ping().await.unwrap();
}

async fn clients_crud(s: Store) {
    assert_eq!(s.get_client("b").await.unwrap(), None);
    s.create_client(&client("b")).await.unwrap();
    s.create_client(&client("a")).await.unwrap();
    assert_already_exists(s.create_client(&client("a")).await);

    let got = s.get_client("a").await.unwrap().unwrap();
    assert_eq!(got, client("a"));
    assert_eq!(got.secret.expose(), "a-secret");
    let ids: Vec<_> = s
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["a", "b"]);

    let changed = Client {
        name: "Renamed".into(),
        public: true,
        ..client("a")
    };
    assert!(s.update_client(&changed).await.unwrap());
    assert_eq!(s.get_client("a").await.unwrap(), Some(changed));
    assert!(!s.update_client(&client("missing")).await.unwrap());

    assert!(s.delete_client("a").await.unwrap());
    assert!(!s.delete_client("a").await.unwrap());
    assert_eq!(s.get_client("a").await.unwrap(), None);
}

/// `create_*` must rely on the database's uniqueness, not on a read before the write.
async fn concurrent_creates_have_one_winner(s: Store) {
    let results = race(16, |_| {
        let s = s.clone();
        async move { s.create_client(&client("same")).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for result in results.into_iter().filter(|r| r.is_err()) {
        assert_already_exists(result);
    }
}

async fn connectors_crud(s: Store) {
    s.create_connector(&connector("ldap")).await.unwrap();
    s.create_connector(&connector("github")).await.unwrap();
    assert_already_exists(s.create_connector(&connector("ldap")).await);
    assert_eq!(
        s.get_connector("ldap").await.unwrap(),
        Some(connector("ldap"))
    );

    let ids: Vec<_> = s
        .list_connectors()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["github", "ldap"]);

    let changed = Connector {
        resource_version: "2".into(),
        config: serde_json::json!({}),
        ..connector("ldap")
    };
    assert!(s.update_connector(&changed).await.unwrap());
    assert_eq!(s.get_connector("ldap").await.unwrap(), Some(changed));
    assert!(!s.update_connector(&connector("nope")).await.unwrap());

    assert!(s.delete_connector("ldap").await.unwrap());
    assert!(!s.delete_connector("ldap").await.unwrap());
    assert_eq!(s.get_connector("ldap").await.unwrap(), None);
}

async fn passwords_ignore_email_case(s: Store) {
    s.create_password(&password("Alice@Example.COM"))
        .await
        .unwrap();
    assert_already_exists(s.create_password(&password("alice@example.com")).await);

    let stored = s.get_password("ALICE@example.com").await.unwrap().unwrap();
    assert_eq!(stored.email, "alice@example.com", "stored lower-cased");
    assert_eq!(stored, password("alice@example.com"));
    assert_eq!(
        s.list_passwords().await.unwrap(),
        vec![password("alice@example.com")]
    );

    let changed = Password {
        name: "Alice Liddell".into(),
        ..password("ALICE@EXAMPLE.COM")
    };
    assert!(s.update_password(&changed).await.unwrap());
    assert_eq!(
        s.get_password("alice@example.com")
            .await
            .unwrap()
            .unwrap()
            .name,
        "Alice Liddell"
    );
    assert!(
        !s.update_password(&password("bob@example.com"))
            .await
            .unwrap()
    );

    assert!(s.delete_password("aLiCe@example.com").await.unwrap());
    assert!(!s.delete_password("alice@example.com").await.unwrap());
    assert_eq!(s.get_password("alice@example.com").await.unwrap(), None);
}

async fn auth_requests_crud(s: Store) {
    let request = auth_request("req", NOW + 60);
    s.create_auth_request(&request).await.unwrap();
    assert_already_exists(s.create_auth_request(&request).await);
    assert_eq!(
        s.get_auth_request("req").await.unwrap(),
        Some(request.clone())
    );

    let logged_in = AuthRequest {
        logged_in: true,
        auth_time: NOW,
        expiry: NOW + 120,
        ..request
    };
    assert!(s.update_auth_request(&logged_in).await.unwrap());
    assert_eq!(s.get_auth_request("req").await.unwrap(), Some(logged_in));
    assert!(
        !s.update_auth_request(&auth_request("missing", NOW))
            .await
            .unwrap()
    );

    assert!(s.delete_auth_request("req").await.unwrap());
    assert!(!s.delete_auth_request("req").await.unwrap());
    assert_eq!(s.get_auth_request("req").await.unwrap(), None);
}

async fn take_auth_request_once(s: Store) {
    s.create_auth_request(&auth_request("req", NOW + 60))
        .await
        .unwrap();
    assert_eq!(
        s.take_auth_request("req").await.unwrap(),
        Some(auth_request("req", NOW + 60))
    );
    assert_eq!(s.take_auth_request("req").await.unwrap(), None);
    assert_eq!(s.get_auth_request("req").await.unwrap(), None);
}

async fn take_auth_request_concurrently(s: Store) {
    s.create_auth_request(&auth_request("req", NOW + 60))
        .await
        .unwrap();
    let taken = race(16, |_| {
        let s = s.clone();
        async move { s.take_auth_request("req").await.unwrap() }
    })
    .await;
    assert_eq!(
        taken.iter().flatten().count(),
        1,
        "exactly one caller takes the request"
    );
}

async fn auth_codes_crud(s: Store) {
    let code = auth_code("code", NOW + 60);
    s.create_auth_code(&code).await.unwrap();
    assert_already_exists(s.create_auth_code(&code).await);
    assert_eq!(s.get_auth_code("code").await.unwrap(), Some(code.clone()));

    let issued = IssuedTokens {
        access_token_id: "jti-1".into(),
        access_token_expiry: NOW + 3600,
        refresh_token_id: Some("rt-1".into()),
    };
    s.set_auth_code_issued("code", &issued).await.unwrap();
    assert_eq!(
        s.get_auth_code("code").await.unwrap().unwrap().issued,
        Some(issued)
    );

    assert!(s.delete_auth_code("code").await.unwrap());
    assert!(!s.delete_auth_code("code").await.unwrap());
    assert_eq!(s.get_auth_code("code").await.unwrap(), None);
}

async fn redeem_auth_code_once(s: Store) {
    assert_eq!(
        s.redeem_auth_code("missing", NOW).await.unwrap(),
        Redemption::NotFound
    );

    // Expired codes are still returned: the caller checks `expiry`.
    let code = auth_code("code", NOW - 1);
    s.create_auth_code(&code).await.unwrap();
    let redeemed = AuthCode {
        redeemed_at: Some(NOW),
        ..code
    };
    assert_eq!(
        s.redeem_auth_code("code", NOW).await.unwrap(),
        Redemption::Fresh(redeemed.clone())
    );

    let issued = IssuedTokens {
        access_token_id: "jti".into(),
        access_token_expiry: NOW + 60,
        refresh_token_id: None,
    };
    s.set_auth_code_issued("code", &issued).await.unwrap();
    let replayed = AuthCode {
        issued: Some(issued),
        ..redeemed
    };
    assert_eq!(
        s.redeem_auth_code("code", NOW + 5).await.unwrap(),
        Redemption::Replayed(replayed),
        "a replay keeps the first redemption time and shows what was issued"
    );
}

async fn redeem_auth_code_concurrently(s: Store) {
    s.create_auth_code(&auth_code("code", NOW + 60))
        .await
        .unwrap();
    let outcomes = race(16, |i| {
        let s = s.clone();
        async move { s.redeem_auth_code("code", NOW + i as i64).await.unwrap() }
    })
    .await;
    let fresh: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o, Redemption::Fresh(_)))
        .collect();
    let replayed = outcomes
        .iter()
        .filter(|o| matches!(o, Redemption::Replayed(_)))
        .count();
    assert_eq!(fresh.len(), 1, "exactly one redemption is fresh");
    assert_eq!(replayed, 15);
    let Redemption::Fresh(winner) = fresh[0] else {
        unreachable!()
    };
    let stored = s.get_auth_code("code").await.unwrap().unwrap();
    assert_eq!(
        stored.redeemed_at, winner.redeemed_at,
        "the winner's time is kept"
    );
}

async fn refresh_tokens_crud(s: Store) {
    let token = refresh_token("rt-1", "alice", Some(NOW + 3600));
    s.create_refresh_token(&token).await.unwrap();
    assert_already_exists(s.create_refresh_token(&token).await);
    assert_eq!(
        s.get_refresh_token("rt-1").await.unwrap(),
        Some(token.clone())
    );

    let no_data = RefreshToken {
        connector_data: None,
        expires_at: None,
        ..refresh_token("rt-2", "alice", None)
    };
    s.create_refresh_token(&no_data).await.unwrap();
    s.create_refresh_token(&refresh_token("rt-3", "bob", None))
        .await
        .unwrap();
    let other_connector = RefreshToken {
        connector_id: "github".into(),
        ..refresh_token("rt-4", "alice", None)
    };
    s.create_refresh_token(&other_connector).await.unwrap();
    assert_eq!(
        s.list_refresh_tokens_for_user("alice", "ldap")
            .await
            .unwrap(),
        vec![token.clone(), no_data]
    );
    assert_eq!(
        s.list_refresh_tokens_for_user("nobody", "ldap")
            .await
            .unwrap(),
        vec![]
    );

    s.touch_refresh_token("rt-1", NOW + 30).await.unwrap();
    let touched = s.get_refresh_token("rt-1").await.unwrap().unwrap();
    assert_eq!(
        touched,
        RefreshToken {
            last_used: NOW + 30,
            ..token
        },
        "touch changes only last_used"
    );

    assert!(s.delete_refresh_token("rt-1").await.unwrap());
    assert!(!s.delete_refresh_token("rt-1").await.unwrap());
    assert_eq!(s.get_refresh_token("rt-1").await.unwrap(), None);
}

async fn rotate_refresh_token_once(s: Store) {
    let token = refresh_token("rt", "alice", None);
    s.create_refresh_token(&token).await.unwrap();
    assert!(
        !s.rotate_refresh_token("rt", &rotation(b"wrong", b"new", NOW + 1))
            .await
            .unwrap()
    );
    assert!(
        !s.rotate_refresh_token("missing", &rotation(b"hash-rt", b"new", NOW + 1))
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_refresh_token("rt").await.unwrap(),
        Some(token.clone()),
        "a failed swap changes nothing"
    );

    let applied = rotation(b"hash-rt", b"new", NOW + 1);
    assert!(s.rotate_refresh_token("rt", &applied).await.unwrap());
    let expected = RefreshToken {
        token_hash: b"new".to_vec(),
        obsolete_hash: Some(b"hash-rt".to_vec()),
        rotation_salt: applied.rotation_salt.clone(),
        rotated_at: NOW + 1,
        last_used: NOW + 1,
        claims: applied.claims.clone(),
        connector_data: applied.connector_data.clone(),
        ..token
    };
    assert_eq!(s.get_refresh_token("rt").await.unwrap(), Some(expected));
    assert!(
        !s.rotate_refresh_token("rt", &applied).await.unwrap(),
        "the old hash no longer matches"
    );
}

async fn rotate_refresh_token_concurrently(s: Store) {
    s.create_refresh_token(&refresh_token("rt", "alice", None))
        .await
        .unwrap();
    let won = race(32, |i| {
        let s = s.clone();
        async move {
            let new_hash = format!("new-{i}").into_bytes();
            let won = s
                .rotate_refresh_token("rt", &rotation(b"hash-rt", &new_hash, NOW + 1))
                .await
                .unwrap();
            (won, new_hash)
        }
    })
    .await;
    let winners: Vec<_> = won.iter().filter(|(won, _)| *won).collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    let stored = s.get_refresh_token("rt").await.unwrap().unwrap();
    assert_eq!(
        stored.token_hash, winners[0].1,
        "the stored hash is the winner's"
    );
    assert_eq!(stored.obsolete_hash, Some(b"hash-rt".to_vec()));
}

async fn offline_sessions_upsert(s: Store) {
    assert_eq!(s.get_offline_session("alice", "ldap").await.unwrap(), None);
    let first = OfflineSession {
        user_id: "alice".into(),
        connector_id: "ldap".into(),
        connector_data: Some(vec![1]),
    };
    s.upsert_offline_session(&first).await.unwrap();
    assert_eq!(
        s.get_offline_session("alice", "ldap").await.unwrap(),
        Some(first.clone())
    );

    let second = OfflineSession {
        connector_data: None,
        ..first.clone()
    };
    s.upsert_offline_session(&second).await.unwrap();
    assert_eq!(
        s.get_offline_session("alice", "ldap").await.unwrap(),
        Some(second)
    );
    let other = OfflineSession {
        connector_id: "github".into(),
        ..first
    };
    s.upsert_offline_session(&other).await.unwrap();

    assert!(s.delete_offline_session("alice", "ldap").await.unwrap());
    assert!(!s.delete_offline_session("alice", "ldap").await.unwrap());
    assert_eq!(s.get_offline_session("alice", "ldap").await.unwrap(), None);
    assert_eq!(
        s.get_offline_session("alice", "github").await.unwrap(),
        Some(other)
    );
}

async fn revoked_access_tokens(s: Store) {
    assert!(!s.is_access_token_revoked("jti").await.unwrap());
    s.revoke_access_token("jti", NOW + 60).await.unwrap();
    s.revoke_access_token("jti", NOW + 90).await.unwrap();
    assert!(s.is_access_token_revoked("jti").await.unwrap());
    assert!(!s.is_access_token_revoked("other").await.unwrap());
}

async fn keys_compare_and_swap(s: Store) {
    let empty = s.get_keys().await.unwrap();
    assert_eq!(empty.version, 0);
    assert_eq!(empty.signing_key, None);

    assert!(
        !s.swap_keys(3, &keys("k1")).await.unwrap(),
        "nothing stored at version 3"
    );
    assert!(s.swap_keys(0, &keys("k1")).await.unwrap());
    assert_eq!(
        s.get_keys().await.unwrap(),
        Keys {
            version: 1,
            ..keys("k1")
        }
    );
    assert!(
        !s.swap_keys(0, &keys("k2")).await.unwrap(),
        "someone already stored keys"
    );

    assert!(
        s.swap_keys(
            1,
            &Keys {
                version: 99,
                ..keys("k2")
            }
        )
        .await
        .unwrap()
    );
    assert_eq!(
        s.get_keys().await.unwrap(),
        Keys {
            version: 2,
            ..keys("k2")
        },
        "storage owns the version"
    );
    assert!(!s.swap_keys(1, &keys("k3")).await.unwrap());
}

async fn swap_keys_concurrently(s: Store) {
    for from_version in [0, 1] {
        let results = race(16, |i| {
            let s = s.clone();
            async move {
                let kid = format!("v{from_version}-k{i}");
                (s.swap_keys(from_version, &keys(&kid)).await.unwrap(), kid)
            }
        })
        .await;
        let winners: Vec<_> = results.iter().filter(|(won, _)| *won).collect();
        assert_eq!(
            winners.len(),
            1,
            "exactly one swap from version {from_version} wins"
        );
        let stored = s.get_keys().await.unwrap();
        assert_eq!(stored.version, from_version + 1);
        assert_eq!(stored.signing_key.unwrap().kid, winners[0].1);
    }
}

async fn device_flow_crud(s: Store) {
    let request = device_request("ABCD-EFGH", NOW + 300);
    s.create_device_request(&request).await.unwrap();
    assert_already_exists(s.create_device_request(&request).await);
    assert_eq!(
        s.get_device_request("ABCD-EFGH").await.unwrap(),
        Some(request)
    );
    assert_eq!(s.get_device_request("nope").await.unwrap(), None);

    let token = device_token("dev", NOW + 300);
    s.create_device_token(&token).await.unwrap();
    assert_already_exists(s.create_device_token(&token).await);
    assert_eq!(
        s.get_device_token("dev").await.unwrap(),
        Some(token.clone())
    );

    let complete = DeviceToken {
        status: "complete".into(),
        token: "{\"access_token\":\"x\"}".into(),
        ..token
    };
    assert!(
        !s.update_device_token(&complete, "denied").await.unwrap(),
        "status mismatch"
    );
    assert!(s.update_device_token(&complete, "pending").await.unwrap());
    assert!(
        !s.update_device_token(&complete, "pending").await.unwrap(),
        "no longer pending"
    );
    assert_eq!(
        s.get_device_token("dev").await.unwrap(),
        Some(complete.clone())
    );

    assert_eq!(s.take_device_token("dev").await.unwrap(), Some(complete));
    assert_eq!(s.take_device_token("dev").await.unwrap(), None);
    assert_eq!(s.get_device_token("dev").await.unwrap(), None);
}

async fn device_token_cas_concurrently(s: Store) {
    s.create_device_token(&device_token("dev", NOW + 300))
        .await
        .unwrap();
    let results = race(16, |i| {
        let s = s.clone();
        async move {
            let update = DeviceToken {
                status: "complete".into(),
                token: format!("token-{i}"),
                ..device_token("dev", NOW + 300)
            };
            (
                s.update_device_token(&update, "pending").await.unwrap(),
                update.token,
            )
        }
    })
    .await;
    let winners: Vec<_> = results.iter().filter(|(won, _)| *won).collect();
    assert_eq!(winners.len(), 1);
    assert_eq!(
        s.get_device_token("dev").await.unwrap().unwrap().token,
        winners[0].1
    );

    let taken = race(8, |_| {
        let s = s.clone();
        async move { s.take_device_token("dev").await.unwrap() }
    })
    .await;
    assert_eq!(
        taken.iter().flatten().count(),
        1,
        "a device code is single-use"
    );
}

async fn web_sessions(s: Store) {
    let session = web_session("sid", NOW + 60);
    assert!(s.create_web_session(&session).await.unwrap());
    assert!(
        !s.create_web_session(&web_session("sid", NOW + 999))
            .await
            .unwrap(),
        "id taken"
    );
    assert_eq!(
        s.load_web_session("sid", NOW).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        s.load_web_session("sid", NOW + 60).await.unwrap(),
        Some(session),
        "live until its expiry"
    );
    assert_eq!(
        s.load_web_session("sid", NOW + 61).await.unwrap(),
        None,
        "expired"
    );

    let saved = WebSession {
        data: b"new".to_vec(),
        expiry: NOW + 120,
        ..web_session("sid", 0)
    };
    s.save_web_session(&saved).await.unwrap();
    assert_eq!(
        s.load_web_session("sid", NOW + 61).await.unwrap(),
        Some(saved)
    );
    s.save_web_session(&web_session("fresh", NOW + 60))
        .await
        .unwrap();
    assert!(s.load_web_session("fresh", NOW).await.unwrap().is_some());

    s.delete_web_session("sid").await.unwrap();
    s.delete_web_session("sid").await.unwrap();
    assert_eq!(s.load_web_session("sid", NOW).await.unwrap(), None);
}

async fn garbage_collect_removes_only_expired(s: Store) {
    let (dead, live) = (NOW - 1, NOW + 60);
    for (id, expiry) in [("dead", dead), ("live", live)] {
        s.create_auth_request(&auth_request(id, expiry))
            .await
            .unwrap();
        s.create_auth_code(&auth_code(id, expiry)).await.unwrap();
        s.create_device_request(&device_request(id, expiry))
            .await
            .unwrap();
        s.create_device_token(&device_token(id, expiry))
            .await
            .unwrap();
        s.create_refresh_token(&refresh_token(id, "alice", Some(expiry)))
            .await
            .unwrap();
        s.create_web_session(&web_session(id, expiry))
            .await
            .unwrap();
        s.revoke_access_token(id, expiry).await.unwrap();
    }
    s.create_refresh_token(&refresh_token("forever", "alice", None))
        .await
        .unwrap();
    // Things that never expire are untouched.
    s.create_client(&client("app")).await.unwrap();
    s.swap_keys(0, &keys("k")).await.unwrap();

    let removed = s.garbage_collect(NOW).await.unwrap();
    let one_each = GcResult {
        auth_requests: 1,
        auth_codes: 1,
        device_requests: 1,
        device_tokens: 1,
        refresh_tokens: 1,
        web_sessions: 1,
        revoked_tokens: 1,
    };
    assert_eq!(removed, one_each);
    assert_eq!(
        s.garbage_collect(NOW).await.unwrap(),
        GcResult::default(),
        "nothing left to collect"
    );

    assert!(s.get_auth_request("dead").await.unwrap().is_none());
    assert!(s.get_auth_request("live").await.unwrap().is_some());
    assert!(s.get_auth_code("dead").await.unwrap().is_none());
    assert!(s.get_auth_code("live").await.unwrap().is_some());
    assert!(s.get_device_request("dead").await.unwrap().is_none());
    assert!(s.get_device_request("live").await.unwrap().is_some());
    assert!(s.get_device_token("dead").await.unwrap().is_none());
    assert!(s.get_device_token("live").await.unwrap().is_some());
    assert!(s.get_refresh_token("dead").await.unwrap().is_none());
    assert!(s.get_refresh_token("live").await.unwrap().is_some());
    assert!(s.get_refresh_token("forever").await.unwrap().is_some());
    assert!(s.load_web_session("live", NOW).await.unwrap().is_some());
    assert!(!s.is_access_token_revoked("dead").await.unwrap());
    assert!(s.is_access_token_revoked("live").await.unwrap());
    assert!(s.get_client("app").await.unwrap().is_some());
    assert_eq!(s.get_keys().await.unwrap().version, 1);
}

// ---------------------------------------------------------------------------------------------
// Backend-specific behaviour

/// Two replicas migrating one empty database at once must both start.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_replicas_migrate_concurrently() {
    let Some(database) = ScratchDatabase::create().await else {
        return;
    };
    let options = database.options();
    let opened = race(4, |_| {
        let options = options.clone();
        async move { SqlStorage::open_postgres(&options).await }
    })
    .await;
    for storage in opened {
        let storage = storage.unwrap();
        storage.ping().await.unwrap();
        storage.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connect_errors_do_not_leak_the_password() {
    let options = PostgresOptions {
        host: "127.0.0.1".into(),
        port: 1, // nothing listens here
        database: "x".into(),
        user: "postgres".into(),
        password: Some("hunter2-secret".into()),
        ssl_mode: "disable".into(),
        connect_timeout_secs: 2,
        ..PostgresOptions::default()
    };
    let Err(error) = SqlStorage::open_postgres(&options).await else {
        panic!("connecting to port 1 should fail");
    };
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// A SQLite file keeps its data across restarts, and re-running migrations is a no-op.
#[tokio::test]
async fn sqlite_file_reopens_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested name #1.db");
    let path = path.to_str().unwrap();
    let first = SqlStorage::open_sqlite(path).await.unwrap();
    first.create_client(&client("app")).await.unwrap();
    first.close().await;

    let second = SqlStorage::open_sqlite(path).await.unwrap();
    assert_eq!(second.get_client("app").await.unwrap(), Some(client("app")));
}

/// Each in-memory storage is its own database.
#[tokio::test]
async fn memory_storages_are_independent() {
    let a = SqlStorage::open_memory().await.unwrap();
    let b = SqlStorage::open_memory().await.unwrap();
    a.create_client(&client("app")).await.unwrap();
    assert_eq!(b.get_client("app").await.unwrap(), None);
    assert!(a.get_client("app").await.unwrap().is_some());
}
