//! Logins in progress: auth requests, authorization codes, and the device flow (RFC 8628).
//!
//! A code's `redeemed_at` and `issued` are columns only (blanked in its JSON), so redemption is
//! one conditional UPDATE. A device token's `status` is both a column and in its JSON; both are
//! always written by the same statement.

use super::document::{
    AUTH_REQUESTS, DEVICE_REQUESTS, DEVICE_TOKENS, PUSHED_REQUESTS, column, data, from_json, insert_error,
    to_json,
};
use super::statement::{Sql, sql};
use super::{SqlStorage, backend_error, changed};
use crate::protocol::DeviceStatus;
use crate::storage::{
    AuthCode, AuthFlowStore, AuthRequest, DeviceRequest, DeviceStore, DeviceToken, IssuedTokens,
    PushedRequest, Redemption, Result,
};
use crate::types::UnixTime;
use async_trait::async_trait;
use sqlx::any::AnyRow;

const SELECT_AUTH_CODE: Sql = sql!("SELECT data, redeemed_at, issued FROM auth_codes WHERE id = $1");

/// Rebuilds a code from its JSON and the columns that own its redemption state.
fn auth_code(row: &AnyRow) -> Result<AuthCode> {
    let issued = column::<Option<String>>(row, "issued")?;
    Ok(AuthCode {
        redeemed_at: column(row, "redeemed_at")?,
        issued: issued.as_deref().map(from_json).transpose()?,
        ..data(row)?
    })
}

#[async_trait]
impl AuthFlowStore for SqlStorage {
    async fn create_auth_request(&self, request: &AuthRequest) -> Result<()> {
        sqlx::query(self.sql(sql!("INSERT INTO auth_requests (id, expiry, data) VALUES ($1, $2, $3)")))
            .bind(&request.id)
            .bind(request.expiry)
            .bind(to_json(request)?)
            .execute(&self.pool)
            .await
            .map_err(insert_error)?;
        Ok(())
    }

    async fn get_auth_request(&self, id: &str) -> Result<Option<AuthRequest>> {
        AUTH_REQUESTS.get(self, id).await
    }

