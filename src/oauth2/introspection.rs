//! Token introspection (RFC 7662) at `{issuer}/token/introspect`, Dex's path.
//!
//! Who may learn what ([`Reader`]):
//! - With `oauth2.introspection.allowUnauthenticated` (Dex's behaviour, Dex never asks)
//!   anyone may introspect any token; credentials that are sent must still be right.
//! - Otherwise the caller must be a client (§2.1). A client that authenticated (its secret)
//!   may introspect any access token: resource servers are clients, and the tokens they
//!   check were issued to other clients. What they learn is what the token already tells its
//!   bearer (its claims, and `/userinfo`), which is the resource server's need (§4).
//!   Refresh tokens are described only to their own client: a resource server never holds
//!   one (RFC 6749 §1.5), so a refresh token in anyone else's hands is a leaked one.
//! - A public client proves nothing by sending its id (anyone can), so it learns only about
//!   tokens issued to itself, as certified OPs do; any other token is inactive to it.
//!
//! The token's shape decides its kind, whatever `token_type_hint` says (§2.1: a hint only):
//! a JWT is an access token (valid as `/userinfo` takes it: our signature, an access token and
//! not an ID token, our issuer, not expired, not revoked), anything else is read as a refresh
//! token `{id}.{secret}` (active while its current secret matches and `expiry.refreshTokens`
//! allows it). The answer uses Dex's field names — identity claims both at the top level and,
//! as Dex has them, under `ext` — and everything that is not an active token of ours that the
//! caller may see is exactly `{"active": false}` (§2.2), never an error, so the answer is no
//! oracle for tokens of others.

use super::client_auth::{Caller, ClientCredentials, identify};
use super::error::{ErrorCode, OAuthError};
use super::grants::GrantContext;
use super::grants::refresh_token::{SecretMatch, is_expired, match_secret, parse_token};
use super::userinfo::token_client_id;
use super::{subject, tokens};
use crate::storage::RefreshToken;
use crate::types::{ClientId, Secret};
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
    /// RFC 7523 §2.2 (`client_assertion_type` must be the JWT bearer type).
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<Secret>,
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

/// Who is asking, and so which tokens they may learn about.
enum Reader {
    /// `allowUnauthenticated`: anyone, about any token.
    Anyone,
    Client(Box<Caller>),
}

/// The two kinds of token introspection describes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Access,
    Refresh,
}

impl Reader {
    async fn of(ctx: &GrantContext<'_>, creds: &ClientCredentials) -> Result<Self, OAuthError> {
        if ctx.settings.introspection_allow_unauthenticated {
            if !creds.client_id.is_empty() {
                identify(ctx, creds).await?;
            }
            return Ok(Self::Anyone);
        }
        Ok(Self::Client(Box::new(identify(ctx, creds).await?)))
    }

    /// Whether this reader may learn about a token of `kind` issued to `owner`.
    fn may_see(&self, kind: Kind, owner: &ClientId) -> bool {
        match self {
            Self::Anyone => true,
            Self::Client(caller) => match caller.as_ref() {
                Caller::Authenticated(client) => kind == Kind::Access || client.id == *owner,
                Caller::Identified(client) => client.id == *owner,
            },
        }
    }
}

#[tracing::instrument(skip_all)]
pub async fn introspect(
    ctx: &GrantContext<'_>,
    creds: &ClientCredentials,
    request: &PresentedToken,
) -> Result<Map<String, Value>, OAuthError> {
    let reader = Reader::of(ctx, creds).await?;
    let token = request.token()?;
    let described = if is_jwt(token) {
        introspect_access_token(ctx, token).await?.map(|(owner, out)| (Kind::Access, owner, out))
    } else {
        introspect_refresh_token(ctx, token).await?.map(|(owner, out)| (Kind::Refresh, owner, out))
    };
    Ok(match described {
        Some((kind, owner, out)) if reader.may_see(kind, &owner) => out,
        _ => inactive(),
    })
}

/// An active access token's owner (the client it was issued to) and description.
async fn introspect_access_token(
    ctx: &GrantContext<'_>,
    token: &str,
) -> Result<Option<(ClientId, Map<String, Value>)>, OAuthError> {
    let claims = match ctx.access_tokens.verify(ctx.signer, &ctx.settings.issuer, token, ctx.now).await {
        Ok(claims) => claims,
        Err(e) if e.code == ErrorCode::InvalidToken => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(client_id) = token_client_id(&claims) else {
        return Ok(None);
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
    // RFC 9449 §6.2: the resource server checks the proof against `cnf.jkt`.
    let token_type = match claims.get("cnf") {
        Some(cnf) => {
            out.insert("cnf".into(), cnf.clone());
            "DPoP"
        }
        None => "Bearer",
    };
    finish(&mut out, identity, azp, token_type, "access_token");
    Ok(Some((client_id, out)))
}

/// An active refresh token's owner and description.
async fn introspect_refresh_token(
    ctx: &GrantContext<'_>,
    token: &str,
) -> Result<Option<(ClientId, Map<String, Value>)>, OAuthError> {
    let Some((id, secret)) = parse_token(token) else {
        return Ok(None);
    };
    let Some(record) = ctx.storage.get_refresh_token(id).await? else {
        return Ok(None);
    };
    if match_secret(&record, &secret) != Some(SecretMatch::Current)
        || is_expired(&ctx.settings.refresh, &record, ctx.now)
    {
        return Ok(None);
    }
    Ok(Some((record.client_id.clone(), describe_refresh_token(&ctx.settings.issuer, &record))))
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
