//! Token introspection (RFC 7662) at `{issuer}/token/introspect`, Dex's path.
//!
//! The caller authenticates as a client (§2.1) unless `oauth2.introspection.allowUnauthenticated`
//! (Dex never asks). Any authenticated client may introspect any token: resource servers
//! are clients too, and are who asks.
//!
//! The token's shape decides its kind, whatever `token_type_hint` says (§2.1: a hint only):
//! a JWT is an access token (valid as `/userinfo` takes it: our signature and issuer, not
//! expired, not revoked), anything else is read as a refresh token `{id}.{secret}` (active
//! while its current secret matches and `expiry.refreshTokens` allows it). The answer uses
//! Dex's field names — identity claims both at the top level and, as Dex has them, under
//! `ext` — and everything that is not an active token of ours is exactly
//! `{"active": false}` (§2.2), never an error.

use super::client_auth::{ClientCredentials, authenticate};
use super::error::{ErrorCode, OAuthError};
use super::grants::GrantContext;
use super::grants::refresh_token::{SecretMatch, is_expired, match_secret, parse_token};
use super::userinfo::token_client_id;
use super::{subject, tokens};
use crate::storage::RefreshToken;
use crate::types::Secret;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The form of the introspection and revocation requests (RFC 7662 §2.1, RFC 7009 §2.1).
#[derive(Debug, Default, Deserialize)]
pub struct PresentedToken {
    pub token: Option<Secret>,
    /// Read by nobody: the token's shape tells its kind.
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
}

impl PresentedToken {
    pub fn token(&self) -> Result<&str, OAuthError> {
        self.token
            .as_ref()
            .map(Secret::expose)
            .ok_or_else(|| OAuthError::invalid_request("Required parameter \"token\" is missing."))
    }
}

/// The claims Dex's introspection reports under `ext` (and we also at the top level).
const IDENTITY_CLAIMS: &[&str] =
    &["email", "email_verified", "name", "preferred_username", "groups", "federated_claims"];

/// A JWT has three dot-separated parts; our refresh tokens have two.
pub fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

fn inactive() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("active".into(), json!(false));
    m
}

#[tracing::instrument(skip_all)]
pub async fn introspect(
    ctx: &GrantContext<'_>,
    creds: &ClientCredentials,
    request: &PresentedToken,
) -> Result<Map<String, Value>, OAuthError> {
    if !(creds.client_id.is_empty() && ctx.settings.introspection_allow_unauthenticated) {
        authenticate(ctx.clients, creds).await?;
    }
    let token = request.token()?;
    if is_jwt(token) {
        introspect_access_token(ctx, token).await
    } else {
        introspect_refresh_token(ctx, token).await
    }
}

async fn introspect_access_token(
    ctx: &GrantContext<'_>,
    token: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let claims = match ctx.access_tokens.verify(ctx.signer, &ctx.settings.issuer, token, ctx.now).await {
        Ok(claims) => claims,
        Err(e) if e.code == ErrorCode::InvalidToken => return Ok(inactive()),
        Err(e) => return Err(e),
    };
    let Some(client_id) = token_client_id(&claims).map(str::to_string) else {
        return Ok(inactive());
    };
    let mut out = Map::new();
    out.insert("active".into(), json!(true));
    if let Some(scope) = claims.get("scope") {
        out.insert("scope".into(), scope.clone());
    }
    out.insert("client_id".into(), json!(client_id));
    for name in ["sub", "aud", "iss", "exp", "iat", "jti"] {
        if let Some(value) = claims.get(name) {
            out.insert(name.into(), value.clone());
        }
    }
    if let Some(iat) = claims.get("iat") {
        out.insert("nbf".into(), iat.clone());
    }
    let identity: Map<String, Value> = claims
        .iter()
        .filter(|(k, _)| IDENTITY_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let azp = claims.get("azp").cloned();
    finish(&mut out, identity, azp, "Bearer", "access_token");
    Ok(out)
}

async fn introspect_refresh_token(
    ctx: &GrantContext<'_>,
    token: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let Some((id, secret)) = parse_token(token) else {
        return Ok(inactive());
    };
    let Some(record) = ctx.storage.get_refresh_token(id).await? else {
        return Ok(inactive());
    };
    if match_secret(&record, &secret) != Some(SecretMatch::Current)
        || is_expired(&ctx.settings.refresh, &record, ctx.now)
    {
        return Ok(inactive());
    }
    Ok(describe_refresh_token(&ctx.settings.issuer, &record))
}

fn describe_refresh_token(issuer: &str, record: &RefreshToken) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("active".into(), json!(true));
    out.insert("scope".into(), json!(record.scopes.join(" ")));
    out.insert("client_id".into(), json!(record.client_id));
    out.insert("sub".into(), json!(subject::encode(&record.claims.user_id, &record.connector_id)));
    out.insert("aud".into(), json!(record.client_id));
    out.insert("iss".into(), json!(issuer));
    if let Some(exp) = record.expires_at {
        out.insert("exp".into(), json!(exp));
    }
    out.insert("iat".into(), json!(record.created_at));
    out.insert("nbf".into(), json!(record.created_at));
    let mut identity = Map::new();
    tokens::identity_claims(&mut identity, &record.scopes, &record.claims, &record.connector_id);
    finish(&mut out, identity, None, "refresh_token", "refresh_token");
    out
}

/// `username`, the token type and use, and the identity claims at the top level and in `ext`.
fn finish(
    out: &mut Map<String, Value>,
    identity: Map<String, Value>,
    azp: Option<Value>,
    token_type: &str,
    token_use: &str,
) {
    if let Some(username) =
        identity.get("preferred_username").filter(|u| u.as_str().is_some_and(|u| !u.is_empty()))
    {
        out.insert("username".into(), username.clone());
    }
    out.insert("token_type".into(), json!(token_type));
    out.insert("token_use".into(), json!(token_use));
    let mut ext = identity.clone();
    if let Some(azp) = azp {
        ext.insert("azp".into(), azp);
    }
    out.extend(identity);
    if !ext.is_empty() {
        out.insert("ext".into(), Value::Object(ext));
    }
}

#[cfg(test)]
mod tests;
