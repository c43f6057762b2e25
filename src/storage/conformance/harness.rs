//! Opening each backend for one test, and releasing racing tasks together.

use crate::storage::Storage;
use crate::storage::sql::{PostgresOptions, SqlStorage};
use crate::types::UnixTime;
use sqlx::{Connection, PgConnection};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Barrier;

pub(super) type Store = Arc<dyn Storage>;

/// The fixed "now" of every check.
pub(super) const NOW: UnixTime = 1_700_000_000;

#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
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
                let storage = SqlStorage::open_sqlite(path.to_str().unwrap()).await.unwrap();
                Backend { storage: Arc::new(storage), _dir: Some(dir), _database: None }
            }
            Kind::Memory => {
                let storage = SqlStorage::open_memory().await.unwrap();
                Backend { storage: Arc::new(storage), _dir: None, _database: None }
            }
            Kind::Postgres => {
                let database = ScratchDatabase::create().await?;
                let storage = SqlStorage::open_postgres(&database.options()).await.unwrap();
                Backend { storage: Arc::new(storage), _dir: None, _database: Some(database) }
            }
        };
        Some(backend)
    }
}

/// Runs one check against one backend, then closes the pool before the scratch database goes.
pub(super) async fn run<F, Fut>(kind: Kind, check: F)
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

pub(super) const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A uniquely named PostgreSQL database, dropped (with its connections) on `Drop`.
pub(super) struct ScratchDatabase {
    name: String,
}

impl ScratchDatabase {
    pub(super) async fn create() -> Option<Self> {
        if std::env::var("TESSERA_SKIP_POSTGRES").as_deref() == Ok("1") {
            return None;
        }
        let mut admin = PgConnection::connect(PG_ADMIN_URL).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is not reachable at {PG_ADMIN_URL} ({e}); set TESSERA_SKIP_POSTGRES=1 to skip")
        });
        let name = unique_name();
        let create = format!("CREATE DATABASE {name}");
        sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
        Some(Self { name })
    }

    pub(super) fn options(&self) -> PostgresOptions {
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
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(PG_ADMIN_URL).await?;
                sqlx::query(sqlx::AssertSqlSafe(drop_sql)).execute(&mut admin).await?;
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
pub(super) fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("tessera_test_{}_{nanos}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Runs `n` copies of a task at once (released together by a barrier) and collects results.
pub(super) async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
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
