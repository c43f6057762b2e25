//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1): parsing, validation, and
//! the redirect back to the client.
//!
//! Errors found before the client and its `redirect_uri` are trusted are shown on a page and
//! never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.1); errors after that go back to the
//! client as `error`, `error_description` and `state`.

use super::error::{ErrorCode, OAuthError};
use super::{Settings, pkce, redirect, scopes};
use crate::connector::{Opened, Registry};
use crate::overlay::Clients;
use crate::protocol::{GrantType, ResponseType, ResponseWord};
use crate::storage::{AuthRequest, Client, Pkce};

pub use crate::protocol::uses_fragment;
use crate::types::{ClientId, ConnectorId, UnixTime};
use serde::Deserialize;
use std::sync::Arc;
use url::Url;

/// The request's parameters as sent; nothing downstream reads the raw query.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub connector_id: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
    pub login_hint: Option<String>,
    /// RFC 9449 §10: the DPoP key that must redeem the code.
    pub dpop_jkt: Option<String>,
    /// RFC 8707: the APIs the tokens are for (a repeated parameter's values, space-separated).
    pub resource: Option<String>,
    /// RFC 9126 §4: the parameters were pushed to `/par`; this names them.
    pub request_uri: Option<String>,
    /// The parameters came from a pushed request (set by `par`, never read from a request).
    #[serde(skip)]
    pub pushed: bool,
}

/// An error of the browser flow: a page for the user, or a redirect to the client.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI is not trusted (or the error is the user's to see): tell
    /// the user, do not redirect. `message` says what happened and what to do.
    Page { kind: PageKind, message: String },
    /// Tell the client, at its (verified) redirect URI.
    /// Boxed: the other variants are small, and every `Result` carrying this would pay for it.
    Redirect(Box<ErrorRedirect>),
    /// Brute-force protection refused the step: the user is told how long to wait.
    Throttled(crate::throttle::Throttled),
    /// The database is unavailable: `503`, try again shortly.
    Unavailable,
}

/// What went wrong in the browser, as the user's page names it. The kind decides the title
/// and (in `web/`) the HTTP status; the message gives the detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Malformed or incomplete parameters or forms.
    InvalidRequest,
    /// No such client.
    UnknownApplication,
    /// A `redirect_uri` the client did not register.
    UnregisteredRedirect,
    /// A connector the client may not use, or that does not exist.
    UnknownConnector,
    /// No live auth request for this step.
    LoginExpired,
    /// A form whose CSRF token is not the session's (an old tab, a cross-site post).
    SessionExpired,
    /// An approval link whose HMAC does not match the login.
    UnauthorizedRequest,
    /// A step that does not exist for this connector (a password form for a redirect login).
    NotFound,
    /// The connector refused the user (with its reason).
    LoginRefused,
    /// The upstream identity provider could not be reached or answered nonsense.
    UpstreamUnavailable,
    /// The device flow's login did not complete.
    LoginFailed,
    DeviceLoginExpired,
    DeviceAlreadyHandled,
    InvalidLogoutRequest,
    UnregisteredLogoutRedirect,
    /// A method the page does not take.
    NotAvailable,
    /// Our fault: the cause is in the log under the request id.
    Internal,
    /// Brute-force protection: too many requests or failures from here.
    TooManyAttempts,
    /// The database cannot be reached right now.
    Unavailable,
}

impl PageKind {
    pub fn title(self) -> &'static str {
        match self {
            Self::InvalidRequest => "Invalid request",
            Self::UnknownApplication => "Unknown application",
            Self::UnregisteredRedirect => "Unregistered redirect URI",
            Self::UnknownConnector => "Unknown connector",
            Self::LoginExpired => "Login expired",
            Self::SessionExpired => "Session expired",
            Self::UnauthorizedRequest => "Unauthorized request",
            Self::NotFound => "Not found",
            Self::LoginRefused => "Login refused",
            Self::UpstreamUnavailable => "Login provider unavailable",
            Self::LoginFailed => "Login failed",
            Self::DeviceLoginExpired => "Device login expired",
            Self::DeviceAlreadyHandled => "Device already handled",
            Self::InvalidLogoutRequest => "Invalid logout request",
            Self::UnregisteredLogoutRedirect => "Unregistered logout redirect",
            Self::NotAvailable => "Not available",
            Self::Internal => "Something went wrong",
            Self::TooManyAttempts => "Too many attempts",
            Self::Unavailable => "Temporarily unavailable",
        }
    }
}

