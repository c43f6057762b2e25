//! Opening a database: the one place that tells SQLite, PostgreSQL and MySQL apart.
//!
//! Every query in this module tree is written once, with `$N` placeholders, and runs through
//! sqlx's `Any` driver; `statement.rs` derives MySQL's text from it. What else differs
//! between the databases is how a pool is opened (file, memory or network options, MySQL's
//! session settings in [`mysql`]), which migration files apply, and one capability,
//! [`Dialect::has_returning`]; all of it lives here.
//!
//! `AnyConnectOptions` can only be built from a URL, so each backend's settings are expressed
//! as URL parameters that the SQLite, PostgreSQL and MySQL drivers parse back.

mod mysql;

pub(super) use mysql::open_mysql;
pub use mysql::{MysqlOptions, MysqlSslMode, SessionValue, check_session_variable};

use super::backend_error;
use crate::storage::{Result, StorageError};
use crate::types::Secret;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, SqlSafeStr};
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use url::Url;

/// The SQL dialect behind a pool: which migration set applies, which text of a statement runs
/// (see `statement.rs`), and whether `RETURNING` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
    /// MySQL 8 or MariaDB 10.5+.
    Mysql,
}

impl Dialect {
    /// Whether `DELETE .. RETURNING` and `UPDATE .. RETURNING` exist (SQLite 3.35+,
    /// PostgreSQL). MySQL has neither (MariaDB only the first): there, the two statements that
    /// need one lock the row in a transaction instead.
    pub(super) const fn has_returning(self) -> bool {
        match self {
            Self::Sqlite | Self::Postgres => true,
            Self::Mysql => false,
        }
    }
}

/// Embedded migrations, in order: `(version, description, file)`, the file read from each
/// dialect's directory. Every schema change adds one file to *each* directory and one line
/// here.
macro_rules! embedded_migrations {
    ($(($version:literal, $description:literal, $file:literal)),* $(,)?) => {
        const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[$((
            $version,
            $description,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/", $file)),
        )),*];
        const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[$((
            $version,
            $description,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres/", $file)),
        )),*];
        const MYSQL_MIGRATIONS: &[(i64, &str, &str)] = &[$((
            $version,
            $description,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/mysql/", $file)),
        )),*];
    };
}

embedded_migrations! {
    (1, "init", "0001_init.sql"),
    (2, "auth sessions", "0002_auth_sessions.sql"),
    (3, "data keys", "0003_data_keys.sql"),
    (4, "saml replay", "0004_saml_replay.sql"),
    (5, "revoked at", "0005_revoked_at.sql"),
    (6, "failed attempts", "0006_failed_attempts.sql"),
    (7, "logout deliveries", "0007_logout_deliveries.sql"),
    (8, "pushed requests", "0008_pushed_requests.sql"),
    (9, "jwt replay", "0009_jwt_replay.sql"),
    (10, "rotated at ms", "0010_rotated_at_ms.sql"),
}

/// SQLite's own timeout for waiting on another writer (SQLITE_BUSY).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Readers run in parallel under WAL; writers queue on the busy timeout. More connections
/// than cores buy nothing and cost: every commit makes the other connections drop their page
/// caches and read the changed pages again.
fn sqlite_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    u32::try_from(cores).unwrap_or(4).clamp(1, 4)
}

/// No liveness ping when a connection leaves the pool: an in-process database has no link
/// to lose, and sqlx runs each SQLite connection on a worker thread of its own, so the ping
/// was a second round trip to that thread before every statement (a login makes 21).
fn sqlite_pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new().test_before_acquire(false)
}

