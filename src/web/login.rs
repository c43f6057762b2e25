//! Browser endpoints of the login flow (see `flow` for the state machine): `/auth`,
//! `/auth/{connector}`, `/auth/{connector}/login`, `/callback`, `/callback/{connector}`,
//! `/approval`.
//! Every form carries the session's CSRF token.

use super::client_address::ClientAddr;
use super::errors::{throttled_message, with_retry_after};
use super::page_extract::{CsrfForm, CsrfProtected, PageFormBody, PageQuery, parse_query};
use super::session::csrf_token;
use super::templates::{
    ApprovalPage, ConnectorLink, LoginChooserPage, OobPage, PasswordPage, ScopeDescription,
};
use super::ui::Ui;
use crate::app::{App, AppState};
use crate::connector::Login;
use crate::flow::{self, Approval, Completion, PasswordOutcome, Start};
use crate::oauth2::authorize::{AuthorizeError, AuthorizeParams, PageKind};
use crate::throttle::Throttle;
use crate::types::ConnectorId;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use tower_sessions::Session;

/// What a page handler answers: the page, or the error page (see `errors`).
pub(super) type PageResult = Result<Response, AuthorizeError>;

pub(super) fn session_failed() -> AuthorizeError {
    AuthorizeError::page(
        PageKind::Internal,
        "Your browser session could not be read or saved. Please try again.",
    )
}

/// The single sign-on session id this browser holds.
pub(super) const SID_KEY: &str = "sid";

pub(super) async fn browser_sid(session: &Session) -> Option<String> {
    session.get::<String>(SID_KEY).await.ok().flatten()
}

/// Remembers a fresh login in the browser: a new cookie id (no session fixation) and the sid.
pub(super) async fn remember_login(session: &Session, sid: &str) -> Result<(), AuthorizeError> {
    session.cycle_id().await.map_err(|_| session_failed())?;
    session.insert(SID_KEY, sid).await.map_err(|_| session_failed())
}

/// The accounts this browser has logged in as by password (digests: `Throttle::account_tag`),
/// newest last: brute-force protection does not make it wait for failures made elsewhere.
const KNOWN_ACCOUNTS_KEY: &str = "known_accounts";
/// Accounts remembered per browser at most.
const KNOWN_ACCOUNTS: usize = 8;

async fn known_accounts(session: &Session) -> Vec<String> {
    session.get::<Vec<String>>(KNOWN_ACCOUNTS_KEY).await.ok().flatten().unwrap_or_default()
}

async fn remember_account(session: &Session, tag: String) -> Result<(), AuthorizeError> {
    let mut known = known_accounts(session).await;
    known.retain(|t| *t != tag);
    known.push(tag);
    let excess = known.len().saturating_sub(KNOWN_ACCOUNTS);
    known.drain(..excess);
    session.insert(KNOWN_ACCOUNTS_KEY, known).await.map_err(|_| session_failed())
}

