//! `atlassian-crowd`: password login against Atlassian Crowd's REST API, as Dex does, with the
//! application's name and password (`clientID`/`clientSecret`) as HTTP Basic on every call.
//!
//! A login creates an SSO session (`POST /session`), which checks the password, then reads the
//! user (`GET /user`). Identity: Crowd's user `key` as user id, the `name` as username, the
//! email (Crowd's), and a `preferredUsernameField` of `key`, `name` or `email`. Groups are the
//! user's nested groups (direct and inherited, `GET /user/group/nested`, paged); with
//! `groups` set the user must be in one of them and only those are kept. A refresh re-reads
//! the user by name, renews the session without the password (which fails for a deactivated
//! account) and re-reads the groups.
//!
//! Unlike Dex: the `groups` requirement is checked at every login (Dex checks it only when the
//! client asks for the `groups` scope), group lists are read to the last page, an inactive or
//! expired account gets a plain message instead of a server error, and names are URL-encoded.

use super::upstream::upstream as fail;
use super::{ConnectorError, Identity, PasswordLogin, Refresh, Scopes};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

const KIND: &str = "atlassian-crowd";
const API: &str = "/rest/usermanagement/1";
const GROUPS_PER_PAGE: usize = 100;
const MAX_PAGES: usize = 100;

/// `connectors[].config` of an `atlassian-crowd` connector (Dex's keys).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CrowdConfig {
    #[serde(rename = "baseURL")]
    pub base_url: String,
    /// The Crowd application's name.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// The Crowd application's password.
    pub client_secret: Secret,
    /// The user must be in one of these groups; only these are kept.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The label of the username field.
    #[serde(default)]
    pub username_prompt: String,
    /// `key`, `name` or `email`: what becomes `preferred_username`.
    #[serde(default)]
    pub preferred_username_field: String,
}

#[derive(Debug, Clone, Copy)]
enum PreferredField {
    None,
    Key,
    Name,
    Email,
}

pub struct Crowd {
    base_url: String,
    client_id: String,
    client_secret: Secret,
    groups: Vec<String>,
    prompt: String,
    preferred: PreferredField,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Deserialize)]
struct Groups {
    #[serde(default)]
    groups: Vec<GroupEntry>,
}

#[derive(Debug, Deserialize)]
struct GroupEntry {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct CrowdError {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

/// What a login keeps for refresh: the name the user logged in with (Dex's field).
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    username: String,
}

struct Answer {
    status: StatusCode,
    body: String,
}

impl Crowd {
    pub fn open(config: CrowdConfig) -> Result<Self, ConnectorError> {
        if config.base_url.trim().is_empty() {
            return Err(fail(KIND, "baseURL is required"));
        }
        let base_url = config.base_url.trim_end_matches('/').to_string();
        url::Url::parse(&base_url).map_err(|e| fail(KIND, format!("baseURL {base_url:?}: {e}")))?;
        let preferred = match config.preferred_username_field.as_str() {
            "" => PreferredField::None,
            "key" => PreferredField::Key,
            "name" => PreferredField::Name,
            "email" => PreferredField::Email,
            other => {
                return Err(fail(KIND, format!("preferredUsernameField {other:?}: use key, name or email")));
            }
        };
        Ok(Self {
            base_url,
            client_id: config.client_id,
            client_secret: config.client_secret,
            groups: config.groups,
            prompt: config.username_prompt,
            preferred,
            http: super::http::client(&super::http::Upstream::default())?,
        })
    }