/// Dex's defaults for `maxOpenConns` and `connectionTimeout` when they are 0.
const POSTGRES_DEFAULT_MAX_CONNS: u32 = 5;
const POSTGRES_DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Dex's `storage.config` for `type: postgres`, field for field.
///
/// `Debug` never prints the password (a [`Secret`]).
#[derive(Debug, Clone, Default)]
pub struct PostgresOptions {
    /// A host name, an IP address, `host:port` (as Dex accepts), or a Unix socket directory.
    pub host: String,
    /// 0 means 5432 (or the port in `host`).
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: Option<Secret>,
    /// `disable`, `require`, `verify-ca` or `verify-full`; empty means `verify-full`, the
    /// strictest, as in Dex.
    pub ssl_mode: String,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    /// How long to wait for a connection; 0 means 30 s.
    pub connect_timeout_secs: u64,
    /// Pool size; 0 means 5, as in Dex.
    pub max_open_conns: u32,
    /// Accepted for Dex compatibility. sqlx's pool has no idle cap: idle connections are
    /// closed after its idle timeout (10 minutes) instead.
    pub max_idle_conns: u32,
    /// Recycle connections after this many seconds; 0 means never, as in Dex.
    pub conn_max_lifetime_secs: u64,
}

impl PostgresOptions {
    /// The connection URL. Every value goes into the query string, where `Url` encodes it and
    /// sqlx decodes it exactly, so no user, password or database name can break the URL.
    pub(super) fn url(&self) -> Result<Url> {
        let ssl_mode = match self.ssl_mode.as_str() {
            "" => "verify-full",
            mode @ ("disable" | "require" | "verify-ca" | "verify-full") => mode,
            other => {
                return Err(StorageError::Backend(format!(
                    "unknown postgres ssl mode {other:?}: use disable, require, verify-ca or verify-full"
                )));
            }
        };
        let (host, port_in_host) = split_host_port(&self.host);
        let port = match self.port {
            0 => port_in_host,
            port => Some(port),
        };
        // The host placeholder is overridden by the `host` parameter when one is given.
        let mut url = Url::parse("postgres://localhost").map_err(backend_error)?;
        {
            let mut query = url.query_pairs_mut();
            if !host.is_empty() {
                query.append_pair("host", host);
            }
            if let Some(port) = port {
                query.append_pair("port", &port.to_string());
            }
            if !self.database.is_empty() {
                query.append_pair("dbname", &self.database);
            }
            if !self.user.is_empty() {
                query.append_pair("user", &self.user);
            }
            if let Some(password) = &self.password {
                query.append_pair("password", password.expose());
            }
            query.append_pair("sslmode", ssl_mode);
            let files =
                [("sslrootcert", &self.ca_file), ("sslcert", &self.cert_file), ("sslkey", &self.key_file)];
            for (key, file) in files {
                if let Some(file) = file {
                    query.append_pair(key, file);
                }
            }
        }
        Ok(url)
    }

    fn pool_options(&self) -> AnyPoolOptions {
        let max_conns = match self.max_open_conns {
            0 => POSTGRES_DEFAULT_MAX_CONNS,
            n => n,
        };
        let connect_timeout = match self.connect_timeout_secs {
            0 => POSTGRES_DEFAULT_CONNECT_TIMEOUT,
            secs => Duration::from_secs(secs),
        };
        let lifetime =
            (self.conn_max_lifetime_secs > 0).then(|| Duration::from_secs(self.conn_max_lifetime_secs));
        AnyPoolOptions::new()
            .max_connections(max_conns)
            // A request waits this long at most for a connection: while the database is down
            // it is answered 503 then, instead of hanging for the whole connect timeout.
            .acquire_timeout(connect_timeout.min(crate::storage::sql::ACQUIRE_TIMEOUT))
            .max_lifetime(lifetime)
    }

    /// Removes the password from a message that might quote the connection settings.
    fn redact(&self, message: String) -> String {
        match &self.password {
            Some(password) if !password.is_empty() => message.replace(password.expose(), "[redacted]"),
            _ => message,
        }
    }
}

