//! The device code grant (RFC 8628 §3.4, §3.5): the device polls with its device code until
//! the user has finished in a browser. [`decide`] decides each answer; this applies it:
//! remember the poll (for `slow_down`), or hand out the stored token response exactly once.

use super::{DeviceCodeRequest, GrantContext};
use crate::oauth2::error::{ErrorCode, OAuthError};
use crate::oauth2::tokens::TokenResponse;
use crate::protocol::DeviceStatus;
use crate::storage::Client;
use crate::storage::DeviceToken;
use crate::types::UnixTime;

fn unknown() -> OAuthError {
    OAuthError::invalid_grant("Invalid, expired or already used device code.")
}

/// The polling interval the device starts with (§3.2 `interval`), in seconds.
pub const INTERVAL: i64 = 5;
/// How much the interval grows each time the device polls too fast (§3.5 `slow_down`).
pub const SLOW_DOWN_STEP: i64 = 5;

/// What one poll of the token endpoint finds (§3.5).
#[derive(Debug, PartialEq, Eq)]
pub enum Poll {
    /// Hand out the stored token response (once).
    Complete,
    /// `access_denied`.
    Denied,
    /// `expired_token`.
    Expired,
    /// Not yet: store `next` (this poll's time and the interval the device must keep), then
    /// answer `slow_down` when the device polled too fast, else `authorization_pending`.
    Wait { next: DeviceToken, slow_down: bool },
}

/// Decides one poll. A poll sooner than `poll_interval_seconds` after the previous one is too
/// fast: the interval grows by [`SLOW_DOWN_STEP`] for it and every later poll (§3.5).
pub fn decide(token: &DeviceToken, now: UnixTime) -> Poll {
    if token.expiry <= now {
        return Poll::Expired;
    }
    match token.status {
        DeviceStatus::Complete => Poll::Complete,
        DeviceStatus::Denied => Poll::Denied,
        DeviceStatus::Pending => {
            let interval = token.poll_interval_seconds.max(INTERVAL);
            let slow_down = token.last_request > 0 && now < token.last_request.saturating_add(interval);
            let next = DeviceToken {
                last_request: now,
                poll_interval_seconds: if slow_down {
                    interval.saturating_add(SLOW_DOWN_STEP)
                } else {
                    interval
                },
                ..token.clone()
            };
            Poll::Wait { next, slow_down }
        }
    }
}

#[tracing::instrument(skip_all, fields(client_id = %client.id))]
pub async fn poll(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: DeviceCodeRequest,
) -> Result<TokenResponse, OAuthError> {
    let token = ctx.storage.get_device_token(request.device_code.expose()).await?.ok_or_else(unknown)?;
    // A device code works only for the client it was issued to.
    if token.client_id != client.id {
        return Err(unknown());
    }
    match decide(&token, ctx.now) {
        Poll::Expired => {
            Err(OAuthError::new(ErrorCode::ExpiredToken, "The device code expired; start again."))
        }
        Poll::Denied => Err(OAuthError::new(ErrorCode::AccessDenied, "The user declined the request.")),
        Poll::Wait { next, slow_down } => {
            // Only while still pending: a poll must never overwrite the browser's outcome.
            // Losing that race just means the device hears "pending" once more.
            ctx.storage.update_device_token(&next, DeviceStatus::Pending).await?;
            if slow_down {
                let description = format!(
                    "Polling too fast; wait at least {} seconds between requests.",
                    next.poll_interval_seconds
                );
                return Err(OAuthError::new(ErrorCode::SlowDown, description));
            }
            Err(OAuthError::new(ErrorCode::AuthorizationPending, "The user has not finished logging in yet."))
        }
        Poll::Complete => {
            // Checked before the code is used up, so a wrong verifier cannot burn it.
            crate::oauth2::pkce::check(token.pkce.as_ref(), request.code_verifier.as_deref())?;
            let taken =
                ctx.storage.take_device_token(request.device_code.expose()).await?.ok_or_else(unknown)?;
            serde_json::from_str(&taken.token).map_err(OAuthError::server_error)
        }
    }
}
