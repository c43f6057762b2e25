//! The UserInfo endpoint (OIDC Core §5.3): a valid access token of ours in, the identity
//! claims it carries out.

use super::error::{ErrorCode, OAuthError};
use crate::signer::Signer;
use crate::storage::Storage;
use crate::types::UnixTime;
use serde_json::{Map, Value};

/// Claims `/userinfo` returns: `sub` and the identity claims, not the token's own fields.
const IDENTITY_CLAIMS: &[&str] =
    &["sub", "email", "email_verified", "name", "preferred_username", "groups", "federated_claims"];

fn invalid_token(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

/// Verifies a bearer access token: our signature, our issuer, not expired, not revoked.
pub async fn verify_access_token(
    signer: &dyn Signer,
    storage: &dyn Storage,
    issuer: &str,
    token: &str,
    now: UnixTime,
) -> Result<Map<String, Value>, OAuthError> {
    let claims = crate::signer::verify_fresh(signer, token)
        .await
        .map_err(|_| invalid_token("The access token is invalid."))?;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(invalid_token("The access token was issued by someone else."));
    }
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now => {}
        _ => return Err(invalid_token("The access token expired.")),
    }
    if let Some(jti) = claims.get("jti").and_then(Value::as_str)
        && storage.is_access_token_revoked(jti).await?
    {
        return Err(invalid_token("The access token was revoked."));
    }
    Ok(claims)
}

/// The client an access token was issued to: `azp` when present (several audiences), else
/// the audience (our access tokens have the client alone as `aud`).
pub fn token_client_id(claims: &Map<String, Value>) -> Option<&str> {
    if let Some(azp) = claims.get("azp").and_then(Value::as_str) {
        return Some(azp);
    }
    match claims.get("aud")? {
        Value::String(aud) => Some(aud),
        Value::Array(auds) if auds.len() == 1 => auds[0].as_str(),
        _ => None,
    }
}

pub async fn userinfo(
    signer: &dyn Signer,
    storage: &dyn Storage,
    issuer: &str,
    token: &str,
    now: UnixTime,
) -> Result<Map<String, Value>, OAuthError> {
    let claims = verify_access_token(signer, storage, issuer, token, now).await?;
    Ok(claims.into_iter().filter(|(k, _)| IDENTITY_CLAIMS.contains(&k.as_str())).collect())
}
