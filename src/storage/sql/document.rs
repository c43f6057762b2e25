//! Rows that keep a record as a JSON document.
//!
//! Most tables are `key, [a few indexed columns], data` where `data` is the serde_json form of
//! the record. Reading such a table has one shape whatever the record, so [`DocTable`] does it
//! once: get, list, delete and take (fetch-and-delete). Writes name their extra columns and
//! stay explicit in each store.

use super::statement::{Sql, sql};
use super::{SqlStorage, backend_error, changed};
use crate::storage::{Result, StorageError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A table whose rows hold a JSON record in `data`, addressed by one text key column: its
/// statements, built by [`doc_table!`] from the table and key names at compile time.
#[derive(Debug, Clone, Copy)]
pub(super) struct DocTable {
    get: Sql,
    list: Sql,
    take: Sql,
    /// `take` where there is no `RETURNING`: read and lock the row, then `delete` it.
    lock: Sql,
    delete: Sql,
    insert: Sql,
    replace: Sql,
}

macro_rules! doc_table {
    ($table:literal, $key:literal) => {
        DocTable {
            get: sql!(concat!("SELECT data FROM ", $table, " WHERE ", $key, " = $1")),
            list: sql!(concat!("SELECT data FROM ", $table, " ORDER BY ", $key)),
            take: sql!(concat!("DELETE FROM ", $table, " WHERE ", $key, " = $1 RETURNING data")),
            lock: sql!(concat!("SELECT data FROM ", $table, " WHERE ", $key, " = $1 FOR UPDATE")),
            delete: sql!(concat!("DELETE FROM ", $table, " WHERE ", $key, " = $1")),
            insert: sql!(concat!("INSERT INTO ", $table, " (", $key, ", data) VALUES ($1, $2)")),
            replace: sql!(concat!("UPDATE ", $table, " SET data = $1 WHERE ", $key, " = $2")),
        }
    };
}

pub(super) const CLIENTS: DocTable = doc_table!("clients", "id");
pub(super) const CONNECTORS: DocTable = doc_table!("connectors", "id");
pub(super) const PASSWORDS: DocTable = doc_table!("passwords", "email");
pub(super) const AUTH_REQUESTS: DocTable = doc_table!("auth_requests", "id");
pub(super) const PUSHED_REQUESTS: DocTable = doc_table!("pushed_requests", "id");
pub(super) const DEVICE_REQUESTS: DocTable = doc_table!("device_requests", "user_code");
pub(super) const DEVICE_TOKENS: DocTable = doc_table!("device_tokens", "device_code");

impl DocTable {
    pub async fn get<T: DeserializeOwned>(&self, db: &SqlStorage, key: &str) -> Result<Option<T>> {
        let row =
            sqlx::query(db.sql(self.get)).bind(key).fetch_optional(&db.pool).await.map_err(backend_error)?;
        row.map(|row| data(&row)).transpose()
    }

    /// Every record, ordered by key so listings are stable.
    pub async fn list<T: DeserializeOwned>(&self, db: &SqlStorage) -> Result<Vec<T>> {
        let rows = sqlx::query(db.sql(self.list)).fetch_all(&db.pool).await.map_err(backend_error)?;
        rows.iter().map(data).collect()
    }

    /// Deletes the row and returns its record: of concurrent callers exactly one gets `Some`.
    ///
    /// With `RETURNING` this is one statement, and only one DELETE can remove the row. Without
    /// (MySQL), the row is read with `FOR UPDATE` and deleted in one transaction: a concurrent
    /// caller waits for the row lock and then reads no row.
    pub async fn take<T: DeserializeOwned>(&self, db: &SqlStorage, key: &str) -> Result<Option<T>> {
        let row = if db.dialect.has_returning() {
            sqlx::query(db.sql(self.take)).bind(key).fetch_optional(&db.pool).await.map_err(backend_error)?
        } else {
            let mut tx = db.pool.begin().await.map_err(backend_error)?;
            let row = sqlx::query(db.sql(self.lock))
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend_error)?;
            let row = match row {
                Some(row) => {
                    let done = sqlx::query(db.sql(self.delete))
                        .bind(key)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                    changed(&done).then_some(row)
                }
                None => None,
            };
            tx.commit().await.map_err(backend_error)?;
            row
        };
        row.map(|row| data(&row)).transpose()
    }

    pub async fn delete(&self, db: &SqlStorage, key: &str) -> Result<bool> {
        let done =
            sqlx::query(db.sql(self.delete)).bind(key).execute(&db.pool).await.map_err(backend_error)?;
        Ok(changed(&done))
    }

    /// Inserts into a `key, data` table; `AlreadyExists` when the key is taken.
    pub async fn insert<T: Serialize>(&self, db: &SqlStorage, key: &str, record: &T) -> Result<()> {
        sqlx::query(db.sql(self.insert))
            .bind(key)
            .bind(to_json(record)?)
            .execute(&db.pool)
            .await
            .map_err(insert_error)?;
        Ok(())
    }

    /// Replaces the record of a `key, data` row; `false` when there is none.
    pub async fn replace<T: Serialize>(&self, db: &SqlStorage, key: &str, record: &T) -> Result<bool> {
        let done = sqlx::query(db.sql(self.replace))
            .bind(to_json(record)?)
            .bind(key)
            .execute(&db.pool)
            .await
            .map_err(backend_error)?;
        Ok(changed(&done))
    }
}

/// Maps a failed INSERT: a unique violation means the key is taken. Checking by catching the
/// violation (rather than reading first) is what keeps concurrent creates from both winning.
pub(super) fn insert_error(error: sqlx::Error) -> StorageError {
    match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StorageError::AlreadyExists,
        _ => backend_error(error),
    }
}

pub(super) fn to_json<T: Serialize>(record: &T) -> Result<String> {
    serde_json::to_string(record).map_err(|e| StorageError::Backend(format!("encoding a record: {e}")))
}

pub(super) fn from_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// The record in the row's `data` column.
pub(super) fn data<T: DeserializeOwned>(row: &AnyRow) -> Result<T> {
    from_json(&column::<String>(row, "data")?)
}

/// One typed column; a type mismatch means the row does not match the schema.
pub(super) fn column<T>(row: &AnyRow, name: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name).map_err(|e| StorageError::Corrupt(format!("column {name}: {e}")))
}
