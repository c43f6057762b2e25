//! The signing key set: one row, replaced by compare-and-swap on its `version` column.
//!
//! Replicas rotate independently; the first swap from a version wins and the others see
//! `false`, re-read, and use the winner's keys (see `signer/`).
//!
//! The data-encryption key (`data_keys`) is created once, by whichever replica comes first.

use super::document::{column, data, to_json};
use super::{SqlStorage, backend_error, changed};
use crate::storage::{KeyStore, Keys, Result};
use async_trait::async_trait;

/// The id of the only row in `keys`.
const KEY_SET: &str = "signing";
/// The id of the data-encryption key in `data_keys`.
const DATA_KEY: &str = "connector-data";

#[async_trait]
impl KeyStore for SqlStorage {
    async fn get_keys(&self) -> Result<Keys> {
        let row = sqlx::query("SELECT version, data FROM keys WHERE id = $1")
            .bind(KEY_SET)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        let Some(row) = row else {
            return Ok(Keys::default());
        };
        Ok(Keys { version: column(&row, "version")?, ..data(&row)? })
    }

    async fn swap_keys(&self, expected_version: i64, new: &Keys) -> Result<bool> {
        let document = to_json(new)?;
        // Version 0 means "none stored": the first writer inserts, a racing one conflicts.
        // Otherwise only an UPDATE that still sees `expected_version` succeeds.
        let statement = if expected_version == 0 {
            sqlx::query("INSERT INTO keys (id, version, data) VALUES ($1, 1, $2) ON CONFLICT (id) DO NOTHING")
                .bind(KEY_SET)
                .bind(document)
        } else {
            sqlx::query("UPDATE keys SET version = version + 1, data = $3 WHERE id = $1 AND version = $2")
                .bind(KEY_SET)
                .bind(expected_version)
                .bind(document)
        };
        let done = statement.execute(&self.pool).await.map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn get_or_create_data_key(&self, candidate: &[u8]) -> Result<Vec<u8>> {
        // The first writer wins; everyone (the winner included) then reads the stored key.
        sqlx::query("INSERT INTO data_keys (id, key) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(DATA_KEY)
            .bind(candidate.to_vec())
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        let row = sqlx::query("SELECT key FROM data_keys WHERE id = $1")
            .bind(DATA_KEY)
            .fetch_one(&self.pool)
            .await
            .map_err(backend_error)?;
        column(&row, "key")
    }
}
