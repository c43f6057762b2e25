//! The resource owner password credentials grant (RFC 6749 §4.3), as Dex serves it: the
//! client sends the user's `username` and `password`, which the connector named by
//! `oauth2.passwordConnector` checks. The grant exists only when that setting names a
//! connector.
//!
//! A wrong username and a wrong password give the same `invalid_grant` (RFC 6749 §5.2; Dex
//! answers `access_denied`), and the password connectors take the same time for both, so the
//! answer does not tell which users exist. `offline_access` adds a refresh token when the
//! connector can refresh (the same rule as the authorization code grant). Failures count
//! towards brute-force protection (`throttle`) like the login form's.

use super::refresh_token::{Origin, create_family, should_issue};
use super::{GrantContext, PasswordRequest, issue, resolve_connector};
use crate::connector::{ConnectorError, Login, Scopes};
use crate::oauth2::authorize::check_cross_client_trust;
use crate::oauth2::error::OAuthError;
use crate::oauth2::scopes;
use crate::oauth2::tokens::{TokenContext, TokenResponse};
use crate::protocol::GrantType;
use crate::storage::Client;
use crate::throttle::PasswordAttempt;

#[tracing::instrument(skip_all, fields(client_id = %client.id))]
pub async fn login(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: PasswordRequest,
) -> Result<TokenResponse, OAuthError> {
    let connector_id = &request.connector_id;
    let granted = scopes::parse(request.scope.as_deref().unwrap_or_default());
    scopes::validate(&granted)?;
    check_cross_client_trust(&granted, client, ctx.clients).await?;

    let connector = resolve_connector(ctx, client, connector_id, GrantType::Password)?;
    let Login::Password(password_login) = &connector.login else {
        return Err(OAuthError::invalid_request("The password connector does not check passwords."));
    };
    // Brute-force protection, as for the login form; an API client is never a known browser.
    let attempt = PasswordAttempt {
        connector: connector_id,
        login: &request.username,
        source: ctx.source,
        known_browser: false,
    };
    if let Some(refused) = ctx.throttle.check_password(ctx.storage, &attempt, ctx.now).await? {
        return Err(OAuthError::throttled(refused));
    }
    let identity = match password_login
        .login(Scopes::from_requested(&granted), &request.username, request.password.expose())
        .await
    {
        Ok(Some(identity)) => identity,
        Ok(None) => {
            ctx.throttle.password_failed(ctx.storage, &attempt, ctx.now).await?;
            return Err(OAuthError::invalid_grant("Invalid username or password."));
        }
        Err(ConnectorError::Refused(reason)) => {
            tracing::info!(%reason, connector = %connector_id, "connector refused the password grant");
            ctx.throttle.password_failed(ctx.storage, &attempt, ctx.now).await?;
            return Err(OAuthError::invalid_grant("Invalid username or password."));
        }
        Err(e) => return Err(OAuthError::server_error(e)),
    };
    ctx.throttle.password_succeeded(ctx.storage, &attempt).await?;

    let nonce = request.nonce.as_str();
    let requested = crate::oauth2::resource::parse(request.resource.as_deref());
    let resources = crate::oauth2::resource::check(client, &requested)?;
    let refresh_token = if should_issue(ctx.settings, client, Some(&connector), &granted) {
        let origin = Origin {
            connector_id,
            claims: &identity.claims,
            connector_data: &identity.connector_data,
            scopes: &granted,
            nonce,
            auth_time: ctx.now,
            session_id: "",
            resources: &resources,
        };
        Some(create_family(ctx, client, origin).await?)
    } else {
        None
    };
    let family = refresh_token.as_ref().map_or("", |(id, _)| id.as_str());
    let token_ctx = TokenContext {
        issuer: &ctx.settings.issuer,
        client_id: &client.id,
        scopes: &granted,
        claims: &identity.claims,
        connector_id,
        nonce,
        auth_time: ctx.now,

        session_id: "",
        family,
        jkt: ctx.dpop_jkt.as_deref(),
        resources: &resources,
        access_format: client.options.access_token_format,
        now: ctx.now,
        lifetimes: ctx.settings.lifetimes(client),
    };
    let refresh_token = refresh_token.as_ref().map(|(_, token)| token.clone());
    issue(ctx, &token_ctx, refresh_token)
}
