//! Browser and API endpoints of the device flow (RFC 8628; see `oauth2::device` for the
//! flow): `POST /device/code` for the device, `/device` and `/device/auth/verify_code` where
//! the user types the code, and `/device/callback` where the login ends. Polling is `/token`.

use super::client_address::ClientAddr;
use super::errors::{throttled_message, with_retry_after};
use super::extract::ClientForm;
use super::login::{PageResult, session_failed};
use super::oauth2::json_no_store;
use super::page_extract::{CsrfForm, CsrfProtected, PageFormBody, PageQuery};
use super::session::csrf_token;
use super::templates::{DevicePage, DeviceSuccessPage};
use super::ui::Ui;
use crate::app::{App, AppState};
use crate::flow::display_name;
use crate::oauth2::OAuthError;
use crate::oauth2::authorize::AuthorizeError;
use crate::oauth2::device::{self, DeviceAuthorizationRequest, DeviceCallback, Outcome, Verification};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;
use tower_sessions::Session;

/// `POST /device/code` (RFC 8628 §3.1, §3.2).
pub async fn device_code_post(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    form: Result<ClientForm<DeviceAuthorizationRequest>, OAuthError>,
) -> Response {
    json_no_store(
        async {
            let ClientForm(creds, request) = form?;
            device::authorize(&app.grant_context(source), &creds, &request).await
        }
        .await,
    )
}

#[derive(Default, Deserialize)]
pub struct DeviceQuery {
    #[serde(default)]
    user_code: String,
}
crate::debug_only!(DeviceQuery: );

async fn render_device_page(
    app: &App,
    ui: &Ui,
    session: &Session,
    user_code: String,
    error: Option<String>,
) -> Result<DevicePage, AuthorizeError> {
    Ok(DevicePage {
        branding: ui.branding.clone(),
        post_url: app.settings.endpoint(crate::oauth2::paths::DEVICE_VERIFY),
        csrf_token: csrf_token(session).await.map_err(|_| session_failed())?,
        user_code,
        error,
    })
}

/// `GET /device`: the user-code form, pre-filled from `verification_uri_complete`.
pub async fn device_get(
    State(app): State<AppState>,
    State(ui): State<Arc<Ui>>,
    session: Session,
    query: Result<Query<DeviceQuery>, QueryRejection>,
) -> PageResult {
    let user_code = query.map(|Query(q)| q.user_code).unwrap_or_default();
    Ok(render_device_page(&app, &ui, &session, user_code, None).await?.into_response())
}

#[derive(Default, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    csrf_token: String,
}
crate::debug_only!(VerifyForm: );

impl PageFormBody for VerifyForm {
    const NAME: &'static str = "code form";
}

impl CsrfProtected for VerifyForm {
    const EXPIRED: &'static str = "Your code form expired. Please go back and try again.";
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// `POST /device/auth/verify_code`: on to the login, or the form again with an error.
pub async fn verify_code_post(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    State(ui): State<Arc<Ui>>,
    session: Session,
    CsrfForm(form): CsrfForm<VerifyForm>,
) -> PageResult {
    let (status, error, retry_after) =
        match device::verify_user_code(&app.grant_context(source), &form.user_code).await? {
            Verification::Login(url) => return Ok(Redirect::to(&url).into_response()),
            Verification::Invalid => (
                StatusCode::BAD_REQUEST,
                "This code is not valid or has expired. Check it on your device.".to_string(),
                None,
            ),
            Verification::Throttled(refused) => (
                StatusCode::TOO_MANY_REQUESTS,
                throttled_message(refused.retry_after),
                Some(refused.retry_after),
            ),
        };
    let mut page =
        render_device_page(&app, &ui, &session, form.user_code, Some(error)).await?.into_response();
    *page.status_mut() = status;
    if let Some(seconds) = retry_after {
        with_retry_after(&mut page, seconds);
    }
    Ok(page)
}

/// `GET /device/callback`: the login (or the refusal) arrives for a device.
pub async fn device_callback_get(
    State(app): State<AppState>,
    ClientAddr(source): ClientAddr,
    State(ui): State<Arc<Ui>>,
    PageQuery(callback): PageQuery<DeviceCallback>,
) -> PageResult {
    Ok(match device::complete(&app.grant_context(source), &callback).await? {
        Outcome::Approved { client } => {
            DeviceSuccessPage { branding: ui.branding.clone(), client_name: display_name(&client) }
                .into_response()
        }
        Outcome::Denied { client } => {
            let message = format!(
                "You declined the request of {}. The device was not signed in; you may close this window.",
                display_name(&client)
            );
            ui.error_page("Access denied", &message, "")
        }
    })
}
