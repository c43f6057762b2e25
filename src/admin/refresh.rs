//! A user's refresh tokens (Dex's `ListRefresh`, `RevokeRefresh`). The user is named by the
//! `sub` of their ID tokens, which encodes the user id and the connector, as in Dex.

use super::{AdminContext, AdminError, Change, invalid};
use crate::oauth2::subject;
use crate::storage::RefreshToken;
use crate::types::{ClientId, ConnectorId};

fn user(sub: &str) -> Result<(String, ConnectorId), AdminError> {
    match subject::decode(sub) {
        Some((user_id, connector_id)) if !user_id.is_empty() => Ok((user_id, connector_id)),
        _ => Err(invalid(format!("user_id {sub:?} is not the sub of an ID token"))),
    }
}

/// The user's refresh token families, oldest first.
pub async fn list(ctx: &AdminContext<'_>, sub: &str) -> Result<Vec<RefreshToken>, AdminError> {
    let (user_id, connector_id) = user(sub)?;
    let mut tokens = ctx.storage.list_refresh_tokens_for_user(&user_id, &connector_id).await?;
    tokens.sort_by_key(|t| (t.created_at, t.id.clone()));
    Ok(tokens)
}

/// Revokes every refresh token family the user holds at `client_id` (Tessera allows a user
/// several per client; Dex keeps one). `NotFound` when there was none.
pub async fn revoke(ctx: &AdminContext<'_>, sub: &str, client_id: &str) -> Result<Change, AdminError> {
    let (user_id, connector_id) = user(sub)?;
    if client_id.is_empty() {
        return Err(invalid("no client_id supplied"));
    }
    let client_id = ClientId::from(client_id);
    let tokens = ctx.storage.list_refresh_tokens_for_user(&user_id, &connector_id).await?;
    let mut revoked = 0;
    for token in tokens.iter().filter(|t| t.client_id == client_id) {
        if ctx.storage.delete_refresh_token(&token.id).await? {
            // The access tokens the family issued stop working too (RFC 9700 §4.14.2).
            let until = ctx.now + ctx.access_token_lifetime;
            ctx.access_tokens.revoke_family(ctx.storage, &token.id, until, ctx.now).await?;
            revoked += 1;
        }
    }
    if revoked == 0 {
        return Ok(Change::NotFound);
    }
    tracing::info!(%client_id, %connector_id, revoked, "refresh tokens revoked through the admin API");
    Ok(Change::Done(()))
}
