//! `gitlab`: login with gitlab.com or a self-managed GitLab (`baseURL`), with Dex's identity:
//! the numeric user id (or the username with `useLoginAsID`), name (or email) as username,
//! username as preferred username, and the account email.
//!
//! Groups, as Dex: the full paths from GitLab's OpenID Connect userinfo (`/oauth/userinfo`,
//! direct memberships), or with `inheritedGroups` from `/api/v4/groups` (paged, inherited
//! memberships too). `getGroupsPermission` adds `path:owner`/`maintainer`/`developer`
//! entries (a parent group's role applies to its subgroups). With `groups` set, the user
//! must be in one of them and only those are kept. Refresh uses the upstream refresh token
//! (or the access token) and re-checks the groups; a token exchange accepts a GitLab access
//! token.

use super::oauth2_upstream::{OAuth2Refresh, OAuth2Upstream};
use super::sealed::DataKey;
use super::upstream::{self, ClientAuth, OAuthApp, TokenData, upstream as fail};
use super::{ConnectorError, Identity, Scopes, TokenIdentity};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;

const KIND: &str = "gitlab";
const SCOPE_USER: &str = "read_user";
const SCOPE_API: &str = "read_api";
const SCOPE_OPENID: &str = "openid";
const GROUPS_PER_PAGE: usize = 100;
const MAX_PAGES: usize = 100;

/// `connectors[].config` of a `gitlab` connector (Dex's keys).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitlabConfig {
    /// Default `https://gitlab.com`.
    #[serde(default, rename = "baseURL")]
    pub base_url: String,
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(rename = "redirectURI")]
    pub redirect_uri: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default, rename = "useLoginAsID")]
    pub use_login_as_id: bool,
    #[serde(default)]
    pub get_groups_permission: bool,
    #[serde(default)]
    pub inherited_groups: bool,
    /// A PEM CA bundle, base64-encoded (Dex's `[]byte`).
    #[serde(default, rename = "rootCAData")]
    pub root_ca_data: String,
}

pub struct Gitlab {
    /// Seals the upstream tokens kept for refresh.
    key: std::sync::Arc<super::sealed::DataKey>,
    app: OAuthApp,
    base_url: String,
    groups: Vec<String>,
    use_login_as_id: bool,
    get_groups_permission: bool,
    inherited_groups: bool,
}

#[derive(Debug, Deserialize)]
struct User {
    id: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Default, Deserialize)]
struct UserInfo {
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default, rename = "https://gitlab.org/claims/groups/owner")]
    owner: Vec<String>,
    #[serde(default, rename = "https://gitlab.org/claims/groups/maintainer")]
    maintainer: Vec<String>,
    #[serde(default, rename = "https://gitlab.org/claims/groups/developer")]
    developer: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Group {
    #[serde(default)]
    id: i64,
    #[serde(default)]
    full_path: String,
    #[serde(default)]
    path: String,
}

impl Group {
    fn claim(&self) -> &str {
        if self.full_path.is_empty() { &self.path } else { &self.full_path }
    }
}

#[derive(Debug, Deserialize)]
struct Member {
    access_level: i64,
}

impl Gitlab {
    pub fn open(
        config: GitlabConfig,
        key: std::sync::Arc<super::sealed::DataKey>,
    ) -> Result<Self, ConnectorError> {
        let base_url = if config.base_url.is_empty() {
            "https://gitlab.com".to_string()
        } else {
            config.base_url.trim_end_matches('/').to_string()
        };
        url::Url::parse(&base_url).map_err(|e| fail(KIND, format!("baseURL {base_url:?}: {e}")))?;
        let mut root_cas = Vec::new();
        if !config.root_ca_data.is_empty() {
            let pem = base64::engine::general_purpose::STANDARD
                .decode(config.root_ca_data.trim())
                .map_err(|e| fail(KIND, format!("rootCAData is not base64: {e}")))?;
            root_cas.push(pem);
        }
        let http = super::http::client(&super::http::Upstream { root_cas })
            .map_err(|e| fail(KIND, format!("invalid rootCAData: {e}")))?;
        Ok(Self {
            key,
            app: OAuthApp {
                client_id: config.client_id,
                auth: ClientAuth::Basic(config.client_secret),
                redirect_uri: upstream::require_redirect_uri(KIND, &config.redirect_uri)?,
                authorization_url: format!("{base_url}/oauth/authorize"),
                token_url: format!("{base_url}/oauth/token"),
                http,
            },
            base_url,
            groups: config.groups,
            use_login_as_id: config.use_login_as_id,
            get_groups_permission: config.get_groups_permission,
            inherited_groups: config.inherited_groups,
        })
    }

