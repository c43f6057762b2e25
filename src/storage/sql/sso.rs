//! Single sign-on sessions: a JSON record with its owner and expiry in columns (for GC), and
//! the refresh tokens bound to a session.

use super::document::{data, insert_error, to_json};
use super::statement::sql;
use super::{SqlStorage, backend_error, changed};
use crate::storage::{AuthSession, AuthSessionStore, Result};
use async_trait::async_trait;

#[async_trait]
impl AuthSessionStore for SqlStorage {
    async fn create_auth_session(&self, session: &AuthSession) -> Result<()> {
        sqlx::query(self.sql(sql!(
            "INSERT INTO auth_sessions (id, user_id, connector_id, expiry, data) VALUES ($1, $2, $3, $4, $5)"
        )))
        .bind(&session.id)
        .bind(&session.claims.user_id)
        .bind(session.connector_id.as_str())
        .bind(session.expiry())
        .bind(to_json(session)?)
        .execute(&self.pool)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_auth_session(&self, id: &str) -> Result<Option<AuthSession>> {
        let row = sqlx::query(self.sql(sql!("SELECT data FROM auth_sessions WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        row.map(|row| data(&row)).transpose()
    }

    async fn update_auth_session(&self, session: &AuthSession) -> Result<bool> {
        let done =
            sqlx::query(self.sql(sql!("UPDATE auth_sessions SET expiry = $1, data = $2 WHERE id = $3")))
                .bind(session.expiry())
                .bind(to_json(session)?)
                .bind(&session.id)
                .execute(&self.pool)
                .await
                .map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn delete_auth_session(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(self.sql(sql!("DELETE FROM auth_sessions WHERE id = $1")))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn delete_refresh_tokens_for_session(&self, session_id: &str) -> Result<u64> {
        if session_id.is_empty() {
            // Standalone tokens carry an empty session id: never match them.
            return Ok(0);
        }
        let done = sqlx::query(self.sql(sql!("DELETE FROM refresh_tokens WHERE session_id = $1")))
            .bind(session_id)
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(done.rows_affected())
    }
}
