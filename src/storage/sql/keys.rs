//! The signing key set: one row, replaced by compare-and-swap on its `version` column.
//!
//! Replicas rotate independently; the first swap from a version wins and the others see
//! `false`, re-read, and use the winner's keys (see `signer/`).
//!
//! The data-encryption key (`data_keys`) is created once, by whichever replica comes first.

use super::document::{column, data, to_json};
use super::statement::sql;
use super::{SqlStorage, backend_error, changed, inserted};
use crate::storage::{KeyStore, Keys, Result};
use async_trait::async_trait;

/// The id of the only row in `keys`.
const KEY_SET: &str = "signing";
/// The id of the data-encryption key in `data_keys`.
const DATA_KEY: &str = "connector-data";

#[async_trait]
impl KeyStore for SqlStorage {
    async fn get_keys(&self) -> Result<Keys> {
        let row = sqlx::query(self.sql(sql!(r#"SELECT version, data FROM "keys" WHERE id = $1"#)))
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
        if expected_version == 0 {
            let insert = sqlx::query(self.sql(sql!(
                r#"INSERT INTO "keys" (id, version, data) VALUES ($1, 1, $2) ON CONFLICT (id) DO NOTHING"#,
                mysql: "INSERT INTO `keys` (id, version, data) VALUES (?, 1, ?)"
            )))
            .bind(KEY_SET)
            .bind(document)
            .execute(&self.pool)
            .await;
            return inserted(insert);
        }
        let done = sqlx::query(self.sql(sql!(
            r#"UPDATE "keys" SET version = version + 1, data = $1 WHERE id = $2 AND version = $3"#
        )))
        .bind(document)
        .bind(KEY_SET)
        .bind(expected_version)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn get_or_create_data_key(&self, candidate: &[u8]) -> Result<Vec<u8>> {
        // The first writer wins; everyone (the winner included) then reads the stored key.
        let insert = sqlx::query(self.sql(sql!(
            r#"INSERT INTO data_keys (id, "key") VALUES ($1, $2) ON CONFLICT (id) DO NOTHING"#,
            mysql: "INSERT INTO data_keys (id, `key`) VALUES (?, ?)"
        )))
        .bind(DATA_KEY)
        .bind(candidate.to_vec())
        .execute(&self.pool)
        .await;
        inserted(insert)?;
        let row = sqlx::query(self.sql(sql!(r#"SELECT "key" FROM data_keys WHERE id = $1"#)))
            .bind(DATA_KEY)
            .fetch_one(&self.pool)
            .await
            .map_err(backend_error)?;
        column(&row, "key")
    }
}
