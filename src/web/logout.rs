//! `/logout` (RP-Initiated Logout 1.0): GET or POST from the relying party, and the POST of
//! our own confirmation page (recognised by its CSRF token).

use super::client_address::ClientAddr;
use super::login::{PageResult, SID_KEY, browser_sid, session_failed};
use super::session::{csrf_token, csrf_valid};
use super::templates::{LoggedOutPage, LogoutPage};
use super::ui::Ui;
use crate::app::AppState;
use crate::logout::{self, Logout, LogoutParams};
use crate::oauth2::authorize::{AuthorizeError, PageKind};
use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;
use tower_sessions::Session;

/// The request's fields, from the query (GET) or the form body (POST); `csrf_token` only
/// when our confirmation page is submitted.
#[derive(Debug, Default)]
struct LogoutForm {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    csrf_token: Option<String>,
}

fn parse(raw: &[u8]) -> Result<LogoutForm, AuthorizeError> {
    let invalid = || {
        AuthorizeError::page(PageKind::InvalidRequest, "The logout request's parameters could not be read.")
    };
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(raw).into_owned().collect();
    let mut form = LogoutForm::default();
    for (name, value) in fields {
        let slot = match name.as_str() {
            "id_token_hint" => &mut form.id_token_hint,
            "post_logout_redirect_uri" => &mut form.post_logout_redirect_uri,
            "state" => &mut form.state,
            "client_id" => &mut form.client_id,
            "csrf_token" => &mut form.csrf_token,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(invalid()); // a repeated parameter is ambiguous (RFC 6749 §3.1)
        }
    }
    Ok(form)
}

pub async fn logout_handler(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    State(ui): State<Arc<Ui>>,
    session: Session,
    method: Method,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> PageResult {
    let raw = if method == Method::POST { body.to_vec() } else { query.unwrap_or_default().into_bytes() };
    let form = parse(&raw)?;
    let confirmed = match form.csrf_token.as_deref() {
        // Our own confirmation page was submitted: it must carry this session's token.
        Some(token) if csrf_valid(&session, token).await => true,
        Some(_) => {
            return Err(AuthorizeError::page(
                PageKind::SessionExpired,
                "The logout form expired. Please try again.",
            ));
        }
        None => false,
    };
    let params = LogoutParams {
        id_token_hint: form.id_token_hint,
        post_logout_redirect_uri: form.post_logout_redirect_uri,
        state: form.state,
        client_id: form.client_id,
    };
    let ctx = app.flow_context(source);
    match logout::logout(&ctx, params, browser_sid(&session).await.as_deref(), confirmed).await? {
        Logout::Confirm(params) => confirmation_page(&app, &ui, &session, &params).await,
        Logout::Done { upstream, redirect } => {
            let _ = session.remove::<String>(SID_KEY).await;
            let _ = session.cycle_id().await;
            if let Some(upstream) = upstream {
                // The upstream sends the user back to `/logout/callback`, which goes on from here.
                let _ = session.insert(AFTER_UPSTREAM_LOGOUT_KEY, redirect.unwrap_or_default()).await;
                return Ok(Redirect::to(&upstream).into_response());
            }
            Ok(finish(&ui, redirect))
        }
    }
}

/// Where `/logout/callback` continues (empty: the logged-out page).
const AFTER_UPSTREAM_LOGOUT_KEY: &str = "after_upstream_logout";

fn finish(ui: &Ui, redirect: Option<String>) -> Response {
    match redirect.filter(|r| !r.is_empty()) {
        Some(url) => Redirect::to(&url).into_response(),
        None => LoggedOutPage { branding: ui.branding.clone() }.into_response(),
    }
}

/// `GET /logout/callback`: back from the upstream provider's logout. The destination was
/// checked before leaving (a registered `post_logout_redirect_uri`) and kept in the browser's
/// session, so nothing in this request can redirect elsewhere.
pub async fn logout_callback_get(State(ui): State<Arc<Ui>>, session: Session) -> Response {
    let next = session.remove::<String>(AFTER_UPSTREAM_LOGOUT_KEY).await.ok().flatten();
    finish(&ui, next)
}

async fn confirmation_page(app: &AppState, ui: &Ui, session: &Session, params: &LogoutParams) -> PageResult {
    let csrf = csrf_token(session).await.map_err(|_| session_failed())?;
    let hidden: Vec<(String, String)> = [
        ("id_token_hint", &params.id_token_hint),
        ("post_logout_redirect_uri", &params.post_logout_redirect_uri),
        ("state", &params.state),
        ("client_id", &params.client_id),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().filter(|v| !v.is_empty()).map(|v| (k.to_string(), v)))
    .collect();
    Ok(LogoutPage {
        branding: ui.branding.clone(),
        post_url: app.settings.endpoint(crate::oauth2::paths::LOGOUT),
        csrf_token: csrf,
        hidden,
    }
    .into_response())
}
