//! HTTP: the only module that knows axum. One router; handlers in one file per area; errors
//! become responses in `errors`.
//!
//! Layers, outermost first: request id → trace → metrics → security headers → body limit;
//! the login pages also get the session layer (cookies, CSRF).

pub mod client_address;
pub mod device;
pub mod errors;
pub mod extract;
pub mod login;
pub mod logout;
pub mod oauth2;
pub mod page_extract;
pub mod saml;
pub mod session;
pub mod telemetry;
pub mod templates;
pub mod ui;

use crate::app::AppState;
use crate::oauth2::paths;
use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::Response;
use axum::routing::{get, post};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Forms and token requests are small; anything bigger is refused before it is read.
const BODY_LIMIT: usize = 64 * 1024;

/// The security headers Dex sets by default, overridable by `web.headers`.
pub struct SecurityHeaders(pub Vec<(HeaderName, HeaderValue)>);

/// The security headers in force, replaced whole by a live reload.
pub type LiveHeaders = std::sync::Arc<arc_swap::ArcSwap<SecurityHeaders>>;

/// `web.allowedOrigins` and `web.allowedHeaders`: cross-origin access to the API endpoints.
pub struct Cors<'a> {
    pub origins: &'a [String],
    pub headers: &'a [String],
}

/// Settings of the router that are not the app's.
pub struct RouterOptions<'a> {
    pub cors: Cors<'a>,
    /// `web.clientRemoteIP` / `web.trustedProxies`.
    pub client_address: &'a crate::config::ClientAddressConfig,
}

/// The router's state: the shared services, and the pages' look (which only `web/` knows).
/// Handlers take either part (`State<AppState>`, `State<Arc<Ui>>`).
#[derive(Clone)]
pub struct WebState {
    pub app: AppState,
    pub ui: std::sync::Arc<ui::Ui>,
}

impl FromRef<WebState> for AppState {
    fn from_ref(state: &WebState) -> Self {
        state.app.clone()
    }
}

impl FromRef<WebState> for std::sync::Arc<ui::Ui> {
    fn from_ref(state: &WebState) -> Self {
        state.ui.clone()
    }
}

