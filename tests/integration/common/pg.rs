//! A fresh PostgreSQL database per test, dropped at the end: the library's scratch database,
//! which the storage suite uses too.

use tessera::storage::sql::scratch::{self, ADMIN_URL};

/// `tessera_it_<pid>_<nanos>_<n>`, dropped (with its connections) on `Drop`.
#[derive(Debug)]
pub struct ScratchDatabase(scratch::ScratchDatabase);

impl ScratchDatabase {
    pub async fn create() -> Self {
        let database = scratch::ScratchDatabase::create("tessera_it")
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {ADMIN_URL}: {e}"));
        Self(database)
    }

    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Runs a query returning one `i64` (for checks on what the replicas stored).
    pub async fn scalar(&self, sql: &str) -> i64 {
        use sqlx::{Connection, PgConnection};
        let mut conn = PgConnection::connect(&self.0.url()).await.unwrap();
        let value: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        value
    }
}
