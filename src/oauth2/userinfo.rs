//! The UserInfo endpoint (OIDC Core §5.3): a valid access token of ours in, the identity
//! claims it carries out.

use super::dpop;
use super::error::OAuthError;
use super::grants::GrantContext;
use crate::types::ClientId;
use serde_json::{Map, Value};

/// Claims `/userinfo` returns: `sub` and the identity claims, not the token's own fields.
const IDENTITY_CLAIMS: &[&str] =
    &["sub", "email", "email_verified", "name", "preferred_username", "groups", "federated_claims"];

/// The client an access token was issued to: `client_id` when present (RFC 9068, and every
/// token whose `aud` is a resource), else `azp` (several audiences), else the audience (Dex's
/// access tokens have the client alone as `aud`).
pub fn token_client_id(claims: &Map<String, Value>) -> Option<ClientId> {
    if let Some(client_id) = claims.get("client_id").and_then(Value::as_str) {
        return Some(client_id.into());
    }
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

/// How the access token came: `Authorization: Bearer`, `Authorization: DPoP` with the
/// request's proofs (RFC 9449 §7), or the form body (RFC 6750 §2.2, a bearer token).
pub enum Presented<'a> {
    Bearer(&'a str),
    Dpop { token: &'a str, proofs: &'a [String], method: &'a str },
}

pub async fn userinfo(
    ctx: &GrantContext<'_>,
    presented: Presented<'_>,
) -> Result<Map<String, Value>, OAuthError> {
    let token = match presented {
        Presented::Bearer(token) | Presented::Dpop { token, .. } => token,
    };
    let claims = ctx.access_tokens.verify(ctx.signer, &ctx.settings.issuer, token, ctx.now).await?;
    match (dpop::bound_key(&claims), presented) {
        (None, Presented::Bearer(_)) => {}
        (Some(_), Presented::Bearer(_)) => {
            // A stolen DPoP-bound token, used without its key, is no bearer token.
            return Err(dpop::token_error(
                "This access token is DPoP-bound: present it with the DPoP scheme and a proof.",
            ));
        }
        (None, Presented::Dpop { .. }) => {
            return Err(dpop::token_error(
                "This access token is not DPoP-bound: present it as a Bearer token.",
            ));
        }
        (Some(bound), Presented::Dpop { token, proofs, method }) => {
            let expected = dpop::Expected {
                method,
                url: ctx.settings.endpoint(super::paths::USERINFO),
                access_token: Some(token),
                at_resource: true,
            };
            let jkt = dpop::check(ctx, proofs, &expected).await?;
            if jkt.as_deref() != Some(bound) {
                let mut e = OAuthError::new(
                    super::ErrorCode::InvalidDpopProof,
                    "A DPoP proof made with the token's key is required.",
                );
                e.dpop = Some(Box::new(dpop::DpopChallenge { at_resource: true, nonce: None }));
                return Err(e);
            }
        }
    }
    Ok(claims
        .iter()
        .filter(|(k, _)| IDENTITY_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}
