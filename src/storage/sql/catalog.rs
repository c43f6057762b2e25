//! Clients, connectors and local passwords: records an administrator manages, each a plain
//! `key, data` document (see [`super::document`]).

use super::SqlStorage;
use super::document::{CLIENTS, CONNECTORS, PASSWORDS};
use crate::storage::{Client, ClientStore, Connector, ConnectorStore, Password, PasswordStore, Result};
use crate::types::{ClientId, ConnectorId};
use async_trait::async_trait;

#[async_trait]
impl ClientStore for SqlStorage {
    async fn create_client(&self, client: &Client) -> Result<()> {
        CLIENTS.insert(self, client.id.as_str(), client).await
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>> {
        CLIENTS.get(self, id.as_str()).await
    }

    async fn list_clients(&self) -> Result<Vec<Client>> {
        CLIENTS.list(self).await
    }

    async fn update_client(&self, client: &Client) -> Result<bool> {
        CLIENTS.replace(self, client.id.as_str(), client).await
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool> {
        CLIENTS.delete(self, id.as_str()).await
    }
}

#[async_trait]
impl ConnectorStore for SqlStorage {
    async fn create_connector(&self, connector: &Connector) -> Result<()> {
        CONNECTORS.insert(self, connector.id.as_str(), connector).await
    }

    async fn get_connector(&self, id: &ConnectorId) -> Result<Option<Connector>> {
        CONNECTORS.get(self, id.as_str()).await
    }

    async fn list_connectors(&self) -> Result<Vec<Connector>> {
        CONNECTORS.list(self).await
    }

    async fn update_connector(&self, connector: &Connector) -> Result<bool> {
        CONNECTORS.replace(self, connector.id.as_str(), connector).await
    }

    async fn delete_connector(&self, id: &ConnectorId) -> Result<bool> {
        CONNECTORS.delete(self, id.as_str()).await
    }
}

/// Emails compare case-insensitively (as in Dex): they are lower-cased on every write and
/// lookup, so the primary key alone enforces "one account per address, whatever the case".
fn email_key(email: &str) -> String {
    email.to_lowercase()
}

fn normalized(password: &Password) -> Password {
    Password { email: email_key(&password.email), ..password.clone() }
}

#[async_trait]
impl PasswordStore for SqlStorage {
    async fn create_password(&self, password: &Password) -> Result<()> {
        let password = normalized(password);
        PASSWORDS.insert(self, &password.email, &password).await
    }

    async fn get_password(&self, email: &str) -> Result<Option<Password>> {
        PASSWORDS.get(self, &email_key(email)).await
    }

    async fn list_passwords(&self) -> Result<Vec<Password>> {
        PASSWORDS.list(self).await
    }

    async fn update_password(&self, password: &Password) -> Result<bool> {
        let password = normalized(password);
        PASSWORDS.replace(self, &password.email, &password).await
    }

    async fn delete_password(&self, email: &str) -> Result<bool> {
        PASSWORDS.delete(self, &email_key(email)).await
    }
}