pub fn router(
    app: AppState,
    ui: ui::Ui,
    security_headers: LiveHeaders,
    options: RouterOptions<'_>,
) -> Router {
    let cors = &options.cors;
    let cors_origins = cors.origins;
    let state = WebState { app: app.clone(), ui: std::sync::Arc::new(ui) };
    let ui = state.ui.clone();
    let sessions = SessionManagerLayer::new(session::StorageSessionStore::new(app.storage.clone()))
        .with_name(ui.cookie_name.clone())
        .with_path(ui.cookie_path.clone())
        .with_secure(ui.secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(ui.session_idle.as_secs() as i64)));

    // Browser pages: they share the session (CSRF tokens, single sign-on).
    let mut pages = Router::new()
        .route(paths::AUTH, get(login::auth_get).post(login::auth_get))
        .route("/auth/{connector}", get(login::connector_get))
        .route("/auth/{connector}/login", get(login::password_get).post(login::password_post))
        .route(paths::CALLBACK, get(login::callback_get).post(saml::callback_post))
        .route("/callback/{connector}", get(login::connector_callback_get))
        .route("/auth/{connector}/saml", get(saml::post_form_get))
        .route(paths::APPROVAL, get(login::approval_get).post(login::approval_post))
        .route(paths::LOGOUT, get(logout::logout_handler).post(logout::logout_handler))
        .route(paths::LOGOUT_CALLBACK, get(logout::logout_callback_get));
    let device_flow = app.settings.grant_enabled(crate::protocol::GrantType::DeviceCode);
    if device_flow {
        pages = pages
            .route(paths::DEVICE, get(device::device_get))
            .route(paths::DEVICE_VERIFY, post(device::verify_code_post))
            .route(paths::DEVICE_CALLBACK, get(device::device_callback_get));
    }
    let pages = pages
        .layer(sessions)
        // Before the session layer reads the cookie: of several with its name, the live one.
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::pick_session_cookie))
        // Outside the session layer, so the page of an error is rendered whatever failed.
        .layer(axum::middleware::from_fn_with_state(ui.clone(), errors::render_page_errors));

    let mut api = Router::new()
        .route(paths::DISCOVERY, get(oauth2::discovery_get))
        .route(paths::KEYS, get(oauth2::keys_get))
        .route(paths::TOKEN, post(oauth2::token_post))
        .route(paths::INTROSPECTION, post(oauth2::introspect_post))
        .route(paths::REVOCATION, post(oauth2::revoke_post))
        .route(paths::USERINFO, get(oauth2::userinfo_handler).post(oauth2::userinfo_handler))
        .route("/saml/{connector}/metadata", get(saml::metadata_get));
    if device_flow {
        api = api.route(paths::DEVICE_CODE, post(device::device_code_post));
    }
    if app.settings.par.enabled {
        api = api.route(paths::PAR, post(oauth2::par_post));
    }
    let mut api = api.layer(axum::middleware::map_response(errors::api_method_not_allowed));
    if !cors_origins.is_empty() {
        let origins: Vec<HeaderValue> =
            cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        let allow = if cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(origins)
        };
        api = api.layer(
            CorsLayer::new().allow_origin(allow).allow_methods([Method::GET, Method::POST]).allow_headers(
                // A simple form POST needs no CORS header permission; JSON and auth do.
                cors.headers
                    .iter()
                    .filter_map(|h| HeaderName::try_from(h.as_str()).ok())
                    .chain([header::CONTENT_TYPE])
                    .collect::<Vec<_>>(),
            ),
        );
    }

    let routes = Router::new()
        .route("/healthz", get(telemetry::ready_get))
        .route("/static/{file}", get(asset_get))
        .route("/theme/{file}", get(asset_get))
        .merge(pages)
        .merge(api)
        .with_state(state);

    let issuer_path = ui.issuer_path.clone();
    let mut router = if issuer_path.is_empty() { routes } else { Router::new().nest(&issuer_path, routes) };
    // One layer for all of them (each layer is cloned for every request), reading the set in
    // force when the response leaves.
    router = router.layer(axum::middleware::map_response(move |mut response: Response| {
        let headers = security_headers.load_full();
        async move {
            for (name, value) in headers.0.iter() {
                if !response.headers().contains_key(name) {
                    response.headers_mut().insert(name.clone(), value.clone());
                }
            }
            response
        }
    }));
    let request_id = HeaderName::from_static("x-request-id");
    let trusted = trusted_headers(&app, &issuer_path);
    if !trusted.is_empty() {
        let trusted = std::sync::Arc::new(trusted);
        router = router.layer(axum::middleware::from_fn(move |request, next| {
            strip_trusted_headers(trusted.clone(), request, next)
        }));
    }
    router
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        // A declared Content-Length over the limit is a 413 before any handler runs;
        // otherwise the extractors' rejection would turn it into a 400 invalid_request.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(options.client_address.clone()),
            client_address::establish,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, RequestIds::default()))
}

