//! The SQL storage: one implementation of the storage contract for SQLite, PostgreSQL and
//! MySQL/MariaDB.
//!
//! ## One set of queries
//! Every statement runs through sqlx's `Any` driver and is written once, with `$N`
//! placeholders, in syntax SQLite and PostgreSQL share: `ON CONFLICT`, `RETURNING`,
//! `excluded.`. [`statement`] derives each statement's MySQL text at compile time (`?`
//! placeholders, backquoted reserved words) or takes the MySQL form given beside it (upserts
//! as `ON DUPLICATE KEY UPDATE`; `ON CONFLICT DO NOTHING` as a plain INSERT whose duplicate-key
//! error means "already there"). Beyond that the dialects differ in how a pool is opened and
//! in the column types of the migrations ([`connect`]), and in one capability: MySQL has no
//! `RETURNING`, so `take` and `redeem_auth_code` lock their row in a transaction there.
//!
//! ## Schema (`migrations/{sqlite,postgres,mysql}/`)
//! A table per record. Each row has the columns a statement must find, compare or expire by
//! (ids, `expiry`, `version`, `status`, hashes, user and connector ids) and a `data` column with
//! the rest of the record as JSON. JSON keeps the schema small and lets records gain fields
//! without a migration; the columns keep lookups indexed and atomic operations single
//! statements. A field that an atomic statement changes is a column *only* (blanked or left
//! out of the JSON) so the two never disagree: `auth_codes.redeemed_at`/`issued`, the rotation
//! state of `refresh_tokens`, `keys.version`.
//!
//! Integers and timestamps are `BIGINT` (Unix seconds), bytes are `BLOB`/`BYTEA` and JSON is
//! `TEXT` (`MEDIUMTEXT`, and `VARCHAR` for keys, in MySQL): the types the `Any` driver
//! carries for every database.
//!
//! ## Atomicity
//! Each named atomic method is one conditional statement (`UPDATE .. WHERE redeemed_at IS NULL`,
//! `UPDATE .. WHERE token_hash = $expected`, `DELETE .. RETURNING`, `INSERT .. ON CONFLICT DO
//! NOTHING`), so the database's row locking decides races between processes, not our code
//! (on MySQL, `SELECT .. FOR UPDATE` then `DELETE` in one transaction stands for
//! `DELETE .. RETURNING`).

mod auth_flow;
mod catalog;
mod connect;
mod document;
mod keys;
mod logout_deliveries;
mod replay;
#[doc(hidden)]
pub mod scratch;
mod sessions;
mod sso;
mod statement;
mod throttle;
mod tokens;

pub use connect::{MysqlOptions, MysqlSslMode, PostgresOptions, SessionValue, check_session_variable};

use crate::storage::{GcResult, Result, Storage, StorageError};
use crate::types::UnixTime;
use async_trait::async_trait;
use connect::Dialect;
use sqlx::{AnyConnection, AnyPool};
use statement::{Sql, sql};
use std::sync::Mutex;

/// Storage over a SQLite file, SQLite in memory, PostgreSQL, or MySQL/MariaDB.
pub struct SqlStorage {
    pool: AnyPool,
    dialect: Dialect,
    /// For an in-memory database: a connection that is never used, only held, because the
    /// database disappears when its last connection closes.
    _memory_keeper: Option<Mutex<AnyConnection>>,
}

impl SqlStorage {
    /// Opens (creating if missing) a SQLite database file, in WAL mode, and migrates it.
    pub async fn open_sqlite(path: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let pool = connect::open_sqlite(path).await?;
        Ok(Self { pool, dialect: Dialect::Sqlite, _memory_keeper: None })
    }

