//! Refresh tokens (RFC 6749 §6) with rotation (RFC 9700 §4.14.2).
//!
//! The client holds `{id}.{secret}`; storage holds SHA-256 hashes only. Every use rotates the
//! secret (unless `disableRotation`). The new secret is HMAC(previous secret, random salt),
//! so a client that presents the previous secret again within `reuseInterval` — two
//! concurrent refreshes, a retry after a lost response — is given the same current secret,
//! without storing any secret in the clear. Presenting an older secret, or the previous one
//! after the interval, is a reuse: the whole token family is revoked.

use super::{GrantContext, RefreshRequest};
use crate::connector::{ConnectorError, Identity, Opened, Scopes};
use crate::crypto::{base64url, constant_time_eq, hmac_sha256, random_bytes, random_id, sha256};
use crate::oauth2::error::{ErrorCode, OAuthError};
use crate::oauth2::tokens::{TokenContext, TokenResponse, mint};
use crate::oauth2::{RefreshSettings, Settings, scopes};
use crate::protocol::{GrantType, RefreshTokenLifetime};
use crate::storage::{AuthCode, Claims, Client, RefreshRotation, RefreshToken};
use crate::types::{ConnectorId, UnixTime};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The login a new token family continues: a redeemed code, or a password grant.
pub struct Origin<'a> {
    pub connector_id: &'a ConnectorId,
    pub claims: &'a Claims,
    pub connector_data: &'a Option<Vec<u8>>,
    pub scopes: &'a [String],
    pub nonce: &'a str,
    pub auth_time: UnixTime,
    /// The single sign-on session, if the login had one (the password grant has none).
    pub session_id: &'a str,
    /// The resources (RFC 8707) the grant is for.
    pub resources: &'a [String],
}

impl<'a> From<&'a AuthCode> for Origin<'a> {
    fn from(code: &'a AuthCode) -> Self {
        Self {
            connector_id: &code.connector_id,
            claims: &code.claims,
            connector_data: &code.connector_data,
            scopes: &code.scopes,
            nonce: &code.nonce,
            auth_time: code.auth_time,
            session_id: &code.session_id,
            resources: &code.resources,
        }
    }
}

/// Whether a grant issues a refresh token (as Dex): `offline_access` was granted, the
/// `refresh_token` grant is enabled, and the connector can refresh and allows that grant.
/// A refresh token is never mandatory (RFC 6749 §1.5).
pub fn should_issue(
    settings: &Settings,
    client: &Client,
    connector: Option<&Opened>,
    granted: &[String],
) -> bool {
    scopes::has(granted, scopes::OFFLINE_ACCESS)
        && settings.grant_enabled(GrantType::RefreshToken)
        && client.options.allows_grant(GrantType::RefreshToken)
        && connector.is_some_and(|c| c.refresh.is_some() && c.allows_grant(GrantType::RefreshToken))
}

/// Creates a new token family; returns its id and the token.
pub async fn create_family(
    ctx: &GrantContext<'_>,
    client: &Client,
    origin: Origin<'_>,
) -> Result<(String, String), OAuthError> {
    let id = random_id();
    let secret = random_bytes(32);
    let record = RefreshToken {
        id: id.clone(),
        token_hash: sha256(&secret),
        obsolete_hash: None,
        rotation_salt: Vec::new(),
        rotated_at_ms: ctx.now_ms,
        created_at: ctx.now,
        last_used: ctx.now,
        expires_at: client
            .options
            .expiry
            .refresh_absolute_lifetime
            .or(ctx.settings.refresh.absolute_lifetime)
            .map(|l| ctx.now + l),
        client_id: client.id.clone(),
        connector_id: origin.connector_id.clone(),
        connector_data: origin.connector_data.clone(),
        claims: origin.claims.clone(),
        scopes: origin.scopes.to_vec(),
        nonce: origin.nonce.to_string(),
        // Bound to the single sign-on session only for `refreshTokenLifetime: session`: then
        // the token ends with the session (logout or expiry).
        session_id: if client.refresh_token_lifetime == RefreshTokenLifetime::Session {
            origin.session_id.to_string()
        } else {
            String::new()
        },
        auth_time: origin.auth_time,
        // RFC 9449 §5: a public client's refresh token is bound to its DPoP key (a
        // confidential client's is already bound to its credentials).
        dpop_jkt: if client.public { ctx.dpop_jkt.clone() } else { None },
        valid_if_not_used_for: client.options.expiry.refresh_valid_if_not_used_for,
        resources: origin.resources.to_vec(),
    };
    ctx.storage.create_refresh_token(&record).await?;
    Ok((id.clone(), format_token(&id, &secret)))
}

/// Revokes the access tokens a family issued (RFC 9700 §4.14.2): each carries the family's
/// tag, revoked here until the last of them has expired. Called wherever a family ends early.
pub async fn revoke_family_access(ctx: &GrantContext<'_>, family_id: &str) -> Result<(), OAuthError> {
    let until = ctx.now + ctx.settings.max_token_lifetime;
    ctx.access_tokens.revoke_family(ctx.storage, family_id, until, ctx.now).await?;
    Ok(())
}