impl AuthorizeError {
    pub fn page(kind: PageKind, message: impl Into<String>) -> Self {
        Self::Page { kind, message: message.into() }
    }

    /// Our own failure: the cause goes to the log, the user sees `message`. A database that
    /// is unavailable is no bug of ours: the user is asked to retry shortly (`503`).
    pub fn internal(what: &str, cause: impl std::fmt::Display + 'static, message: &str) -> Self {
        let any: &dyn std::any::Any = &cause;
        if let Some(crate::storage::StorageError::Unavailable(why)) = any.downcast_ref() {
            tracing::warn!(cause = %why, "{what}: storage unavailable");
            return Self::Unavailable;
        }
        tracing::error!(%cause, "{what}");
        Self::page(PageKind::Internal, message)
    }
}

#[derive(Debug)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub state: String,
    pub fragment: bool,
    pub error: OAuthError,
    /// Our issuer, sent as `iss` (RFC 9207 §2) so that a client talking to several providers
    /// can tell which one answered (the mix-up attack, RFC 9700 §4.4).
    pub issuer: String,
}

impl ErrorRedirect {
    pub fn url(&self) -> String {
        let params = [
            ("error", self.error.code.as_str()),
            ("error_description", self.error.description.as_str()),
            ("state", self.state.as_str()),
            ("iss", self.issuer.as_str()),
        ];
        with_params(&self.redirect_uri, &params, self.fragment)
    }
}

/// Appends parameters to a redirect URI in its query (code flow) or fragment (implicit and
/// hybrid flows), keeping any query the registered URI already has.
pub fn with_params(redirect_uri: &str, params: &[(&str, &str)], fragment: bool) -> String {
    let params = params.iter().filter(|(_, v)| !v.is_empty());
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return redirect_uri.to_string();
    };
    if fragment {
        let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        url.set_fragment(Some(&encoded));
    } else {
        url.query_pairs_mut().extend_pairs(params);
    }
    url.into()
}

/// A valid authorization request, ready to be stored once a connector is chosen.
#[derive(Debug)]
pub struct Validated {
    pub client: Client,
    /// `id` and `connector_id` are still empty.
    pub request: AuthRequest,
    /// `connector_id` from the request, checked.
    pub connector_id: Option<ConnectorId>,
    /// The grant this login serves, for connectors' `grantTypes`: the device code grant when
    /// it ends at the device callback (as Dex), else the authorization code grant.
    pub grant_type: GrantType,
    /// Our issuer, for the `iss` of an error sent back (RFC 9207).
    pub issuer: String,
}

impl Validated {
    pub fn fragment(&self) -> bool {
        uses_fragment(&self.request.response_types)
    }

    pub fn error(&self, error: OAuthError) -> AuthorizeError {
        AuthorizeError::Redirect(Box::new(ErrorRedirect {
            redirect_uri: self.request.redirect_uri.clone(),
            state: self.request.state.clone(),
            fragment: self.fragment(),
            error,
            issuer: self.issuer.clone(),
        }))
    }
}

fn page(kind: PageKind, message: impl Into<String>) -> AuthorizeError {
    AuthorizeError::page(kind, message)
}

/// Dex's connector-authorization rule: a client may use every connector unless it lists
/// `allowedConnectors`.
pub fn client_may_use(client: &Client, connector_id: &ConnectorId) -> bool {
    client.allowed_connectors.is_empty() || client.allowed_connectors.contains(connector_id)
}

/// The connectors a client may log in with for `grant_type` (its `allowedConnectors`, and
/// the connectors' own `grantTypes`), in config order.
pub fn connectors_for(client: &Client, registry: &Registry, grant_type: GrantType) -> Vec<Arc<Opened>> {
    registry
        .all()
        .iter()
        .filter(|c| client_may_use(client, &c.id))
        .filter(|c| c.allows_grant(grant_type))
        .cloned()
        .collect()
}

