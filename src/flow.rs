//! The browser login, as a state machine over a persisted [`AuthRequest`]:
//!
//! 1. `/auth` validates the request. A live single sign-on session (see `sso`) skips the
//!    login; otherwise it picks a connector (or shows the chooser) and stores nothing yet, so
//!    health checks and abandoned choosers leave no rows behind.
//! 2. `/auth/{connector}` validates again and stores the auth request; a password connector
//!    shows its form, a redirect connector sends the user upstream with the request id as `state`.
//! 3. The form post or `/callback` turns an identity into a logged-in auth request, opens a
//!    single sign-on session, and sends the user to `/approval?req=…&hmac=…`; the HMAC binds
//!    approval to whoever logged in.
//! 4. Approval (or `skipApprovalScreen`) consumes the request atomically and answers the
//!    client: a code, tokens in the fragment (implicit/hybrid), or the out-of-band page.

use crate::audit::Event;
use crate::connector::{Identity, Login, Opened, Registry, SamlBinding, SamlLogin, SamlRequest, Scopes};
use crate::crypto::{base64url, constant_time_eq, hmac_sha256, random_bytes, random_id};
use crate::oauth2::Settings;
use crate::oauth2::authorize::{
    self, AuthorizeError, AuthorizeParams, ErrorRedirect, PageKind, connectors_for, uses_fragment,
    with_params,
};
use crate::oauth2::par;
use crate::oauth2::redirect::OOB_URI;
use crate::oauth2::tokens::{TokenContext, mint, mint_id_token};
use crate::oauth2::{OAuthError, paths};
use crate::overlay::Clients;
use crate::protocol::ResponseWord;
use crate::signer::Signer;
use crate::sso;
use crate::storage::{AuthCode, AuthRequest, AuthSession, Client, Storage};
use crate::throttle::PasswordAttempt;
use crate::types::{ConnectorId, UnixTime};
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

/// What the browser flow and logout need, with `now` read from the clock once per step.
pub struct FlowContext<'a> {
    pub settings: &'a Settings,
    pub clients: &'a Clients,
    pub connectors: Arc<Registry>,
    pub storage: &'a dyn Storage,
    pub signer: &'a dyn Signer,
    pub sessions: &'a sso::Settings,
    /// For calls out of the flow (back-channel logout).
    pub http: &'a reqwest::Client,
    pub audit: &'a crate::audit::Audit,
    pub throttle: &'a crate::throttle::Throttle,
    /// Wakes the back-channel logout deliveries after a logout.
    pub logout_deliveries: &'a crate::logout::LogoutDeliveries,
    /// The address the request came from (see `web::client_address`).
    pub source: Option<std::net::IpAddr>,
    pub now: UnixTime,
}

/// What `/auth` does next.
pub enum Start {
    Redirect(String),
    Chooser {
        client_name: String,
        connectors: Vec<(Arc<Opened>, String)>,
    },
    /// `prompt=none` with a live session: answered without any page.
    Done(Completion),
}

/// How the flow answers the client in the end.
#[derive(Debug)]
pub enum Completion {
    Redirect(String),
    /// `urn:ietf:wg:oauth:2.0:oob`: show the code to the user.
    Oob(String),
}

/// What the approval step shows, or its outcome when no screen is needed.
pub enum Approval {
    Show { client: Box<Client>, scopes: Vec<String>, req: String, hmac: String },
    Done(Completion),
}

/// A login that succeeded: where the browser goes next, and the new single sign-on session
/// id to keep in its session cookie.
pub struct LoggedIn {
    pub next: String,
    pub sid: String,
}

/// The outcome of a password form submission.
pub enum PasswordOutcome {
    LoggedIn(LoggedIn),
    WrongPassword,
    /// Too many failures (`throttle`): the password was not checked; try again later.
    Throttled(crate::throttle::Throttled),
}

fn page(kind: PageKind, message: &str) -> AuthorizeError {
    AuthorizeError::page(kind, message)
}

fn internal(cause: impl Display + 'static) -> AuthorizeError {
    AuthorizeError::internal(
        "login flow failed",
        cause,
        "The login service hit an internal error. Please try again.",
    )
}

fn expired() -> AuthorizeError {
    page(
        PageKind::LoginExpired,
        "This login request expired or is not valid. Please go back to the application and start again.",
    )
}

