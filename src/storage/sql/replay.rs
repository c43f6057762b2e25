//! Claimed SAML assertion ids (the replay cache shared by every replica).

use super::{SqlStorage, backend_error, changed};
use crate::storage::{ReplayStore, Result};
use crate::types::UnixTime;
use async_trait::async_trait;

#[async_trait]
impl ReplayStore for SqlStorage {
    async fn claim_saml_assertion(&self, id: &str, expiry: UnixTime) -> Result<bool> {
        // The primary key decides: of concurrent inserts exactly one adds the row.
        let done =
            sqlx::query("INSERT INTO saml_replay (id, expiry) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
                .bind(id)
                .bind(expiry)
                .execute(&self.pool)
                .await
                .map_err(backend_error)?;
        Ok(changed(&done))
    }
}
