//! Browser endpoints of the login flow (see `flow` for the state machine): `/auth`,
//! `/auth/{connector}`, `/auth/{connector}/login`, `/callback`, `/callback/{connector}`,
//! `/approval`.
//! Every form carries the session's CSRF token.

use super::errors::PageError;
use super::session::{csrf_token, csrf_valid};
use super::templates::{
    ApprovalPage, ConnectorLink, LoginChooserPage, OobPage, PasswordPage, ScopeDescription,
};
use crate::app::{App, AppState};
use crate::connector::Login;
use crate::flow::{self, Approval, Completion, PasswordOutcome, Start};
use crate::oauth2::authorize::{AuthorizeError, AuthorizeParams};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use tower_sessions::Session;

pub(super) fn request_id(headers: &HeaderMap) -> String {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

pub(super) fn fail(app: &App, headers: &HeaderMap, error: AuthorizeError) -> Response {
    PageError { ui: &app.ui, error, request_id: request_id(headers) }.into_response()
}

pub(super) fn page_error(title: &str, message: &str) -> AuthorizeError {
    AuthorizeError::Page { title: title.into(), message: message.into() }
}

pub(super) fn session_failed() -> AuthorizeError {
    page_error("Something went wrong", "Your browser session could not be read or saved. Please try again.")
}

/// Query parameters the browser endpoints parse; a malformed query is a friendly page.
fn parse_query<T: for<'de> Deserialize<'de> + Default>(raw: Option<&str>) -> Result<T, AuthorizeError> {
    match raw {
        None => Ok(T::default()),
        Some(q) => serde_urlencoded_parse(q)
            .ok_or_else(|| page_error("Invalid request", "The request's parameters could not be read.")),
    }
}

fn serde_urlencoded_parse<T: for<'de> Deserialize<'de>>(query: &str) -> Option<T> {
    axum::extract::Query::<T>::try_from_uri(&format!("/?{query}").parse().ok()?).ok().map(|q| q.0)
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

/// `/auth`, GET or POST (OIDC Core §3.1.2.1: the parameters are in the query or the form body).
pub async fn auth_get(
    State(app): State<AppState>,
    session: Session,
    method: axum::http::Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let result = async {
        let raw =
            if method == axum::http::Method::POST { String::from_utf8(body.to_vec()).ok() } else { query };
        let params: AuthorizeParams = parse_query(raw.as_deref())?;
        flow::start(&app, &params, browser_sid(&session).await.as_deref()).await
    }
    .await;
    match result {
        Ok(Start::Redirect(url)) => Redirect::to(&url).into_response(),
        Ok(Start::Done(completion)) => complete(&app, completion),
        Ok(Start::Chooser { client_name, connectors }) => LoginChooserPage {
            branding: app.ui.branding.clone(),
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
        Err(e) => fail(&app, &headers, e),
    }
}

pub async fn connector_get(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(connector): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let params: AuthorizeParams = parse_query(query.as_deref())?;
        flow::begin(&app, &connector, &params).await
    }
    .await;
    match result {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => fail(&app, &headers, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct StateQuery {
    #[serde(default)]
    state: String,
}

async fn render_password_page(
    app: &App,
    session: &Session,
    connector: &str,
    state: &str,
    username: String,
    error: Option<String>,
) -> Result<Response, AuthorizeError> {
    let prompt = flow::password_form(app, connector, state).await?;
    let csrf = csrf_token(session).await.map_err(|_| session_failed())?;
    Ok(PasswordPage {
        branding: app.ui.branding.clone(),
        post_url: flow::password_url(app, connector, state),
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
    session: Session,
    headers: HeaderMap,
    Path(connector): Path<String>,
    Query(query): Query<StateQuery>,
) -> Response {
    match render_password_page(&app, &session, &connector, &query.state, String::new(), None).await {
        Ok(r) => r,
        Err(e) => fail(&app, &headers, e),
    }
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

pub async fn password_post(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(connector): Path<String>,
    Query(query): Query<StateQuery>,
    form: Result<axum::Form<PasswordForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let result = async {
        let axum::Form(form) =
            form.map_err(|_| page_error("Invalid request", "The login form could not be read."))?;
        if !csrf_valid(&session, &form.csrf_token).await {
            return Err(page_error(
                "Session expired",
                "Your login form expired. Please go back and try again.",
            ));
        }
        match flow::password_login(&app, &connector, &query.state, &form.login, form.password.expose())
            .await?
        {
            PasswordOutcome::LoggedIn(login) => {
                remember_login(&session, &login.sid).await?;
                Ok(Redirect::to(&login.next).into_response())
            }
            PasswordOutcome::WrongPassword => {
                let error = Some("Invalid username and password.".to_string());
                let mut page =
                    render_password_page(&app, &session, &connector, &query.state, form.login, error).await?;
                *page.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
                Ok(page)
            }
        }
    }
    .await;
    result.unwrap_or_else(|e| fail(&app, &headers, e))
}

pub async fn callback_get(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let params: HashMap<String, String> = parse_query(query.as_deref())?;
        let login = flow::callback(&app, &params).await?;
        remember_login(&session, &login.sid).await?;
        Ok(login.next)
    }
    .await;
    match result {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => fail(&app, &headers, e),
    }
}

/// `/callback/{connector}`: Dex's per-connector callback. The connector's trusted headers
/// (set by an authenticating proxy, see `connector::authproxy`) are passed along; the
/// router strips them from every other path.
pub async fn connector_callback_get(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Path(connector): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let params: HashMap<String, String> = parse_query(query.as_deref())?;
        let trusted = match app.connectors.get(&connector).map(|c| &c.login) {
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
        let login = flow::connector_callback(&app, &connector, &params, &trusted).await?;
        remember_login(&session, &login.sid).await?;
        Ok(login.next)
    }
    .await;
    match result {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => fail(&app, &headers, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ApprovalQuery {
    #[serde(default)]
    req: String,
    #[serde(default)]
    hmac: String,
}

fn complete(app: &App, completion: Completion) -> Response {
    match completion {
        Completion::Redirect(url) => Redirect::to(&url).into_response(),
        Completion::Oob(code) => OobPage { branding: app.ui.branding.clone(), code }.into_response(),
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
    session: Session,
    headers: HeaderMap,
    Query(query): Query<ApprovalQuery>,
) -> Response {
    let result = async {
        match flow::approval(&app, &query.req, &query.hmac).await? {
            Approval::Done(completion) => Ok(complete(&app, completion)),
            Approval::Show { client, scopes, req, hmac } => Ok(ApprovalPage {
                branding: app.ui.branding.clone(),
                client_name: flow::display_name(&client),
                client_logo_url: client.logo_url.clone(),
                scopes: scopes
                    .iter()
                    .filter(|s| s.as_str() != "openid")
                    .map(|s| ScopeDescription { name: s.clone(), description: describe(s) })
                    .collect(),
                post_url: app.settings.endpoint("/approval"),
                csrf_token: csrf_token(&session).await.map_err(|_| session_failed())?,
                req,
                hmac,
            }
            .into_response()),
        }
    }
    .await;
    result.unwrap_or_else(|e| fail(&app, &headers, e))
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

pub async fn approval_post(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    form: Result<axum::Form<ApprovalForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let result = async {
        let axum::Form(form) =
            form.map_err(|_| page_error("Invalid request", "The approval form could not be read."))?;
        if !csrf_valid(&session, &form.csrf_token).await {
            return Err(page_error(
                "Session expired",
                "Your approval form expired. Please go back and try again.",
            ));
        }
        flow::decide(&app, &form.req, &form.hmac, form.approval == "approve").await
    }
    .await;
    match result {
        Ok(completion) => complete(&app, completion),
        Err(e) => fail(&app, &headers, e),
    }
}
