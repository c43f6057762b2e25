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

    /// Whether the client comes from the config (and so is read-only at run time).
    pub fn is_static(&self, id: &ClientId) -> bool {
        self.fixed.contains_key(id)
    }

    /// The clients from the config, in id order.
    pub fn statics(&self) -> Vec<Client> {
        let mut clients: Vec<Client> = self.fixed.values().cloned().collect();
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        clients
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

    /// Whether the password comes from the config (and so is read-only at run time).
    pub fn is_static(&self, email: &str) -> bool {
        self.fixed.contains_key(&email.to_lowercase())
    }

    /// The passwords from the config, in email order.
    pub fn statics(&self) -> Vec<Password> {
        let mut passwords: Vec<Password> = self.fixed.values().cloned().collect();
        passwords.sort_by(|a, b| a.email.cmp(&b.email));
        passwords
    }
}
