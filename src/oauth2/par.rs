//! Pushed authorization requests (RFC 9126).
//!
//! The client posts its authorization request to `/par` on the back channel, authenticated
//! as at `/token`; Tessera checks it as `/auth` would, stores it, and answers a `request_uri`.
//! The browser then carries only `client_id` and `request_uri` to `/auth`, so the request
//! cannot be read or changed on its way (FAPI 2.0 requires this).
//!
//! A `request_uri` lives `oauth2.par.requestURILifetime` (60 s by default) and is used once:
//! `/auth` only reads it (the user may still have to choose a connector); the step that
//! creates the login (`/auth/{connector}`, or a live single sign-on session) takes it from
//! storage, so of two uses exactly one gets it. Until then every link the login pages build
//! carries the `request_uri`, never the parameters.
//!
//! A client with `requirePushedAuthorizationRequests` (or every client, with
//! `oauth2.par.requireForAll`) may only use pushed requests: a plain `/auth` is refused with
//! an error page (its `redirect_uri` came through the browser, unauthenticated).

use super::authorize::{self, AuthorizeError, AuthorizeParams, PageKind};
use super::client_auth::{ClientCredentials, identify};
use super::error::{ErrorCode, OAuthError};
use super::grants::GrantContext;
use crate::flow::FlowContext;
use crate::storage::PushedRequest;
use crate::types::{ClientId, UnixTime};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What every `request_uri` we issue starts with (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The answer of `/par` (RFC 9126 §2.2), sent with `201 Created`.
#[derive(Debug, Serialize)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

/// The form of `/par` as name/value pairs, each name at most once (RFC 6749 §3.1), with the
/// client's secret taken out: it is a credential, never a parameter to keep.
pub fn parameters(pairs: Vec<(String, String)>) -> Result<BTreeMap<String, String>, OAuthError> {
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in pairs {
        // RFC 8707: `resource` may repeat; its values are kept space-separated, as at `/auth`.
        if name == super::resource::PARAMETER
            && let Some(earlier) = params.get_mut(&name)
        {
            earlier.push(' ');
            earlier.push_str(&value);
            continue;
        }
        if params.insert(name.clone(), value).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "The parameter {name:?} was sent more than once."
            )));
        }
    }
    Ok(params)
}

/// RFC 9126 §2: authenticates the client, checks the request as `/auth` would, and stores it.
pub async fn push(
    ctx: &GrantContext<'_>,
    creds: &ClientCredentials,
    mut params: BTreeMap<String, String>,
    dpop_proofs: &[String],
) -> Result<Pushed, OAuthError> {
    // Credentials, not parameters of the request to keep.
    for credential in ["client_secret", "client_assertion", "client_assertion_type"] {
        params.remove(credential);
    }
    let client = identify(ctx, creds).await?.into_client();
    if params.contains_key("request_uri") {
        return Err(OAuthError::invalid_request("A pushed request cannot itself contain a request_uri."));
    }
    if params.contains_key("request") {
        return Err(OAuthError::new(ErrorCode::RequestNotSupported, "Request objects are not supported."));
    }
    match params.get("client_id") {
        Some(id) if *id != client.id.as_str() => {
            return Err(OAuthError::invalid_request("client_id is not the client that authenticated."));
        }
        Some(_) => {}
        None => {
            params.insert("client_id".into(), client.id.to_string());
        }
    }
    bind_code_to_proof(ctx, &mut params, dpop_proofs).await?;
    let mut checked = authorize_params(&params)?;
    checked.pushed = true;
    authorize::validate(&checked, ctx.settings, ctx.clients, &ctx.connectors, ctx.now)
        .await
        .map_err(as_oauth_error)?;

    let pushed = PushedRequest {
        id: crate::crypto::random_id(),
        client_id: client.id.clone(),
        params,
        expiry: ctx.now + ctx.settings.par.lifetime,
    };
    ctx.storage.create_pushed_request(&pushed).await?;
    Ok(Pushed {
        request_uri: format!("{REQUEST_URI_PREFIX}{}", pushed.id),
        expires_in: ctx.settings.par.lifetime,
    })
}

/// RFC 9449 §10.1: a DPoP proof sent with the pushed request binds the code to its key, as
/// `dpop_jkt` would; when both are sent they must agree.
async fn bind_code_to_proof(
    ctx: &GrantContext<'_>,
    params: &mut BTreeMap<String, String>,
    proofs: &[String],
) -> Result<(), OAuthError> {
    let expected = super::dpop::Expected {
        method: "POST",
        url: ctx.settings.endpoint(super::paths::PAR),
        access_token: None,
        at_resource: false,
    };
    let Some(jkt) = super::dpop::check(ctx, proofs, &expected).await? else {
        return Ok(());
    };
    match params.get("dpop_jkt") {
        Some(named) if *named != jkt => Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "dpop_jkt is not the thumbprint of the DPoP proof's key.",
        )),
        _ => {
            params.insert("dpop_jkt".into(), jkt);
            Ok(())
        }
    }
}

