//! The one place errors become HTTP responses.
//!
//! - [`OAuthError`] → RFC 6749 §5.2 JSON with the right status, `Cache-Control: no-store`,
//!   and `WWW-Authenticate` for a failed Basic authentication or a bad bearer token.
//! - [`AuthorizeError`] → a friendly HTML page (untrusted client or redirect URI, expired
//!   login), its status from its [`PageKind`], or a redirect to the client with `error` and
//!   `state`. Pages are rendered by [`render_page_errors`], which knows the look and the
//!   request id, so handlers only return the error.

use super::ui::Ui;
use crate::oauth2::authorize::{AuthorizeError, PageKind};
use crate::oauth2::{ErrorCode, OAuthError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

pub fn oauth_error_response(error: &OAuthError) -> Response {
    let status = if error.too_many_requests {
        StatusCode::TOO_MANY_REQUESTS
    } else if error.dpop.as_ref().is_some_and(|d| d.at_resource) {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST)
    };
    let body = json!({ "error": error.code.as_str(), "error_description": error.description });
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(seconds) = error.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    if let Some(dpop) = &error.dpop {
        if let Some(nonce) = dpop.nonce.as_deref().and_then(|n| HeaderValue::from_str(n).ok()) {
            headers.insert("dpop-nonce", nonce);
        }
        if dpop.at_resource {
            // RFC 9449 §7.1: the scheme, the error and the algorithms we take.
            let algs = crate::oauth2::dpop::ALGORITHMS.join(" ");
            let challenge = format!("DPoP error=\"{}\", algs=\"{algs}\"", error.code.as_str());
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
    }
    let dpop_challenge = error.dpop.as_ref().is_some_and(|d| d.at_resource);
    if error.basic_auth_challenge {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"tessera\""));
    } else if error.code == ErrorCode::InvalidToken && !dpop_challenge {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
    }
    response
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        oauth_error_response(&self)
    }
}

/// The HTTP status of a page error: our fault, the upstream's, or the request's.
pub fn page_status(kind: PageKind) -> StatusCode {
    match kind {
        PageKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        PageKind::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
        PageKind::NotAvailable => StatusCode::METHOD_NOT_ALLOWED,
        PageKind::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        PageKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A page error on its way out: [`render_page_errors`] turns it into the error page, with the
/// request id and the configured look. Handlers just return `Err(AuthorizeError)`.
#[derive(Clone)]
struct PendingPage {
    kind: PageKind,
    message: String,
}

impl IntoResponse for AuthorizeError {
    fn into_response(self) -> Response {
        match self {
            AuthorizeError::Redirect(redirect) => Redirect::to(&redirect.url()).into_response(),
            AuthorizeError::Page { kind, message } => pending_page(kind, message),
            AuthorizeError::Unavailable => {
                let message = "The login service cannot reach its database right now. Please try again in a few seconds.";
                let mut response = pending_page(PageKind::Unavailable, message.to_string());
                with_retry_after(&mut response, crate::oauth2::error::UNAVAILABLE_RETRY_AFTER);
                response
            }
            AuthorizeError::Throttled(refused) => {
                let mut response =
                    pending_page(PageKind::TooManyAttempts, throttled_message(refused.retry_after));
                with_retry_after(&mut response, refused.retry_after);
                response
            }
        }
    }
}

fn pending_page(kind: PageKind, message: String) -> Response {
    let mut response = page_status(kind).into_response();
    response.extensions_mut().insert(PendingPage { kind, message });
    response
}

/// What a person is told when brute-force protection makes them wait.
pub fn throttled_message(retry_after: u64) -> String {
    let wait = match retry_after {
        0..=1 => "a second".to_string(),
        2..=119 => format!("{retry_after} seconds"),
        _ => format!("{} minutes", retry_after.div_ceil(60)),
    };
    format!("Too many attempts from here. Please wait {wait} and try again.")
}

/// `Retry-After` (RFC 9110 §10.2.3), in seconds.
pub fn with_retry_after(response: &mut Response, seconds: u64) {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
}

/// The request id of this request (set by the outermost layer), for pages and logs.
pub struct RequestId(pub String);

impl RequestId {
    fn of(headers: &axum::http::HeaderMap) -> Self {
        Self(headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.headers))
    }
}

/// Renders the browser pages' errors: a [`PendingPage`] becomes the error page (its status
/// kept), and axum's bare `405` becomes the "not available" page with its `Allow`.
pub async fn render_page_errors(
    axum::extract::State(ui): axum::extract::State<std::sync::Arc<Ui>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let request_id = RequestId::of(request.headers());
    let mut response = next.run(request).await;
    if let Some(page) = response.extensions_mut().remove::<PendingPage>() {
        // The status and the headers the inner layers set (the session cookie) stay.
        let (mut parts, _) = response.into_parts();
        let (rendered, body) = ui.error_page(page.kind.title(), &page.message, &request_id.0).into_parts();
        parts.headers.extend(rendered.headers);
        return Response::from_parts(parts, body);
    }
    if is_bare_405(&response) {
        let page = ui.error_page(
            PageKind::NotAvailable.title(),
            "This page cannot be reached this way. Please go back to the application and start again.",
            &request_id.0,
        );
        return keep_405(&response, page);
    }
    response
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    fn ui() -> std::sync::Arc<Ui> {
        let loaded = crate::config::load_str(
            "issuer: http://127.0.0.1:5556/dex\nstorage: {type: memory}\nweb: {http: 127.0.0.1:5556}\n",
        )
        .unwrap();
        std::sync::Arc::new(Ui::new(&loaded.config))
    }

    async fn page_of(kind: PageKind) -> (StatusCode, axum::http::HeaderMap, String) {
        let handler = move || async move {
            let error: Result<Response, AuthorizeError> = Err(AuthorizeError::page(kind, "the detail"));
            ([(header::SET_COOKIE, "tessera_session=abc")], error)
        };
        let router = axum::Router::new()
            .route("/", get(handler))
            .layer(axum::middleware::from_fn_with_state(ui(), render_page_errors));
        let request = axum::http::Request::get("/")
            .header("x-request-id", "req-42")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, parts.headers, String::from_utf8(body.to_vec()).unwrap())
    }

    /// The kind, not the wording of a title, decides the status; the page shows the kind's
    /// title, the message and the request id, and keeps what inner layers set (the cookie).
    #[tokio::test]
    async fn a_page_error_renders_by_its_kind() {
        for (kind, status) in [
            (PageKind::Internal, StatusCode::INTERNAL_SERVER_ERROR),
            (PageKind::UpstreamUnavailable, StatusCode::BAD_GATEWAY),
            (PageKind::LoginExpired, StatusCode::BAD_REQUEST),
            (PageKind::SessionExpired, StatusCode::BAD_REQUEST),
        ] {
            let (got, headers, html) = page_of(kind).await;
            assert_eq!(got, status, "{kind:?}");
            assert!(
                html.contains(kind.title()) && html.contains("the detail") && html.contains("req-42"),
                "{html}"
            );
            assert_eq!(headers.get(header::SET_COOKIE).unwrap(), "tessera_session=abc");
            assert!(headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap().starts_with("text/html"));
        }
    }
}
