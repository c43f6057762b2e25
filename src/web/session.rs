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
