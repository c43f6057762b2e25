//! A fresh MySQL/MariaDB database per test, dropped at the end: the library's scratch
//! database, which the storage suite uses too.

use tessera::storage::sql::scratch::{self, MYSQL_ADMIN_URL};

/// `tessera_it_<pid>_<nanos>_<n>`, dropped (its connections killed first) on `Drop`.
#[derive(Debug)]
pub struct MysqlScratchDatabase(scratch::MysqlScratchDatabase);

impl MysqlScratchDatabase {
    pub async fn create() -> Self {
        let database = scratch::MysqlScratchDatabase::create("tessera_it")
            .await
            .unwrap_or_else(|e| panic!("MySQL/MariaDB is not reachable at {MYSQL_ADMIN_URL}: {e}"));
        Self(database)
    }

    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Runs a query returning one `i64` (for checks on what the replicas stored).
    pub async fn scalar(&self, sql: &str) -> i64 {
        use sqlx::{Connection, MySqlConnection};
        let mut conn = MySqlConnection::connect(&self.0.url()).await.unwrap();
        let value: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        value
    }
}
