//! `microsoft`: login with Microsoft Entra ID (Azure AD) or personal Microsoft accounts
//! through the v2.0 endpoints of `tenant` (`common`, `organizations`, `consumers` or a
//! tenant id), with Dex's identity: the Graph user `id`, `displayName`, and
//! `userPrincipalName` as email (lowercased with `emailToLowercase`).
//!
//! Groups, as Dex, only for an organisation tenant: `POST /v1.0/me/getMemberGroups`
//! (`onlySecurityGroups`), then, with `groupNameFormat: name` (the default), their names from
//! `POST /v1.0/directoryObjects/getByIds`; both follow `@odata.nextLink`. With `groups` set
//! the user must be in one of them; `useGroupsAsWhitelist` keeps only those. Refresh uses the
//! upstream refresh token once the access token expires, and re-checks the groups.
//! `apiURL` and `graphURL` (Dex's keys) point at the login and Graph hosts, e.g. a national
//! cloud.

use super::oauth2_upstream::{OAuth2Refresh, OAuth2Upstream};
use super::sealed::DataKey;
use super::upstream::{self, ClientAuth, OAuthApp, upstream as fail};
use super::{ConnectorError, Scopes};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const KIND: &str = "microsoft";
const SCOPE_USER: &str = "user.read";
const SCOPE_GROUPS: &str = "directory.read.all";
const SCOPE_OFFLINE: &str = "offline_access";
/// Graph caps `directoryObjects/getByIds` at this many ids per request.
const MAX_IDS: usize = 1000;
const MAX_PAGES: usize = 100;

/// `connectors[].config` of a `microsoft` connector (Dex's keys).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MicrosoftConfig {
    #[serde(rename = "clientID")]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Secret,
    /// A file holding a JWT client assertion, used instead of the secret.
    #[serde(default)]
    pub client_assertion: String,
    #[serde(rename = "redirectURI")]
    pub redirect_uri: String,
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub only_security_groups: bool,
    #[serde(default)]
    pub groups: Vec<String>,
    /// `name` (default) or `id`.
    #[serde(default)]
    pub group_name_format: String,
    #[serde(default)]
    pub use_groups_as_whitelist: bool,
    #[serde(default)]
    pub email_to_lowercase: bool,
    #[serde(default)]
    pub batch_group_lookups: bool,
    /// Default `https://login.microsoftonline.com`.
    #[serde(default, rename = "apiURL")]
    pub api_url: String,
    /// Default `https://graph.microsoft.com`.
    #[serde(default, rename = "graphURL")]
    pub graph_url: String,
    #[serde(default)]
    pub prompt_type: String,
    #[serde(default)]
    pub domain_hint: String,
    /// Default `user.read`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `name`, `email`, `mailNickname` or `onPremisesSamAccountName`; empty leaves
    /// `preferred_username` empty.
    #[serde(default)]
    pub preferred_username_field: String,
}

pub struct Microsoft {
    /// Seals the upstream tokens kept for refresh.
    key: std::sync::Arc<super::sealed::DataKey>,
    app: OAuthApp,
    graph_url: String,
    tenant: String,
    only_security_groups: bool,
    groups: Vec<String>,
    group_names: bool,
    use_groups_as_whitelist: bool,
    email_to_lowercase: bool,
    batch_group_lookups: bool,
    prompt_type: String,
    domain_hint: String,
    scopes: Vec<String>,
    preferred_username_field: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    mail_nickname: Option<String>,
    #[serde(default)]
    on_premises_sam_account_name: Option<String>,
}

/// One page of a Graph collection.
#[derive(Debug, Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default, rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GroupObject {
    #[serde(default, rename = "displayName")]
    display_name: String,
}

/// Graph's error body (learn.microsoft.com "Microsoft Graph error responses").
#[derive(Debug, Deserialize)]
struct GraphError {
    error: GraphErrorDetail,
}

#[derive(Debug, Deserialize)]
struct GraphErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl Microsoft {
    pub fn open(
        config: MicrosoftConfig,
        key: std::sync::Arc<super::sealed::DataKey>,
    ) -> Result<Self, ConnectorError> {
        let group_names = match config.group_name_format.as_str() {
            "" | "name" => true,
            "id" => false,
            other => return Err(fail(KIND, format!("invalid groupNameFormat {other:?}: use name or id"))),
        };
        let trim = |s: String, default: &str| {
            if s.is_empty() { default.to_string() } else { s.trim_end_matches('/').to_string() }
        };
        let api_url = trim(config.api_url, "https://login.microsoftonline.com");
        let graph_url = trim(config.graph_url, "https://graph.microsoft.com");
        let tenant = if config.tenant.is_empty() { "common".to_string() } else { config.tenant };
        let auth = if config.client_assertion.is_empty() {
            ClientAuth::Basic(config.client_secret)
        } else {
            ClientAuth::AssertionFile(config.client_assertion)
        };
        Ok(Self {
            key,
            app: OAuthApp {
                client_id: config.client_id,
                auth,
                redirect_uri: upstream::require_redirect_uri(KIND, &config.redirect_uri)?,
                authorization_url: format!("{api_url}/{tenant}/oauth2/v2.0/authorize"),
                token_url: format!("{api_url}/{tenant}/oauth2/v2.0/token"),
                http: super::http::client(&super::http::Upstream::default())?,
            },
            graph_url,
            tenant,
            only_security_groups: config.only_security_groups,
            groups: config.groups,
            group_names,
            use_groups_as_whitelist: config.use_groups_as_whitelist,
            email_to_lowercase: config.email_to_lowercase,
            batch_group_lookups: config.batch_group_lookups,
            prompt_type: config.prompt_type,
            domain_hint: config.domain_hint,
            scopes: config.scopes,
            preferred_username_field: config.preferred_username_field,
        })
    }

