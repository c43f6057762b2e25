//! Browser sessions (tower-sessions records): opaque bytes with an expiry.

use super::document::column;
use super::statement::sql;
use super::{SqlStorage, backend_error, inserted};
use crate::storage::{Result, SessionStore, WebSession};
use crate::types::UnixTime;
use async_trait::async_trait;

#[async_trait]
impl SessionStore for SqlStorage {
    async fn create_web_session(&self, session: &WebSession) -> Result<bool> {
        // DO NOTHING rather than a unique-violation error: a taken id is an expected outcome.
        let insert = sqlx::query(self.sql(sql!(
            "INSERT INTO web_sessions (id, expiry, data) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            mysql: "INSERT INTO web_sessions (id, expiry, data) VALUES (?, ?, ?)"
        )))
        .bind(&session.id)
        .bind(session.expiry)
        .bind(session.data.clone())
        .execute(&self.pool)
        .await;
        inserted(insert)
    }

    async fn save_web_session(&self, session: &WebSession) -> Result<()> {
        sqlx::query(self.sql(sql!(
            "INSERT INTO web_sessions (id, expiry, data) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET expiry = excluded.expiry, data = excluded.data",
            mysql: "INSERT INTO web_sessions (id, expiry, data) VALUES (?, ?, ?) \
                    ON DUPLICATE KEY UPDATE expiry = VALUES(expiry), data = VALUES(data)"
        )))
        .bind(&session.id)
        .bind(session.expiry)
        .bind(session.data.clone())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    /// A session is live until the second of its expiry: `expiry < now` is expired, the same
    /// rule `garbage_collect` deletes by.
    async fn load_web_session(&self, id: &str, now: UnixTime) -> Result<Option<WebSession>> {
        let row = sqlx::query(
            self.sql(sql!("SELECT id, expiry, data FROM web_sessions WHERE id = $1 AND expiry >= $2")),
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(WebSession {
            id: column(&row, "id")?,
            expiry: column(&row, "expiry")?,
            data: column(&row, "data")?,
        }))
    }

    async fn delete_web_session(&self, id: &str) -> Result<()> {
        sqlx::query(self.sql(sql!("DELETE FROM web_sessions WHERE id = $1")))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}
