//! Static clients and passwords from the config, layered over the stored ones, read-only,
//! as in Dex. Static entries are looked up in memory first, so the hot path reads no
//! storage for clients that come from the config.

use crate::storage::{Client, Password, Result, Storage};
use crate::types::ClientId;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct Clients {
    fixed: Arc<HashMap<ClientId, Client>>,
    storage: Arc<dyn Storage>,
}

impl Clients {
    pub fn new(fixed: Vec<Client>, storage: Arc<dyn Storage>) -> Self {
        Self { fixed: Arc::new(fixed.into_iter().map(|c| (c.id.clone(), c)).collect()), storage }
    }

    pub async fn get(&self, id: &ClientId) -> Result<Option<Client>> {
        if let Some(client) = self.fixed.get(id) {
            return Ok(Some(client.clone()));
        }
        self.storage.get_client(id).await
    }
}

#[derive(Clone)]
pub struct Passwords {
    /// Keyed by lower-cased email.
    fixed: Arc<HashMap<String, Password>>,
    storage: Arc<dyn Storage>,
}

impl Passwords {
    pub fn new(fixed: Vec<Password>, storage: Arc<dyn Storage>) -> Self {
        Self { fixed: Arc::new(fixed.into_iter().map(|p| (p.email.to_lowercase(), p)).collect()), storage }
    }

    /// Emails compare case-insensitively.
    pub async fn get(&self, email: &str) -> Result<Option<Password>> {
        if let Some(p) = self.fixed.get(&email.to_lowercase()) {
            return Ok(Some(p.clone()));
        }
        self.storage.get_password(email).await
    }
}