/// `/auth`, GET or POST (OIDC Core §3.1.2.1: the parameters are in the query or the form body).
pub async fn auth_get(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    State(ui): State<Arc<Ui>>,
    session: Session,
    method: axum::http::Method,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> PageResult {
    let raw = if method == axum::http::Method::POST { String::from_utf8(body.to_vec()).ok() } else { query };
    // RFC 8707: `resource` may repeat; every other parameter is sent once.
    let raw = raw.map(|r| {
        String::from_utf8_lossy(&super::extract::join_repeated(
            r.as_bytes(),
            crate::oauth2::resource::PARAMETER,
        ))
        .into_owned()
    });
    let params: AuthorizeParams = parse_query(raw.as_deref())?;
    let ctx = app.flow_context(source);
    Ok(match flow::start(&ctx, &params, browser_sid(&session).await.as_deref()).await? {
        Start::Redirect(url) => Redirect::to(&url).into_response(),
        Start::Done(completion) => complete(&ui, completion),
        Start::Chooser { client_name, connectors } => LoginChooserPage {
            branding: ui.branding.clone(),
            client_name,
            connectors: connectors
                .into_iter()
                .map(|(c, url)| ConnectorLink {
                    name: c.name.clone(),
                    url,
                    kind: match c.login {
                        Login::Password(_) => "password".into(),
                        Login::Redirect(_) => "redirect".into(),
                        Login::Saml(_) => "saml".into(),
                    },
                })
                .collect(),
        }
        .into_response(),
    })
}

pub async fn connector_get(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    Path(connector): Path<ConnectorId>,
    PageQuery(params): PageQuery<AuthorizeParams>,
) -> PageResult {
    let url = flow::begin(&app.flow_context(source), &connector, &params).await?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct StateQuery {
    #[serde(default)]
    pub(super) state: String,
}

async fn render_password_page(
    app: &App,
    ui: &Ui,
    session: &Session,
    connector: &ConnectorId,
    state: &str,
    username: String,
    error: Option<String>,
) -> PageResult {
    // Rendering only: nothing here is limited by address.
    let ctx = app.flow_context(None);
    let prompt = flow::password_form(&ctx, connector, state).await?;
    let csrf = csrf_token(session).await.map_err(|_| session_failed())?;
    Ok(PasswordPage {
        branding: ui.branding.clone(),
        post_url: flow::password_url(&ctx, connector, state),
        csrf_token: csrf,
        username_prompt: if prompt.is_empty() { "Username".into() } else { prompt },
        username,
        error,
        back_url: None,
    }
    .into_response())
}

pub async fn password_get(
    State(app): State<AppState>,
    State(ui): State<Arc<Ui>>,
    session: Session,
    Path(connector): Path<ConnectorId>,
    PageQuery(query): PageQuery<StateQuery>,
) -> PageResult {
    render_password_page(&app, &ui, &session, &connector, &query.state, String::new(), None).await
}

#[derive(Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: crate::types::Secret,
    #[serde(default)]
    csrf_token: String,
}
crate::debug_only!(PasswordForm: login);

impl PageFormBody for PasswordForm {
    const NAME: &'static str = "login form";
}

impl CsrfProtected for PasswordForm {
    const EXPIRED: &'static str = "Your login form expired. Please go back and try again.";
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

pub async fn password_post(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    State(ui): State<Arc<Ui>>,
    session: Session,
    Path(connector): Path<ConnectorId>,
    PageQuery(query): PageQuery<StateQuery>,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> PageResult {
    let ctx = app.flow_context(source);
    let tag = Throttle::account_tag(&connector, &form.login);
    let known = known_accounts(&session).await.contains(&tag);
    let outcome =
        flow::password_login(&ctx, &connector, &query.state, &form.login, form.password.expose(), known);
    let (status, error, retry_after) = match outcome.await? {
        PasswordOutcome::LoggedIn(login) => {
            remember_login(&session, &login.sid).await?;
            remember_account(&session, tag).await?;
            return Ok(Redirect::to(&login.next).into_response());
        }
        PasswordOutcome::WrongPassword => {
            (StatusCode::UNAUTHORIZED, "Invalid username and password.".to_string(), None)
        }
        PasswordOutcome::Throttled(refused) => {
            (StatusCode::TOO_MANY_REQUESTS, throttled_message(refused.retry_after), Some(refused.retry_after))
        }
    };
    let mut page =
        render_password_page(&app, &ui, &session, &connector, &query.state, form.login, Some(error)).await?;
    *page.status_mut() = status;
    if let Some(seconds) = retry_after {
        with_retry_after(&mut page, seconds);
    }
    Ok(page)
}

pub async fn callback_get(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    session: Session,
    PageQuery(params): PageQuery<HashMap<String, String>>,
) -> PageResult {
    let login = flow::callback(&app.flow_context(source), &params).await?;
    remember_login(&session, &login.sid).await?;
    Ok(Redirect::to(&login.next).into_response())
}

/// `/callback/{connector}`: Dex's per-connector callback. The connector's trusted headers
/// (set by an authenticating proxy, see `connector::authproxy`) are passed along; the
/// router strips them from every other path.
pub async fn connector_callback_get(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    session: Session,
    headers: HeaderMap,
    Path(connector): Path<ConnectorId>,
    PageQuery(params): PageQuery<HashMap<String, String>>,
) -> PageResult {
    let trusted = match app.registry().get(&connector).map(|c| &c.login) {
        Some(Login::Redirect(redirect)) => redirect
            .trusted_headers()
            .into_iter()
            .filter_map(|name| {
                let value = headers.get(name.as_str())?.to_str().ok()?.to_string();
                Some((name, value))
            })
            .collect(),
        _ => HashMap::new(),
    };
    let login = flow::connector_callback(&app.flow_context(source), &connector, &params, &trusted).await?;
    remember_login(&session, &login.sid).await?;
    Ok(Redirect::to(&login.next).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ApprovalQuery {
    #[serde(default)]
    req: String,
    #[serde(default)]
    hmac: String,
}

fn complete(ui: &Ui, completion: Completion) -> Response {
    match completion {
        Completion::Redirect(url) => Redirect::to(&url).into_response(),
        Completion::Oob(code) => OobPage { branding: ui.branding.clone(), code }.into_response(),
    }
}

fn describe(scope: &str) -> String {
    match scope {
        "openid" => "Confirm your identity".into(),
        "email" => "View your email address".into(),
        "profile" => "View your name and username".into(),
        "groups" => "View your groups".into(),
        "offline_access" => "Stay signed in (access while you are away)".into(),
        "federated:id" => "View your identity at the upstream provider".into(),
        s => match s.strip_prefix(crate::oauth2::scopes::CROSS_CLIENT_PREFIX) {
            Some(peer) => format!("Act on your behalf towards {peer}"),
            None => s.to_string(),
        },
    }
}

pub async fn approval_get(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    State(ui): State<Arc<Ui>>,
    session: Session,
    PageQuery(query): PageQuery<ApprovalQuery>,
) -> PageResult {
    let ctx = app.flow_context(source);
    match flow::approval(&ctx, &query.req, &query.hmac).await? {
        Approval::Done(completion) => Ok(complete(&ui, completion)),
        Approval::Show { client, scopes, req, hmac } => Ok(ApprovalPage {
            branding: ui.branding.clone(),
            client_name: flow::display_name(&client),
            client_logo_url: client.logo_url.clone(),
            scopes: scopes
                .iter()
                .filter(|s| s.as_str() != "openid")
                .map(|s| ScopeDescription { name: s.clone(), description: describe(s) })
                .collect(),
            post_url: ctx.settings.endpoint(crate::oauth2::paths::APPROVAL),
            csrf_token: csrf_token(&session).await.map_err(|_| session_failed())?,
            req,
            hmac,
        }
        .into_response()),
    }
}

#[derive(Default, Deserialize)]
pub struct ApprovalForm {
    #[serde(default)]
    req: String,
    #[serde(default)]
    hmac: String,
    #[serde(default)]
    approval: String,
    #[serde(default)]
    csrf_token: String,
}
crate::debug_only!(ApprovalForm: approval);

impl PageFormBody for ApprovalForm {
    const NAME: &'static str = "approval form";
}

impl CsrfProtected for ApprovalForm {
    const EXPIRED: &'static str = "Your approval form expired. Please go back and try again.";
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

pub async fn approval_post(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    State(ui): State<Arc<Ui>>,
    CsrfForm(form): CsrfForm<ApprovalForm>,
) -> PageResult {
    let completion =
        flow::decide(&app.flow_context(source), &form.req, &form.hmac, form.approval == "approve").await?;
    Ok(complete(&ui, completion))
}
