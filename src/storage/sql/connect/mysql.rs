//! Opening MySQL or MariaDB: Dex's settings as a sqlx URL, the session every connection runs
//! in, and a migration lock MariaDB honours.
//!
//! Every connection runs in
//! - `READ COMMITTED`: each statement sees what was committed before it, as in PostgreSQL.
//!   The atomic operations are single conditional statements or lock the row they change
//!   (see `document.rs` and `auth_flow.rs`), so they need no stronger level; MySQL's default
//!   `REPEATABLE READ` would only add gap locks and deadlocks between replicas. (Dex uses
//!   `SERIALIZABLE`, which turns every read into a locking read.)
//! - strict mode (`STRICT_ALL_TABLES` added to the server's `sql_mode`): a value too long for
//!   its column is an error, never silently truncated (two long ids could otherwise collide);
//! - `utf8mb4`, the only MySQL character set that holds all of Unicode;
//! - then the `params` of the configuration, each as `SET SESSION name = value`.

use super::{Dialect, backend_error, migrator};
use crate::storage::{Result, StorageError};
use crate::types::Secret;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Dex's defaults for `maxOpenConns` and `connectionTimeout` when they are 0.
const DEFAULT_MAX_CONNS: u32 = 5;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_PORT: u16 = 3306;
/// How long a replica waits for another one's migrations before giving up.
const MIGRATION_LOCK_TIMEOUT_SECS: i64 = 600;

/// How the connection is encrypted; Dex's `ssl.mode` words in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MysqlSslMode {
    /// (`false`) Plain TCP.
    Disabled,
    /// (`preferred`) TLS when the server offers it, else plain; the certificate is not checked.
    Preferred,
    /// (`skip-verify`) TLS, but any certificate is accepted.
    Required,
    /// (`true`, the default, or any of `caFile`/`certFile`/`keyFile`) TLS, with the
    /// certificate checked against the web PKI roots and `caFile`, and the host name against it.
    #[default]
    VerifyIdentity,
}

impl MysqlSslMode {
    /// sqlx's `ssl-mode` value.
    fn as_sqlx(self) -> &'static str {
        match self {
            Self::Disabled => "DISABLED",
            Self::Preferred => "PREFERRED",
            Self::Required => "REQUIRED",
            Self::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// A value of `params` (a Tessera extension): bound as text or as an integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionValue {
    Text(String),
    Integer(i64),
}

/// Session variables Tessera sets itself (see the module documentation): `params` may not
/// change them.
const RESERVED_SESSION_VARIABLES: &[&str] = &[
    "sql_mode",
    "transaction_isolation",
    "tx_isolation",
    "autocommit",
    "time_zone",
    "character_set_client",
    "character_set_connection",
    "character_set_results",
    "collation_connection",
    "names",
];

/// Whether `name` may be set through `params`: a plain system-variable name (letters, digits,
/// `_`, not starting with a digit) that Tessera does not set itself. The name goes into SQL
/// unquoted, which this check is what makes safe; the value is always bound.
pub fn check_session_variable(name: &str) -> std::result::Result<(), String> {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return Err(format!(
            "{name:?} is not a system variable name; use letters, digits and `_` (e.g. innodb_lock_wait_timeout)"
        ));
    }
    if RESERVED_SESSION_VARIABLES.iter().any(|reserved| reserved.eq_ignore_ascii_case(name)) {
        return Err(format!("Tessera sets {name} itself on every connection; remove it"));
    }
    Ok(())
}

