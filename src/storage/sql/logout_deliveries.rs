//! Back-channel logouts waiting to be delivered, shared by every replica.

use super::document::column;
use super::statement::sql;
use super::{SqlStorage, backend_error, changed};
use crate::storage::{LogoutDelivery, LogoutDeliveryStore, Result};
use crate::types::UnixTime;
use async_trait::async_trait;
use sqlx::any::AnyRow;

fn delivery(row: &AnyRow) -> Result<LogoutDelivery> {
    let client_id: String = column(row, "client_id")?;
    let attempts: i64 = column(row, "attempts")?;
    Ok(LogoutDelivery {
        id: column(row, "id")?,
        client_id: client_id.into(),
        uri: column(row, "uri")?,
        sub: column(row, "sub")?,
        sid: column(row, "sid")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt: column(row, "next_attempt")?,
        claimed_until: column(row, "claimed_until")?,
        expiry: column(row, "expiry")?,
    })
}

#[async_trait]
impl LogoutDeliveryStore for SqlStorage {
    async fn create_logout_delivery(&self, d: &LogoutDelivery) -> Result<()> {
        sqlx::query(self.sql(sql!(
            "INSERT INTO logout_deliveries \
             (id, client_id, uri, sub, sid, attempts, next_attempt, claimed_until, expiry) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(&d.id)
        .bind(d.client_id.as_str())
        .bind(&d.uri)
        .bind(&d.sub)
        .bind(&d.sid)
        .bind(i64::from(d.attempts))
        .bind(d.next_attempt)
        .bind(d.claimed_until)
        .bind(d.expiry)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn list_due_logout_deliveries(&self, now: UnixTime, limit: u32) -> Result<Vec<LogoutDelivery>> {
        let rows = sqlx::query(self.sql(sql!(
            "SELECT id, client_id, uri, sub, sid, attempts, next_attempt, claimed_until, expiry \
             FROM logout_deliveries \
             WHERE next_attempt <= $1 AND claimed_until < $2 AND expiry >= $3 \
             ORDER BY next_attempt LIMIT $4"
        )))
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        rows.iter().map(delivery).collect()
    }

    async fn claim_logout_delivery(&self, id: &str, now: UnixTime, until: UnixTime) -> Result<bool> {
        // Compare-and-set on the claim: of concurrent claims one finds it unclaimed.
        let done = sqlx::query(self.sql(sql!(
            "UPDATE logout_deliveries SET claimed_until = $1, attempts = attempts + 1 \
             WHERE id = $2 AND next_attempt <= $3 AND claimed_until < $4"
        )))
        .bind(until)
        .bind(id)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn reschedule_logout_delivery(&self, id: &str, next_attempt: UnixTime) -> Result<()> {
        sqlx::query(
            self.sql(sql!("UPDATE logout_deliveries SET next_attempt = $1, claimed_until = 0 WHERE id = $2")),
        )
        .bind(next_attempt)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn delete_logout_delivery(&self, id: &str) -> Result<()> {
        sqlx::query(self.sql(sql!("DELETE FROM logout_deliveries WHERE id = $1")))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}