    fn groups_required(&self, scopes: Scopes) -> bool {
        !self.groups.is_empty() || scopes.groups
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
    ) -> Result<T, ConnectorError> {
        let url = format!("{}{path}", self.base_url);
        Ok(upstream::get_json(KIND, &self.app.http, &url, token, &[]).await?.0)
    }

    async fn group_claims(&self, token: &str, user_id: i64) -> Result<Vec<String>, ConnectorError> {
        if !self.inherited_groups {
            let info: UserInfo = self.get("/oauth/userinfo", token).await?;
            let mut groups = info.groups.clone();
            if self.get_groups_permission {
                groups.extend(permissions(&info.groups, &info));
            }
            return Ok(groups);
        }
        let mut records: Vec<Group> = Vec::new();
        for page in 1..=MAX_PAGES {
            let batch: Vec<Group> = self
                .get(
                    &format!("/api/v4/groups?all_available=false&per_page={GROUPS_PER_PAGE}&page={page}"),
                    token,
                )
                .await?;
            let last = batch.len() < GROUPS_PER_PAGE;
            records.extend(batch);
            if last {
                break;
            }
        }
        let mut groups: Vec<String> =
            records.iter().map(|g| g.claim().to_string()).filter(|g| !g.is_empty()).collect();
        if !self.get_groups_permission {
            return Ok(groups);
        }
        let info: UserInfo = self.get("/oauth/userinfo", token).await?;
        let paths = groups.clone();
        groups.extend(permissions(&paths, &info));
        for record in &records {
            let path = record.claim();
            if path.is_empty() || permission_from_userinfo(path, &info).is_some() {
                continue;
            }
            if let Some(role) = self.effective_role(token, record.id, user_id).await? {
                groups.push(format!("{path}:{role}"));
            }
        }
        Ok(groups)
    }

    /// The user's effective role in a group (`/groups/{id}/members/all/{user}`); `None`
    /// when GitLab will not say (403/404).
    async fn effective_role(
        &self,
        token: &str,
        group: i64,
        user: i64,
    ) -> Result<Option<&'static str>, ConnectorError> {
        let url = format!("{}/api/v4/groups/{group}/members/all/{user}", self.base_url);
        let response =
            upstream::call(KIND, &self.app.http, reqwest::Method::GET, &url, token, &[], None).await?;
        if matches!(response.status, reqwest::StatusCode::FORBIDDEN | reqwest::StatusCode::NOT_FOUND) {
            return Ok(None);
        }
        let member: Member = response.json(KIND, &format!("GET {url}"))?;
        Ok(role_name(member.access_level))
    }
}

/// `path:role` for each group whose role the userinfo names (owner over maintainer over
/// developer).
fn permissions(paths: &[String], info: &UserInfo) -> Vec<String> {
    paths.iter().filter_map(|p| permission_from_userinfo(p, info).map(|role| format!("{p}:{role}"))).collect()
}

fn permission_from_userinfo(path: &str, info: &UserInfo) -> Option<&'static str> {
    [("owner", &info.owner), ("maintainer", &info.maintainer), ("developer", &info.developer)]
        .into_iter()
        .find(|(_, granted)| granted.iter().any(|g| applies_to(g, path)))
        .map(|(role, _)| role)
}

/// A role on `granted` applies to `path` itself and to its subgroups (`granted/…`).
fn applies_to(granted: &str, path: &str) -> bool {
    path == granted || path.strip_prefix(granted).is_some_and(|rest| rest.starts_with('/'))
}

