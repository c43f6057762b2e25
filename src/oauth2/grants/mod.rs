//! The token endpoint (RFC 6749 §3.2): one typed request, client authentication, then one
//! function per grant.

pub mod authorization_code;
pub mod device_code;
pub mod refresh_token;

use super::client_auth::{ClientCredentials, authenticate};
use super::error::{ErrorCode, OAuthError};
use super::tokens::TokenResponse;
use super::{GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN, Settings};
use crate::connector::Registry;
use crate::overlay::Clients;
use crate::signer::Signer;
use crate::storage::Storage;
use crate::types::{Secret, UnixTime};
use serde::Deserialize;

/// The token request's form fields, parsed once. Client credentials are extracted
/// separately (header or body) into [`ClientCredentials`].
#[derive(Debug, Default, Deserialize)]
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
}

/// What every grant needs.
pub struct GrantContext<'a> {
    pub settings: &'a Settings,
    pub clients: &'a Clients,
    pub storage: &'a dyn Storage,
    pub signer: &'a dyn Signer,
    pub connectors: &'a Registry,
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
    let known = matches!(grant_type, GRANT_AUTHORIZATION_CODE | GRANT_REFRESH_TOKEN | GRANT_DEVICE_CODE);
    if !known || !ctx.settings.grant_enabled(grant_type) {
        return Err(OAuthError::new(ErrorCode::UnsupportedGrantType, format!("Unsupported grant type {grant_type:?}.")));
    }
    let client = authenticate(ctx.clients, creds).await?;
    let result = match grant_type {
        GRANT_AUTHORIZATION_CODE => authorization_code::exchange(ctx, &client, request).await,
        GRANT_DEVICE_CODE => device_code::poll(ctx, &client, request).await,
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
