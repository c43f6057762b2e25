//! `keystone`: password login against OpenStack Keystone's v3 API, as Dex does.
//!
//! A login asks Keystone for an unscoped token with the typed username and password in the
//! configured `domain` (`POST /v3/auth/tokens`). Identity: Keystone's user id, the name as
//! typed, the user's email (verified when there is one), and with the `groups` scope the names
//! of the user's Keystone groups (`GET /v3/users/{id}/groups`). A refresh logs in as the
//! configured admin (`keystoneUsername`/`keystonePassword`), checks the user still exists and
//! re-reads the groups.
//!
//! Unlike Dex, a wrong password is the form's "invalid username or password" rather than a
//! server error, and the group call's status is checked.

use super::upstream::upstream as fail;
use super::{ConnectorError, Identity, PasswordLogin, Refresh, Scopes};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

const KIND: &str = "keystone";

/// `connectors[].config` of a `keystone` connector (Dex's keys, plus `rootCA`/`insecureCA`).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeystoneConfig {
    /// Keystone's base URL, e.g. `https://keystone.example.com:5000`.
    pub keystone_host: String,
    /// The users' domain: its id (`default`, or a UUID) or its name.
    #[serde(default)]
    pub domain: String,
    /// An admin account that may read users and their groups, for refresh.
    #[serde(default)]
    pub keystone_username: String,
    #[serde(default)]
    pub keystone_password: Secret,
    /// Tessera: a PEM file of CAs to trust for `keystoneHost`, besides the system's.
    #[serde(default, rename = "rootCA")]
    pub root_ca: String,
    /// Tessera: do not check `keystoneHost`'s certificate (development only).
    #[serde(default, rename = "insecureCA")]
    pub insecure_ca: bool,
}

pub struct Keystone {
    host: String,
    domain: serde_json::Value,
    admin_username: String,
    admin_password: Secret,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Debug, Deserialize)]
struct TokenInfo {
    user: TokenUser,
}

#[derive(Debug, Deserialize)]
struct TokenUser {
    id: String,
}

#[derive(Debug, Deserialize)]
struct UserBody {
    user: UserInfo,
}

#[derive(Debug, Deserialize)]
struct UserInfo {
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GroupsBody {
    #[serde(default)]
    groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
struct Group {
    #[serde(default)]
    name: String,
}

/// Keystone names a domain by id or by name; Dex sends `default` and UUIDs as ids.
fn domain(value: &str) -> serde_json::Value {
    let hex =
        value.trim_start_matches("urn:uuid:").trim_start_matches('{').trim_end_matches('}').replace('-', "");
    let is_uuid = hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    match value {
        "" => json!({}),
        "default" => json!({ "id": value }),
        _ if is_uuid => json!({ "id": value }),
        _ => json!({ "name": value }),
    }
}

impl Keystone {
    pub fn open(config: KeystoneConfig) -> Result<Self, ConnectorError> {
        let host = config.keystone_host.trim_end_matches('/').to_string();
        url::Url::parse(&host).map_err(|e| fail(KIND, format!("keystoneHost {host:?}: {e}")))?;
        let http = super::http::client_with_ca(&config.root_ca, config.insecure_ca)?;
        if config.keystone_username.is_empty() || config.keystone_password.is_empty() {
            tracing::warn!(
                "keystone: without keystoneUsername and keystonePassword, refresh tokens of its users cannot be used"
            );
        }
        Ok(Self {
            host,
            domain: domain(&config.domain),
            admin_username: config.keystone_username,
            admin_password: config.keystone_password,
            http,
        })
    }

    /// An unscoped token for `username`: `Ok(None)` when Keystone refuses the password.
    async fn token(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<(String, String)>, ConnectorError> {
        let url = format!("{}/v3/auth/tokens", self.host);
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": self.domain, "password": password}}}}});
        let response = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| fail(KIND, format!("POST {url}: {e}")))?;
        let status = response.status();
        // 401: unknown user, wrong password or disabled account; Keystone does not say which.
        // 400: input it will not take (a name over 255 characters): the user's mistake too.
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST) {
            return Ok(None);
        }
        if status != StatusCode::CREATED {
            return Err(fail(KIND, format!("POST {url}: status {status}")));
        }
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| fail(KIND, format!("POST {url}: no X-Subject-Token")))?;
        let body: TokenBody = response.json().await.map_err(|e| fail(KIND, format!("POST {url}: {e}")))?;
        Ok(Some((token, body.token.user.id)))
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
    ) -> Result<(StatusCode, Option<T>), ConnectorError> {
        let url = format!("{}{path}", self.host);
        let response = self
            .http
            .get(&url)
            .header("x-auth-token", token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| fail(KIND, format!("GET {url}: {e}")))?;
        let status = response.status();
        if status != StatusCode::OK {
            return Ok((status, None));
        }
        let body = response.json().await.map_err(|e| fail(KIND, format!("GET {url}: {e}")))?;
        Ok((status, Some(body)))
    }