fn format_token(id: &str, secret: &[u8]) -> String {
    format!("{id}.{}", base64url(secret))
}

/// Splits `{id}.{secret}`; `None` when the token cannot be one of ours.
pub fn parse_token(token: &str) -> Option<(&str, Vec<u8>)> {
    let (id, secret) = token.split_once('.')?;
    let secret = URL_SAFE_NO_PAD.decode(secret).ok()?;
    (!id.is_empty() && secret.len() == 32).then_some((id, secret))
}

/// Which of a family's secrets a presented one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMatch {
    Current,
    /// The secret replaced by the last rotation.
    Previous,
}

/// Compares a presented secret with the family's hashes, in constant time.
pub fn match_secret(token: &RefreshToken, secret: &[u8]) -> Option<SecretMatch> {
    let presented = sha256(secret);
    if constant_time_eq(&presented, &token.token_hash) {
        Some(SecretMatch::Current)
    } else if token.obsolete_hash.as_deref().is_some_and(|h| constant_time_eq(h, &presented)) {
        Some(SecretMatch::Previous)
    } else {
        None
    }
}

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("Refresh token is invalid or has already been claimed by another client.")
}

pub async fn refresh(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: RefreshRequest,
) -> Result<TokenResponse, OAuthError> {
    let (id, secret) = parse_token(request.refresh_token.expose()).ok_or_else(invalid)?;
    let token = ctx.storage.get_refresh_token(id).await?.ok_or_else(invalid)?;
    if token.client_id != client.id {
        return Err(invalid());
    }
    if is_expired(&ctx.settings.refresh, &token, ctx.now) {
        ctx.storage.delete_refresh_token(&token.id).await?;
        return Err(OAuthError::invalid_grant("Refresh token expired."));
    }
    if !token.session_id.is_empty() && !session_is_live(ctx, &token.session_id).await? {
        ctx.storage.delete_refresh_token(&token.id).await?;
        return Err(OAuthError::invalid_grant("The login session of this refresh token has ended."));
    }
    if let Some(bound) = &token.dpop_jkt
        && ctx.dpop_jkt.as_ref() != Some(bound)
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "This refresh token is bound to a DPoP key: send a proof made with it.",
        ));
    }
    let granted = requested_scopes(&token, request.scope.as_deref())?;
    let requested = crate::oauth2::resource::parse(request.resource.as_deref());
    let resources = crate::oauth2::resource::at_token(client, &token.resources, &requested)?;
    let identity = refresh_identity(ctx, &token).await?;
    let current_secret = advance_secret(ctx, client, &token, &secret, &identity).await?;

    let token_ctx = TokenContext {
        issuer: &ctx.settings.issuer,
        client_id: &client.id,
        scopes: &granted,
        claims: &identity.claims,
        connector_id: &token.connector_id,
        nonce: &token.nonce,
        auth_time: token.auth_time,
        session_id: &token.session_id,
        family: &token.id,
        jkt: ctx.dpop_jkt.as_deref(),
        resources: &resources,
        access_format: client.options.access_token_format,
        now: ctx.now,
        lifetimes: ctx.settings.lifetimes(client),
    };
    let minted = mint(ctx.signer, &token_ctx, None)?;
    Ok(TokenResponse::new(minted, ctx.now, Some(format_token(&token.id, &current_secret)), &granted))
}

async fn session_is_live(ctx: &GrantContext<'_>, sid: &str) -> Result<bool, OAuthError> {
    Ok(ctx.storage.get_auth_session(sid).await?.is_some_and(|s| s.is_live(ctx.now)))
}

/// `expiry.refreshTokens`: past its absolute lifetime, or unused for too long.
pub fn is_expired(policy: &RefreshSettings, token: &RefreshToken, now: UnixTime) -> bool {
    let absolute = token.expires_at.is_some_and(|at| at <= now);
    let limit = token.valid_if_not_used_for.or(policy.valid_if_not_used_for);
    let idle = limit.is_some_and(|idle| token.last_used + idle <= now);
    absolute || idle
}

/// RFC 6749 §6: the requested scope must not exceed what was granted; default is all of it.
fn requested_scopes(token: &RefreshToken, scope: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let Some(scope) = scope.filter(|s| !s.is_empty()) else {
        return Ok(token.scopes.clone());
    };
    let requested = scopes::parse(scope);
    let extra: Vec<&String> = requested.iter().filter(|s| !token.scopes.contains(s)).collect();
    if !extra.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "Requested scopes were not granted originally: {extra:?}"
        )));
    }
    Ok(requested)
}

/// Asks the connector whether the user may still log in, and for fresh claims.
async fn refresh_identity(ctx: &GrantContext<'_>, token: &RefreshToken) -> Result<Identity, OAuthError> {
    let connector = ctx
        .connectors
        .get(&token.connector_id)
        .filter(|c| c.allows_grant(GrantType::RefreshToken))
        .ok_or_else(|| {
            OAuthError::invalid_grant("The connector of this refresh token is no longer available.")
        })?;
    let identity = Identity { claims: token.claims.clone(), connector_data: token.connector_data.clone() };
    let Some(refresher) = &connector.refresh else {
        return Ok(identity);
    };
    match refresher.refresh(Scopes::from_requested(&token.scopes), identity).await {
        Ok(identity) => Ok(identity),
        Err(ConnectorError::Refused(reason)) => {
            tracing::info!(%reason, connector = %token.connector_id, "connector refused refresh");
            ctx.storage.delete_refresh_token(&token.id).await?;
            Err(OAuthError::invalid_grant("The user can no longer log in."))
        }
        Err(e) => Err(OAuthError::server_error(e)),
    }
}