pub async fn validate(
    params: &AuthorizeParams,
    settings: &Settings,
    clients: &Clients,
    connectors: &Registry,
    now: UnixTime,
) -> Result<Validated, AuthorizeError> {
    let client_id = ClientId::new(params.client_id.clone().unwrap_or_default());
    if client_id.is_empty() {
        return Err(page(PageKind::InvalidRequest, "The application did not say who it is (no client_id)."));
    }
    let client = clients
        .get(&client_id)
        .await
        .map_err(|e| {
            tracing::error!(cause = %e, "client lookup failed");
            page(PageKind::Internal, "The login service could not look up the application.")
        })?
        .ok_or_else(|| {
            page(PageKind::UnknownApplication, format!("No application is registered as {client_id:?}."))
        })?;

    let redirect_uri = match params.redirect_uri.as_deref().filter(|r| !r.is_empty()) {
        Some(uri) => uri.to_string(),
        // RFC 6749 §3.1.2.3: optional when exactly one URI is registered.
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => {
                return Err(page(
                    PageKind::InvalidRequest,
                    "The application did not say where to send you back (no redirect_uri).",
                ));
            }
        },
    };
    if !redirect::is_allowed(&client, &redirect_uri, &settings.device_callback_uri()) {
        return Err(page(
            PageKind::UnregisteredRedirect,
            format!("The application asked to send you to {redirect_uri:?}, which it has not registered."),
        ));
    }

    let device = redirect_uri == settings.device_callback_uri();
    // RFC 9126 §5. A page, not a redirect: the redirect_uri came unauthenticated. The device
    // flow's own login is exempt: it ends at our device callback, never at the client.
    if !params.pushed && !device && super::par::required(&client, settings) {
        return Err(page(
            PageKind::InvalidRequest,
            "This application must send its login requests through pushed authorization (RFC 9126); \
             please tell its administrator.",
        ));
    }
    let grant_type = if device { GrantType::DeviceCode } else { GrantType::AuthorizationCode };
    let state = params.state.clone().unwrap_or_default();
    let requested_types = scopes::parse(params.response_type.as_deref().unwrap_or_default());
    // Unknown words are refused just below, once the error can go back to the client.
    let response_types: Vec<ResponseWord> =
        requested_types.iter().filter_map(|w| ResponseWord::parse(w)).collect();
    let mut request = AuthRequest {
        client_id: client.id.clone(),
        redirect_uri,
        state,
        response_types,
        nonce: params.nonce.clone().unwrap_or_default(),
        expiry: now + settings.auth_request_lifetime,
        dpop_jkt: params.dpop_jkt.clone().filter(|jkt| !jkt.is_empty()),
        ..Default::default()
    };
    let fail = |request: &AuthRequest, error: OAuthError| {
        AuthorizeError::Redirect(Box::new(ErrorRedirect {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            fragment: uses_fragment(&request.response_types),
            error,
            issuer: settings.issuer.clone(),
        }))
    };

    check_response_types(&requested_types, settings).map_err(|e| fail(&request, e))?;
    check_client_grants(&client, &request.response_types, grant_type).map_err(|e| fail(&request, e))?;
    let requested = super::resource::parse(params.resource.as_deref());
    request.resources = super::resource::check(&client, &requested).map_err(|e| fail(&request, e))?;
    request.scopes = scopes::parse(params.scope.as_deref().unwrap_or_default());
    scopes::validate(&request.scopes).map_err(|e| fail(&request, e))?;
    check_cross_client_trust(&request.scopes, &client, clients).await.map_err(|e| fail(&request, e))?;

    let implicit_id_token = request.response_types.contains(&ResponseWord::IdToken)
        && !request.response_types.contains(&ResponseWord::Code);
    if implicit_id_token && request.nonce.is_empty() {
        return Err(fail(
            &request,
            OAuthError::invalid_request("Response type 'id_token' requires a 'nonce' value."),
        ));
    }

    request.pkce = check_pkce(params, settings, &request.response_types).map_err(|e| fail(&request, e))?;
    if client.options.fapi2() {
        check_fapi2(&request).map_err(|e| fail(&request, e))?;
    }
    request.prompt = params.prompt.clone().unwrap_or_default();
    let prompts: Vec<&str> = request.prompt.split(' ').filter(|p| !p.is_empty()).collect();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(fail(
            &request,
            OAuthError::invalid_request("prompt=none cannot be combined with other values."),
        ));
    }
    request.force_approval_prompt = prompts.contains(&"consent");
    request.max_age = match params.max_age.as_deref().filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => Some(m.parse::<i64>().ok().filter(|m| *m >= 0).ok_or_else(|| {
            fail(&request, OAuthError::invalid_request("max_age must be a non-negative integer."))
        })?),
    };

    let connector_id = match params.connector_id.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(id) => {
            if !connectors_for(&client, connectors, grant_type).iter().any(|c| c.id == id) {
                return Err(unknown_connector());
            }
            Some(ConnectorId::from(id))
        }
    };
    Ok(Validated { client, request, connector_id, grant_type, issuer: settings.issuer.clone() })
}