fn connector_url(ctx: &FlowContext<'_>, connector_id: &ConnectorId, params: &AuthorizeParams) -> String {
    let query = params_query(params);
    ctx.settings.endpoint(&format!("{}/{}?{query}", paths::AUTH, urlencode(connector_id.as_str())))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn params_query(p: &AuthorizeParams) -> String {
    let fields = [
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("response_type", &p.response_type),
        ("scope", &p.scope),
        ("state", &p.state),
        ("nonce", &p.nonce),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("prompt", &p.prompt),
        ("max_age", &p.max_age),
        ("response_mode", &p.response_mode),
        ("login_hint", &p.login_hint),
        ("dpop_jkt", &p.dpop_jkt),
        ("resource", &p.resource),
    ];
    // A pushed request travels by its request_uri alone (RFC 9126 §4).
    let pushed = [("client_id", &p.client_id), ("request_uri", &p.request_uri)];
    let fields: &[(&str, &Option<String>)] = if p.request_uri.is_some() { &pushed } else { &fields };
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        if let Some(v) = value {
            s.append_pair(name, v);
        }
    }
    s.finish()
}

/// Step 1: `/auth`. `sid` is the single sign-on session the browser holds, if any.
pub async fn start(
    ctx: &FlowContext<'_>,
    params: &AuthorizeParams,
    sid: Option<&str>,
) -> Result<Start, AuthorizeError> {
    let now = ctx.now;
    if let Some(refused) = ctx.throttle.check_auth_request(ctx.source, now) {
        return Err(AuthorizeError::Throttled(refused));
    }
    let resolved = par::resolve(ctx, params, par::Use::Read).await?;
    let params: &AuthorizeParams = &resolved;
    let valid = authorize::validate(params, ctx.settings, ctx.clients, &ctx.connectors, now).await?;
    let connectors = connectors_for(&valid.client, &ctx.connectors, valid.grant_type);
    let allowed: Vec<ConnectorId> = connectors.iter().map(|c| c.id.clone()).collect();
    let session = sso::current(ctx.storage, ctx.sessions, sid, now).await.map_err(internal)?;
    let mut wanted = valid.request.clone();
    wanted.connector_id = valid.connector_id.clone().unwrap_or_default();
    let prompt_none = valid.request.prompt.split(' ').any(|p| p == "none");
    if let Some(session) = session.filter(|s| sso::reusable(s, &wanted, &allowed, now)) {
        // The login is created right here: a pushed request is used up.
        par::resolve(ctx, params, par::Use::Take).await?;
        return resume(ctx, valid, session, prompt_none).await;
    }
    if prompt_none {
        return Err(valid
            .error(OAuthError::new(crate::oauth2::ErrorCode::LoginRequired, "The user is not logged in.")));
    }
    if let Some(id) = &valid.connector_id {
        return Ok(Start::Redirect(connector_url(ctx, id, params)));
    }
    match connectors.as_slice() {
        [] => Err(valid.error(OAuthError::invalid_request("No connector is available for this client."))),
        [only] if !ctx.settings.always_show_login => {
            Ok(Start::Redirect(connector_url(ctx, &only.id, params)))
        }
        _ => Ok(Start::Chooser {
            client_name: display_name(&valid.client),
            connectors: connectors.iter().map(|c| (c.clone(), connector_url(ctx, &c.id, params))).collect(),
        }),
    }
}

/// A live session answers the request: the auth request is logged in from the start.
async fn resume(
    ctx: &FlowContext<'_>,
    valid: authorize::Validated,
    session: AuthSession,
    prompt_none: bool,
) -> Result<Start, AuthorizeError> {
    let mut request = valid.request.clone();
    request.id = random_id();
    request.hmac_key = random_bytes(32);
    request.connector_id = session.connector_id.clone();
    request.logged_in = true;
    request.claims = session.claims.clone();
    request.connector_data = session.connector_data.clone();
    request.auth_time = session.auth_time;
    request.session_id = session.id.clone();
    if prompt_none && needs_approval(ctx, &request, Some(&session)) {
        return Err(valid.error(OAuthError::new(
            crate::oauth2::ErrorCode::ConsentRequired,
            "The user has not approved this client.",
        )));
    }
    ctx.storage.create_auth_request(&request).await.map_err(internal)?;
    if prompt_none {
        return Ok(Start::Done(finish(ctx, &request.id, None).await?));
    }
    Ok(Start::Redirect(approval_url(ctx, &request)))
}

