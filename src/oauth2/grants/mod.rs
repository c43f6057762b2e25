//! The token endpoint (RFC 6749 §3.2): one typed request, client authentication, then one
//! function per grant.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod password;
pub mod refresh_token;
pub mod token_exchange;

use super::access_tokens::AccessTokens;
use super::client_auth::{ClientCredentials, authenticate};
use super::error::{ErrorCode, OAuthError};
use super::tokens::{TokenContext, TokenResponse, mint, mint_access_token};
use super::{
    GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_PASSWORD,
    GRANT_REFRESH_TOKEN, GRANT_TOKEN_EXCHANGE, Settings, scopes,
};
use crate::connector::{Opened, Registry};
use crate::overlay::Clients;
use crate::signer::Signer;
use crate::storage::{Client, Storage};
use crate::types::{Secret, UnixTime};
use serde::Deserialize;
use std::sync::Arc;

/// The token request's form fields, parsed once. Client credentials are extracted
/// separately (header or body) into [`ClientCredentials`].
#[derive(Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// RFC 8628 §3.4.
    pub device_code: Option<Secret>,
    /// `password` grant (RFC 6749 §4.3.2).
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Dex's extension: put into the ID token of the password grant.
    pub nonce: Option<String>,
    /// Dex's extension to RFC 8693: the connector that verifies the subject token.
    pub connector_id: Option<String>,
    /// Token exchange (RFC 8693 §2.1).
    pub subject_token: Option<Secret>,
    pub subject_token_type: Option<String>,
    pub requested_token_type: Option<String>,
    pub audience: Option<String>,
}
crate::debug_only!(TokenRequest: grant_type, redirect_uri, scope, client_id, username, connector_id, subject_token_type, requested_token_type, audience);

/// What every grant needs.
pub struct GrantContext<'a> {
    pub settings: &'a Settings,
    pub clients: &'a Clients,
    pub storage: &'a dyn Storage,
    pub signer: &'a dyn Signer,
    pub connectors: &'a Registry,
    pub access_tokens: &'a AccessTokens,
    pub now: UnixTime,
}

pub fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("Required parameter {name:?} is missing.")))
}

#[tracing::instrument(skip_all, fields(grant_type = request.grant_type.as_deref().unwrap_or("")))]
pub async fn token(
    ctx: &GrantContext<'_>,
    creds: &ClientCredentials,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = required(&request.grant_type, "grant_type")?;
    let known = matches!(
        grant_type,
        GRANT_AUTHORIZATION_CODE
            | GRANT_REFRESH_TOKEN
            | GRANT_DEVICE_CODE
            | GRANT_CLIENT_CREDENTIALS
            | GRANT_PASSWORD
            | GRANT_TOKEN_EXCHANGE
    );
    if !known || !ctx.settings.grant_enabled(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("Unsupported grant type {grant_type:?}."),
        ));
    }
    let client = authenticate(ctx.clients, creds).await?;
    let result = match grant_type {
        GRANT_AUTHORIZATION_CODE => authorization_code::exchange(ctx, &client, request).await,
        GRANT_DEVICE_CODE => device_code::poll(ctx, &client, request).await,
        GRANT_CLIENT_CREDENTIALS => client_credentials::issue_tokens(ctx, &client, request).await,
        GRANT_PASSWORD => password::login(ctx, &client, request).await,
        GRANT_TOKEN_EXCHANGE => token_exchange::exchange(ctx, &client, request).await,
        _ => refresh_token::refresh(ctx, &client, request).await,
    };
    let outcome = match &result {
        Ok(_) => "ok",
        // A device polling before the user is done is not a failure.
        Err(e) if matches!(e.code, ErrorCode::AuthorizationPending | ErrorCode::SlowDown) => "pending",
        Err(_) => "error",
    };
    metrics::counter!("tessera_token_issuance_total",
        "grant_type" => grant_type.to_string(), "result" => outcome)
    .increment(1);
    result
}

/// The connector a grant names, if the client may use it and it allows the grant (Dex's
/// connector-authorization rule, with Dex's error codes).
pub fn resolve_connector(
    ctx: &GrantContext<'_>,
    client: &Client,
    connector_id: &str,
    grant_type: &str,
) -> Result<Arc<Opened>, OAuthError> {
    if !client.allowed_connectors.is_empty() && !client.allowed_connectors.iter().any(|c| c == connector_id) {
        return Err(OAuthError::invalid_grant("Connector not allowed for this client."));
    }
    let connector = ctx
        .connectors
        .get(connector_id)
        .ok_or_else(|| OAuthError::invalid_request("Requested connector does not exist."))?;
    if !connector.allows_grant(grant_type) {
        return Err(OAuthError::invalid_request("Requested connector does not support this grant type."));
    }
    Ok(connector.clone())
}

/// The standard token response (as Dex's `Issue`): an access token, an ID token when
/// `openid` was granted, and the refresh token the grant created, if any.
pub fn issue(
    ctx: &GrantContext<'_>,
    token_ctx: &TokenContext<'_>,
    refresh_token: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    if scopes::has(token_ctx.scopes, scopes::OPENID) {
        let minted = mint(ctx.signer, token_ctx, None)?;
        return Ok(TokenResponse::new(minted, ctx.now, refresh_token, token_ctx.scopes));
    }
    let access = mint_access_token(ctx.signer, token_ctx)?;
    let mut response = TokenResponse::access_only(access, ctx.now, token_ctx.scopes);
    response.refresh_token = refresh_token;
    Ok(response)
}
