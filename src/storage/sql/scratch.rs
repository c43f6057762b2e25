//! A throw-away PostgreSQL database for tests: the storage conformance suite and the
//! integration tests each get a fresh one per run, on the local server every test machine
//! has (`postgres@127.0.0.1:5432`, no password, no TLS). Not used by the server; public only
//! so the integration-test binary, which sees the library from outside, shares it.

use super::PostgresOptions;
use sqlx::{Connection, PgConnection};
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

fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{nanos}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}