/// `connector_id` (Dex's parameter on `/auth`) or the `/auth/{connector}` path names no
/// connector this client may use. As in Dex, an error page and never a redirect: it is a wrong
/// link or a misconfigured application, which only its administrator can fix, and a redirect
/// would hand the user back to an application that would send them here again.
pub fn unknown_connector() -> AuthorizeError {
    page(
        PageKind::UnknownConnector,
        "The application asked to log in with a connector that does not exist or that it may \
         not use. Please tell the application's administrator.",
    )
}

/// The client's `grantTypes`: a code needs `authorization_code` (the device flow's login,
/// `device_code`), tokens straight from `/auth` need `implicit`.
fn check_client_grants(
    client: &Client,
    types: &[ResponseWord],
    grant_type: GrantType,
) -> Result<(), OAuthError> {
    let needed = match grant_type {
        GrantType::DeviceCode => GrantType::DeviceCode,
        _ if types.contains(&ResponseWord::Code) => GrantType::AuthorizationCode,
        _ => GrantType::Implicit,
    };
    if client.options.allows_grant(needed) {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(format!(
            "This client may not use the {} grant.",
            needed.as_str()
        )))
    }
}

/// FAPI 2.0 §5.3.2.2: the `code` response type alone, with PKCE S256. (Pushed requests only
/// is checked above, with every client that must push.)
fn check_fapi2(request: &AuthRequest) -> Result<(), OAuthError> {
    if request.response_types != [ResponseWord::Code] {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "Under the FAPI 2.0 profile only response_type=code is allowed.",
        ));
    }
    if request.pkce.as_ref().is_none_or(|p| p.method != crate::protocol::PkceMethod::S256) {
        return Err(OAuthError::invalid_request("Under the FAPI 2.0 profile PKCE with S256 is required."));
    }
    Ok(())
}

fn check_response_types(types: &[String], settings: &Settings) -> Result<(), OAuthError> {
    if types.is_empty() {
        return Err(OAuthError::invalid_request("No response_type provided."));
    }
    for t in types {
        let Some(word) = ResponseWord::parse(t) else {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                format!("Invalid response type {t:?}."),
            ));
        };
        if !settings.response_types.contains(&ResponseType::of_word(word)) {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                format!("Unsupported response type {t:?}."),
            ));
        }
    }
    Ok(())
}

/// `audience:server:client_id:X` is allowed when X is the client itself or lists the client
/// among its `trustedPeers` (Dex's rule).
pub async fn check_cross_client_trust(
    requested: &[String],
    client: &Client,
    clients: &Clients,
) -> Result<(), OAuthError> {
    for peer_id in scopes::cross_client_peers(requested) {
        if peer_id == client.id {
            continue;
        }
        let trusted = clients
            .get(&ClientId::from(peer_id))
            .await?
            .is_some_and(|peer| peer.trusted_peers.contains(&client.id));
        if !trusted {
            return Err(OAuthError::invalid_scope(format!(
                "Client can't request scope(s) [\"audience:server:client_id:{peer_id}\"]."
            )));
        }
    }
    Ok(())
}

fn check_pkce(
    params: &AuthorizeParams,
    settings: &Settings,
    response_types: &[ResponseWord],
) -> Result<Option<Pkce>, OAuthError> {
    let challenge = params.code_challenge.as_deref();
    let method = params.code_challenge_method.as_deref();
    match pkce::parse_challenge(challenge, method, &settings.pkce_methods)? {
        Some(pkce) => Ok(Some(pkce)),
        None if settings.pkce_enforce && response_types.contains(&ResponseWord::Code) => Err(
            OAuthError::invalid_request("PKCE is required: send code_challenge and code_challenge_method."),
        ),
        None => Ok(None),
    }
}