/// GitLab's access levels (docs.gitlab.com, "Roles and permissions").
fn role_name(level: i64) -> Option<&'static str> {
    Some(match level {
        5 => "minimal_access",
        10 => "guest",
        15 => "planner",
        20 => "reporter",
        25 => "security_manager",
        30 => "developer",
        40 => "maintainer",
        50 => "owner",
        60 => "admin",
        _ => return None,
    })
}

#[async_trait]
impl OAuth2Upstream for Gitlab {
    const KIND: &'static str = KIND;

    fn app(&self) -> &OAuthApp {
        &self.app
    }

    fn data_key(&self) -> &DataKey {
        &self.key
    }

    fn login_scopes(&self, scopes: Scopes) -> Vec<String> {
        let mut wanted = vec![SCOPE_USER.to_string()];
        if self.groups_required(scopes) {
            wanted.push(SCOPE_OPENID.to_string());
            if self.inherited_groups {
                wanted.push(SCOPE_API.to_string());
            }
        }
        wanted
    }

    /// The user from `/api/v4/user`; with `groups` set, refused unless in one of them.
    async fn identity(&self, scopes: Scopes, token: &str) -> Result<Claims, ConnectorError> {
        let user: User = self.get("/api/v4/user", token).await?;
        let mut claims = Claims {
            user_id: if self.use_login_as_id { user.username.clone() } else { user.id.to_string() },
            username: if user.name.is_empty() { user.email.clone() } else { user.name.clone() },
            preferred_username: user.username.clone(),
            email: user.email.clone(),
            email_verified: true,
            groups: Vec::new(),
        };
        if self.groups_required(scopes) {
            let groups = self.group_claims(token, user.id).await?;
            if !self.groups.is_empty() {
                let kept = upstream::filter_groups(&groups, &self.groups);
                if kept.is_empty() {
                    tracing::info!(user = %user.username, "gitlab: user not in the required groups");
                    return Err(ConnectorError::Refused(format!(
                        "The GitLab user {} is not a member of a group allowed to log in here.",
                        user.username
                    )));
                }
                claims.groups = kept;
            } else if scopes.groups {
                claims.groups = groups;
            }
        }
        Ok(claims)
    }
}

#[async_trait]
impl OAuth2Refresh for Gitlab {
    /// As Dex, the user id is the one GitLab answers now.
    const KEEPS_LOGIN_USER_ID: bool = false;

    /// As Dex: always a new access token from the stored refresh token (kept when GitLab does
    /// not rotate it); without one, the stored access token as it is.
    async fn refresh_tokens(&self, stored: TokenData) -> Result<TokenData, ConnectorError> {
        if !stored.refresh_token.is_empty() {
            let token = self.app.refresh(KIND, &stored.refresh_token).await?;
            let mut fresh = TokenData::from_token(&token);
            if fresh.refresh_token.is_empty() {
                fresh.refresh_token = stored.refresh_token;
            }
            Ok(fresh)
        } else if !stored.access_token.is_empty() {
            Ok(TokenData { access_token: stored.access_token, ..TokenData::default() })
        } else {
            Err(fail(KIND, "no upstream refresh or access token stored"))
        }
    }
}

#[async_trait]
impl TokenIdentity for Gitlab {
    /// A GitLab access token (Dex: groups are always resolved; the token's scopes decide
    /// whether they reach the client).
    async fn token_identity(
        &self,
        _subject_token_type: crate::protocol::TokenType,
        subject_token: &str,
    ) -> Result<Identity, ConnectorError> {
        let claims = self.identity(Scopes { offline_access: false, groups: true }, subject_token).await?;
        Ok(Identity { claims, connector_data: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_apply_to_subgroups_only() {
        assert!(applies_to("ops", "ops"));
        assert!(applies_to("ops", "ops/db"));
        assert!(!applies_to("dev", "developer"));
        let info = UserInfo { owner: vec!["a".into()], developer: vec!["b".into()], ..Default::default() };
        assert_eq!(permissions(&["a/x".into(), "b".into(), "c".into()], &info), ["a/x:owner", "b:developer"]);
        assert_eq!(role_name(40), Some("maintainer"));
        assert_eq!(role_name(7), None);
    }
}
