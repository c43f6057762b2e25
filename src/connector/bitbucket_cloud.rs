//! `bitbucket-cloud`: login with Bitbucket Cloud, with Dex's identity: the account `uuid`
//! (braces included) as the user id, the username, and the confirmed primary email.
//!
//! Groups, as Dex's current connector: the slugs of the user's workspaces
//! (`/2.0/user/workspaces`, paged by `next`), with `getWorkspacePermissions` also
//! `slug:permission` entries. With `teams` set, the user must be in one of them and only those
//! are kept. `includeTeamGroups` is accepted and has no effect (Bitbucket removed the 1.0 API
//! it read; Dex ignores it too). Refresh uses the stored access token, refreshed when expired,
//! and re-checks the email and the workspaces.
//!
//! `authURL` and `apiURL` are Tessera's own keys (an egress proxy or a test double in front of
//! Bitbucket); Dex has no such keys and always talks to bitbucket.org.

use super::oauth2_upstream::{OAuth2Refresh, OAuth2Upstream};
use super::sealed::DataKey;
use super::upstream::{self, ClientAuth, OAuthApp, upstream as fail};
use super::{ConnectorError, Scopes};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use serde::Deserialize;

const KIND: &str = "bitbucket-cloud";
const DEFAULT_AUTH_URL: &str = "https://bitbucket.org";
const DEFAULT_API_URL: &str = "https://api.bitbucket.org/2.0";
/// Bounds a paged list, so an upstream that always answers `next` cannot hold a login.
const MAX_PAGES: usize = 100;

/// `connectors[].config` of a `bitbucket-cloud` connector (Dex's keys, plus `authURL`/`apiURL`).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BitbucketCloudConfig {
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(rename = "redirectURI")]
    pub redirect_uri: String,
    /// Workspace slugs the user must be in (any of them).
    #[serde(default)]
    pub teams: Vec<String>,
    /// Deprecated in Dex and without effect (the 1.0 API is gone); accepted.
    #[serde(default)]
    pub include_team_groups: bool,
    #[serde(default)]
    pub get_workspace_permissions: bool,
    /// Tessera: where `/site/oauth2/authorize` and `/site/oauth2/access_token` live.
    #[serde(default, rename = "authURL")]
    pub auth_url: String,
    /// Tessera: the 2.0 API's base URL.
    #[serde(default, rename = "apiURL")]
    pub api_url: String,
}

pub struct BitbucketCloud {
    key: std::sync::Arc<DataKey>,
    app: OAuthApp,
    api_url: String,
    teams: Vec<String>,
    get_workspace_permissions: bool,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(default)]
    username: String,
    uuid: String,
}

#[derive(Debug, Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    values: Vec<T>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Email {
    #[serde(default)]
    email: String,
    #[serde(default)]
    is_primary: bool,
    #[serde(default)]
    is_confirmed: bool,
}

#[derive(Debug, Deserialize)]
struct WorkspaceAccess {
    workspace: Workspace,
}

#[derive(Debug, Deserialize)]
struct Workspace {
    slug: String,
}

#[derive(Debug, Deserialize)]
struct Permission {
    #[serde(default)]
    permission: String,
}

impl BitbucketCloud {
    pub fn open(config: BitbucketCloudConfig, key: std::sync::Arc<DataKey>) -> Result<Self, ConnectorError> {
        if config.include_team_groups {
            tracing::warn!(
                "bitbucket-cloud: includeTeamGroups has no effect: the Bitbucket 1.0 API it read was removed"
            );
        }
        let auth_url = upstream::base_url(KIND, "authURL", &config.auth_url, DEFAULT_AUTH_URL)?;
        let http = super::http::client(&super::http::Upstream::default())?;
        Ok(Self {
            key,
            app: OAuthApp {
                client_id: config.client_id,
                auth: ClientAuth::Basic(config.client_secret),
                redirect_uri: upstream::require_redirect_uri(KIND, &config.redirect_uri)?,
                authorization_url: format!("{auth_url}/site/oauth2/authorize"),
                token_url: format!("{auth_url}/site/oauth2/access_token"),
                http,
            },
            api_url: upstream::base_url(KIND, "apiURL", &config.api_url, DEFAULT_API_URL)?,
            teams: config.teams,
            get_workspace_permissions: config.get_workspace_permissions,
        })
    }

    fn groups_required(&self, scopes: Scopes) -> bool {
        !self.teams.is_empty() || scopes.groups
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: &str, token: &str) -> Result<T, ConnectorError> {
        Ok(upstream::get_json(KIND, &self.app.http, url, token, &[]).await?.0)
    }

