//! `storage`: dispatch on `type`, `$VAR` expansion of `config`, and Dex's Postgres and MySQL
//! defaults.

use std::path::PathBuf;
use std::time::Duration;

use super::{Report, expand_config, from_config, non_empty};
use crate::config::env::EnvLookup;
use crate::config::raw;
use crate::config::{
    MysqlConfig, MysqlSsl, MysqlSslMode, PostgresConfig, PostgresSsl, PostgresSslMode, SqliteConfig,
    StorageConfig,
};
use crate::types::Secret;

pub(super) fn build_storage(
    raw: raw::Storage,
    env: EnvLookup<'_>,
    expand: bool,
    report: &mut Report,
) -> StorageConfig {
    const SUPPORTED: &str = "use one of: memory, sqlite3, postgres, mysql";
    let config = expand_config(raw.config, "storage.config", env, expand, report);
    match raw.kind.as_str() {
        "memory" => {
            if config.as_object().is_some_and(|o| !o.is_empty()) {
                report.problem("storage.config", "the memory storage takes no settings; remove `config`");
            }
            StorageConfig::Memory
        }
        "sqlite3" => {
            let sqlite: raw::Sqlite = from_config(config, "storage.config", report);
            StorageConfig::Sqlite3(SqliteConfig { file: sqlite.file })
        }
        "postgres" => {
            let pg: raw::Postgres = from_config(config, "storage.config", report);
            StorageConfig::Postgres(build_postgres(pg, report))
        }
        "mysql" => {
            let mysql: raw::Mysql = from_config(config, "storage.config", report);
            StorageConfig::Mysql(build_mysql(mysql, report))
        }
        "etcd" | "kubernetes" => {
            report.problem(
                "storage.type",
                format!("Dex's {:?} storage is not supported by Tessera; {SUPPORTED}", raw.kind),
            );
            StorageConfig::Memory
        }
        other => {
            report.problem("storage.type", format!("unknown storage type {other:?}; {SUPPORTED}"));
            StorageConfig::Memory
        }
    }
}

fn build_postgres(pg: raw::Postgres, report: &mut Report) -> PostgresConfig {
    // Dex reads `host:port` from `host` first (backwards compatibility), then `port`.
    let (host, port_in_host) = split_host_port(&pg.host);
    let mode = match pg.ssl.mode.trim() {
        "" | "verify-full" => PostgresSslMode::VerifyFull,
        "verify-ca" => PostgresSslMode::VerifyCa,
        "require" => PostgresSslMode::Require,
        "prefer" => PostgresSslMode::Prefer,
        "allow" => PostgresSslMode::Allow,
        "disable" => PostgresSslMode::Disable,
        other => {
            report.problem(
                "storage.config.ssl.mode",
                format!("unknown SSL mode {other:?}; use disable, allow, prefer, require, verify-ca or verify-full (the default)"),
            );
            PostgresSslMode::VerifyFull
        }
    };
    let path = |s: String| non_empty(s).map(PathBuf::from);
    let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
    PostgresConfig {
        host: if host.is_empty() { "localhost".to_owned() } else { host },
        port: port_in_host.or((pg.port != 0).then_some(pg.port)).unwrap_or(5432),
        database: pg.database,
        user: pg.user,
        password: Secret::new(pg.password),
        ssl: PostgresSsl {
            mode,
            ca_file: path(pg.ssl.ca_file),
            cert_file: path(pg.ssl.cert_file),
            key_file: path(pg.ssl.key_file),
        },
        connection_timeout: seconds(pg.connection_timeout),
        max_open_conns: if pg.max_open_conns == 0 { 5 } else { pg.max_open_conns },
        max_idle_conns: if pg.max_idle_conns == 0 { 5 } else { pg.max_idle_conns },
        conn_max_lifetime: seconds(pg.conn_max_lifetime),
    }
}

fn build_mysql(my: raw::Mysql, report: &mut Report) -> MysqlConfig {
    let (host, port_in_host) = split_host_port(&my.host);
    let path = |s: String| non_empty(s).map(PathBuf::from);
    let (ca_file, cert_file, key_file) =
        (path(my.ssl.ca_file), path(my.ssl.cert_file), path(my.ssl.key_file));
    // The words of Go's MySQL driver (`tls=`), which Dex hands `mode` to.
    let mode = match my.ssl.mode.trim() {
        "" | "true" | "True" | "TRUE" | "1" => MysqlSslMode::Verify,
        "false" | "False" | "FALSE" | "0" => MysqlSslMode::Disabled,
        m if m.eq_ignore_ascii_case("skip-verify") => MysqlSslMode::SkipVerify,
        m if m.eq_ignore_ascii_case("preferred") => MysqlSslMode::Preferred,
        other => {
            report.problem(
                "storage.config.ssl.mode",
                format!("unknown SSL mode {other:?}; use \"false\", preferred, skip-verify or \"true\" (the default)"),
            );
            MysqlSslMode::Verify
        }
    };
    // As in Dex: with any file the connection uses them, verified, whatever `mode` says.
    let files = ca_file.is_some() || cert_file.is_some() || key_file.is_some();
    if files && mode != MysqlSslMode::Verify {
        report.warn(
            "storage.config.ssl.mode",
            format!(
                "{:?} is ignored: with caFile, certFile or keyFile the connection is verified TLS, as in Dex",
                my.ssl.mode
            ),
        );
    }
    let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
    MysqlConfig {
        host: if host.is_empty() { "127.0.0.1".to_owned() } else { host },
        port: port_in_host.or((my.port != 0).then_some(my.port)).unwrap_or(3306),
        database: my.database,
        user: my.user,
        password: Secret::new(my.password),
        ssl: MysqlSsl { mode: if files { MysqlSslMode::Verify } else { mode }, ca_file, cert_file, key_file },
        connection_timeout: seconds(my.connection_timeout),
        max_open_conns: if my.max_open_conns == 0 { 5 } else { my.max_open_conns },
        max_idle_conns: my.max_idle_conns,
        conn_max_lifetime: seconds(my.conn_max_lifetime),
        params: my.params.into_iter().collect(),
    }
}

/// Splits `host:port` / `[v6]:port` like Go's `net.SplitHostPort`; anything else (a bare host,
/// a socket directory) is all host.
fn split_host_port(value: &str) -> (String, Option<u16>) {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('[')
        && let Some((host, port)) = rest.split_once("]:")
        && let Ok(port) = port.parse()
    {
        return (host.to_owned(), Some(port));
    }
    if let Some((host, port)) = value.rsplit_once(':')
        && !host.contains(':')
        && let Ok(port) = port.parse()
    {
        return (host.to_owned(), Some(port));
    }
    (value.to_owned(), None)
}