    async fn update_auth_request(&self, request: &AuthRequest) -> Result<bool> {
        let done =
            sqlx::query(self.sql(sql!("UPDATE auth_requests SET expiry = $1, data = $2 WHERE id = $3")))
                .bind(request.expiry)
                .bind(to_json(request)?)
                .bind(&request.id)
                .execute(&self.pool)
                .await
                .map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn take_auth_request(&self, id: &str) -> Result<Option<AuthRequest>> {
        AUTH_REQUESTS.take(self, id).await
    }

    async fn delete_auth_request(&self, id: &str) -> Result<bool> {
        AUTH_REQUESTS.delete(self, id).await
    }

    async fn create_pushed_request(&self, request: &PushedRequest) -> Result<()> {
        sqlx::query(self.sql(sql!("INSERT INTO pushed_requests (id, expiry, data) VALUES ($1, $2, $3)")))
            .bind(&request.id)
            .bind(request.expiry)
            .bind(to_json(request)?)
            .execute(&self.pool)
            .await
            .map_err(insert_error)?;
        Ok(())
    }

    async fn get_pushed_request(&self, id: &str) -> Result<Option<PushedRequest>> {
        PUSHED_REQUESTS.get(self, id).await
    }

    async fn take_pushed_request(&self, id: &str) -> Result<Option<PushedRequest>> {
        PUSHED_REQUESTS.take(self, id).await
    }

    async fn create_auth_code(&self, code: &AuthCode) -> Result<()> {
        let document = AuthCode { redeemed_at: None, issued: None, ..code.clone() };
        let issued = code.issued.as_ref().map(to_json).transpose()?;
        sqlx::query(self.sql(sql!(
            "INSERT INTO auth_codes (id, expiry, redeemed_at, issued, data) VALUES ($1, $2, $3, $4, $5)"
        )))
        .bind(&code.id)
        .bind(code.expiry)
        .bind(code.redeemed_at)
        .bind(issued)
        .bind(to_json(&document)?)
        .execute(&self.pool)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_auth_code(&self, id: &str) -> Result<Option<AuthCode>> {
        let row = sqlx::query(self.sql(SELECT_AUTH_CODE))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
        row.as_ref().map(auth_code).transpose()
    }

    async fn redeem_auth_code(&self, id: &str, now: UnixTime) -> Result<Redemption> {
        // Only one UPDATE can see `redeemed_at IS NULL`: the database serializes the rest,
        // which then match no row and fall through to `Replayed`.
        if !self.dialect.has_returning() {
            return self.redeem_auth_code_in_transaction(id, now).await;
        }
        let fresh = sqlx::query(self.sql(sql!(
            "UPDATE auth_codes SET redeemed_at = $1 WHERE id = $2 AND redeemed_at IS NULL \
             RETURNING data, redeemed_at, issued"
        )))
        .bind(now)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        if let Some(row) = fresh {
            return Ok(Redemption::Fresh(auth_code(&row)?));
        }
        Ok(match self.get_auth_code(id).await? {
            Some(code) => Redemption::Replayed(code),
            None => Redemption::NotFound,
        })
    }

    async fn set_auth_code_issued(&self, id: &str, issued: &IssuedTokens) -> Result<()> {
        sqlx::query(self.sql(sql!("UPDATE auth_codes SET issued = $1 WHERE id = $2")))
            .bind(to_json(issued)?)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    async fn delete_auth_code(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(self.sql(sql!("DELETE FROM auth_codes WHERE id = $1")))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(changed(&done))
    }
}

impl SqlStorage {
    /// [`AuthFlowStore::redeem_auth_code`] where UPDATE has no `RETURNING` (MySQL): the
    /// UPDATE and the read of the row in one transaction, so the row read is the one this
    /// UPDATE redeemed, locked until the commit. A concurrent UPDATE waits for that lock, then
    /// finds `redeemed_at` set and matches no row.
    async fn redeem_auth_code_in_transaction(&self, id: &str, now: UnixTime) -> Result<Redemption> {
        let mut tx = self.pool.begin().await.map_err(backend_error)?;
        let done = sqlx::query(
            self.sql(sql!("UPDATE auth_codes SET redeemed_at = $1 WHERE id = $2 AND redeemed_at IS NULL")),
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        let row = sqlx::query(self.sql(SELECT_AUTH_CODE))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend_error)?;
        tx.commit().await.map_err(backend_error)?;
        Ok(match row {
            Some(row) if changed(&done) => Redemption::Fresh(auth_code(&row)?),
            Some(row) => Redemption::Replayed(auth_code(&row)?),
            None => Redemption::NotFound,
        })
    }
}

#[async_trait]
impl DeviceStore for SqlStorage {
    async fn create_device_request(&self, request: &DeviceRequest) -> Result<()> {
        sqlx::query(self.sql(sql!(
            "INSERT INTO device_requests (user_code, device_code, expiry, data) VALUES ($1, $2, $3, $4)"
        )))
        .bind(&request.user_code)
        .bind(&request.device_code)
        .bind(request.expiry)
        .bind(to_json(request)?)
        .execute(&self.pool)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_device_request(&self, user_code: &str) -> Result<Option<DeviceRequest>> {
        DEVICE_REQUESTS.get(self, user_code).await
    }

    async fn create_device_token(&self, token: &DeviceToken) -> Result<()> {
        sqlx::query(self.sql(sql!(
            "INSERT INTO device_tokens (device_code, status, expiry, data) VALUES ($1, $2, $3, $4)"
        )))
        .bind(&token.device_code)
        .bind(token.status.as_str())
        .bind(token.expiry)
        .bind(to_json(token)?)
        .execute(&self.pool)
        .await
        .map_err(insert_error)?;
        Ok(())
    }

    async fn get_device_token(&self, device_code: &str) -> Result<Option<DeviceToken>> {
        DEVICE_TOKENS.get(self, device_code).await
    }

    async fn update_device_token(&self, token: &DeviceToken, expected_status: DeviceStatus) -> Result<bool> {
        let done = sqlx::query(self.sql(sql!(
            "UPDATE device_tokens SET status = $1, expiry = $2, data = $3 WHERE device_code = $4 AND status = $5"
        )))
        .bind(token.status.as_str())
        .bind(token.expiry)
        .bind(to_json(token)?)
        .bind(&token.device_code)
        .bind(expected_status.as_str())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(changed(&done))
    }

    async fn take_device_token(&self, device_code: &str) -> Result<Option<DeviceToken>> {
        DEVICE_TOKENS.take(self, device_code).await
    }
}
