//! The token endpoint (RFC 6749 §3.2): the grant type, client authentication, the request
//! parsed into its grant's variant ([`request`]), then one function per grant.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod password;
pub mod refresh_token;
mod request;
pub mod token_exchange;

pub use request::{
    ClientCredentialsRequest, CodeRequest, DeviceCodeRequest, ExchangeRequest, PasswordRequest,
    RefreshRequest, TokenForm, TokenRequest, required,
};

use super::access_tokens::AccessTokens;
use super::client_auth::{ClientCredentials, authenticate};
use super::error::{ErrorCode, OAuthError};
use super::tokens::{TokenContext, TokenResponse, mint, mint_access_token};
use super::{Settings, dpop, scopes};
use crate::connector::{Opened, Registry};
use crate::overlay::Clients;
use crate::protocol::GrantType;
use crate::signer::Signer;
use crate::storage::{Client, Storage};
use crate::types::{ConnectorId, UnixTime};
use std::sync::Arc;

/// What every grant needs.
#[derive(Clone)]
pub struct GrantContext<'a> {
    pub settings: &'a Settings,
    pub clients: &'a Clients,
    pub storage: &'a dyn Storage,
    pub signer: &'a dyn Signer,
    pub connectors: Arc<Registry>,
    pub access_tokens: &'a AccessTokens,
    /// The keys of clients that publish them at a `jwksURI`.
    pub client_keys: &'a crate::oauth2::client_keys::ClientKeys,
    /// DPoP settings and nonces.
    pub dpop: &'a crate::oauth2::dpop::Dpop,
    /// The key thumbprint a DPoP proof of this token request showed: what is issued is bound
    /// to it. Set by [`token`] once the proof checks out.
    pub dpop_jkt: Option<String>,
    pub audit: &'a crate::audit::Audit,
    pub throttle: &'a crate::throttle::Throttle,
    /// The address the request came from (see `web::client_address`).
    pub source: Option<std::net::IpAddr>,
    pub now: UnixTime,
    /// `now` in milliseconds (the same reading of the clock), for the refresh reuse window.
    pub now_ms: i64,
}

#[tracing::instrument(skip_all, fields(grant_type = form.grant_type.as_deref().unwrap_or("")))]
pub async fn token(
    ctx: &GrantContext<'_>,
    creds: &ClientCredentials,
    form: TokenForm,
    dpop_proofs: &[String],
) -> Result<TokenResponse, OAuthError> {
    let grant = form.grant(ctx.settings)?;
    let client = authenticate(ctx, creds).await?;
    if !client.options.allows_grant(grant) {
        return Err(OAuthError::unauthorized_client(format!(
            "This client may not use the {} grant.",
            grant.as_str()
        )));
    }
    let result = match TokenRequest::parse(grant, form, ctx.settings) {
        Ok(request) => match bind_to_proof(ctx, &client, grant, dpop_proofs).await {
            Ok(bound) => issue_for(&bound, &client, request).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let outcome = match &result {
        Ok(_) => "ok",
        // A device polling before the user is done is not a failure.
        Err(e) if matches!(e.code, ErrorCode::AuthorizationPending | ErrorCode::SlowDown) => "pending",
        Err(_) => "error",
    };
    metrics::counter!("tessera_token_issuance_total",
        "grant_type" => grant.as_str(), "result" => outcome)
    .increment(1);
    if let Ok(response) = &result {
        let scopes: Vec<String> = scopes::parse(response.scope.as_deref().unwrap_or_default());
        let event = crate::audit::Event::TokenIssued {
            grant: grant.as_str(),
            client: client.id.as_str(),
            user: &response.user_id,
            scopes: &scopes,
            jti: &response.access_token_id,
        };
        ctx.audit.record(ctx.now, &event);
    }
    result
}

/// The context for issuing, with the key of the request's DPoP proof (RFC 9449 §5), if any:
/// required for a client with `dpopBoundAccessTokens`.
async fn bind_to_proof<'a>(
    ctx: &GrantContext<'a>,
    client: &Client,
    grant: GrantType,
    proofs: &[String],
) -> Result<GrantContext<'a>, OAuthError> {
    let expected = dpop::Expected {
        method: "POST",
        url: ctx.settings.endpoint(super::paths::TOKEN),
        access_token: None,
        at_resource: false,
    };
    let jkt = dpop::check(ctx, proofs, &expected).await?;
    if client.options.requires_dpop() {
        if jkt.is_none() {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "This client's access tokens are DPoP-bound: send a DPoP proof.",
            ));
        }
        // The device flow's tokens are minted when the user approves, before any proof.
        if grant == GrantType::DeviceCode {
            return Err(OAuthError::unauthorized_client(
                "A client with DPoP-bound access tokens cannot use the device flow.",
            ));
        }
    }
    Ok(GrantContext { dpop_jkt: jkt, ..ctx.clone() })
}

/// One grant, by its own function.
async fn issue_for(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    match request {
        TokenRequest::AuthorizationCode(r) => authorization_code::exchange(ctx, client, r).await,
        TokenRequest::RefreshToken(r) => refresh_token::refresh(ctx, client, r).await,
        TokenRequest::DeviceCode(r) => device_code::poll(ctx, client, r).await,
        TokenRequest::ClientCredentials(r) => client_credentials::issue_tokens(ctx, client, r).await,
        TokenRequest::Password(r) => password::login(ctx, client, r).await,
        TokenRequest::TokenExchange(r) => token_exchange::exchange(ctx, client, r).await,
    }
}

/// The connector a grant names, if the client may use it and it allows the grant (Dex's
/// connector-authorization rule, with Dex's error codes).
pub fn resolve_connector(
    ctx: &GrantContext<'_>,
    client: &Client,
    connector_id: &ConnectorId,
    grant_type: GrantType,
) -> Result<Arc<Opened>, OAuthError> {
    if !super::authorize::client_may_use(client, connector_id) {
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