/// The consent screen is needed unless the config skips it or this session already
/// approved these scopes for this client; `prompt=consent` always asks.
fn needs_approval(ctx: &FlowContext<'_>, request: &AuthRequest, session: Option<&AuthSession>) -> bool {
    let consented = session.is_some_and(|s| sso::has_consent(s, &request.client_id, &request.scopes));
    request.force_approval_prompt || !(ctx.settings.skip_approval || consented)
}

pub fn display_name(client: &Client) -> String {
    if client.name.is_empty() { client.id.to_string() } else { client.name.clone() }
}

/// Step 2: `/auth/{connector}`. Returns where to send the browser.
pub async fn begin(
    ctx: &FlowContext<'_>,
    connector_id: &ConnectorId,
    params: &AuthorizeParams,
) -> Result<String, AuthorizeError> {
    let now = ctx.now;
    let resolved = par::resolve(ctx, params, par::Use::Take).await?;
    let valid = authorize::validate(&resolved, ctx.settings, ctx.clients, &ctx.connectors, now).await?;
    let allowed = connectors_for(&valid.client, &ctx.connectors, valid.grant_type);
    let Some(connector) = allowed.into_iter().find(|c| c.id == *connector_id) else {
        return Err(authorize::unknown_connector());
    };
    let mut request = valid.request;
    request.id = random_id();
    request.connector_id = connector.id.clone();
    request.hmac_key = random_bytes(32);
    let next = match &connector.login {
        Login::Password(_) => password_url(ctx, connector_id, &request.id),
        Login::Redirect(upstream) => {
            let scopes = Scopes::from_requested(&request.scopes);
            let callback = ctx.settings.endpoint(paths::CALLBACK);
            let (url, login_data) =
                upstream.login_url(scopes, &callback, &request.id).await.map_err(connector_failed)?;
            // Kept server-side until the callback; replaced by the identity's data at login.
            request.connector_data = login_data;
            url
        }
        Login::Saml(saml) => match saml_pending(saml.as_ref(), &mut request, now)?.binding {
            SamlBinding::Redirect(url) => url,
            SamlBinding::Post { .. } => saml_post_url(ctx, connector_id, &request.id),
        },
    };
    ctx.storage.create_auth_request(&request).await.map_err(internal)?;
    Ok(next)
}

/// A connector could not reach its upstream or understand its answer: the user is told so
/// (it is not Tessera's fault, and retrying later may help); the cause goes to the log.
fn connector_failed(error: crate::connector::ConnectorError) -> AuthorizeError {
    match error {
        crate::connector::ConnectorError::Refused(reason) => {
            tracing::info!(%reason, "connector refused the login");
            page(PageKind::LoginRefused, &reason)
        }
        crate::connector::ConnectorError::Upstream(cause) => {
            tracing::warn!(%cause, "connector failed");
            page(
                PageKind::UpstreamUnavailable,
                "The identity provider could not be reached or sent an answer that could not be used. \
                 Please try again later.",
            )
        }
    }
}

pub fn password_url(ctx: &FlowContext<'_>, connector_id: &ConnectorId, state: &str) -> String {
    connector_step_url(ctx, connector_id, "login", state)
}

/// `/auth/{connector}/{step}?state=…`: a page of one connector's login, for one auth request.
fn connector_step_url(ctx: &FlowContext<'_>, connector_id: &ConnectorId, step: &str, state: &str) -> String {
    let (connector, state) = (urlencode(connector_id.as_str()), urlencode(state));
    ctx.settings.endpoint(&format!("{}/{connector}/{step}?state={state}", paths::AUTH))
}

/// A live auth request for this connector, or the "login expired" page.
async fn pending(
    ctx: &FlowContext<'_>,
    state: &str,
    connector_id: &ConnectorId,
) -> Result<AuthRequest, AuthorizeError> {
    let request = ctx.storage.get_auth_request(state).await.map_err(internal)?.ok_or_else(expired)?;
    if request.expiry <= ctx.now || request.connector_id != *connector_id {
        return Err(expired());
    }
    Ok(request)
}

/// The password form's connector and its prompt, after checking the request is live.
pub async fn password_form(
    ctx: &FlowContext<'_>,
    connector_id: &ConnectorId,
    state: &str,
) -> Result<String, AuthorizeError> {
    pending(ctx, state, connector_id).await?;
    match ctx.connectors.get(connector_id).map(|c| &c.login) {
        Some(Login::Password(p)) => Ok(p.prompt().to_string()),
        _ => Err(page(PageKind::NotFound, "This connector does not log in with a password.")),
    }
}