/// Checks the presented secret and returns the secret the client should hold next.
async fn advance_secret(
    ctx: &GrantContext<'_>,
    client: &Client,
    token: &RefreshToken,
    secret: &[u8],
    identity: &Identity,
) -> Result<Vec<u8>, OAuthError> {
    let presented_hash = sha256(secret);
    if constant_time_eq(&presented_hash, &token.token_hash) {
        // FAPI 2.0 §5.3.2.1: no rotation (the token is sender-constrained instead).
        if ctx.settings.refresh.disable_rotation || client.options.fapi2() {
            ctx.storage.touch_refresh_token(&token.id, ctx.now).await?;
            return Ok(secret.to_vec());
        }
        let salt = random_bytes(16);
        let next = hmac_sha256(secret, &salt);
        let rotation = RefreshRotation {
            expected_hash: presented_hash,
            new_hash: sha256(&next),
            rotation_salt: salt,
            now: ctx.now,
            now_ms: ctx.now_ms,
            claims: identity.claims.clone(),
            connector_data: identity.connector_data.clone(),
        };
        if ctx.storage.rotate_refresh_token(&token.id, &rotation).await? {
            let event = crate::audit::Event::RefreshRotated {
                client: token.client_id.as_str(),
                user: &token.claims.user_id,
                family: &token.id,
            };
            ctx.audit.record(ctx.now, &event);
            return Ok(next);
        }
        // A concurrent refresh with the same secret won the rotation: take its result.
        let latest = ctx.storage.get_refresh_token(&token.id).await?.ok_or_else(invalid)?;
        return reuse_within_interval(ctx, &latest, secret).await;
    }
    reuse_within_interval(ctx, token, secret).await
}

/// Whether the previous secret, presented at `now_ms`, is still within `reuseInterval` of the
/// rotation that replaced it. Milliseconds throughout: in whole seconds a 1 s window would
/// really be anything between 1 and 2 s, depending on where in its second the rotation fell.
/// An interval of 0 disables reuse (as in Dex).
pub fn within_reuse_window(rotated_at_ms: i64, now_ms: i64, interval_ms: i64) -> bool {
    interval_ms > 0 && now_ms - rotated_at_ms <= interval_ms
}

/// The previous secret within `reuseInterval` yields the current one; anything else is a
/// reuse, and the family is revoked.
async fn reuse_within_interval(
    ctx: &GrantContext<'_>,
    token: &RefreshToken,
    secret: &[u8],
) -> Result<Vec<u8>, OAuthError> {
    let presented_hash = sha256(secret);
    let is_previous = token.obsolete_hash.as_deref().is_some_and(|h| constant_time_eq(h, &presented_hash));
    if is_previous
        && within_reuse_window(token.rotated_at_ms, ctx.now_ms, ctx.settings.refresh.reuse_interval_ms)
    {
        let current = hmac_sha256(secret, &token.rotation_salt);
        if constant_time_eq(&sha256(&current), &token.token_hash) {
            ctx.storage.touch_refresh_token(&token.id, ctx.now).await?;
            return Ok(current);
        }
    }
    tracing::warn!(client_id = %token.client_id, "refresh token reuse detected; revoking the token family");
    ctx.storage.delete_refresh_token(&token.id).await?;
    revoke_family_access(ctx, &token.id).await?;
    let event = crate::audit::Event::RefreshReuseDetected {
        client: token.client_id.as_str(),
        user: &token.claims.user_id,
        family: &token.id,
    };
    ctx.audit.record(ctx.now, &event);
    Err(invalid())
}

#[cfg(test)]
mod tests {
    use super::within_reuse_window;

    /// `reuseInterval: 1s`, a rotation early in its second (at 100.1 s): a replay 1.6 s later
    /// falls in the next whole second but is outside the window.
    #[test]
    fn the_reuse_window_is_measured_in_milliseconds() {
        let rotated = 100_100;
        assert!(within_reuse_window(rotated, rotated, 1000));
        assert!(within_reuse_window(rotated, rotated + 999, 1000));
        assert!(within_reuse_window(rotated, rotated + 1000, 1000), "the window's end is inside (as Dex's)");
        assert!(!within_reuse_window(rotated, rotated + 1001, 1000));
        assert!(!within_reuse_window(rotated, rotated + 1600, 1000));
        // Sub-second windows work (reuseInterval: 500ms), and 0 disables reuse.
        assert!(within_reuse_window(rotated, rotated + 400, 500));
        assert!(!within_reuse_window(rotated, rotated + 600, 500));
        assert!(!within_reuse_window(rotated, rotated, 0));
    }
}
