//! Throw-away databases for tests: the storage conformance suite and the integration tests
//! each get a fresh one per run, on the local servers every test machine has: PostgreSQL
//! (`postgres@127.0.0.1:5432`) and MariaDB or MySQL (`root@127.0.0.1:3306`), no password, no
//! TLS. Not used by the server; public only so the integration-test binary, which sees the
//! library from outside, shares it.

use super::{MysqlOptions, MysqlSslMode, PostgresOptions, SessionValue};
use sqlx::{Connection, MySqlConnection, PgConnection};
use std::sync::atomic::{AtomicU64, Ordering};

/// The maintenance database the scratch databases are created from and dropped through.
pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A uniquely named database, dropped (with its connections) on `Drop`.
#[derive(Debug)]
pub struct ScratchDatabase {
    name: String,
}

impl ScratchDatabase {
    /// Creates `<prefix>_<pid>_<nanos>_<n>`, unique across processes and within one.
    /// `prefix` goes into SQL unquoted: lowercase letters, digits and `_` only.
    pub async fn create(prefix: &str) -> Result<Self, sqlx::Error> {
        let name = unique_name(prefix);
        let mut admin = PgConnection::connect(ADMIN_URL).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
        admin.close().await?;
        Ok(Self { name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL to connect to this database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    /// Options to open this database as storage.
    pub fn options(&self) -> PostgresOptions {
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
                let mut admin = PgConnection::connect(ADMIN_URL).await?;
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

/// The MySQL server the scratch databases live on (no database selected).
pub const MYSQL_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306";

/// A uniquely named MySQL database, dropped (its connections killed first) on `Drop`.
#[derive(Debug)]
pub struct MysqlScratchDatabase {
    name: String,
}

impl MysqlScratchDatabase {
    /// Creates `<prefix>_<pid>_<nanos>_<n>`, unique across processes and within one.
    /// `prefix` goes into SQL unquoted: lowercase letters, digits and `_` only.
    pub async fn create(prefix: &str) -> Result<Self, sqlx::Error> {
        let name = unique_name(prefix);
        let mut admin = MySqlConnection::connect(MYSQL_ADMIN_URL).await?;
        let create = format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
        sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut admin).await?;
        admin.close().await?;
        Ok(Self { name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL to connect to this database.
    pub fn url(&self) -> String {
        format!("{MYSQL_ADMIN_URL}/{}", self.name)
    }

    /// Options to open this database as storage. Lock waits give up after 10 s rather than
    /// the server's 50, so a test that deadlocks fails soon (and shows `params` at work).
    pub fn options(&self) -> MysqlOptions {
        MysqlOptions {
            host: "127.0.0.1".into(),
            port: 3306,
            database: self.name.clone(),
            user: "root".into(),
            ssl_mode: MysqlSslMode::Disabled,
            params: vec![("innodb_lock_wait_timeout".into(), SessionValue::Integer(10))],
            ..MysqlOptions::default()
        }
    }
}

impl Drop for MysqlScratchDatabase {
    /// As for PostgreSQL, on a helper thread. MySQL has no `DROP DATABASE .. FORCE`: the
    /// connections still using the database are killed first, or the drop would wait for
    /// their metadata locks.
    fn drop(&mut self) {
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = MySqlConnection::connect(MYSQL_ADMIN_URL).await?;
                sqlx::query("SET SESSION lock_wait_timeout = 10").execute(&mut admin).await?;
                // `KILL <id>` made by the server, whatever integer type its ids have.
                let kills: Vec<String> = sqlx::query_scalar(
                    "SELECT CONCAT('KILL ', id) FROM information_schema.processlist WHERE db = ?",
                )
                .bind(&name)
                .fetch_all(&mut admin)
                .await?;
                for kill in kills {
                    // The connection may have ended meanwhile.
                    let _ = sqlx::query(sqlx::AssertSqlSafe(kill)).execute(&mut admin).await;
                }
                let drop_sql = format!("DROP DATABASE IF EXISTS {name}");
                sqlx::query(sqlx::AssertSqlSafe(drop_sql)).execute(&mut admin).await?;
                admin.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop scratch database {}: {e}", self.name),
            Err(_) => eprintln!("could not drop scratch database {}", self.name),
        }
    }
}

fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{nanos}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}