/// Step 3a: the password form was posted. `known_browser`: this browser has logged in as
/// `username` before (brute-force protection does not make it wait for failures elsewhere).
pub async fn password_login(
    ctx: &FlowContext<'_>,
    connector_id: &ConnectorId,
    state: &str,
    username: &str,
    password: &str,
    known_browser: bool,
) -> Result<PasswordOutcome, AuthorizeError> {
    let request = pending(ctx, state, connector_id).await?;
    let Some(Login::Password(connector)) = ctx.connectors.get(connector_id).map(|c| &c.login) else {
        return Err(page(PageKind::NotFound, "This connector does not log in with a password."));
    };
    let attempt =
        PasswordAttempt { connector: connector_id, login: username, source: ctx.source, known_browser };
    if let Some(refused) =
        ctx.throttle.check_password(ctx.storage, &attempt, ctx.now).await.map_err(internal)?
    {
        return Ok(PasswordOutcome::Throttled(refused));
    }
    let result = connector.login(Scopes::from_requested(&request.scopes), username, password).await;
    metrics::counter!("tessera_logins_total", "connector" => connector_id.to_string(),
    "result" => match &result {
        Ok(Some(_)) => "ok",
        Ok(None) => "invalid",
        Err(crate::connector::ConnectorError::Refused(_)) => "refused",
        Err(_) => "error",
    })
    .increment(1);
    // A refusal (a deactivated account, a required group) is said to the user, and counts as
    // a failed attempt: it tells whoever typed the password that the account exists. An
    // upstream that is down or answers garbage is a 502 page, as for the redirect connectors.
    let identity = match result {
        Ok(identity) => identity,
        Err(e) => {
            if matches!(e, crate::connector::ConnectorError::Refused(_)) {
                ctx.throttle.password_failed(ctx.storage, &attempt, ctx.now).await.map_err(internal)?;
            }
            login_failed(ctx, &request, username, &e);
            return Err(connector_failed(e));
        }
    };
    match identity {
        None => {
            ctx.throttle.password_failed(ctx.storage, &attempt, ctx.now).await.map_err(internal)?;
            let event = Event::LoginFailed {
                connector: connector_id.as_str(),
                client: request.client_id.as_str(),
                login: username,
                reason: "invalid_credentials",
            };
            ctx.audit.record(ctx.now, &event);
            Ok(PasswordOutcome::WrongPassword)
        }
        Some(identity) => {
            ctx.throttle.password_succeeded(ctx.storage, &attempt).await.map_err(internal)?;
            Ok(PasswordOutcome::LoggedIn(logged_in(ctx, request, identity).await?))
        }
    }
}

/// Step 3b: a redirect connector called back with `state` = the auth request id.
pub async fn callback(
    ctx: &FlowContext<'_>,
    params: &HashMap<String, String>,
) -> Result<LoggedIn, AuthorizeError> {
    redirect_callback(ctx, None, params, &HashMap::new()).await
}

/// Step 3b at `/callback/{connector}` (Dex's per-connector callback, e.g. `authproxy`):
/// the auth request must belong to that connector; `headers` are the values of the
/// connector's trusted headers the request carried.
pub async fn connector_callback(
    ctx: &FlowContext<'_>,
    connector_id: &ConnectorId,
    params: &HashMap<String, String>,
    headers: &HashMap<String, String>,
) -> Result<LoggedIn, AuthorizeError> {
    redirect_callback(ctx, Some(connector_id), params, headers).await
}

async fn redirect_callback(
    ctx: &FlowContext<'_>,
    connector_id: Option<&ConnectorId>,
    params: &HashMap<String, String>,
    headers: &HashMap<String, String>,
) -> Result<LoggedIn, AuthorizeError> {
    let state = params.get("state").map(String::as_str).unwrap_or_default();
    let request = ctx.storage.get_auth_request(state).await.map_err(internal)?.ok_or_else(expired)?;
    if request.expiry <= ctx.now || connector_id.is_some_and(|id| *id != request.connector_id) {
        return Err(expired());
    }
    let Some(Login::Redirect(connector)) = ctx.connectors.get(&request.connector_id).map(|c| &c.login) else {
        return Err(expired());
    };
    let scopes = Scopes::from_requested(&request.scopes);
    // What `login_url` kept for this login (e.g. the upstream nonce and PKCE verifier).
    let login_data = request.connector_data.clone();
    let result = if connector_id.is_some() {
        connector.handle_header_callback(scopes, login_data.as_deref(), params, headers).await
    } else {
        connector.handle_callback(scopes, login_data.as_deref(), params).await
    };
    metrics::counter!("tessera_logins_total", "connector" => request.connector_id.to_string(),
        "result" => match &result { Ok(_) => "ok", Err(crate::connector::ConnectorError::Refused(_)) => "refused", Err(_) => "error" })
    .increment(1);
    match result {
        Ok(identity) => logged_in(ctx, request, identity).await,
        Err(e) => {
            login_failed(ctx, &request, "", &e);
            Err(connector_failed(e))
        }
    }
}