    /// Every page of a paged 2.0 list. `next` is followed only while it stays under the API's
    /// base URL: the access token is never sent anywhere else.
    async fn get_all<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut url = format!("{}{path}", self.api_url);
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: Page<T> = self.get(&url, token).await?;
            all.extend(page.values);
            match page.next.filter(|n| !n.is_empty()) {
                Some(next) if next.starts_with(&format!("{}/", self.api_url)) => url = next,
                Some(next) => {
                    return Err(fail(
                        KIND,
                        format!("refusing to follow a next page outside the API: {next}"),
                    ));
                }
                None => return Ok(all),
            }
        }
        Err(fail(KIND, format!("{path}: more than {MAX_PAGES} pages")))
    }

    async fn primary_email(&self, token: &str) -> Result<String, ConnectorError> {
        let emails: Vec<Email> = self.get_all("/user/emails", token).await?;
        emails
            .into_iter()
            .find(|e| e.is_primary && e.is_confirmed && !e.email.is_empty())
            .map(|e| e.email)
            .ok_or_else(|| {
                ConnectorError::Refused(
                    "Your Bitbucket account has no confirmed primary email address.".into(),
                )
            })
    }

    /// Workspace slugs, then `slug:permission` entries; filtered by `teams` when set.
    async fn groups(&self, username: &str, token: &str) -> Result<Vec<String>, ConnectorError> {
        let access: Vec<WorkspaceAccess> = self.get_all("/user/workspaces", token).await?;
        let slugs: Vec<String> = access.into_iter().map(|a| a.workspace.slug).collect();
        let mut groups = slugs.clone();
        if self.get_workspace_permissions {
            for slug in &slugs {
                let url = format!("{}/user/workspaces/{}/permission", self.api_url, upstream::encode(slug));
                // As Dex: a workspace whose permission cannot be read just has no such group.
                match self.get::<Permission>(&url, token).await {
                    Ok(p) if !p.permission.is_empty() => groups.push(format!("{slug}:{}", p.permission)),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(connector = KIND, workspace = %slug, error = %e, "workspace permission not read")
                    }
                }
            }
        }
        if self.teams.is_empty() {
            return Ok(groups);
        }
        let kept = upstream::filter_groups(&groups, &self.teams);
        if kept.is_empty() {
            return Err(ConnectorError::Refused(format!(
                "You ({username}) are not in any of the Bitbucket workspaces this login requires."
            )));
        }
        Ok(kept)
    }
}

#[async_trait]
impl OAuth2Upstream for BitbucketCloud {
    const KIND: &'static str = KIND;

    fn app(&self) -> &OAuthApp {
        &self.app
    }

    fn data_key(&self) -> &DataKey {
        &self.key
    }

    fn login_scopes(&self, _scopes: Scopes) -> Vec<String> {
        vec!["account".into(), "email".into()]
    }

    async fn identity(&self, scopes: Scopes, token: &str) -> Result<Claims, ConnectorError> {
        let user: User = self.get(&format!("{}/user", self.api_url), token).await?;
        let email = self.primary_email(token).await?;
        let groups =
            if self.groups_required(scopes) { self.groups(&user.username, token).await? } else { Vec::new() };
        Ok(Claims {
            user_id: user.uuid,
            username: user.username,
            preferred_username: String::new(),
            email,
            email_verified: true,
            groups,
        })
    }
}

/// Refresh re-reads the email and the workspaces; the user id stays the login's, as in Dex.
impl OAuth2Refresh for BitbucketCloud {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_default_to_bitbucket_org_and_must_parse() {
        let key = std::sync::Arc::new(DataKey::new(&DataKey::generate()).unwrap());
        let config = BitbucketCloudConfig {
            client_id: "c".into(),
            redirect_uri: "http://tessera/callback".into(),
            ..Default::default()
        };
        let opened = BitbucketCloud::open(config.clone(), key.clone()).unwrap();
        assert_eq!(opened.app.authorization_url, "https://bitbucket.org/site/oauth2/authorize");
        assert_eq!(opened.app.token_url, "https://bitbucket.org/site/oauth2/access_token");
        assert_eq!(opened.api_url, "https://api.bitbucket.org/2.0");
        let bad = BitbucketCloudConfig { api_url: "not a url".into(), ..config.clone() };
        assert!(BitbucketCloud::open(bad, key.clone()).is_err());
        let no_redirect = BitbucketCloudConfig { redirect_uri: String::new(), ..config };
        assert!(BitbucketCloud::open(no_redirect, key).is_err());
    }
}
