//! Token revocation (RFC 7009) at `{issuer}/token/revoke` (Dex has none: dexidp/dex#1778).
//!
//! The client identifies itself (§2.1): with its secret, or a public client by its
//! `client_id`. It may revoke only tokens issued to it. Then:
//! - a refresh token (current or previous secret) ends its whole family;
//! - an access token is remembered as revoked until its `exp`, so `/userinfo` and
//!   introspection refuse it from now on;
//! - a token of the caller's that is unknown, malformed, expired or already revoked changes
//!   nothing and is answered 200 like a success (§2.2: the client cannot act on the
//!   difference);
//! - a token issued to *another* client is refused (§2.1) with `invalid_grant`, the RFC 6749
//!   §5.2 code for a grant "issued to another client", and is left alone. Whose token it is
//!   is read before (and whatever) its validity: the JWT's `azp`/`aud` unverified, a refresh
//!   token's stored client by its id. So the answer about another client's token never says
//!   whether that token is valid: a public client's id, which anyone may send, is no oracle;
//! - an ID token (or any other token we sign that is not an access token) cannot be revoked:
//!   `unsupported_token_type` (§2.2.1).
//!
//! `token_type_hint` is only a hint (§2.1); the token's shape decides, as in introspection.
//! Access tokens issued from a revoked refresh token stay valid until they expire: they are
//! short-lived, and which ones they are is not recorded.

use super::client_auth::{ClientCredentials, authenticate};
use super::error::{ErrorCode, OAuthError};
use super::grants::GrantContext;
use super::grants::refresh_token::{match_secret, parse_token};
use super::introspection::{PresentedToken, is_jwt};
use super::tokens::TokenKind;
use super::userinfo::token_client_id;
use crate::types::ClientId;
use serde_json::Value;

fn other_client() -> OAuthError {
    OAuthError::invalid_grant("The token was issued to another client.")
}

#[tracing::instrument(skip_all)]
pub async fn revoke(
    ctx: &GrantContext<'_>,
    creds: &ClientCredentials,
    request: &PresentedToken,
) -> Result<(), OAuthError> {
    let client = authenticate(ctx, creds).await?;
    let token = request.token()?;
    if is_jwt(token) {
        revoke_access_token(ctx, &client.id, token).await
    } else {
        revoke_refresh_token(ctx, &client.id, token).await
    }
}

async fn revoke_access_token(
    ctx: &GrantContext<'_>,
    client_id: &ClientId,
    token: &str,
) -> Result<(), OAuthError> {
    // Not even readable as a JWT: nothing of ours, nothing to do.
    let Some((kind, unverified)) = TokenKind::of_unverified(token) else {
        return Ok(());
    };
    if kind != TokenKind::Access {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedTokenType,
            "Only access and refresh tokens can be revoked.",
        ));
    }
    if token_client_id(&unverified).as_ref() != Some(client_id) {
        return Err(other_client());
    }
    let claims = match ctx.access_tokens.verify(ctx.signer, &ctx.settings.issuer, token, ctx.now).await {
        Ok(claims) => claims,
        // Expired, revoked, not ours: nothing to do.
        Err(e) if e.code == ErrorCode::InvalidToken => return Ok(()),
        Err(e) => return Err(e),
    };
    let (Some(jti), Some(exp)) =
        (claims.get("jti").and_then(Value::as_str), claims.get("exp").and_then(Value::as_i64))
    else {
        return Ok(());
    };
    ctx.access_tokens.revoke(ctx.storage, jti, exp, ctx.now).await?;
    tracing::info!(%client_id, "access token revoked");
    let event =
        crate::audit::Event::TokenRevoked { client: client_id.as_str(), kind: "access_token", id: jti };
    ctx.audit.record(ctx.now, &event);
    Ok(())
}

async fn revoke_refresh_token(
    ctx: &GrantContext<'_>,
    client_id: &ClientId,
    token: &str,
) -> Result<(), OAuthError> {
    let Some((id, secret)) = parse_token(token) else {
        return Ok(());
    };
    let Some(record) = ctx.storage.get_refresh_token(id).await? else {
        return Ok(());
    };
    // Whose it is comes first, so that the answer to another client never depends on the
    // secret; for the caller's own, a wrong secret is an unknown token (knowing an id is not
    // holding the token).
    if record.client_id != *client_id {
        return Err(other_client());
    }
    if match_secret(&record, &secret).is_none() {
        return Ok(());
    }
    ctx.storage.delete_refresh_token(&record.id).await?;
    super::grants::refresh_token::revoke_family_access(ctx, &record.id).await?;
    tracing::info!(%client_id, "refresh token family revoked");
    let event = crate::audit::Event::TokenRevoked {
        client: client_id.as_str(),
        kind: "refresh_token",
        id: &record.id,
    };
    ctx.audit.record(ctx.now, &event);
    Ok(())
}

#[cfg(test)]
mod tests;
