//! Rows that keep a record as a JSON document.
//!
//! Most tables are `key, [a few indexed columns], data` where `data` is the serde_json form of
//! the record. Reading such a table has one shape whatever the record, so [`DocTable`] does it
//! once: get, list, delete and take (fetch-and-delete). Writes name their extra columns and
//! stay explicit in each store.

use super::{backend_error, changed};
use crate::storage::{Result, StorageError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};

/// A table whose rows hold a JSON record in `data`, addressed by one text key column.
///
/// `table` and `key` are compile-time constants of this module tree, never user input: that is
/// what makes the SQL built from them below safe.
#[derive(Debug, Clone, Copy)]
pub(super) struct DocTable {
    table: &'static str,
    key: &'static str,
}

pub(super) const CLIENTS: DocTable = DocTable::new("clients", "id");
pub(super) const CONNECTORS: DocTable = DocTable::new("connectors", "id");
pub(super) const PASSWORDS: DocTable = DocTable::new("passwords", "email");
pub(super) const AUTH_REQUESTS: DocTable = DocTable::new("auth_requests", "id");
pub(super) const DEVICE_REQUESTS: DocTable = DocTable::new("device_requests", "user_code");
pub(super) const DEVICE_TOKENS: DocTable = DocTable::new("device_tokens", "device_code");

impl DocTable {
    const fn new(table: &'static str, key: &'static str) -> Self {
        Self { table, key }
    }

    fn sql(&self, template: &str) -> AssertSqlSafe<String> {
        AssertSqlSafe(template.replace("{table}", self.table).replace("{key}", self.key))
    }

    pub async fn get<T: DeserializeOwned>(&self, pool: &AnyPool, key: &str) -> Result<Option<T>> {
        let row = sqlx::query(self.sql("SELECT data FROM {table} WHERE {key} = $1"))
            .bind(key)
            .fetch_optional(pool)
            .await
            .map_err(backend_error)?;
        row.map(|row| data(&row)).transpose()
    }

    /// Every record, ordered by key so listings are stable.
    pub async fn list<T: DeserializeOwned>(&self, pool: &AnyPool) -> Result<Vec<T>> {
        let rows = sqlx::query(self.sql("SELECT data FROM {table} ORDER BY {key}"))
            .fetch_all(pool)
            .await
            .map_err(backend_error)?;
        rows.iter().map(data).collect()
    }

    /// Deletes the row and returns its record in one statement: of concurrent callers exactly
    /// one gets `Some`, because only one DELETE can remove the row.
    pub async fn take<T: DeserializeOwned>(&self, pool: &AnyPool, key: &str) -> Result<Option<T>> {
        let row = sqlx::query(self.sql("DELETE FROM {table} WHERE {key} = $1 RETURNING data"))
            .bind(key)
            .fetch_optional(pool)
            .await
            .map_err(backend_error)?;
        row.map(|row| data(&row)).transpose()
    }

    pub async fn delete(&self, pool: &AnyPool, key: &str) -> Result<bool> {
        let done = sqlx::query(self.sql("DELETE FROM {table} WHERE {key} = $1"))
            .bind(key)
            .execute(pool)
            .await
            .map_err(backend_error)?;
        Ok(changed(&done))
    }

    /// Inserts into a `key, data` table; `AlreadyExists` when the key is taken.
    pub async fn insert<T: Serialize>(&self, pool: &AnyPool, key: &str, record: &T) -> Result<()> {
        sqlx::query(self.sql("INSERT INTO {table} ({key}, data) VALUES ($1, $2)"))
            .bind(key)
            .bind(to_json(record)?)
            .execute(pool)
            .await
            .map_err(insert_error)?;
        Ok(())
    }

    /// Replaces the record of a `key, data` row; `false` when there is none.
    pub async fn replace<T: Serialize>(&self, pool: &AnyPool, key: &str, record: &T) -> Result<bool> {
        let done = sqlx::query(self.sql("UPDATE {table} SET data = $2 WHERE {key} = $1"))
            .bind(key)
            .bind(to_json(record)?)
            .execute(pool)
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
