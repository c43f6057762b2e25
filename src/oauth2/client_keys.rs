//! The public keys of clients that publish them at a `jwksURI` (for `private_key_jwt`):
//! fetched on first use, kept for [`FRESH_FOR`], and fetched again early when an assertion
//! names a key id the cached set lacks (the client rotated) — at most once per
//! [`REFETCH_AFTER`], so assertions with made-up key ids cannot make us fetch in a loop.
//! Each replica keeps its own cache; the keys are public, so nothing needs sharing.

use crate::types::UnixTime;
use jsonwebtoken::jwk::JwkSet;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long a fetched set is used without asking again.
pub const FRESH_FOR: i64 = 300;
/// The least time between two fetches of one URI.
pub const REFETCH_AFTER: i64 = 10;
/// A JWK Set larger than this is refused (a client's few keys fit in a few kilobytes).
const MAX_BYTES: usize = 256 * 1024;

pub struct ClientKeys {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Fetched>>,
}

#[derive(Clone)]
struct Fetched {
    keys: Arc<JwkSet>,
    at: UnixTime,
}

/// Why a client's keys could not be had; the client hears `invalid_client`, the log the rest.
#[derive(Debug, thiserror::Error)]
#[error("fetching {uri}: {why}")]
pub struct FetchError {
    pub uri: String,
    pub why: String,
}

impl ClientKeys {
    /// `http` should not follow redirects and should time out quickly (the app's client).
    pub fn new(http: reqwest::Client) -> Self {
        Self { http, cache: Mutex::new(HashMap::new()) }
    }

    /// The keys at `uri`, fresh enough to hold `kid` if the client has it.
    pub async fn get(&self, uri: &str, kid: Option<&str>, now: UnixTime) -> Result<Arc<JwkSet>, FetchError> {
        let cached = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(uri).cloned();
        if let Some(c) = &cached {
            let age = now - c.at;
            let has_kid = kid.is_none_or(|kid| c.keys.find(kid).is_some());
            if age < REFETCH_AFTER || (age < FRESH_FOR && has_kid) {
                return Ok(c.keys.clone());
            }
        }
        match self.fetch(uri).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                let fetched = Fetched { keys: keys.clone(), at: now };
                self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(uri.to_string(), fetched);
                Ok(keys)
            }
            // The client's server is down: the keys we had still prove what they proved.
            Err(e) => match cached {
                Some(c) => {
                    tracing::warn!(error = %e, "using the client keys fetched before");
                    Ok(c.keys)
                }
                None => Err(e),
            },
        }
    }

    async fn fetch(&self, uri: &str) -> Result<JwkSet, FetchError> {
        let fail = |why: String| FetchError { uri: uri.to_string(), why };
        let mut response = self.http.get(uri).send().await.map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("HTTP status {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fail(e.to_string()))? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(fail(format!("larger than {MAX_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| fail(format!("not a JWK Set: {e}")))
    }
}
