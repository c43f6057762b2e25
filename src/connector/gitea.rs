//! `gitea`: login with gitea.com or a self-hosted Gitea/Forgejo (`baseURL`), with Dex's
//! identity: the numeric user id (or the login with `useLoginAsID`), the full name (or the
//! email) as username, the login as preferred username, and the account email.
//!
//! Groups, as Dex: from the user's teams (`/api/v1/user/teams`, paged), each team giving its
//! organization `org` and `org:team`. With `orgs` set, the user must be in one of them (an
//! org, or one of the org's listed teams) and only those groups are kept; without `orgs`,
//! `loadAllGroups` keeps them all. Refresh uses the stored access token, refreshed when
//! expired, and re-reads the user and the groups.
//!
//! `rootCA` and `insecureCA` are Tessera's own keys (a self-hosted Gitea behind a private CA);
//! Dex's connector has neither.

use super::oauth2_upstream::{OAuth2Refresh, OAuth2Upstream};
use super::sealed::DataKey;
use super::upstream::{self, ClientAuth, OAuthApp, upstream as fail};
use super::{ConnectorError, Scopes};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use serde::Deserialize;

const KIND: &str = "gitea";
const DEFAULT_BASE_URL: &str = "https://gitea.com";
/// Gitea's default and largest page size for `/user/teams` is 50; Dex asks for 20.
const TEAMS_PER_PAGE: usize = 20;
const MAX_PAGES: usize = 100;

/// One entry of `orgs`.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GiteaOrg {
    pub name: String,
    #[serde(default)]
    pub teams: Vec<String>,
}

/// `connectors[].config` of a `gitea` connector (Dex's keys, plus `rootCA`/`insecureCA`).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GiteaConfig {
    /// Default `https://gitea.com`.
    #[serde(default, rename = "baseURL")]
    pub base_url: String,
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(rename = "redirectURI")]
    pub redirect_uri: String,
    #[serde(default)]
    pub orgs: Vec<GiteaOrg>,
    #[serde(default)]
    pub load_all_groups: bool,
    #[serde(default, rename = "useLoginAsID")]
    pub use_login_as_id: bool,
    /// Tessera: a PEM file of CAs to trust for `baseURL`, besides the system's.
    #[serde(default, rename = "rootCA")]
    pub root_ca: String,
    /// Tessera: do not check `baseURL`'s certificate (development only).
    #[serde(default, rename = "insecureCA")]
    pub insecure_ca: bool,
}

pub struct Gitea {
    key: std::sync::Arc<DataKey>,
    app: OAuthApp,
    base_url: String,
    orgs: Vec<GiteaOrg>,
    load_all_groups: bool,
    use_login_as_id: bool,
}

#[derive(Debug, Deserialize)]
struct User {
    id: i64,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Deserialize)]
struct Team {
    #[serde(default)]
    name: String,
    #[serde(default)]
    organization: Option<Org>,
}

#[derive(Debug, Deserialize)]
struct Org {
    #[serde(default)]
    username: String,
}

impl Gitea {
    pub fn open(config: GiteaConfig, key: std::sync::Arc<DataKey>) -> Result<Self, ConnectorError> {
        let base_url = if config.base_url.is_empty() {
            DEFAULT_BASE_URL.to_string()
        } else {
            config.base_url.trim_end_matches('/').to_string()
        };
        url::Url::parse(&base_url).map_err(|e| fail(KIND, format!("baseURL {base_url:?}: {e}")))?;
        let http = super::http::client_with_ca(&config.root_ca, config.insecure_ca)?;
        Ok(Self {
            key,
            app: OAuthApp {
                client_id: config.client_id,
                auth: ClientAuth::Basic(config.client_secret),
                redirect_uri: upstream::require_redirect_uri(KIND, &config.redirect_uri)?,
                authorization_url: format!("{base_url}/login/oauth/authorize"),
                token_url: format!("{base_url}/login/oauth/access_token"),
                http,
            },
            base_url,
            orgs: config.orgs,
            load_all_groups: config.load_all_groups,
            use_login_as_id: config.use_login_as_id,
        })
    }

    /// As Dex: groups are read when the config asks for them, whatever the client asked.
    fn groups_required(&self) -> bool {
        !self.orgs.is_empty() || self.load_all_groups
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
    ) -> Result<T, ConnectorError> {
        let url = format!("{}{path}", self.base_url);
        Ok(upstream::get_json(KIND, &self.app.http, &url, token, &[]).await?.0)
    }

    /// `org` and `org:team` for each of the user's teams, without repeats, in Gitea's order.
    async fn all_groups(&self, token: &str) -> Result<Vec<String>, ConnectorError> {
        let mut groups: Vec<String> = Vec::new();
        for page in 1..=MAX_PAGES {
            let teams: Vec<Team> =
                self.get(&format!("/api/v1/user/teams?page={page}&limit={TEAMS_PER_PAGE}"), token).await?;
            // Only an empty page ends the list, as in Dex: Gitea may cap a page below `limit`
            // (`MAX_RESPONSE_ITEMS`).
            if teams.is_empty() {
                return Ok(groups);
            }
            for team in teams {
                // A team without its organization names no group (Gitea always sends it).
                let Some(org) = team.organization.filter(|o| !o.username.is_empty()) else { continue };
                for group in [org.username.clone(), format!("{}:{}", org.username, team.name)] {
                    if !groups.contains(&group) {
                        groups.push(group);
                    }
                }
            }
        }
        Err(fail(KIND, format!("/api/v1/user/teams: more than {MAX_PAGES} pages")))
    }

    async fn groups(&self, token: &str) -> Result<Vec<String>, ConnectorError> {
        let all = self.all_groups(token).await?;
        if self.orgs.is_empty() {
            return Ok(all);
        }
        let allowed: Vec<String> = self
            .orgs
            .iter()
            .flat_map(|o| {
                std::iter::once(o.name.clone()).chain(o.teams.iter().map(|t| format!("{}:{t}", o.name)))
            })
            .collect();
        let kept = upstream::filter_groups(&all, &allowed);
        if kept.is_empty() {
            return Err(ConnectorError::Refused(
                "You are not in any of the Gitea organizations or teams this login requires.".into(),
            ));
        }
        Ok(kept)
    }
}

#[async_trait]
impl OAuth2Upstream for Gitea {
    const KIND: &'static str = KIND;

    fn app(&self) -> &OAuthApp {
        &self.app
    }

    fn data_key(&self) -> &DataKey {
        &self.key
    }

    /// Gitea's OAuth2 provider grants its whole API; Dex requests no scope.
    fn login_scopes(&self, _scopes: Scopes) -> Vec<String> {
        Vec::new()
    }

    async fn identity(&self, _scopes: Scopes, token: &str) -> Result<Claims, ConnectorError> {
        let user: User = self.get("/api/v1/user", token).await?;
        let groups = if self.groups_required() { self.groups(token).await? } else { Vec::new() };
        let username = if user.full_name.is_empty() { user.email.clone() } else { user.full_name };
        Ok(Claims {
            user_id: if self.use_login_as_id { user.login.clone() } else { user.id.to_string() },
            username,
            preferred_username: user.login,
            email: user.email,
            email_verified: true,
            groups,
        })
    }
}

/// Refresh re-reads the user and the groups; the user id stays the login's, as in Dex.
impl OAuth2Refresh for Gitea {}