    /// A fresh, private in-memory database that lives as long as this value
    /// (Dex's `storage.type: memory`).
    pub async fn open_memory() -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (pool, keeper) = connect::open_memory().await?;
        Ok(Self { pool, dialect: Dialect::Sqlite, _memory_keeper: Some(Mutex::new(keeper)) })
    }

    /// Connects to PostgreSQL and migrates the database. Safe to call from several replicas at
    /// once: migrations are serialized by an advisory lock.
    pub async fn open_postgres(options: &PostgresOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let pool = connect::open_postgres(options).await?;
        Ok(Self { pool, dialect: Dialect::Postgres, _memory_keeper: None })
    }

    /// Connects to MySQL or MariaDB and migrates the database. Safe to call from several
    /// replicas at once: migrations are serialized by a named lock (`GET_LOCK`).
    pub async fn open_mysql(options: &MysqlOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let pool = connect::open_mysql(options).await?;
        Ok(Self { pool, dialect: Dialect::Mysql, _memory_keeper: None })
    }

    /// Closes every connection; later calls fail. For an orderly shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool, for tests that look at the connections themselves.
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The text of `statement` for this database.
    fn sql(&self, statement: Sql) -> &'static str {
        statement.text(self.dialect)
    }

    /// Runs a `DELETE .. WHERE expiry < $1`, returning how many rows went.
    async fn delete_expired(&self, statement: Sql, now: UnixTime) -> Result<u64> {
        let done =
            sqlx::query(self.sql(statement)).bind(now).execute(&self.pool).await.map_err(backend_error)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl Storage for SqlStorage {
    async fn garbage_collect(&self, now: UnixTime) -> Result<GcResult> {
        Ok(GcResult {
            auth_requests: self
                .delete_expired(sql!("DELETE FROM auth_requests WHERE expiry < $1"), now)
                .await?,
            auth_codes: self.delete_expired(sql!("DELETE FROM auth_codes WHERE expiry < $1"), now).await?,
            device_requests: self
                .delete_expired(sql!("DELETE FROM device_requests WHERE expiry < $1"), now)
                .await?,
            device_tokens: self
                .delete_expired(sql!("DELETE FROM device_tokens WHERE expiry < $1"), now)
                .await?,
            // A NULL `expires_at` (no absolute lifetime) never compares less: kept.
            refresh_tokens: self
                .delete_expired(sql!("DELETE FROM refresh_tokens WHERE expires_at < $1"), now)
                .await?,
            web_sessions: self
                .delete_expired(sql!("DELETE FROM web_sessions WHERE expiry < $1"), now)
                .await?,
            revoked_tokens: self
                .delete_expired(sql!("DELETE FROM revoked_tokens WHERE expiry < $1"), now)
                .await?,
            auth_sessions: self
                .delete_expired(sql!("DELETE FROM auth_sessions WHERE expiry < $1"), now)
                .await?,
            saml_assertions: self
                .delete_expired(sql!("DELETE FROM saml_replay WHERE expiry < $1"), now)
                .await?,
            failure_counts: self
                .delete_expired(sql!("DELETE FROM failed_attempts WHERE forget_at < $1"), now)
                .await?,
            logout_deliveries: self
                .delete_expired(sql!("DELETE FROM logout_deliveries WHERE expiry < $1"), now)
                .await?,
            pushed_requests: self
                .delete_expired(sql!("DELETE FROM pushed_requests WHERE expiry < $1"), now)
                .await?,
            jwt_ids: self.delete_expired(sql!("DELETE FROM jwt_replay WHERE expiry < $1"), now).await?,
        })
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(backend_error)?;
        Ok(())
    }
}

/// The longest a request waits for a pooled connection (connecting included): while the
/// database is down, requests fail with `503` after this long rather than hang.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Any other backend failure, told apart as [`StorageError::Unavailable`] when the database
/// cannot be reached or take the request right now, so callers answer `503` instead of `500`.
/// sqlx's messages name the failing operation, never the connection URL (PostgreSQL and MySQL
/// connect errors are additionally redacted in [`connect`]).
fn backend_error<E: std::fmt::Display + 'static>(error: E) -> StorageError {
    let sqlx_error = (&error as &dyn std::any::Any).downcast_ref::<sqlx::Error>();
    if sqlx_error.is_some_and(is_unavailable) {
        StorageError::Unavailable(error.to_string())
    } else {
        StorageError::Backend(error.to_string())
    }
}