/// Splits Dex's backwards-compatible `host:port` form; socket paths and bare IPv6 addresses
/// are left whole.
fn split_host_port(host: &str) -> (&str, Option<u16>) {
    if host.starts_with('/') {
        return (host, None);
    }
    if let Some(rest) = host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`
        if let Some((addr, tail)) = rest.split_once(']') {
            return (addr, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (host, None),
        },
        _ => (host, None),
    }
}

/// Opens a PostgreSQL pool and applies migrations.
pub(super) async fn open_postgres(options: &PostgresOptions) -> Result<AnyPool> {
    let redacted = |e: sqlx::Error| StorageError::Backend(options.redact(e.to_string()));
    let url = options.url()?;
    let connect = AnyConnectOptions::from_url(&url).map_err(redacted)?;
    let pool = options.pool_options().connect_with(connect).await.map_err(redacted)?;
    migrate(&pool, Dialect::Postgres).await?;
    Ok(pool)
}

/// Opens a SQLite file (created if missing) in WAL mode and applies migrations.
///
/// WAL is a property of the file, so it is set once through a direct connection; the pool's
/// connections get sqlx's per-connection defaults: `busy_timeout` 5 s and `foreign_keys` on
/// (the conformance suite checks both), and `synchronous = NORMAL`.
///
/// `NORMAL` is SQLite's recommended setting under WAL: a commit no longer waits for an fsync
/// (measured: creating an auth request 210 µs with `FULL`, ~45 µs with `NORMAL`), the database
/// cannot be corrupted, and a crash of the process loses nothing; only a power loss or an
/// OS crash may roll back the last commits (logins, codes, refresh-token rotations of the
/// last moments: their users sign in again). Deployments that need more run PostgreSQL.
pub(super) async fn open_sqlite(path: &str) -> Result<AnyPool> {
    let setup = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .connect()
        .await
        .map_err(backend_error)?;
    setup.close().await.map_err(backend_error)?;

    let url = format!("sqlite://{}?mode=rw", encode_path(path));
    let pool = sqlite_pool_options()
        .max_connections(sqlite_pool_size())
        .after_connect(|connection, _| {
            Box::pin(async move {
                sqlx::raw_sql("PRAGMA synchronous = NORMAL").execute(connection).await?;
                Ok(())
            })
        })
        .connect_with(AnyConnectOptions::from_str(&url).map_err(backend_error)?)
        .await
        .map_err(backend_error)?;
    migrate(&pool, Dialect::Sqlite).await?;
    Ok(pool)
}

/// Opens a private in-memory SQLite database and applies migrations.
///
/// The database is named (shared cache) and lives while any connection to it is open, so the
/// returned keeper connection must be held as long as the pool: the pool may then recycle its
/// own connection without losing data. One pooled connection avoids shared-cache table locks.
pub(super) async fn open_memory() -> Result<(AnyPool, AnyConnection)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!("tessera-memory-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    // The `file:` form makes SQLite open the name as a URI, which is what lets every
    // connection find the same shared-cache database by name.
    let url = format!("sqlite:file:{name}?mode=memory&cache=shared");
    let options = AnyConnectOptions::from_str(&url).map_err(backend_error)?;
    let keeper = AnyConnection::connect_with(&options).await.map_err(backend_error)?;
    let pool = sqlite_pool_options().max_connections(1).connect_with(options).await.map_err(backend_error)?;
    migrate(&pool, Dialect::Sqlite).await?;
    Ok((pool, keeper))
}

/// Applies the embedded migrations that are not applied yet.
///
/// sqlx's migrator is used without its `migrate!` macro (that needs the `macros` feature): the
/// files are embedded with `include_str!` and handed to `Migrator::with_migrations`. Each
/// migration runs in a transaction and is recorded in `_sqlx_migrations` with a checksum. On
/// PostgreSQL the migrator holds an advisory lock, so replicas starting together apply each
/// migration once; the others wait and then find nothing to do. MySQL takes its own lock
/// ([`mysql`]).
pub(super) async fn migrate(pool: &AnyPool, dialect: Dialect) -> Result<()> {
    match dialect {
        Dialect::Mysql => mysql::migrate(pool).await,
        Dialect::Sqlite | Dialect::Postgres => migrator(dialect)
            .run(pool)
            .await
            .map_err(|e| StorageError::Backend(format!("migrations failed: {e}"))),
    }
}

fn migrator(dialect: Dialect) -> Migrator {
    let files = match dialect {
        Dialect::Sqlite => SQLITE_MIGRATIONS,
        Dialect::Postgres => POSTGRES_MIGRATIONS,
        Dialect::Mysql => MYSQL_MIGRATIONS,
    };
    let migrations = files
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// Percent-encodes a file path for a `sqlite://` URL, which sqlx percent-decodes.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {

    use super::*;

    /// A ping per statement doubled the round trips to SQLite's worker thread; PostgreSQL,
    /// over a network, keeps sqlx's check.
    #[test]
    fn sqlite_pools_skip_the_liveness_ping() {
        assert!(!sqlite_pool_options().get_test_before_acquire());
        assert!(options().pool_options().get_test_before_acquire());
    }

    fn options() -> PostgresOptions {
        PostgresOptions {
            host: "db.example.com".into(),
            database: "dex db/ü?".into(),
            user: "us@er:x".into(),
            password: Some(Secret::new("p@ss word&x=%2F#")),
            ..PostgresOptions::default()
        }
    }

    #[test]
    fn url_round_trips_awkward_values() {
        let url = options().url().unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("host"), Some("db.example.com"));
        assert_eq!(get("dbname"), Some("dex db/ü?"));
        assert_eq!(get("user"), Some("us@er:x"));
        assert_eq!(get("password"), Some("p@ss word&x=%2F#"));
        assert_eq!(get("sslmode"), Some("verify-full"), "Dex defaults to the strictest mode");
        assert_eq!(get("port"), None);
    }

    #[test]
    fn unknown_ssl_mode_is_refused() {
        let options = PostgresOptions { ssl_mode: "prefer".into(), ..options() };
        assert!(options.url().is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let printed = format!("{:?}", options());
        assert!(!printed.contains("p@ss"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn redact_removes_the_password_from_messages() {
        let message = options().redact("failed for p@ss word&x=%2F# at host".into());
        assert_eq!(message, "failed for [redacted] at host");
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("db:6543"), ("db", Some(6543)));
        assert_eq!(split_host_port("db"), ("db", None));
        assert_eq!(split_host_port("[::1]:6543"), ("::1", Some(6543)));
        assert_eq!(split_host_port("::1"), ("::1", None));
        assert_eq!(split_host_port("/var/run/postgresql"), ("/var/run/postgresql", None));
    }

    #[test]
    fn explicit_port_wins_over_host_port() {
        let options = PostgresOptions { host: "db:6543".into(), port: 7000, ..PostgresOptions::default() };
        let url = options.url().unwrap();
        assert!(url.query_pairs().any(|(k, v)| k == "port" && v == "7000"));
        assert!(url.query_pairs().any(|(k, v)| k == "host" && v == "db"));
    }

    #[test]
    fn every_migration_file_is_embedded() {
        for (dir, list) in
            [("sqlite", SQLITE_MIGRATIONS), ("postgres", POSTGRES_MIGRATIONS), ("mysql", MYSQL_MIGRATIONS)]
        {
            let path = format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
            let files = std::fs::read_dir(path).unwrap().count();
            assert_eq!(files, list.len(), "migrations/{dir} and its embedded list differ");
            let described: Vec<_> =
                list.iter().map(|&(version, description, _)| (version, description)).collect();
            let sqlite: Vec<_> =
                SQLITE_MIGRATIONS.iter().map(|&(version, description, _)| (version, description)).collect();
            assert_eq!(described, sqlite, "every dialect has the same migrations");
        }
    }

    #[test]
    fn sqlite_paths_are_encoded() {
        assert_eq!(encode_path("/tmp/a b?#%.db"), "/tmp/a%20b%3F%23%25.db");
    }
}