/// Dex's `storage.config` for `type: mysql`, field for field, plus `params`.
///
/// `Debug` never prints the password (a [`Secret`]).
#[derive(Debug, Clone, Default)]
pub struct MysqlOptions {
    /// A host name or IP address, `host:port`, or a Unix socket path (starting with `/`).
    pub host: String,
    /// 0 means 3306 (or the port in `host`).
    pub port: u16,
    pub database: String,
    /// Empty means sqlx's default, `root`.
    pub user: String,
    pub password: Option<Secret>,
    pub ssl_mode: MysqlSslMode,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    /// How long to wait for a connection; 0 means 30 s.
    pub connect_timeout_secs: u64,
    /// Pool size; 0 means 5.
    pub max_open_conns: u32,
    /// Accepted for Dex compatibility. sqlx's pool has no idle cap: idle connections are
    /// closed after its idle timeout (10 minutes), and each is pinged before use.
    pub max_idle_conns: u32,
    /// Recycle connections after this many seconds; 0 means never.
    pub conn_max_lifetime_secs: u64,
    /// `SET SESSION name = value` on every new connection, in this order.
    pub params: Vec<(String, SessionValue)>,
}

impl MysqlOptions {
    /// The connection URL, `mysql://user:password@host:port/database?ssl-mode=..`. `Url`
    /// percent-encodes the user, password and database and sqlx decodes them exactly, so no
    /// value can break the URL.
    pub(in crate::storage::sql) fn url(&self) -> Result<Url> {
        let url_error =
            |what: &str| StorageError::Backend(format!("mysql: the {what} does not fit in a URL"));
        // Without a host, Dex (the Go driver) connects to 127.0.0.1.
        let mut url = Url::parse("mysql://127.0.0.1").map_err(backend_error)?;
        let (host, port_in_host) = super::split_host_port(&self.host);
        if host.starts_with('/') {
            url.query_pairs_mut().append_pair("socket", host);
        } else if !host.is_empty() {
            // A bare IPv6 address goes in brackets; sqlx takes them off again.
            let host = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
            url.set_host(Some(&host)).map_err(|_| url_error("host"))?;
        }
        let port = match self.port {
            0 => port_in_host.unwrap_or(DEFAULT_PORT),
            port => port,
        };
        url.set_port(Some(port)).map_err(|()| url_error("port"))?;
        // Encoded here, completely: `Url` would leave `%` alone in the user and password,
        // and sqlx decodes every `%XX`.
        if !self.user.is_empty() {
            url.set_username(&encode(&self.user)).map_err(|()| url_error("user"))?;
        }
        if let Some(password) = &self.password {
            url.set_password(Some(&encode(password.expose()))).map_err(|()| url_error("password"))?;
        }
        if !self.database.is_empty() {
            url.set_path(&encode(&self.database));
        }
        let mut query = url.query_pairs_mut();
        query.append_pair("ssl-mode", self.ssl_mode.as_sqlx());
        let files = [("ssl-ca", &self.ca_file), ("ssl-cert", &self.cert_file), ("ssl-key", &self.key_file)];
        for (key, file) in files {
            if let Some(file) = file {
                query.append_pair(key, file);
            }
        }
        query.append_pair("charset", "utf8mb4");
        drop(query);
        Ok(url)
    }

    pub(in crate::storage::sql) fn pool_options(&self) -> AnyPoolOptions {
        let max_conns = match self.max_open_conns {
            0 => DEFAULT_MAX_CONNS,
            n => n,
        };
        let connect_timeout = match self.connect_timeout_secs {
            0 => DEFAULT_CONNECT_TIMEOUT,
            secs => Duration::from_secs(secs),
        };
        let lifetime =
            (self.conn_max_lifetime_secs > 0).then(|| Duration::from_secs(self.conn_max_lifetime_secs));
        let params = Arc::new(self.params.clone());
        AnyPoolOptions::new()
            .max_connections(max_conns)
            // A request waits this long at most for a connection: while the database is down
            // it is answered 503 then, instead of hanging for the whole connect timeout.
            .acquire_timeout(connect_timeout.min(crate::storage::sql::ACQUIRE_TIMEOUT))
            .max_lifetime(lifetime)
            .after_connect(move |connection, _| {
                let params = params.clone();
                Box::pin(async move { set_up_session(connection, &params).await })
            })
    }

