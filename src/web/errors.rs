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
