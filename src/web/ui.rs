//! What the login pages share: branding from `frontend`, the static assets (embedded in the
//! binary, or read from `frontend.dir/static` to override them), and page rendering helpers.

use super::templates::{Branding, ErrorPage};
use crate::config::Config;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;

/// Assets compiled into the binary, so a bare `tessera` binary serves a complete UI.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("main.css", "text/css; charset=utf-8", include_bytes!("../../static/main.css")),
    ("tessera.js", "text/javascript; charset=utf-8", include_bytes!("../../static/tessera.js")),
    ("tessera-logo.svg", "image/svg+xml", include_bytes!("../../static/tessera-logo.svg")),
];

#[derive(Debug, Clone)]
pub struct Ui {
    pub branding: Branding,
    /// `frontend.dir`: assets are read from its `static/` folder instead of the embedded ones.
    pub asset_dir: Option<PathBuf>,
    /// The issuer's path ("" for root): prefix of every route.
    pub issuer_path: String,
    pub secure_cookies: bool,
    /// The session cookie's name and path: see [`session_cookie`].
    pub cookie_name: String,
    pub cookie_path: String,
    /// Idle lifetime of the browser session that carries CSRF tokens.
    pub session_idle: std::time::Duration,
}

/// The session cookie's name and path. Over https it is `__Host-{name}` at `Path=/`:
/// browsers take a `__Host-` cookie only from this very host, `Secure`, without `Domain` and
/// at `Path=/`, so a sibling host (`evil.example.com` next to `auth.example.com`) cannot plant
/// one for us (cookie tossing). Over http that prefix cannot be used (it needs `Secure`), so
/// the cookie keeps its name at the issuer's path, and `session::pick_session_cookie` deals
/// with planted copies.
fn session_cookie(name: &str, issuer_path: &str, https: bool) -> (String, String) {
    const PREFIX: &str = "__Host-";
    if https {
        let name = if name.starts_with(PREFIX) { name.to_string() } else { format!("{PREFIX}{name}") };
        return (name, "/".to_string());
    }
    (name.to_string(), if issuer_path.is_empty() { "/".to_string() } else { issuer_path.to_string() })
}

impl Ui {
    pub fn new(config: &Config) -> Self {
        let issuer_path = config.issuer_path();
        let (cookie_name, cookie_path) =
            session_cookie(&config.sessions.cookie_name, &issuer_path, config.issuer.scheme() == "https");
        let frontend = &config.frontend;
        Self {
            branding: Branding {
                issuer_name: frontend.issuer.clone().unwrap_or_else(|| "Tessera".into()),
                logo_url: frontend.logo_url.clone().unwrap_or_default(),
                theme: frontend.theme.clone(),
                static_url: format!("{issuer_path}/static"),
                extra: frontend.extra.clone(),
            },
            asset_dir: frontend.dir.as_ref().map(|d| d.join("static")),
            secure_cookies: config.issuer.scheme() == "https",
            cookie_name,
            cookie_path,
            issuer_path,
            session_idle: config.sessions.valid_if_not_used_for,
        }
    }

    pub fn error_page(&self, title: &str, message: &str, request_id: &str) -> Response {
        ErrorPage {
            branding: self.branding.clone(),
            title: title.to_string(),
            message: message.to_string(),
            request_id: request_id.to_string(),
        }
        .into_response()
    }

    /// A static asset by file name: from `frontend.dir` when set, else embedded.
    pub async fn asset(&self, name: &str) -> Response {
        let content_type = ASSETS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, t, _)| *t)
            .unwrap_or_else(|| guess_content_type(name));
        let body: Option<Vec<u8>> = match &self.asset_dir {
            Some(dir) if is_plain_file_name(name) => tokio::fs::read(dir.join(name)).await.ok(),
            Some(_) => None,
            None => ASSETS.iter().find(|(n, _, _)| *n == name).map(|(_, _, b)| b.to_vec()),
        };
        match body {
            Some(body) => {
                let mut response = body.into_response();
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
                response
            }
            None => (StatusCode::NOT_FOUND, "not found").into_response(),
        }
    }
}

/// No path separators or parent references: `frontend.dir` must not be escaped.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.')
}

fn guess_content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}
