//! Opening each backend for one test, and releasing racing tasks together.

use crate::storage::Storage;
use crate::storage::sql::SqlStorage;
use crate::storage::sql::scratch::{ADMIN_URL, MYSQL_ADMIN_URL, MysqlScratchDatabase, ScratchDatabase};
use crate::types::UnixTime;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Barrier;

pub(super) type Store = Arc<dyn Storage>;

/// The fixed "now" of every check.
pub(super) const NOW: UnixTime = 1_700_000_000;

#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    SqliteFile,
    Memory,
    Postgres,
    Mysql,
}

/// A storage under test plus whatever must outlive it (temp dir, scratch database).
struct Backend {
    storage: Arc<SqlStorage>,
    _dir: Option<tempfile::TempDir>,
    _database: Option<ScratchDatabase>,
    _mysql_database: Option<MysqlScratchDatabase>,
}

impl Backend {
    /// `None` only for PostgreSQL when `TESSERA_SKIP_POSTGRES=1`, and for MySQL when
    /// `TESSERA_SKIP_MYSQL=1`.
    async fn open(kind: Kind) -> Option<Self> {
        let backend = match kind {
            Kind::SqliteFile => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("tessera.db");
                let storage = SqlStorage::open_sqlite(path.to_str().unwrap()).await.unwrap();
                Backend {
                    storage: Arc::new(storage),
                    _dir: Some(dir),
                    _database: None,
                    _mysql_database: None,
                }
            }
            Kind::Memory => {
                let storage = SqlStorage::open_memory().await.unwrap();
                Backend { storage: Arc::new(storage), _dir: None, _database: None, _mysql_database: None }
            }
            Kind::Postgres => {
                let database = scratch_database().await?;
                let storage = SqlStorage::open_postgres(&database.options()).await.unwrap();
                Backend {
                    storage: Arc::new(storage),
                    _dir: None,
                    _database: Some(database),
                    _mysql_database: None,
                }
            }
            Kind::Mysql => {
                let database = mysql_scratch_database().await?;
                let storage = SqlStorage::open_mysql(&database.options()).await.unwrap();
                Backend {
                    storage: Arc::new(storage),
                    _dir: None,
                    _database: None,
                    _mysql_database: Some(database),
                }
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

/// A fresh PostgreSQL database for one check; `None` when `TESSERA_SKIP_POSTGRES=1`.
pub(super) async fn scratch_database() -> Option<ScratchDatabase> {
    if std::env::var("TESSERA_SKIP_POSTGRES").as_deref() == Ok("1") {
        return None;
    }
    let database = ScratchDatabase::create("tessera_test").await.unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable at {ADMIN_URL} ({e}); set TESSERA_SKIP_POSTGRES=1 to skip")
    });
    Some(database)
}

/// A fresh MySQL/MariaDB database for one check; `None` when `TESSERA_SKIP_MYSQL=1`.
pub(super) async fn mysql_scratch_database() -> Option<MysqlScratchDatabase> {
    if std::env::var("TESSERA_SKIP_MYSQL").as_deref() == Ok("1") {
        return None;
    }
    let database = MysqlScratchDatabase::create("tessera_test").await.unwrap_or_else(|e| {
        panic!("MySQL/MariaDB is not reachable at {MYSQL_ADMIN_URL} ({e}); set TESSERA_SKIP_MYSQL=1 to skip")
    });
    Some(database)
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
