//! The storage conformance suite: every guarantee of the contract in `storage/mod.rs`, written
//! once over `Arc<dyn Storage>` and run against each backend: a SQLite file, SQLite in memory,
//! PostgreSQL and MySQL/MariaDB.
//!
//! PostgreSQL is expected at 127.0.0.1:5432, user `postgres`, trust auth, and MariaDB (or
//! MySQL) at 127.0.0.1:3306, user `root`, no password; each test creates its own database
//! `tessera_test_*` and drops it afterwards (even when the test fails). If a server cannot be
//! reached its tests fail, unless `TESSERA_SKIP_POSTGRES=1` or `TESSERA_SKIP_MYSQL=1`.
//!
//! Races are real: tasks are spawned on a multi-threaded runtime and released together by a
//! barrier, so the database, not the test, decides who wins.

mod atomic;
mod crud;
mod fixtures;
mod harness;

mod mysql_connection;

use crate::storage::sql::{PostgresOptions, SqlStorage};
use crate::storage::{ClientStore, Storage};
use atomic::*;
use crud::*;
use fixtures::client;
use harness::{Kind, race, run, scratch_database};

/// Declares every check as a test for each backend: `sqlite_file::x`, `memory::x`,
/// `postgres::x`, `mysql::x`.
macro_rules! conformance_suite {
    ($($check:ident),* $(,)?) => {
        conformance_suite!(@backend sqlite_file, SqliteFile, $($check),*);
        conformance_suite!(@backend memory, Memory, $($check),*);
        conformance_suite!(@backend postgres, Postgres, $($check),*);
        conformance_suite!(@backend mysql, Mysql, $($check),*);
    };
    (@backend $module:ident, $kind:ident, $($check:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::run(super::Kind::$kind, super::$check).await;
                }
            )*
        }
    };
}

conformance_suite!(
    ping,
    clients_crud,
    concurrent_creates_have_one_winner,
    connectors_crud,
    passwords_ignore_email_case,
    auth_requests_crud,
    take_auth_request_once,
    take_auth_request_concurrently,
    take_pushed_request_once,
    take_pushed_request_concurrently,
    auth_codes_crud,
    redeem_auth_code_once,
    redeem_auth_code_concurrently,
    refresh_tokens_crud,
    rotate_refresh_token_once,
    rotate_refresh_token_concurrently,
    offline_sessions_upsert,
    revoked_access_tokens,
    keys_compare_and_swap,
    swap_keys_concurrently,
    device_flow_crud,
    device_token_cas_concurrently,
    web_sessions,
    garbage_collect_removes_only_expired,
    auth_sessions_crud,
    data_key_created_once,
    data_key_created_concurrently,
    claim_saml_assertion_once,
    claim_saml_assertion_concurrently,
    claim_jwt_id_once,
    claim_jwt_id_concurrently,
    failure_counts,
    count_failures_concurrently,
    logout_deliveries,
    claim_logout_delivery_concurrently,
);

// Backend-specific behaviour

/// Two replicas migrating one empty database at once must both start.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_replicas_migrate_concurrently() {
    let Some(database) = scratch_database().await else {
        return;
    };
    let options = database.options();
    let opened = race(4, |_| {
        let options = options.clone();
        async move { SqlStorage::open_postgres(&options).await }
    })
    .await;
    for storage in opened {
        let storage = storage.unwrap();
        storage.ping().await.unwrap();
        storage.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connect_errors_do_not_leak_the_password() {
    let options = PostgresOptions {
        host: "127.0.0.1".into(),
        port: 1, // nothing listens here
        database: "x".into(),
        user: "postgres".into(),
        password: Some(crate::types::Secret::new("hunter2-secret")),
        ssl_mode: "disable".into(),
        connect_timeout_secs: 2,
        ..PostgresOptions::default()
    };
    let Err(error) = SqlStorage::open_postgres(&options).await else {
        panic!("connecting to port 1 should fail");
    };
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// A SQLite file keeps its data across restarts, and re-running migrations is a no-op.
#[tokio::test]
async fn sqlite_file_reopens_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested name #1.db");
    let path = path.to_str().unwrap();
    let first = SqlStorage::open_sqlite(path).await.unwrap();
    first.create_client(&client("app")).await.unwrap();
    first.close().await;

    let second = SqlStorage::open_sqlite(path).await.unwrap();
    assert_eq!(second.get_client(&"app".into()).await.unwrap(), Some(client("app")));
}

/// Each in-memory storage is its own database.
#[tokio::test]
async fn memory_storages_are_independent() {
    let a = SqlStorage::open_memory().await.unwrap();
    let b = SqlStorage::open_memory().await.unwrap();
    a.create_client(&client("app")).await.unwrap();
    assert_eq!(b.get_client(&"app".into()).await.unwrap(), None);
    assert!(a.get_client(&"app".into()).await.unwrap().is_some());
}
