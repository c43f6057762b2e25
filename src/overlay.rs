//! Static clients and passwords from the config, layered over the stored ones, read-only,
//! as in Dex. Static entries are looked up in memory first, so the hot path reads no
//! storage for clients that come from the config.

use crate::storage::{Client, Password, Result, Storage};
use crate::types::ClientId;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;

/// The static entries, swapped whole on a live reload; clones share them.
type Fixed<K, V> = Arc<ArcSwap<HashMap<K, V>>>;

#[derive(Clone)]
pub struct Clients {
    fixed: Fixed<ClientId, Client>,
    storage: Arc<dyn Storage>,
}

impl Clients {
    pub fn new(fixed: Vec<Client>, storage: Arc<dyn Storage>) -> Self {
        Self { fixed: Arc::new(ArcSwap::from_pointee(Self::by_id(fixed))), storage }
    }

    fn by_id(fixed: Vec<Client>) -> HashMap<ClientId, Client> {
        fixed.into_iter().map(|c| (c.id.clone(), c)).collect()
    }

    /// Replaces the clients of the config (a live reload).
    pub fn replace_static(&self, fixed: Vec<Client>) {
        self.fixed.store(Arc::new(Self::by_id(fixed)));
    }

    pub async fn get(&self, id: &ClientId) -> Result<Option<Client>> {
        if let Some(client) = self.fixed.load().get(id) {
            return Ok(Some(client.clone()));
        }
        self.storage.get_client(id).await
    }

    /// Whether the client comes from the config (and so is read-only at run time).
    pub fn is_static(&self, id: &ClientId) -> bool {
        self.fixed.load().contains_key(id)
    }

    /// The clients from the config, in id order.
    pub fn statics(&self) -> Vec<Client> {
        let mut clients: Vec<Client> = self.fixed.load().values().cloned().collect();
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        clients
    }
}

#[derive(Clone)]
pub struct Passwords {
    /// Keyed by lower-cased email.
    fixed: Fixed<String, Password>,
    storage: Arc<dyn Storage>,
}

impl Passwords {
    pub fn new(fixed: Vec<Password>, storage: Arc<dyn Storage>) -> Self {
        Self { fixed: Arc::new(ArcSwap::from_pointee(Self::by_email(fixed))), storage }
    }

    fn by_email(fixed: Vec<Password>) -> HashMap<String, Password> {
        fixed.into_iter().map(|p| (p.email.to_lowercase(), p)).collect()
    }

    /// Replaces the passwords of the config (a live reload).
    pub fn replace_static(&self, fixed: Vec<Password>) {
        self.fixed.store(Arc::new(Self::by_email(fixed)));
    }

    /// Emails compare case-insensitively.
    pub async fn get(&self, email: &str) -> Result<Option<Password>> {
        if let Some(p) = self.fixed.load().get(&email.to_lowercase()) {
            return Ok(Some(p.clone()));
        }
        self.storage.get_password(email).await
    }

    /// Whether the password comes from the config (and so is read-only at run time).
    pub fn is_static(&self, email: &str) -> bool {
        self.fixed.load().contains_key(&email.to_lowercase())
    }

    /// The passwords from the config, in email order.
    pub fn statics(&self) -> Vec<Password> {
        let mut passwords: Vec<Password> = self.fixed.load().values().cloned().collect();
        passwords.sort_by(|a, b| a.email.cmp(&b.email));
        passwords
    }
}
