//! The UserInfo endpoint (OIDC Core §5.3): a valid access token of ours in, the identity
//! claims it carries out.

use super::access_tokens::AccessTokens;
use super::error::OAuthError;
use crate::signer::Signer;
use crate::types::{ClientId, UnixTime};
use serde_json::{Map, Value};

/// Claims `/userinfo` returns: `sub` and the identity claims, not the token's own fields.
const IDENTITY_CLAIMS: &[&str] =
    &["sub", "email", "email_verified", "name", "preferred_username", "groups", "federated_claims"];

/// The client an access token was issued to: `azp` when present (several audiences), else
/// the audience (our access tokens have the client alone as `aud`).
pub fn token_client_id(claims: &Map<String, Value>) -> Option<ClientId> {
    if let Some(azp) = claims.get("azp").and_then(Value::as_str) {
        return Some(azp.into());
    }
    match claims.get("aud")? {
        Value::String(aud) => Some(aud.as_str().into()),
        Value::Array(auds) => match auds.as_slice() {
            [one] => one.as_str().map(ClientId::from),
            _ => None,
        },
        _ => None,
    }
}

pub async fn userinfo(
    access_tokens: &AccessTokens,
    signer: &dyn Signer,
    issuer: &str,
    token: &str,
    now: UnixTime,
) -> Result<Map<String, Value>, OAuthError> {
    let claims = access_tokens.verify(signer, issuer, token, now).await?;
    Ok(claims
        .iter()
        .filter(|(k, _)| IDENTITY_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}