/// Request ids for the logs and the error page: unique per process and unguessable enough not
/// to tell outsiders how busy the server is, without asking the OS for randomness per
/// request: a counter passed through SipHash under keys random per process (std's
/// `RandomState`), next to a random prefix that tells replicas apart.
#[derive(Clone)]
struct RequestIds {
    prefix: std::sync::Arc<str>,
    keys: std::collections::hash_map::RandomState,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for RequestIds {
    fn default() -> Self {
        Self {
            prefix: crate::crypto::random_token(6).into(),
            keys: Default::default(),
            next: Default::default(),
        }
    }
}

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(
        &mut self,
        _: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        use std::hash::BuildHasher;
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = self.keys.hash_one(n);
        HeaderValue::from_str(&format!("{}-{id:016x}", self.prefix))
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// For each connector that trusts proxy headers (`authproxy`): the one path where they are
/// read, `{issuer path}/callback/{id}`, and the header names.
fn trusted_headers(app: &AppState, issuer_path: &str) -> Vec<(String, Vec<HeaderName>)> {
    app.registry()
        .all()
        .iter()
        .filter_map(|c| {
            let crate::connector::Login::Redirect(redirect) = &c.login else { return None };
            let names: Vec<HeaderName> = redirect
                .trusted_headers()
                .iter()
                .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok())
                .collect();
            if names.is_empty() {
                return None;
            }
            let mut path = url::Url::parse("http://localhost/").ok()?;
            path.path_segments_mut().ok()?.pop_if_empty().push("callback").push(c.id.as_str());
            Some((format!("{issuer_path}{}", path.path()), names))
        })
        .collect()
}

/// Removes trusted proxy headers from every request but their connector's callback, before
/// routing, so no other handler (nor a forged request) can see them.
async fn strip_trusted_headers(
    trusted: std::sync::Arc<Vec<(String, Vec<HeaderName>)>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let keep: &[HeaderName] =
        trusted.iter().find(|(p, _)| p == path).map(|(_, n)| n.as_slice()).unwrap_or(&[]);
    let strip: Vec<HeaderName> =
        trusted.iter().flat_map(|(_, names)| names).filter(|n| !keep.contains(n)).cloned().collect();
    for name in strip {
        request.headers_mut().remove(name);
    }
    next.run(request).await
}

async fn asset_get(State(ui): State<std::sync::Arc<ui::Ui>>, Path(file): Path<String>) -> Response {
    ui.asset(&file).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_and_do_not_count_requests() {
        use tower_http::request_id::MakeRequestId;
        let mut ids = RequestIds::default();
        let request = axum::http::Request::new(());
        let made: Vec<String> = (0..2000)
            .map(|_| ids.make_request_id(&request).unwrap().header_value().to_str().unwrap().to_string())
            .collect();
        assert_eq!(made.iter().collect::<std::collections::HashSet<_>>().len(), made.len());
        // The prefix is base64url and may itself contain '-'; the counter part never does.
        let (prefix, first) = made[0].rsplit_once('-').unwrap();
        let (_, second) = made[1].rsplit_once('-').unwrap();
        assert!(made.iter().all(|id| id.starts_with(prefix)), "one prefix per process");
        assert_ne!(u64::from_str_radix(second, 16).unwrap(), u64::from_str_radix(first, 16).unwrap() + 1);
        let other = RequestIds::default().make_request_id(&request).unwrap();
        assert_ne!(other.header_value().to_str().unwrap(), made[0], "another replica, other ids");
    }
    use tower::ServiceExt;

    /// Trusted headers reach only their connector's callback path.
    #[tokio::test]
    async fn trusted_headers_are_stripped_elsewhere() {
        let echo = |headers: axum::http::HeaderMap| async move {
            headers.get("x-remote-user").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string()
        };
        let trusted = std::sync::Arc::new(vec![(
            "/dex/callback/proxy".to_string(),
            vec![HeaderName::from_static("x-remote-user")],
        )]);
        let router = Router::new()
            .route("/dex/callback/{id}", get(echo))
            .route("/dex/approval", get(echo))
            .layer(axum::middleware::from_fn(move |request, next| {
                strip_trusted_headers(trusted.clone(), request, next)
            }));
        for (path, expected) in
            [("/dex/callback/proxy", "alice"), ("/dex/callback/other", "-"), ("/dex/approval", "-")]
        {
            let request = axum::http::Request::get(path)
                .header("X-Remote-User", "alice")
                .body(axum::body::Body::empty())
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
            assert_eq!(body, expected.as_bytes(), "{path}");
        }
    }
}
