//! Refresh tokens, offline sessions and revoked access tokens.
//!
//! A refresh token row keeps everything a rotation or a touch changes in columns (hashes,
//! salt, times, claims, connector data), so [`RefreshStore::rotate_refresh_token`] is a single
//! compare-and-swap UPDATE on `token_hash`. Its JSON `data` holds only what never changes after
//! creation ([`RefreshDocument`]).

use super::document::{column, data, from_json, insert_error, to_json};
use super::statement::sql;
use super::{SqlStorage, backend_error, changed};
use crate::storage::{OfflineSession, RefreshRotation, RefreshStore, RefreshToken, Result};
use crate::types::{ClientId, ConnectorId, UnixTime};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

/// The immutable part of a [`RefreshToken`], stored as JSON.
#[derive(Serialize, Deserialize)]
struct RefreshDocument {
    client_id: ClientId,
    scopes: Vec<String>,
    nonce: String,
    session_id: String,
    created_at: UnixTime,
    auth_time: UnixTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop_jkt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_if_not_used_for: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<String>,
}

impl From<&RefreshToken> for RefreshDocument {
    fn from(token: &RefreshToken) -> Self {
        Self {
            client_id: token.client_id.clone(),
            scopes: token.scopes.clone(),
            nonce: token.nonce.clone(),
            session_id: token.session_id.clone(),
            created_at: token.created_at,
            auth_time: token.auth_time,
            dpop_jkt: token.dpop_jkt.clone(),
            valid_if_not_used_for: token.valid_if_not_used_for,
            resources: token.resources.clone(),
        }
    }
}

/// Rebuilds a token from its columns and its [`RefreshDocument`].
fn refresh_token(row: &AnyRow) -> Result<RefreshToken> {
    let document: RefreshDocument = data(row)?;
    Ok(RefreshToken {
        id: column(row, "id")?,
        token_hash: column(row, "token_hash")?,
        obsolete_hash: column(row, "obsolete_hash")?,
        rotation_salt: column(row, "rotation_salt")?,
        rotated_at_ms: column(row, "rotated_at_ms")?,
        created_at: document.created_at,
        last_used: column(row, "last_used")?,
        expires_at: column(row, "expires_at")?,
        client_id: document.client_id,
        connector_id: ConnectorId::new(column::<String>(row, "connector_id")?),
        connector_data: column(row, "connector_data")?,
        claims: from_json(&column::<String>(row, "claims")?)?,
        scopes: document.scopes,
        nonce: document.nonce,
        session_id: document.session_id,
        auth_time: document.auth_time,
        dpop_jkt: document.dpop_jkt,
        valid_if_not_used_for: document.valid_if_not_used_for,
        resources: document.resources,
    })
}

