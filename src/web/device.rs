//! Browser and API endpoints of the device flow (RFC 8628; see `oauth2::device` for the
//! flow): `POST /device/code` for the device, `/device` and `/device/auth/verify_code` where
//! the user types the code, and `/device/callback` where the login ends. Polling is `/token`.

use super::errors::PageError;
use super::extract::ClientForm;
use super::login::{fail, page_error, session_failed};
use super::oauth2::json_no_store;
use super::session::{csrf_token, csrf_valid};
use super::templates::{DevicePage, DeviceSuccessPage};
use crate::app::{App, AppState};
use crate::flow::display_name;
use crate::oauth2::OAuthError;
use crate::oauth2::authorize::AuthorizeError;
use crate::oauth2::device::{self, DeviceAuthorizationRequest, DeviceCallback, Outcome, Verification};
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

/// `POST /device/code` (RFC 8628 §3.1, §3.2).
pub async fn device_code_post(
    State(app): State<AppState>,
    form: Result<ClientForm<DeviceAuthorizationRequest>, OAuthError>,
) -> Response {
    json_no_store(
        async {
            let ClientForm(creds, request) = form?;
            device::authorize(&app.grant_context(), &creds, &request).await
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
    session: &Session,
    user_code: String,
    error: Option<String>,
) -> Result<DevicePage, AuthorizeError> {
    Ok(DevicePage {
        branding: app.ui.branding.clone(),
        post_url: app.settings.endpoint("/device/auth/verify_code"),
        csrf_token: csrf_token(session).await.map_err(|_| session_failed())?,
        user_code,
        error,
    })
}

/// `GET /device`: the user-code form, pre-filled from `verification_uri_complete`.
pub async fn device_get(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    query: Result<Query<DeviceQuery>, QueryRejection>,
) -> Response {
    let user_code = query.map(|Query(q)| q.user_code).unwrap_or_default();
    match render_device_page(&app, &session, user_code, None).await {
        Ok(page) => page.into_response(),
        Err(e) => fail(&app, &headers, e),
    }
}

#[derive(Default, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    csrf_token: String,
}
crate::debug_only!(VerifyForm: );

/// `POST /device/auth/verify_code`: on to the login, or the form again with an error.
pub async fn verify_code_post(
    State(app): State<AppState>,
    session: Session,
    headers: HeaderMap,
    form: Result<axum::Form<VerifyForm>, FormRejection>,
) -> Response {
    let result = async {
        let axum::Form(form) =
            form.map_err(|_| page_error("Invalid request", "The code form could not be read."))?;
        if !csrf_valid(&session, &form.csrf_token).await {
            return Err(page_error(
                "Session expired",
                "Your code form expired. Please go back and try again.",
            ));
        }
        match device::verify_user_code(&app.grant_context(), &form.user_code).await? {
            Verification::Login(url) => Ok(Redirect::to(&url).into_response()),
            Verification::Invalid => {
                let error =
                    Some("This code is not valid or has expired. Check it on your device.".to_string());
                let page = render_device_page(&app, &session, form.user_code, error).await?;
                Ok((StatusCode::BAD_REQUEST, page).into_response())
            }
        }
    }
    .await;
    result.unwrap_or_else(|e| fail(&app, &headers, e))
}

/// `GET /device/callback`: the login (or the refusal) arrives for a device.
pub async fn device_callback_get(
    State(app): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<DeviceCallback>, QueryRejection>,
) -> Response {
    let result = async {
        let Query(callback) = query
            .map_err(|_| page_error("Invalid request", "The request's parameters could not be read."))?;
        device::complete(&app.grant_context(), &callback).await
    }
    .await;
    match result {
        Ok(Outcome::Approved { client }) => {
            DeviceSuccessPage { branding: app.ui.branding.clone(), client_name: display_name(&client) }
                .into_response()
        }
        Ok(Outcome::Denied { client }) => {
            let message = format!(
                "You declined the request of {}. The device was not signed in; you may close this window.",
                display_name(&client)
            );
            app.ui.error_page("Access denied", &message, "")
        }
        Err(e) => PageError { ui: &app.ui, error: e, request_id: super::login::request_id(&headers) }
            .into_response(),
    }
}
