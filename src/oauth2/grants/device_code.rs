//! The device code grant (RFC 8628 §3.4, §3.5): the device polls with its device code until
//! the user has finished in a browser. `device::poll` decides each answer; this applies it:
//! remember the poll (for `slow_down`), or hand out the stored token response exactly once.

use super::{DeviceCodeRequest, GrantContext};
use crate::oauth2::device::{self, DeviceStatus, Poll};
use crate::oauth2::error::{ErrorCode, OAuthError};
use crate::oauth2::tokens::TokenResponse;
use crate::storage::Client;

fn unknown() -> OAuthError {
    OAuthError::invalid_grant("Invalid, expired or already used device code.")
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
    match device::poll(&token, ctx.now) {
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
