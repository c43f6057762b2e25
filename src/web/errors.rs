//! The one place errors become HTTP responses.
//!
//! - [`OAuthError`] → RFC 6749 §5.2 JSON with the right status, `Cache-Control: no-store`,
//!   and `WWW-Authenticate` for a failed Basic authentication or a bad bearer token.
//! - [`AuthorizeError`] → a friendly HTML page (untrusted client or redirect URI, expired
//!   login) or a redirect to the client with `error` and `state`.

use super::ui::Ui;
use crate::oauth2::authorize::AuthorizeError;
use crate::oauth2::{ErrorCode, OAuthError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

pub fn oauth_error_response(error: &OAuthError) -> Response {
    let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({ "error": error.code.as_str(), "error_description": error.description });
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if error.basic_auth_challenge {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"tessera\""));
    } else if error.code == ErrorCode::InvalidToken {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
    }
    response
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        oauth_error_response(&self)
    }
}

/// A browser-facing error with the UI needed to render it.
pub struct PageError<'a> {
    pub ui: &'a Ui,
    pub error: AuthorizeError,
    pub request_id: String,
}

impl IntoResponse for PageError<'_> {
    fn into_response(self) -> Response {
        match self.error {
            AuthorizeError::Redirect(redirect) => Redirect::to(&redirect.url()).into_response(),
            AuthorizeError::Page { title, message } => {
                let status = if title == "Something went wrong" {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else if title == crate::flow::UPSTREAM_FAILED {
                    StatusCode::BAD_GATEWAY
                } else {
                    StatusCode::BAD_REQUEST
                };
                (status, self.ui.error_page(&title, &message, &self.request_id)).into_response()
            }
        }
    }
}

/// Whether this is axum's own answer to a method the route does not serve: an empty `405`.
fn is_bare_405(response: &Response) -> bool {
    use axum::body::HttpBody;
    response.status() == StatusCode::METHOD_NOT_ALLOWED && response.body().size_hint().exact() == Some(0)
}

/// axum answers a method a route does not serve with an empty `405`; the API endpoints answer
/// it as an RFC 6749 error instead (`invalid_request` in JSON), keeping the status and `Allow`.
pub async fn api_method_not_allowed(response: Response) -> Response {
    if !is_bare_405(&response) {
        return response;
    }
    let methods =
        response.headers().get(header::ALLOW).and_then(|a| a.to_str().ok()).unwrap_or("another method");
    let error =
        OAuthError::invalid_request(format!("This endpoint does not take this method; use {methods}."));
    keep_405(&response, oauth_error_response(&error))
}

/// `out` as the answer to a method not allowed: its status and the original `Allow`.
fn keep_405(original: &Response, mut out: Response) -> Response {
    *out.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    if let Some(allow) = original.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// The same for the browser pages: the error page, with the status and `Allow`.
pub async fn page_method_not_allowed(
    axum::extract::State(app): axum::extract::State<crate::app::AppState>,
    headers: axum::http::HeaderMap,
    response: Response,
) -> Response {
    if !is_bare_405(&response) {
        return response;
    }
    let page = app.ui.error_page(
        "Not available",
        "This page cannot be reached this way. Please go back to the application and start again.",
        &super::login::request_id(&headers),
    );
    keep_405(&response, page)
}
