//! Failure counts for brute-force protection, shared by every replica.

use super::document::column;
use super::statement::sql;
use super::{SqlStorage, backend_error};
use crate::storage::{Failures, Result, ThrottleStore};
use crate::types::UnixTime;
use async_trait::async_trait;
use sqlx::any::AnyRow;

fn failures(row: &AnyRow) -> Result<Failures> {
    let count: i64 = column(row, "failures")?;
    Ok(Failures { count: u64::try_from(count).unwrap_or(0), last: column(row, "last_failure")? })
}

#[async_trait]
impl ThrottleStore for SqlStorage {
    async fn count_failure(&self, key: &str, now: UnixTime, forget_at: UnixTime) -> Result<Failures> {
        // One statement: the database adds concurrent failures one after the other. A count
        // already forgotten (its row not yet collected) starts again.
        sqlx::query(self.sql(sql!(
            "INSERT INTO failed_attempts (id, failures, last_failure, forget_at) VALUES ($1, 1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET \
             failures = CASE WHEN failed_attempts.forget_at < excluded.last_failure THEN 1 \
                        ELSE failed_attempts.failures + 1 END, \
             last_failure = excluded.last_failure, forget_at = excluded.forget_at",
            // MySQL assigns left to right: `failures` still sees the old `forget_at`.
            mysql: "INSERT INTO failed_attempts (id, failures, last_failure, forget_at) VALUES (?, 1, ?, ?) \
                    ON DUPLICATE KEY UPDATE \
                    failures = IF(forget_at < VALUES(last_failure), 1, failures + 1), \
                    last_failure = VALUES(last_failure), forget_at = VALUES(forget_at)"
        )))
        .bind(key)
        .bind(now)
        .bind(forget_at)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        let row =
            sqlx::query(self.sql(sql!("SELECT failures, last_failure FROM failed_attempts WHERE id = $1")))
                .bind(key)
                .fetch_one(&self.pool)
                .await
                .map_err(backend_error)?;
        failures(&row)
    }

    async fn get_failures(&self, key: &str, now: UnixTime) -> Result<Option<Failures>> {
        let row = sqlx::query(self.sql(sql!(
            "SELECT failures, last_failure FROM failed_attempts WHERE id = $1 AND forget_at >= $2"
        )))
        .bind(key)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        row.as_ref().map(failures).transpose()
    }

    async fn delete_failures(&self, key: &str) -> Result<()> {
        sqlx::query(self.sql(sql!("DELETE FROM failed_attempts WHERE id = $1")))
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}