fn approval_hmac(request: &AuthRequest) -> String {
    base64url(&hmac_sha256(&request.hmac_key, request.id.as_bytes()))
}

/// The audit event of a login an upstream refused or could not complete; `login` is the name
/// typed in a password form (empty for redirect connectors).
fn login_failed(
    ctx: &FlowContext<'_>,
    request: &AuthRequest,
    login: &str,
    error: &crate::connector::ConnectorError,
) {
    let reason = match error {
        crate::connector::ConnectorError::Refused(_) => "refused",
        _ => "error",
    };
    let event = Event::LoginFailed {
        connector: request.connector_id.as_str(),
        client: request.client_id.as_str(),
        login,
        reason,
    };
    ctx.audit.record(ctx.now, &event);
}

/// The connector vouched for the user: a new single sign-on session starts.
async fn logged_in(
    ctx: &FlowContext<'_>,
    mut request: AuthRequest,
    identity: Identity,
) -> Result<LoggedIn, AuthorizeError> {
    let now = ctx.now;
    request.logged_in = true;
    request.claims = identity.claims;
    request.connector_data = identity.connector_data;
    request.auth_time = now;
    ctx.audit.record(
        now,
        &Event::LoginSucceeded {
            connector: request.connector_id.as_str(),
            client: request.client_id.as_str(),
            user: &request.claims.user_id,
            username: &request.claims.username,
        },
    );
    let session = sso::open(ctx.storage, ctx.sessions, &request, now).await.map_err(internal)?;
    request.session_id = session.id.clone();
    if !ctx.storage.update_auth_request(&request).await.map_err(internal)? {
        return Err(expired());
    }
    Ok(LoggedIn { next: approval_url(ctx, &request), sid: session.id })
}

fn approval_url(ctx: &FlowContext<'_>, request: &AuthRequest) -> String {
    let hmac = approval_hmac(request);
    ctx.settings.endpoint(&format!(
        "{}?req={}&hmac={}",
        paths::APPROVAL,
        urlencode(&request.id),
        urlencode(&hmac)
    ))
}

async fn session_of(
    ctx: &FlowContext<'_>,
    request: &AuthRequest,
) -> Result<Option<AuthSession>, AuthorizeError> {
    if request.session_id.is_empty() {
        return Ok(None);
    }
    ctx.storage.get_auth_session(&request.session_id).await.map_err(internal)
}

async fn logged_in_request(
    ctx: &FlowContext<'_>,
    req: &str,
    hmac: &str,
) -> Result<AuthRequest, AuthorizeError> {
    let request = ctx.storage.get_auth_request(req).await.map_err(internal)?.ok_or_else(expired)?;
    if !request.logged_in || request.expiry <= ctx.now {
        return Err(expired());
    }
    if !constant_time_eq(approval_hmac(&request).as_bytes(), hmac.as_bytes()) {
        return Err(page(PageKind::UnauthorizedRequest, "This approval link is not valid for this login."));
    }
    Ok(request)
}

/// Step 4, GET: the consent screen, unless it is skipped.
pub async fn approval(ctx: &FlowContext<'_>, req: &str, hmac: &str) -> Result<Approval, AuthorizeError> {
    let request = logged_in_request(ctx, req, hmac).await?;
    let session = session_of(ctx, &request).await?;
    if !needs_approval(ctx, &request, session.as_ref()) {
        return Ok(Approval::Done(finish(ctx, req, None).await?));
    }
    let client = ctx.clients.get(&request.client_id).await.map_err(internal)?.ok_or_else(expired)?;
    Ok(Approval::Show {
        client: Box::new(client),
        scopes: request.scopes.clone(),
        req: req.to_string(),
        hmac: hmac.to_string(),
    })
}

