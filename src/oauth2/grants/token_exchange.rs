//! Token exchange (RFC 8693), as Dex does it: a client presents a token an upstream issued
//! (`subject_token`, an ID or access token) and `connector_id` (Dex's extension) names the
//! connector that vouches for it; the answer is one token of ours for that identity —
//! an access token (default) or an ID token (`requested_token_type`) — never a refresh token.
//!
//! Where Dex and the RFC differ, the RFC wins: an unacceptable subject token or token type is
//! `invalid_request` (§2.2.2; Dex says `access_denied` / `request_not_supported`), an issued
//! ID token has `token_type: N_A` (§2.2.1; Dex says `bearer`). `audience` (§2.1), which Dex
//! ignores, asks for another client in `aud` under the cross-client rule (that client must
//! trust the caller), else `invalid_target`. Scopes other than the identity scopes and
//! cross-client audiences are dropped (RFC 6749 §3.3), so `scope` in the answer is what holds.

use super::{ExchangeRequest, GrantContext, resolve_connector};
use crate::connector::ConnectorError;
use crate::oauth2::authorize::check_cross_client_trust;
use crate::oauth2::error::{ErrorCode, OAuthError};
use crate::oauth2::scopes::{self, CROSS_CLIENT_PREFIX, EMAIL, FEDERATED_ID, GROUPS, OPENID, PROFILE};
use crate::oauth2::tokens::{TokenContext, TokenResponse, mint_access_token, mint_id_token};
use crate::protocol::{GrantType, TokenType};
use crate::storage::Client;

/// Scopes that shape an exchanged token.
const KEPT: &[&str] = &[OPENID, EMAIL, PROFILE, GROUPS, FEDERATED_ID];

#[tracing::instrument(skip_all, fields(client_id = %client.id))]
pub async fn exchange(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: ExchangeRequest,
) -> Result<TokenResponse, OAuthError> {
    let connector_id = &request.connector_id;
    let subject_token_type = request.subject_token_type;
    let issued_token_type = request.requested_token_type;
    let granted = granted_scopes(request.scope.as_deref(), None);
    check_cross_client_trust(&granted, client, ctx.clients).await?;
    let granted = match request.audience.as_deref() {
        None => granted,
        Some(audience) => {
            let with_audience = granted_scopes(request.scope.as_deref(), Some(audience));
            check_cross_client_trust(&with_audience, client, ctx.clients).await.map_err(|_| {
                OAuthError::new(
                    ErrorCode::InvalidTarget,
                    format!("Client can't request audience {audience:?}."),
                )
            })?;
            with_audience
        }
    };

    let connector = resolve_connector(ctx, client, connector_id, GrantType::TokenExchange)?;
    let verifier = connector
        .token_identity
        .as_ref()
        .ok_or_else(|| OAuthError::invalid_request("Requested connector does not support token exchange."))?;
    let identity = match verifier.token_identity(subject_token_type, request.subject_token.expose()).await {
        Ok(identity) => identity,
        Err(ConnectorError::Refused(reason)) => {
            tracing::info!(%reason, connector = %connector_id, "subject token refused");
            return Err(OAuthError::invalid_request("The subject token is invalid."));
        }
        Err(e) => return Err(OAuthError::server_error(e)),
    };
    tracing::info!(connector = %connector_id, user_id = %identity.claims.user_id,
        subject_token_type = subject_token_type.as_str(), requested_token_type = issued_token_type.as_str(),
        "token exchange successful");

    let token_ctx = TokenContext {
        issuer: &ctx.settings.issuer,
        client_id: &client.id,
        scopes: &granted,
        claims: &identity.claims,
        connector_id,
        nonce: "",
        auth_time: 0,

        session_id: "",
        family: "",
        jkt: ctx.dpop_jkt.as_deref(),
        resources: &[],
        access_format: client.options.access_token_format,
        now: ctx.now,
        lifetimes: ctx.settings.lifetimes(client),
    };
    let (token, token_type, jti) = if issued_token_type == TokenType::IdToken {
        (mint_id_token(ctx.signer, &token_ctx, None)?, "N_A", String::new())
    } else {
        let access = mint_access_token(ctx.signer, &token_ctx)?;
        (access.token, if access.bound { "DPoP" } else { "bearer" }, access.id)
    };
    Ok(TokenResponse {
        access_token: token,
        token_type: token_type.to_string(),
        expires_in: if issued_token_type == TokenType::IdToken {
            token_ctx.lifetimes.id
        } else {
            token_ctx.lifetimes.access
        },
        refresh_token: None,
        id_token: None,
        scope: Some(granted.join(" ")),
        issued_token_type: Some(issued_token_type.as_str().to_string()),
        access_token_id: jti,
        user_id: identity.claims.user_id.clone(),
    })
}

/// The requested identity scopes and cross-client audiences, plus `audience` as one more.
fn granted_scopes(scope: Option<&str>, audience: Option<&str>) -> Vec<String> {
    let mut granted: Vec<String> = scopes::parse(scope.unwrap_or_default())
        .into_iter()
        .filter(|s| KEPT.contains(&s.as_str()) || scopes::is_cross_client(s))
        .collect();
    if let Some(audience) = audience {
        let scope = format!("{CROSS_CLIENT_PREFIX}{audience}");
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scopes_are_dropped_and_audience_becomes_a_peer() {
        assert_eq!(granted_scopes(Some("openid admin groups offline_access"), None), ["openid", "groups"]);
        assert_eq!(granted_scopes(Some("openid"), Some("api")), ["openid", "audience:server:client_id:api"]);
        assert!(granted_scopes(None, None).is_empty());
    }
}