    /// Only an organisation's tenant has a directory to read groups from.
    fn org_tenant(&self) -> bool {
        !matches!(self.tenant.as_str(), "common" | "consumers" | "organizations")
    }

    fn groups_required(&self, scopes: Scopes) -> bool {
        (!self.groups.is_empty() || scopes.groups) && self.org_tenant()
    }

    /// A Graph call; an error status becomes an `Upstream` error with Graph's code/message.
    async fn graph<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<T, ConnectorError> {
        let response = upstream::call(KIND, &self.app.http, method.clone(), url, token, &[], body).await?;
        if response.status != reqwest::StatusCode::OK
            && let Ok(e) = serde_json::from_str::<GraphError>(&response.body)
        {
            return Err(fail(
                KIND,
                format!("{method} {url}: status {}: {}: {}", response.status, e.error.code, e.error.message),
            ));
        }
        response.json(KIND, &format!("{method} {url}"))
    }

    /// Every page of a Graph `POST` collection.
    async fn post_all<T: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut url = format!("{}{path}", self.graph_url);
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: Page<T> = self.graph(reqwest::Method::POST, &url, token, Some(body)).await?;
            all.extend(page.value);
            match page.next_link {
                Some(next) if !next.is_empty() => url = next,
                _ => return Ok(all),
            }
        }
        Err(fail(KIND, format!("POST {path}: more than {MAX_PAGES} pages")))
    }

    async fn user_groups(&self, user_id: &str, token: &str) -> Result<Vec<String>, ConnectorError> {
        let ids: Vec<String> = self
            .post_all(
                "/v1.0/me/getMemberGroups",
                token,
                &json!({ "securityEnabledOnly": self.only_security_groups }),
            )
            .await?;
        let groups = if self.group_names && !ids.is_empty() {
            let batch = if self.batch_group_lookups { MAX_IDS } else { ids.len() };
            let mut names = Vec::new();
            for chunk in ids.chunks(batch) {
                let objects: Vec<GroupObject> = self
                    .post_all(
                        "/v1.0/directoryObjects/getByIds",
                        token,
                        &json!({ "ids": chunk, "types": ["group"] }),
                    )
                    .await?;
                names.extend(objects.into_iter().map(|g| g.display_name));
            }
            names
        } else {
            ids
        };
        if self.groups.is_empty() {
            return Ok(groups);
        }
        let kept = upstream::filter_groups(&groups, &self.groups);
        if kept.is_empty() {
            tracing::info!(user = user_id, "microsoft: user not in the required groups");
            return Err(ConnectorError::Refused(
                "Your Microsoft account is not a member of a group allowed to log in here.".into(),
            ));
        }
        Ok(if self.use_groups_as_whitelist { kept } else { groups })
    }
}

#[async_trait]
impl OAuth2Upstream for Microsoft {
    const KIND: &'static str = KIND;

    fn app(&self) -> &OAuthApp {
        &self.app
    }

    fn data_key(&self) -> &DataKey {
        &self.key
    }

    fn login_scopes(&self, scopes: Scopes) -> Vec<String> {
        let mut wanted =
            if self.scopes.is_empty() { vec![SCOPE_USER.to_string()] } else { self.scopes.clone() };
        if self.groups_required(scopes) {
            wanted.push(SCOPE_GROUPS.to_string());
        }
        if scopes.offline_access {
            wanted.push(SCOPE_OFFLINE.to_string());
        }
        wanted
    }

    fn login_params(&self) -> Vec<(&'static str, &str)> {
        let mut extra = Vec::new();
        if !self.prompt_type.is_empty() {
            extra.push(("prompt", self.prompt_type.as_str()));
        }
        if !self.domain_hint.is_empty() {
            extra.push(("domain_hint", self.domain_hint.as_str()));
        }
        extra
    }

    /// The Graph user (`/v1.0/me`) and, for an organisation tenant, its groups.
    async fn identity(&self, scopes: Scopes, token: &str) -> Result<Claims, ConnectorError> {
        let url = format!(
            "{}/v1.0/me?$select=id,displayName,userPrincipalName,mailNickname,onPremisesSamAccountName",
            self.graph_url
        );
        let user: User = self.graph(reqwest::Method::GET, &url, token, None).await?;
        let mut email = user.user_principal_name.clone().unwrap_or_default();
        if self.email_to_lowercase {
            email = email.to_lowercase();
        }
        let name = user.display_name.clone().unwrap_or_default();
        let preferred_username = match self.preferred_username_field.as_str() {
            "name" => name.clone(),
            "email" => email.clone(),
            "mailNickname" => user.mail_nickname.clone().unwrap_or_default(),
            "onPremisesSamAccountName" => user.on_premises_sam_account_name.clone().unwrap_or_default(),
            "" => String::new(),
            other => {
                tracing::warn!(
                    field = other,
                    "microsoft: unknown preferredUsernameField; preferred_username left empty"
                );
                String::new()
            }
        };
        let groups =
            if self.groups_required(scopes) { self.user_groups(&user.id, token).await? } else { Vec::new() };
        Ok(Claims {
            user_id: user.id,
            username: name,
            preferred_username,
            email,
            email_verified: true,
            groups,
        })
    }
}

/// Refresh uses the upstream refresh token once the access token expires; the user id stays
/// the one of the login, as in Dex.
impl OAuth2Refresh for Microsoft {}
