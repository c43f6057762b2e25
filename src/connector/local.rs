//! The password database (`enablePasswordDB`): users from `staticPasswords` and from
//! storage, checked with bcrypt (Dex's hashes) or argon2id.

use super::{ConnectorError, Identity, PasswordLogin, Refresh, Scopes};
use crate::crypto::PasswordHasher;
use crate::overlay::Passwords;
use crate::storage::{Claims, Password};
use async_trait::async_trait;

/// The connector id Dex uses for the password database.
pub const ID: &str = "local";

pub struct LocalPasswords {
    passwords: Passwords,
    hasher: PasswordHasher,
}

impl LocalPasswords {
    pub fn new(passwords: Passwords, hasher: PasswordHasher) -> Self {
        Self { passwords, hasher }
    }
}

fn identity(p: &Password) -> Identity {
    Identity {
        claims: Claims {
            user_id: p.user_id.clone(),
            // The `name` claim: `name` when set, else `username` (Dex's resolvePasswordName).
            username: if p.name.is_empty() { p.username.clone() } else { p.name.clone() },
            preferred_username: p.preferred_username.clone(),
            email: p.email.clone(),
            // Dex treats a password entry without `emailVerified` as verified.
            email_verified: p.email_verified.unwrap_or(true),
            groups: p.groups.clone(),
        },
        connector_data: None,
    }
}

#[async_trait]
impl PasswordLogin for LocalPasswords {
    fn prompt(&self) -> &str {
        "Email Address"
    }

    #[tracing::instrument(skip_all)]
    async fn login(
        &self,
        _scopes: Scopes,
        username: &str,
        password: &str,
    ) -> Result<Option<Identity>, ConnectorError> {
        if password.is_empty() {
            return Ok(None);
        }
        let entry =
            self.passwords.get(username).await.map_err(|e| ConnectorError::Upstream(e.to_string()))?;
        let hash = entry.as_ref().map(|p| p.hash.expose().to_string());
        // An unknown user is checked against a dummy hash: same time as a wrong password.
        let ok = self
            .hasher
            .verify(password.to_string(), hash)
            .await
            .map_err(|e| ConnectorError::Upstream(e.to_string()))?;
        Ok(match entry {
            Some(p) if ok => Some(identity(&p)),
            _ => None,
        })
    }
}

#[async_trait]
impl Refresh for LocalPasswords {
    /// The user must still exist; their claims are re-read (Dex does the same).
    async fn refresh(&self, _scopes: Scopes, identity_in: Identity) -> Result<Identity, ConnectorError> {
        let entry = self
            .passwords
            .get(&identity_in.claims.email)
            .await
            .map_err(|e| ConnectorError::Upstream(e.to_string()))?;
        match entry {
            Some(p) if p.user_id == identity_in.claims.user_id => Ok(identity(&p)),
            _ => Err(ConnectorError::Refused("the user no longer exists in the password database".into())),
        }
    }
}