    async fn email(&self, user_id: &str, token: &str) -> Result<Option<String>, ConnectorError> {
        match self.get::<UserBody>(&format!("/v3/users/{}", super::upstream::encode(user_id)), token).await? {
            (_, Some(body)) => Ok(Some(body.user.email.unwrap_or_default())),
            (StatusCode::NOT_FOUND, None) => Ok(None),
            (status, None) => Err(fail(KIND, format!("GET /v3/users/{user_id}: status {status}"))),
        }
    }

    async fn groups(&self, user_id: &str, token: &str) -> Result<Vec<String>, ConnectorError> {
        match self
            .get::<GroupsBody>(&format!("/v3/users/{}/groups", super::upstream::encode(user_id)), token)
            .await?
        {
            (_, Some(body)) => {
                Ok(body.groups.into_iter().map(|g| g.name).filter(|n| !n.is_empty()).collect())
            }
            (status, None) => Err(fail(KIND, format!("GET /v3/users/{user_id}/groups: status {status}"))),
        }
    }
}

#[async_trait]
impl PasswordLogin for Keystone {
    fn prompt(&self) -> &str {
        "Username"
    }

    #[tracing::instrument(skip_all, fields(connector = KIND))]
    async fn login(
        &self,
        scopes: Scopes,
        username: &str,
        password: &str,
    ) -> Result<Option<Identity>, ConnectorError> {
        if password.is_empty() {
            return Ok(None);
        }
        let Some((token, user_id)) = self.token(username, password).await? else {
            return Ok(None);
        };
        let groups = if scopes.groups { self.groups(&user_id, &token).await? } else { Vec::new() };
        let email = self
            .email(&user_id, &token)
            .await?
            .ok_or_else(|| fail(KIND, format!("user {user_id} of a fresh token was not found")))?;
        Ok(Some(Identity {
            claims: Claims {
                user_id,
                username: username.to_string(),
                preferred_username: String::new(),
                email_verified: !email.is_empty(),
                email,
                groups,
            },
            connector_data: None,
        }))
    }
}

#[async_trait]
impl Refresh for Keystone {
    /// With the admin account: the user must still exist; the groups are read again.
    #[tracing::instrument(skip_all, fields(connector = KIND))]
    async fn refresh(&self, scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        let Some((admin, _)) = self.token(&self.admin_username, self.admin_password.expose()).await? else {
            return Err(fail(
                KIND,
                "keystoneUsername/keystonePassword were refused: no refresh without them",
            ));
        };
        let user_id = identity.claims.user_id.clone();
        if self.email(&user_id, &admin).await?.is_none() {
            return Err(ConnectorError::Refused(format!("Keystone user {user_id} no longer exists.")));
        }
        let mut identity = identity;
        if scopes.groups {
            identity.claims.groups = self.groups(&user_id, &admin).await?;
        }
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_is_an_id_or_a_name_as_in_dex() {
        assert_eq!(domain("default"), json!({"id": "default"}));
        assert_eq!(
            domain("0c7c1f5a8e4d4f5a9a3c2b1d0e9f8a7b"),
            json!({"id": "0c7c1f5a8e4d4f5a9a3c2b1d0e9f8a7b"})
        );
        assert_eq!(
            domain("0c7c1f5a-8e4d-4f5a-9a3c-2b1d0e9f8a7b"),
            json!({"id": "0c7c1f5a-8e4d-4f5a-9a3c-2b1d0e9f8a7b"})
        );
        assert_eq!(domain("Default"), json!({"name": "Default"}));
        assert_eq!(domain("corp"), json!({"name": "corp"}));
        assert_eq!(domain(""), json!({}));
    }
}