    /// Removes the password from a message that might quote the connection settings, in
    /// the forms it may take there (as written, or percent-encoded in the URL).
    pub(in crate::storage::sql) fn redact(&self, message: String) -> String {
        match self.password.as_ref().map(Secret::expose) {
            Some(password) if !password.is_empty() => {
                message.replace(password, "[redacted]").replace(&encode(password), "[redacted]")
            }
            _ => message,
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for sqlx to decode.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The session settings of the module documentation, on one new connection.
async fn set_up_session(
    connection: &mut AnyConnection,
    params: &[(String, SessionValue)],
) -> sqlx::Result<()> {
    sqlx::raw_sql("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").execute(&mut *connection).await?;
    sqlx::raw_sql("SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')")
        .execute(&mut *connection)
        .await?;
    for (name, value) in params {
        // Checked again here (the configuration checked it first): the name is SQL text.
        check_session_variable(name).map_err(|e| sqlx::Error::Configuration(e.into()))?;
        let sql = sqlx::AssertSqlSafe(format!("SET SESSION {name} = ?"));
        let statement = sqlx::query(sql);
        let statement = match value {
            SessionValue::Text(text) => statement.bind(text.clone()),
            SessionValue::Integer(number) => statement.bind(*number),
        };
        statement.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Opens a MySQL or MariaDB pool and applies migrations.
pub(in crate::storage::sql) async fn open_mysql(options: &MysqlOptions) -> Result<AnyPool> {
    for (name, _) in &options.params {
        check_session_variable(name).map_err(|e| StorageError::Backend(format!("mysql params: {e}")))?;
    }
    let redacted = |e: sqlx::Error| StorageError::Backend(options.redact(e.to_string()));
    let url = options.url().map_err(|e| StorageError::Backend(options.redact(e.to_string())))?;
    let connect = <sqlx::any::AnyConnectOptions as sqlx::ConnectOptions>::from_url(&url).map_err(redacted)?;
    let pool = options.pool_options().connect_with(connect).await.map_err(redacted)?;
    super::migrate(&pool, Dialect::Mysql).await?;
    Ok(pool)
}

/// Applies the migrations under a lock that works on MariaDB too.
///
/// sqlx's own MySQL migration lock is `GET_LOCK(name, -1)`; MariaDB takes a negative timeout
/// as "do not wait", so replicas starting together raced through the migrations and most
/// failed. Here the lock is taken with a positive timeout, on the one connection the migrator
/// then runs on (MySQL locks belong to a connection), and released on it afterwards. The name
/// holds a hash of the database name: locks are per server, and at most 64 characters long.
pub(super) async fn migrate(pool: &AnyPool) -> Result<()> {
    let failed = |e: &dyn fmt::Display| StorageError::Backend(format!("migrations failed: {e}"));
    let mut migrator = migrator(Dialect::Mysql);
    migrator.set_locking(false);
    let mut connection = pool.acquire().await.map_err(|e| failed(&e))?;
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT GET_LOCK(CONCAT('tessera.migrate.', MD5(DATABASE())), ?)")
            .bind(MIGRATION_LOCK_TIMEOUT_SECS)
            .fetch_one(&mut *connection)
            .await
            .map_err(|e| failed(&e))?;
    if locked != Some(1) {
        return Err(failed(&format!(
            "another replica held the migration lock for {MIGRATION_LOCK_TIMEOUT_SECS} s"
        )));
    }
    let migrated = migrator.run_direct(None, &mut *connection, false).await;
    let released = sqlx::query("SELECT RELEASE_LOCK(CONCAT('tessera.migrate.', MD5(DATABASE())))")
        .execute(&mut *connection)
        .await;
    if released.is_err() {
        // The lock ends with its connection: never hand this one out again.
        connection.close_on_drop();
    }
    migrated.map_err(|e| failed(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> MysqlOptions {
        MysqlOptions {
            host: "db.example.com".into(),
            database: "dex db/ü?".into(),
            user: "us@er:x".into(),
            password: Some(Secret::new("p@ss word&x=%2F#/")),
            ..MysqlOptions::default()
        }
    }

    fn parsed(options: &MysqlOptions) -> sqlx::mysql::MySqlConnectOptions {
        let any = <sqlx::any::AnyConnectOptions as sqlx::ConnectOptions>::from_url(&options.url().unwrap())
            .unwrap();
        sqlx::mysql::MySqlConnectOptions::try_from(&any).unwrap()
    }

    #[test]
    fn url_round_trips_awkward_values() {
        let url = options().url().unwrap();
        let sqlx = parsed(&options());
        assert_eq!(sqlx.get_host(), "db.example.com");
        assert_eq!(sqlx.get_port(), 3306);
        assert_eq!(sqlx.get_database(), Some("dex db/ü?"));
        assert_eq!(sqlx.get_username(), "us@er:x");
        assert!(
            matches!(sqlx.get_ssl_mode(), sqlx::mysql::MySqlSslMode::VerifyIdentity),
            "Dex's default is `true`"
        );
        assert_eq!(sqlx.get_charset(), "utf8mb4");
        // sqlx's options do not give the password back; it decodes it as it decodes the user.
        assert_eq!(url.password(), Some(encode("p@ss word&x=%2F#/").as_str()));
        assert_eq!(encode("a%2F b/ü"), "a%252F%20b%2F%C3%BC");
    }

    #[test]
    fn host_forms() {
        let with =
            |host: &str, port| parsed(&MysqlOptions { host: host.into(), port, ..MysqlOptions::default() });
        assert_eq!(
            (with("db:3307", 0).get_host().to_owned(), with("db:3307", 0).get_port()),
            ("db".to_owned(), 3307)
        );
        assert_eq!(with("db", 3308).get_port(), 3308);
        assert_eq!(with("::1", 0).get_host(), "[::1]", "sqlx strips the brackets when connecting");
        let socket = with("/run/mysqld/mysqld.sock", 0);
        assert_eq!(socket.get_socket().unwrap().to_str(), Some("/run/mysqld/mysqld.sock"));
    }

    #[test]
    fn ssl_files_reach_sqlx() {
        let options = MysqlOptions {
            ssl_mode: MysqlSslMode::VerifyIdentity,
            ca_file: Some("/etc/ca.pem".into()),
            cert_file: Some("/etc/c.pem".into()),
            key_file: Some("/etc/k.pem".into()),
            ..options()
        };
        let url = options.url().unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        for (key, value) in [("ssl-ca", "/etc/ca.pem"), ("ssl-cert", "/etc/c.pem"), ("ssl-key", "/etc/k.pem")]
        {
            assert!(pairs.contains(&(key.to_owned(), value.to_owned())), "{pairs:?}");
        }
        for (mode, sqlx) in [
            (MysqlSslMode::Disabled, "DISABLED"),
            (MysqlSslMode::Preferred, "PREFERRED"),
            (MysqlSslMode::Required, "REQUIRED"),
        ] {
            let url = MysqlOptions { ssl_mode: mode, ..MysqlOptions::default() }.url().unwrap();
            assert!(url.query_pairs().any(|(k, v)| k == "ssl-mode" && v == sqlx), "{url}");
        }
    }

    #[test]
    fn debug_and_errors_hide_the_password() {
        let printed = format!("{:?}", options());
        assert!(!printed.contains("p@ss"), "{printed}");
        let encoded = options().url().unwrap().password().unwrap().to_owned();
        let message = options().redact(format!("failed for p@ss word&x=%2F#/ at mysql://u:{encoded}@h"));
        assert_eq!(message, "failed for [redacted] at mysql://u:[redacted]@h");
    }

    #[test]
    fn session_variable_names_are_checked() {
        assert!(check_session_variable("innodb_lock_wait_timeout").is_ok());
        assert!(check_session_variable("_x1").is_ok());
        for bad in ["", "1a", "a b", "a=1; DROP TABLE x", "@@x", "a.b", "a-b"] {
            assert!(check_session_variable(bad).unwrap_err().contains("not a system variable name"), "{bad}");
        }
        for reserved in ["sql_mode", "SQL_MODE", "transaction_isolation", "tx_isolation"] {
            assert!(check_session_variable(reserved).unwrap_err().contains("Tessera sets"), "{reserved}");
        }
    }
}