fn authorize_params(params: &BTreeMap<String, String>) -> Result<AuthorizeParams, OAuthError> {
    serde_json::to_value(params)
        .and_then(serde_json::from_value)
        .map_err(|_| OAuthError::invalid_request("The request's parameters could not be read."))
}

/// At `/par` the client hears of problems directly, as JSON, whatever `/auth` would have done
/// with them (a page or a redirect).
fn as_oauth_error(error: AuthorizeError) -> OAuthError {
    match error {
        AuthorizeError::Redirect(redirect) => redirect.error,
        AuthorizeError::Page { kind: PageKind::Internal, .. } => {
            OAuthError::server_error("validation failed")
        }
        AuthorizeError::Page { message, .. } => OAuthError::invalid_request(message),
        AuthorizeError::Throttled(refused) => OAuthError::throttled(refused),
        AuthorizeError::Unavailable => OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "The database is unavailable; try again shortly.",
        ),
    }
}

/// How `/auth` uses a `request_uri`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Read it, leaving it for the step that creates the login.
    Read,
    /// Take it: nobody can use it again.
    Take,
}

/// The request's parameters: as sent, or, with a `request_uri`, the pushed ones (RFC 9126
/// §4: the other parameters of the front-channel request are ignored, except `client_id`,
/// which must name the client that pushed it).
pub async fn resolve<'p>(
    ctx: &FlowContext<'_>,
    params: &'p AuthorizeParams,
    how: Use,
) -> Result<Cow<'p, AuthorizeParams>, AuthorizeError> {
    let Some(request_uri) = params.request_uri.as_deref().filter(|u| !u.is_empty()) else {
        return Ok(Cow::Borrowed(params));
    };
    if !ctx.settings.par.enabled {
        return Err(refused(
            "This server does not take request_uri (pushed authorization requests are off).",
        ));
    }
    let Some(id) = request_uri.strip_prefix(REQUEST_URI_PREFIX) else {
        return Err(refused("The request_uri was not issued by this server."));
    };
    let client_id = ClientId::from(params.client_id.as_deref().unwrap_or_default());
    if client_id.is_empty() {
        return Err(refused("The application sent a request_uri without its client_id."));
    }
    let stored = match how {
        Use::Read => ctx.storage.get_pushed_request(id).await,
        Use::Take => ctx.storage.take_pushed_request(id).await,
    }
    .map_err(|e| {
        AuthorizeError::internal(
            "pushed request lookup failed",
            e,
            "The login service could not read the request.",
        )
    })?;
    let pushed = match stored {
        Some(p) if p.client_id == client_id && live(&p, ctx.now) => p,
        _ => return Err(expired()),
    };
    let mut resolved = authorize_params(&pushed.params).map_err(|_| expired())?;
    resolved.pushed = true;
    // Kept so that the links to the next step carry the request_uri, not the parameters.
    resolved.request_uri = params.request_uri.clone();
    Ok(Cow::Owned(resolved))
}

fn live(pushed: &PushedRequest, now: UnixTime) -> bool {
    pushed.expiry > now
}

fn refused(message: &str) -> AuthorizeError {
    AuthorizeError::page(PageKind::InvalidRequest, message)
}

fn expired() -> AuthorizeError {
    AuthorizeError::page(
        PageKind::LoginExpired,
        "This login request expired or was already used. Please go back to the application and start again.",
    )
}

/// RFC 9126 §5: whether this client may only send pushed requests.
pub fn required(client: &crate::storage::Client, settings: &super::Settings) -> bool {
    settings.par.require_for_all || client.options.requires_par()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn each_parameter_once() {
        let params = parameters(pairs(&[("scope", "openid"), ("state", "s")])).unwrap();
        assert_eq!(params.get("scope").map(String::as_str), Some("openid"));
        let twice = parameters(pairs(&[("scope", "openid"), ("scope", "openid email")])).unwrap_err();
        assert_eq!(twice.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn pushed_parameters_read_as_an_authorization_request() {
        let params =
            parameters(pairs(&[("client_id", "app"), ("code_challenge", "abc"), ("unknown", "x")])).unwrap();
        let read = authorize_params(&params).unwrap();
        assert_eq!(read.client_id.as_deref(), Some("app"));
        assert_eq!(read.code_challenge.as_deref(), Some("abc"));
        assert!(!read.pushed, "only `resolve` and `push` mark them");
    }
}