    /// One call to Crowd as the application. The two answers that mean the application itself
    /// is refused (Crowd's wording) are errors naming the config to fix.
    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Answer, ConnectorError> {
        let url = format!("{}{API}{path_and_query}", self.base_url);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| fail(KIND, format!("{method} {url}: {e}")))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| fail(KIND, format!("{method} {url}: {e}")))?;
        if status == StatusCode::UNAUTHORIZED && body.trim() == "Application failed to authenticate" {
            return Err(fail(
                KIND,
                format!(
                    "Crowd refused the application {:?}: check clientID and clientSecret",
                    self.client_id
                ),
            ));
        }
        if status == StatusCode::FORBIDDEN && body.contains("refuses to authorize it") {
            return Err(fail(
                KIND,
                format!("Crowd does not let this server's address call the application at {}", self.base_url),
            ));
        }
        Ok(Answer { status, body })
    }

    /// Creates an SSO session: `Ok(false)` for a wrong password or an unknown user.
    async fn session(&self, username: &str, password: Option<&str>) -> Result<bool, ConnectorError> {
        let (query, body) = match password {
            Some(password) => ("/session", json!({"username": username, "password": password})),
            None => ("/session?validate-password=false", json!({"username": username})),
        };
        let answer = self.call(Method::POST, query, Some(body)).await?;
        if answer.status == StatusCode::CREATED {
            return Ok(true);
        }
        let error: CrowdError = serde_json::from_str(&answer.body).unwrap_or_default();
        match error.reason.as_str() {
            "INVALID_USER_AUTHENTICATION" | "USER_NOT_FOUND" => Ok(false),
            "INACTIVE_ACCOUNT" => Err(ConnectorError::Refused("Your Crowd account is deactivated.".into())),
            "EXPIRED_CREDENTIAL" => Err(ConnectorError::Refused(
                "Your Crowd password has expired; change it in Crowd first.".into(),
            )),
            _ => Err(fail(
                KIND,
                format!("POST {API}/session: status {}: {} {}", answer.status, error.reason, error.message),
            )),
        }
    }

    /// The user by name; `None` when Crowd does not know it.
    async fn user(&self, username: &str) -> Result<Option<User>, ConnectorError> {
        let answer = self
            .call(Method::GET, &format!("/user?username={}", super::upstream::encode(username)), None)
            .await?;
        match answer.status {
            StatusCode::OK => serde_json::from_str(&answer.body)
                .map(Some)
                .map_err(|e| fail(KIND, format!("GET {API}/user: unexpected response: {e}"))),
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(fail(KIND, format!("GET {API}/user: status {status}"))),
        }
    }

    /// Direct and inherited groups, every page; filtered by `groups` when set.
    async fn groups(&self, username: &str) -> Result<Vec<String>, ConnectorError> {
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let path = format!(
                "/user/group/nested?username={}&start-index={}&max-results={GROUPS_PER_PAGE}",
                super::upstream::encode(username),
                page * GROUPS_PER_PAGE
            );
            let answer = self.call(Method::GET, &path, None).await?;
            if answer.status != StatusCode::OK {
                return Err(fail(KIND, format!("GET {API}/user/group/nested: status {}", answer.status)));
            }
            let batch: Groups = serde_json::from_str(&answer.body)
                .map_err(|e| fail(KIND, format!("GET {API}/user/group/nested: unexpected response: {e}")))?;
            let full = batch.groups.len() >= GROUPS_PER_PAGE;
            all.extend(batch.groups.into_iter().map(|g| g.name).filter(|n| !n.is_empty()));
            if !full {
                return self.required(username, all);
            }
        }
        Err(fail(KIND, format!("GET {API}/user/group/nested: more than {MAX_PAGES} pages")))
    }

    fn required(&self, username: &str, groups: Vec<String>) -> Result<Vec<String>, ConnectorError> {
        if self.groups.is_empty() {
            return Ok(groups);
        }
        let kept = super::upstream::filter_groups(&groups, &self.groups);
        if kept.is_empty() {
            return Err(ConnectorError::Refused(format!(
                "You ({username}) are not in any of the Crowd groups this login requires."
            )));
        }
        Ok(kept)
    }

    async fn identity(
        &self,
        scopes: Scopes,
        user: User,
        data: Option<Vec<u8>>,
    ) -> Result<Identity, ConnectorError> {
        let groups = if scopes.groups || !self.groups.is_empty() {
            let groups = self.groups(&user.name).await?;
            if scopes.groups { groups } else { Vec::new() }
        } else {
            Vec::new()
        };
        let preferred_username = match self.preferred {
            PreferredField::None => String::new(),
            PreferredField::Key => user.key.clone(),
            PreferredField::Name => user.name.clone(),
            PreferredField::Email => user.email.clone(),
        };
        Ok(Identity {
            claims: Claims {
                user_id: user.key,
                username: user.name,
                preferred_username,
                email: user.email,
                email_verified: true,
                groups,
            },
            connector_data: data,
        })
    }
}

#[async_trait]
impl PasswordLogin for Crowd {
    fn prompt(&self) -> &str {
        &self.prompt
    }

    #[tracing::instrument(skip_all, fields(connector = KIND))]
    async fn login(
        &self,
        scopes: Scopes,
        username: &str,
        password: &str,
    ) -> Result<Option<Identity>, ConnectorError> {
        if password.is_empty() || !self.session(username, Some(password)).await? {
            return Ok(None);
        }
        let user = self
            .user(username)
            .await?
            .ok_or_else(|| fail(KIND, format!("user {username:?} has a session but was not found")))?;
        if user.key.is_empty() {
            return Err(fail(KIND, format!("user {username:?} has no key")));
        }
        let data = scopes
            .offline_access
            .then(|| serde_json::to_vec(&Stored { username: username.to_string() }))
            .transpose()
            .map_err(|e| fail(KIND, e))?;
        self.identity(scopes, user, data).await.map(Some)
    }
}

#[async_trait]
impl Refresh for Crowd {
    #[tracing::instrument(skip_all, fields(connector = KIND))]
    async fn refresh(&self, scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        let stored: Stored = identity
            .connector_data
            .as_deref()
            .and_then(|d| serde_json::from_slice(d).ok())
            .ok_or_else(|| fail(KIND, "no username stored for this refresh token"))?;
        let Some(user) = self.user(&stored.username).await? else {
            return Err(ConnectorError::Refused(format!(
                "Crowd user {:?} no longer exists.",
                stored.username
            )));
        };
        if !self.session(&user.name, None).await? {
            return Err(ConnectorError::Refused(format!("Crowd no longer lets {:?} log in.", user.name)));
        }
        self.identity(scopes, user, identity.connector_data).await
    }
}