#[async_trait]
impl RefreshStore for SqlStorage {
    async fn create_refresh_token(&self, token: &RefreshToken) -> Result<()> {
        sqlx::query(self.sql(sql!(
            "INSERT INTO refresh_tokens (id, user_id, connector_id, expires_at, token_hash, obsolete_hash, \
             rotation_salt, rotated_at_ms, last_used, claims, connector_data, data, session_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )))
        .bind(&token.id)
        .bind(&token.claims.user_id)
        .bind(token.connector_id.as_str())
        .bind(token.expires_at)
        .bind(token.token_hash.clone())
        .bind(token.obsolete_hash.clone())
        .bind(token.rotation_salt.clone())
        .bind(token.rotated_at_ms)
        .bind(token.last_used)
        .bind(to_json(&token.claims)?)
        .bind(token.connector_data.clone())
        .bind(to_json(&RefreshDocument::from(token))?)
        .bind(&token.session_id)
        .execute(&self.pool)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_refresh_token(&self, id: &str) -> Result<Option<RefreshToken>> {
        let row = sqlx::query(self.sql(sql!("SELECT * FROM refresh_tokens WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        row.as_ref().map(refresh_token).transpose()
    }

    async fn rotate_refresh_token(&self, id: &str, rotation: &RefreshRotation) -> Result<bool> {
        // `obsolete_hash = token_hash` reads the value before this UPDATE: SQL semantics in
        // SQLite and PostgreSQL, and in MySQL because it is the first assignment (MySQL
        // assigns left to right, each seeing the ones before it): keep it first. The WHERE
        // clause is the compare of the compare-and-swap: after the first rotation commits, the
        // others' expected hash no longer matches.
        let done = sqlx::query(self.sql(sql!(
            "UPDATE refresh_tokens SET obsolete_hash = token_hash, token_hash = $1, rotation_salt = $2, \
             rotated_at_ms = $3, last_used = $4, claims = $5, connector_data = $6 \
             WHERE id = $7 AND token_hash = $8"
        )))
        .bind(rotation.new_hash.clone())
        .bind(rotation.rotation_salt.clone())
        .bind(rotation.now_ms)
        .bind(rotation.now)
        .bind(to_json(&rotation.claims)?)
        .bind(rotation.connector_data.clone())
        .bind(id)
        .bind(rotation.expected_hash.clone())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn touch_refresh_token(&self, id: &str, now: UnixTime) -> Result<()> {
        sqlx::query(self.sql(sql!("UPDATE refresh_tokens SET last_used = $1 WHERE id = $2")))
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    async fn delete_refresh_token(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(self.sql(sql!("DELETE FROM refresh_tokens WHERE id = $1")))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn list_refresh_tokens_for_user(
        &self,
        user_id: &str,
        connector_id: &ConnectorId,
    ) -> Result<Vec<RefreshToken>> {
        let rows =
            sqlx::query(self.sql(sql!(
                "SELECT * FROM refresh_tokens WHERE user_id = $1 AND connector_id = $2 ORDER BY id"
            )))
            .bind(user_id)
            .bind(connector_id.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(backend_error)?;
        rows.iter().map(refresh_token).collect()
    }

    async fn upsert_offline_session(&self, session: &OfflineSession) -> Result<()> {
        sqlx::query(self.sql(sql!(
            "INSERT INTO offline_sessions (user_id, connector_id, data) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, connector_id) DO UPDATE SET data = excluded.data",
            mysql: "INSERT INTO offline_sessions (user_id, connector_id, data) VALUES (?, ?, ?) \
                    ON DUPLICATE KEY UPDATE data = VALUES(data)"
        )))
        .bind(&session.user_id)
        .bind(session.connector_id.as_str())
        .bind(to_json(session)?)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn get_offline_session(
        &self,
        user_id: &str,
        connector_id: &ConnectorId,
    ) -> Result<Option<OfflineSession>> {
        let row = sqlx::query(
            self.sql(sql!("SELECT data FROM offline_sessions WHERE user_id = $1 AND connector_id = $2")),
        )
        .bind(user_id)
        .bind(connector_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        row.as_ref().map(data).transpose()
    }

    async fn delete_offline_session(&self, user_id: &str, connector_id: &ConnectorId) -> Result<bool> {
        let done = sqlx::query(
            self.sql(sql!("DELETE FROM offline_sessions WHERE user_id = $1 AND connector_id = $2")),
        )
        .bind(user_id)
        .bind(connector_id.as_str())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn revoke_access_token(&self, jti: &str, expiry: UnixTime, revoked_at: UnixTime) -> Result<()> {
        // Revoking twice is not an error; the expiry and time of the latest call are kept.
        sqlx::query(self.sql(sql!(
            "INSERT INTO revoked_tokens (jti, expiry, revoked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (jti) DO UPDATE SET expiry = excluded.expiry, revoked_at = excluded.revoked_at",
            mysql: "INSERT INTO revoked_tokens (jti, expiry, revoked_at) VALUES (?, ?, ?) \
                    ON DUPLICATE KEY UPDATE expiry = VALUES(expiry), revoked_at = VALUES(revoked_at)"
        )))
        .bind(jti)
        .bind(expiry)
        .bind(revoked_at)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool> {
        let row = sqlx::query(self.sql(sql!("SELECT jti FROM revoked_tokens WHERE jti = $1")))
            .bind(jti)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(row.is_some())
    }

    async fn revoked_access_tokens_since(
        &self,
        since: UnixTime,
        now: UnixTime,
    ) -> Result<Vec<(String, UnixTime)>> {
        let rows = sqlx::query(
            self.sql(sql!("SELECT jti, expiry FROM revoked_tokens WHERE revoked_at >= $1 AND expiry > $2")),
        )
        .bind(since)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        rows.iter().map(|row| Ok((column(row, "jti")?, column(row, "expiry")?))).collect()
    }
}