/// Step 4, POST: the user approved or declined.
pub async fn decide(
    ctx: &FlowContext<'_>,
    req: &str,
    hmac: &str,
    approved: bool,
) -> Result<Completion, AuthorizeError> {
    let request = logged_in_request(ctx, req, hmac).await?;
    if approved {
        return finish(ctx, req, Some(&request.scopes)).await;
    }
    ctx.storage.delete_auth_request(req).await.map_err(internal)?;
    Err(AuthorizeError::Redirect(Box::new(ErrorRedirect {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        fragment: uses_fragment(&request.response_types),
        error: OAuthError::new(crate::oauth2::ErrorCode::AccessDenied, "The user declined the request."),
        issuer: ctx.settings.issuer.clone(),
    })))
}

/// Consumes the auth request (exactly once, even under double submission) and builds the
/// response to the client. `approved`: the scopes the user just consented to, remembered in
/// the session with the client (one session write for both).
async fn finish(
    ctx: &FlowContext<'_>,
    req: &str,
    approved: Option<&[String]>,
) -> Result<Completion, AuthorizeError> {
    let request = ctx.storage.take_auth_request(req).await.map_err(internal)?.ok_or_else(expired)?;
    let now = ctx.now;
    // The client now holds tokens from this session: it hears of the logout.
    sso::record(ctx.storage, &request.session_id, &request.client_id, approved).await.map_err(internal)?;
    if let Some(scopes) = approved {
        let event =
            Event::Consent { client: request.client_id.as_str(), user: &request.claims.user_id, scopes };
        ctx.audit.record(now, &event);
    }
    // The client's own lifetimes (its `expiry`, its profile's code lifetime).
    let client = ctx.clients.get(&request.client_id).await.map_err(internal)?.ok_or_else(expired)?;
    let types = &request.response_types;
    let has = |word: ResponseWord| types.contains(&word);
    let mut params: Vec<(&str, String)> = Vec::new();
    let mut code_id = None;
    if has(ResponseWord::Code) {
        let code = AuthCode {
            id: random_id(),
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            nonce: request.nonce.clone(),
            scopes: request.scopes.clone(),
            connector_id: request.connector_id.clone(),
            connector_data: request.connector_data.clone(),
            claims: request.claims.clone(),
            expiry: now + client.options.code_lifetime(ctx.settings.auth_code_lifetime),
            auth_time: request.auth_time,
            pkce: request.pkce.clone(),
            redeemed_at: None,
            issued: None,
            session_id: request.session_id.clone(),
            dpop_jkt: request.dpop_jkt.clone(),
            resources: request.resources.clone(),
        };
        ctx.storage.create_auth_code(&code).await.map_err(internal)?;
        if request.redirect_uri == OOB_URI {
            return Ok(Completion::Oob(code.id));
        }
        params.push(("code", code.id.clone()));
        code_id = Some(code.id);
    }
    let token_ctx = TokenContext {
        issuer: &ctx.settings.issuer,
        client_id: &request.client_id,
        scopes: &request.scopes,
        claims: &request.claims,
        connector_id: &request.connector_id,
        nonce: &request.nonce,
        auth_time: request.auth_time,
        session_id: &request.session_id,
        family: "",
        // The front channel has no DPoP proof: these are bearer tokens.
        jkt: None,
        resources: &request.resources,
        access_format: client.options.access_token_format,
        now,
        lifetimes: ctx.settings.lifetimes(&client),
    };
    if has(ResponseWord::Token) {
        let minted = mint(ctx.signer, &token_ctx, code_id.as_deref()).map_err(internal)?;
        params.push(("access_token", minted.access_token));
        params.push(("token_type", "bearer".into()));
        params.push(("expires_in", (minted.expires_at - now).to_string()));
        if has(ResponseWord::IdToken) {
            params.push(("id_token", minted.id_token));
        }
    } else if has(ResponseWord::IdToken) {
        params
            .push(("id_token", mint_id_token(ctx.signer, &token_ctx, code_id.as_deref()).map_err(internal)?));
    }
    params.push(("state", request.state.clone()));
    // RFC 9207 §2: the client checks it against the issuer it sent the user to.
    params.push(("iss", ctx.settings.issuer.clone()));
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(Completion::Redirect(with_params(&request.redirect_uri, &pairs, uses_fragment(types))))
}

// SAML (HTTP-POST binding back to `/callback`)

