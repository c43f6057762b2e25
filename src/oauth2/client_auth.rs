//! Client authentication at the token endpoint (RFC 6749 §2.3.1): `client_secret_basic`
//! (credentials URL-encoded inside HTTP Basic) or `client_secret_post`; public clients send
//! only their `client_id`. Secrets compare in constant time.

use super::error::OAuthError;
use crate::crypto::constant_time_eq;
use crate::overlay::Clients;
use crate::storage::Client;
use crate::types::Secret;

/// The credentials a request presented, parsed once by `web::extract`.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// They came in an `Authorization: Basic` header.
    pub basic: bool,
}

/// Looks the client up and checks its secret.
pub async fn authenticate(clients: &Clients, creds: &ClientCredentials) -> Result<Client, OAuthError> {
    let fail = || OAuthError::invalid_client("Invalid client credentials.", creds.basic);
    if creds.client_id.is_empty() {
        return Err(OAuthError::invalid_client("Client authentication is required.", creds.basic));
    }
    let client = clients.get(&creds.client_id).await?.ok_or_else(fail)?;
    if client.public {
        // A public client has no secret to check; if it sends one, it must not be a wrong one.
        return match &creds.client_secret {
            Some(s) if !s.is_empty() && !client.secret.is_empty() && !secret_matches(&client, s) => {
                Err(fail())
            }
            _ => Ok(client),
        };
    }
    match &creds.client_secret {
        Some(secret) if secret_matches(&client, secret) => Ok(client),
        _ => Err(fail()),
    }
}

fn secret_matches(client: &Client, presented: &Secret) -> bool {
    !client.secret.is_empty()
        && constant_time_eq(client.secret.expose().as_bytes(), presented.expose().as_bytes())
}
