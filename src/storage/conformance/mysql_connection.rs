//! What only MySQL/MariaDB needs checking: the session every connection runs in, the
//! migration lock, strict mode, and the password kept out of errors. (The contract itself is
//! the `mysql::` half of the suite.)

use super::fixtures::client;
use super::harness::{mysql_scratch_database, race};
use crate::storage::sql::{MysqlOptions, MysqlSslMode, SessionValue, SqlStorage};
use crate::storage::{ClientStore, Storage};
use sqlx::Row;

/// Two replicas migrating one empty database at once must both start (sqlx's own lock,
/// `GET_LOCK(name, -1)`, does not wait on MariaDB: most of them failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_replicas_migrate_concurrently() {
    let Some(database) = mysql_scratch_database().await else {
        return;
    };
    let options = database.options();
    let opened = race(4, |_| {
        let options = options.clone();
        async move { SqlStorage::open_mysql(&options).await }
    })
    .await;
    for storage in opened {
        let storage = storage.unwrap();
        storage.ping().await.unwrap();
        storage.close().await;
    }
    // Opening again finds every migration applied.
    let again = SqlStorage::open_mysql(&options).await.unwrap();
    again.create_client(&client("app")).await.unwrap();
    again.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_sessions_are_read_committed_strict_utf8mb4_with_params() {
    let Some(database) = mysql_scratch_database().await else {
        return;
    };
    let storage = SqlStorage::open_mysql(&database.options()).await.unwrap();
    let mut connection = storage.pool().acquire().await.unwrap();
    let text = |row: &sqlx::any::AnyRow, i: usize| row.try_get::<String, _>(i).unwrap();
    let row = sqlx::query("SELECT @@session.sql_mode, @@character_set_connection, @@character_set_client")
        .fetch_one(&mut *connection)
        .await
        .unwrap();
    assert!(text(&row, 0).split(',').any(|mode| mode == "STRICT_ALL_TABLES"), "{}", text(&row, 0));
    assert_eq!((text(&row, 1), text(&row, 2)), ("utf8mb4".to_owned(), "utf8mb4".to_owned()));
    // MySQL 8 knows only `transaction_isolation`, MariaDB before 11.1 only `tx_isolation`.
    let isolation =
        match sqlx::query("SELECT @@session.transaction_isolation").fetch_one(&mut *connection).await {
            Ok(row) => text(&row, 0),
            Err(_) => text(
                &sqlx::query("SELECT @@session.tx_isolation").fetch_one(&mut *connection).await.unwrap(),
                0,
            ),
        };
    assert_eq!(isolation, "READ-COMMITTED");
    let row =
        sqlx::query("SELECT @@session.innodb_lock_wait_timeout").fetch_one(&mut *connection).await.unwrap();
    assert_eq!(row.try_get::<i64, _>(0).unwrap(), 10, "set by the scratch options' `params`");
    drop(connection);
    storage.close().await;
}

/// Strict mode: a key longer than its column is an error, never cut to a prefix that could
/// name another record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_refuses_a_key_too_long_instead_of_truncating_it() {
    let Some(database) = mysql_scratch_database().await else {
        return;
    };
    let storage = SqlStorage::open_mysql(&database.options()).await.unwrap();
    let long = "a".repeat(300);
    assert!(storage.create_client(&client(&long)).await.is_err());
    assert_eq!(storage.get_client(&"a".repeat(255).as_str().into()).await.unwrap(), None);
    storage.close().await;
}

/// A known difference, documented in the README: `utf8mb4_bin` is a PAD SPACE collation, so
/// keys that differ only by trailing spaces are the same key. (Ids Tessera makes never end in
/// a space.) Should this start failing, a NO PAD collation is in use: update the README.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_keys_ignore_trailing_spaces() {
    let Some(database) = mysql_scratch_database().await else {
        return;
    };
    let storage = SqlStorage::open_mysql(&database.options()).await.unwrap();
    storage.create_client(&client("app")).await.unwrap();
    assert!(storage.get_client(&"app ".into()).await.unwrap().is_some());
    assert!(storage.get_client(&"APP".into()).await.unwrap().is_none(), "but case still counts");
    storage.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_params_that_are_not_plain_names_are_refused() {
    let Some(database) = mysql_scratch_database().await else {
        return;
    };
    for name in ["sql_mode", "x = 1; DROP DATABASE y", ""] {
        let options = MysqlOptions {
            params: vec![(name.into(), SessionValue::Text("ANSI".into()))],
            ..database.options()
        };
        let Err(error) = SqlStorage::open_mysql(&options).await else {
            panic!("params {name:?} accepted");
        };
        assert!(error.to_string().contains("params"), "{error}");
    }
    // A value the server refuses fails the connection, and so the start.
    let options = MysqlOptions {
        params: vec![("innodb_lock_wait_timeout".into(), SessionValue::Text("soon".into()))],
        connect_timeout_secs: 5,
        ..database.options()
    };
    assert!(SqlStorage::open_mysql(&options).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_connect_errors_do_not_leak_the_password() {
    let nowhere = MysqlOptions {
        host: "127.0.0.1".into(),
        port: 1, // nothing listens here
        database: "x".into(),
        user: "root".into(),
        password: Some(crate::types::Secret::new("hunter2-secret")),
        ssl_mode: MysqlSslMode::Disabled,
        connect_timeout_secs: 2,
        ..MysqlOptions::default()
    };
    let Err(error) = SqlStorage::open_mysql(&nowhere).await else {
        panic!("connecting to port 1 should fail");
    };
    assert!(!error.to_string().contains("hunter2"), "{error}");

    // The real server, refusing the password.
    let Some(database) = mysql_scratch_database().await else {
        return;
    };
    let refused = MysqlOptions {
        user: "root".into(),
        password: Some(crate::types::Secret::new("hunter2-secret")),
        connect_timeout_secs: 5,
        ..database.options()
    };
    let Err(error) = SqlStorage::open_mysql(&refused).await else {
        panic!("root has no password on the test server; a wrong one should be refused");
    };
    assert!(!error.to_string().contains("hunter2"), "{error}");
}
