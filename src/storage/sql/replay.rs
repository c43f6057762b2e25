//! Claimed SAML assertion ids and JWT ids (the replay caches shared by every replica).

use super::statement::sql;
use super::{SqlStorage, inserted};
use crate::storage::{ReplayStore, Result};
use crate::types::UnixTime;
use async_trait::async_trait;

#[async_trait]
impl ReplayStore for SqlStorage {
    async fn claim_saml_assertion(&self, id: &str, expiry: UnixTime) -> Result<bool> {
        // The primary key decides: of concurrent inserts exactly one adds the row.
        let insert = sqlx::query(self.sql(sql!(
            "INSERT INTO saml_replay (id, expiry) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            mysql: "INSERT INTO saml_replay (id, expiry) VALUES (?, ?)"
        )))
        .bind(id)
        .bind(expiry)
        .execute(&self.pool)
        .await;
        inserted(insert)
    }

    async fn claim_jwt_id(&self, key: &str, expiry: UnixTime) -> Result<bool> {
        let insert = sqlx::query(self.sql(sql!(
            "INSERT INTO jwt_replay (id, expiry) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            mysql: "INSERT INTO jwt_replay (id, expiry) VALUES (?, ?)"
        )))
        .bind(key)
        .bind(expiry)
        .execute(&self.pool)
        .await;
        inserted(insert)
    }
}
