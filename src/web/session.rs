//! Browser sessions (tower-sessions) persisted in Tessera's storage, so they survive a
//! restart and work across replicas, and the CSRF token every form carries.

use crate::crypto::{constant_time_eq, random_token};
use crate::storage::{Storage, WebSession};
use async_trait::async_trait;
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::{Session, SessionStore};

#[derive(Clone)]
pub struct StorageSessionStore {
    storage: Arc<dyn Storage>,
}

impl StorageSessionStore {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage }
    }
}

impl std::fmt::Debug for StorageSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageSessionStore")
    }
}

fn to_row(record: &Record) -> Result<WebSession> {
    Ok(WebSession {
        id: record.id.to_string(),
        data: serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?,
        expiry: record.expiry_date.unix_timestamp(),
    })
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for StorageSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // Ids are 128 random bits; a collision is astronomically unlikely, but handled.
        for _ in 0..8 {
            if self.storage.create_web_session(&to_row(record)?).await.map_err(backend)? {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(Error::Backend("could not allocate a session id".into()))
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.storage.save_web_session(&to_row(record)?).await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match self.storage.load_web_session(&id.to_string(), now).await.map_err(backend)? {
            Some(row) => {
                serde_json::from_slice(&row.data).map(Some).map_err(|e| Error::Decode(e.to_string()))
            }
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.storage.delete_web_session(&id.to_string()).await.map_err(backend)
    }
}

const CSRF_KEY: &str = "csrf";

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> std::result::Result<String, tower_sessions::session::Error> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await? {
        return Ok(token);
    }
    let token = random_token(32);
    session.insert(CSRF_KEY, &token).await?;
    Ok(token)
}

/// Whether a submitted form carries this session's CSRF token.
pub async fn csrf_valid(session: &Session, submitted: &str) -> bool {
    match session.get::<String>(CSRF_KEY).await {
        Ok(Some(token)) => !submitted.is_empty() && constant_time_eq(token.as_bytes(), submitted.as_bytes()),
        _ => false,
    }
}

/// Cookie tossing: another host under the same parent domain can set a cookie with our name
/// for the whole domain (`Domain=example.com; Path=/`), and the browser then sends it next to
/// ours. tower-sessions would use the last one it reads, so a planted cookie would replace
/// the user's session and every login would end on "Login expired". When several cookies
/// carry the session cookie's name, this keeps the first that names a live session (or
/// none) and drops the others, before the session layer reads them. One cookie, the usual
/// case, costs a scan of the header and no allocation. (Over https the `__Host-` name rules
/// planting out altogether.)
pub async fn pick_session_cookie(
    axum::extract::State(state): axum::extract::State<super::WebState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (app, name) = (&state.app, state.ui.cookie_name.as_str());
    if cookies(request.headers()).filter(|c| c.name() == name).count() < 2 {
        return next.run(request).await;
    }
    let (mut candidates, mut others) = (Vec::new(), Vec::new());
    for cookie in cookies(request.headers()) {
        if cookie.name() == name {
            candidates.push(cookie.value().to_string());
        } else {
            others.push(format!("{}={}", cookie.name(), cookie.value()));
        }
    }
    let now = app.clock.now();
    let mut live = None;
    for value in candidates {
        let Ok(id) = value.parse::<Id>() else { continue };
        match app.storage.load_web_session(&id.to_string(), now).await {
            Ok(Some(_)) => {
                live = Some(value);
                break;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "reading a browser session failed"),
        }
    }
    others.extend(live.map(|value| format!("{name}={value}")));
    let headers = request.headers_mut();
    headers.remove(axum::http::header::COOKIE);
    if let Ok(value) = axum::http::HeaderValue::from_str(&others.join("; ")) {
        headers.insert(axum::http::header::COOKIE, value);
    }
    next.run(request).await
}

/// Every cookie the request's `Cookie` headers carry.
fn cookies(headers: &axum::http::HeaderMap) -> impl Iterator<Item = tower_sessions::cookie::Cookie<'_>> {
    headers
        .get_all(axum::http::header::COOKIE)
        .into_iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|text| tower_sessions::cookie::Cookie::split_parse(text).flatten())
}