/// No connection to be had (the pool timed out: the database is down or every connection is
/// busy), the connection broke, or the database says it cannot serve now.
fn is_unavailable(error: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match error {
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => true,
        E::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// SQLSTATE classes 08 (connection exception), 53 (insufficient resources: disk full, out of
/// memory, too many connections) and 57P (shutting down, starting up), as PostgreSQL and MySQL
/// report them; SQLite's result codes BUSY (5), IOERR (10, and its extended codes), FULL (13)
/// and CANTOPEN (14).
fn unavailable_code(code: &str) -> bool {
    // A SQLSTATE has five characters; SQLite's codes are numbers of at most four digits.
    if code.len() == 5 {
        return code.starts_with("08") || code.starts_with("53") || code.starts_with("57P");
    }
    code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 10 | 13 | 14))
}

/// `true` when a statement changed at least one row. (MySQL connections report rows
/// *matched*, as SQLite and PostgreSQL do: sqlx sets `CLIENT_FOUND_ROWS`, so an UPDATE that
/// writes the values a row already has still counts.)
fn changed(done: &sqlx::any::AnyQueryResult) -> bool {
    done.rows_affected() > 0
}

/// The outcome of an "insert unless the key is taken" statement: `true` when it added the
/// row. SQLite and PostgreSQL write it `INSERT .. ON CONFLICT (key) DO NOTHING` and report 0
/// rows; MySQL, as a plain INSERT, fails with a duplicate-key error, which means the same.
/// (`INSERT IGNORE` would also hide truncation and other errors; `ON DUPLICATE KEY UPDATE
/// id = id` reports 1 row under `CLIENT_FOUND_ROWS`.)
fn inserted(result: std::result::Result<sqlx::any::AnyQueryResult, sqlx::Error>) -> Result<bool> {
    match result {
        Ok(done) => Ok(changed(&done)),
        Err(error) if error.as_database_error().is_some_and(|db| db.is_unique_violation()) => Ok(false),
        Err(error) => Err(backend_error(error)),
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::storage::{Client, ClientStore};
    use sqlx::{AssertSqlSafe, Row};

    async fn pragma(storage: &SqlStorage, name: &'static str) -> String {
        let sql = AssertSqlSafe(format!("PRAGMA {name}"));
        let row = sqlx::query(sql).fetch_one(&storage.pool).await.unwrap();
        row.try_get::<String, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string())).unwrap()
    }

    #[test]
    fn unavailable_databases_are_told_apart_from_failing_statements() {
        for code in ["08006", "08001", "53100", "53300", "57P01", "57P03", "5", "13", "778", "14"] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["23505", "42P01", "42501", "2067", "1", "HY000", "40001"] {
            assert!(!unavailable_code(code), "{code}");
        }
        assert!(matches!(backend_error(sqlx::Error::PoolTimedOut), StorageError::Unavailable(_)));
        assert!(matches!(backend_error(sqlx::Error::RowNotFound), StorageError::Backend(_)));
        assert!(matches!(backend_error("a message".to_string()), StorageError::Backend(_)));
    }

    #[tokio::test]
    async fn sqlite_connections_use_wal_busy_timeout_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let storage = SqlStorage::open_sqlite(path.to_str().unwrap()).await.unwrap();
        assert_eq!(pragma(&storage, "journal_mode").await, "wal");
        assert_eq!(pragma(&storage, "busy_timeout").await, "5000");
        assert_eq!(pragma(&storage, "foreign_keys").await, "1");
        // 1 = NORMAL: no fsync per commit under WAL (see open_sqlite).
        assert_eq!(pragma(&storage, "synchronous").await, "1");
    }

    /// The pool may close its connection (errors, cancellation); the keeper keeps the data.
    #[tokio::test]
    async fn memory_database_survives_its_pool_connection() {
        let storage = SqlStorage::open_memory().await.unwrap();
        let client = Client { id: "app".into(), ..Client::default() };
        storage.create_client(&client).await.unwrap();
        let connection = storage.pool.acquire().await.unwrap();
        connection.close().await.unwrap();
        assert_eq!(storage.get_client(&"app".into()).await.unwrap(), Some(client));
    }
}
