//! A fresh PostgreSQL database per test, dropped at the end (as the storage suite does).

use sqlx::{Connection, PgConnection};
use std::sync::atomic::{AtomicU64, Ordering};

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// `tessera_it_<pid>_<nanos>_<n>`, dropped (with its connections) on `Drop`.
#[derive(Debug)]
pub struct ScratchDatabase {
    name: String,
}

impl ScratchDatabase {
    pub async fn create() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name =
            format!("tessera_it_{}_{nanos}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut admin = PgConnection::connect(ADMIN_URL)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {ADMIN_URL}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Self { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a query returning one `i64` (for checks on what the replicas stored).
    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut conn = PgConnection::connect(&format!("postgres://postgres@127.0.0.1:5432/{}", self.name))
            .await
            .unwrap();
        let value: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        value
    }
}

impl Drop for ScratchDatabase {
    /// Drop runs outside async code: a helper thread with its own runtime does the work.
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(ADMIN_URL).await?;
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await?;
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