/// What the auth request remembers of its SAML `AuthnRequest` (in `connector_data` until login):
/// the `ID` the response must answer, and the POST binding's form fields.
#[derive(serde::Serialize, serde::Deserialize)]
struct SamlPending {
    request_id: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    saml_request: String,
}

/// A fresh `AuthnRequest` for `request`, remembered with it server-side.
fn saml_pending(
    saml: &dyn SamlLogin,
    request: &mut AuthRequest,
    now: crate::types::UnixTime,
) -> Result<SamlRequest, AuthorizeError> {
    let saml_request = saml.authn_request(&request.id, now).map_err(internal)?;
    let (action, form_value) = match &saml_request.binding {
        SamlBinding::Post { action, saml_request, .. } => (action.clone(), saml_request.clone()),
        SamlBinding::Redirect(_) => (String::new(), String::new()),
    };
    let pending = SamlPending { request_id: saml_request.id.clone(), action, saml_request: form_value };
    request.connector_data = Some(serde_json::to_vec(&pending).map_err(internal)?);
    Ok(saml_request)
}

fn saml_post_url(ctx: &FlowContext<'_>, connector_id: &ConnectorId, state: &str) -> String {
    connector_step_url(ctx, connector_id, "saml", state)
}

/// A SAML login waiting for the identity provider's answer, and what it is waiting for.
async fn saml_waiting(
    ctx: &FlowContext<'_>,
    state: &str,
) -> Result<(AuthRequest, Arc<dyn SamlLogin>, SamlPending), AuthorizeError> {
    let request = ctx.storage.get_auth_request(state).await.map_err(internal)?.ok_or_else(expired)?;
    if request.expiry <= ctx.now || request.logged_in {
        return Err(expired());
    }
    let Some(Login::Saml(saml)) = ctx.connectors.get(&request.connector_id).map(|c| &c.login) else {
        return Err(expired());
    };
    let pending: SamlPending =
        request.connector_data.as_deref().and_then(|d| serde_json::from_slice(d).ok()).ok_or_else(expired)?;
    let saml = saml.clone();
    Ok((request, saml, pending))
}

/// The HTTP-POST binding's form to the identity provider: `(action, SAMLRequest, RelayState)`.
pub async fn saml_post_form(
    ctx: &FlowContext<'_>,
    connector_id: &ConnectorId,
    state: &str,
) -> Result<(String, String, String), AuthorizeError> {
    let (request, _, pending) = saml_waiting(ctx, state).await?;
    if request.connector_id != *connector_id || pending.action.is_empty() {
        return Err(expired());
    }
    Ok((pending.action, pending.saml_request, request.id))
}

/// Step 3c: the identity provider posted a `SAMLResponse` with `RelayState` = the auth request
/// id. No browser session is needed (the cross-site POST carries none): the auth request and
/// the `AuthnRequest` ID stored with it are the binding.
pub async fn saml_callback(
    ctx: &FlowContext<'_>,
    relay_state: &str,
    saml_response: &str,
) -> Result<LoggedIn, AuthorizeError> {
    let (request, saml, pending) = saml_waiting(ctx, relay_state).await?;
    let scopes = Scopes::from_requested(&request.scopes);
    let result = saml.handle_post(scopes, saml_response, &pending.request_id, ctx.now, ctx.storage).await;
    metrics::counter!("tessera_logins_total", "connector" => request.connector_id.to_string(),
        "result" => if result.is_ok() { "ok" } else { "error" })
    .increment(1);
    if let Err(e) = &result {
        login_failed(ctx, &request, "", e);
    }
    match result {
        Ok(identity) => logged_in(ctx, request, identity).await,
        Err(crate::connector::ConnectorError::Refused(reason)) => Err(page(PageKind::LoginRefused, &reason)),
        Err(e) => Err(internal(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pushed_request_travels_by_its_request_uri_alone() {
        let plain = AuthorizeParams {
            client_id: Some("app".into()),
            redirect_uri: Some("https://app/cb".into()),
            state: Some("s".into()),
            ..Default::default()
        };
        assert_eq!(params_query(&plain), "client_id=app&redirect_uri=https%3A%2F%2Fapp%2Fcb&state=s");
        let pushed = AuthorizeParams { request_uri: Some("urn:x".into()), pushed: true, ..plain };
        assert_eq!(params_query(&pushed), "client_id=app&request_uri=urn%3Ax");
    }
}
