//! The Google connector (`type: google`), with Dex's config keys and rules.
//!
//! Google's login is OpenID Connect against `https://accounts.google.com`, so this connector
//! wraps the [`oidc`](super::oidc) connector (discovery, nonce and PKCE kept sealed, ID token
//! verification, sealed refresh tokens) and adds Google's rules, as Dex does:
//!
//! - the authorization request carries `hd` (the one `hostedDomains` entry, or `*` for
//!   several), and the ID token's `hd` claim must be one of `hostedDomains` when set;
//! - the identity is `sub`, `name`, `email` and `email_verified` as Google sends them; on
//!   refresh a missing `name` keeps the previous one (Google often leaves it out);
//! - with the `groups` scope and a service account (`serviceAccountFilePath` and
//!   `domainToAdminEmail`), the user's groups come from the Admin SDK Directory API, listed
//!   with the service account impersonating the admin of the user's domain (a JWT-bearer
//!   assertion, RFC 7523, exchanged at the account's `token_uri`); transitively with
//!   `fetchTransitiveGroupMembership`. Then `groups`, when set, keeps only those groups and
//!   refuses a user in none of them: at every login (Dex checks it only when the client asks
//!   for the `groups` scope, so leaving the scope out would skip the restriction).
//!
//! Refresh refreshes upstream with the sealed refresh token and applies the same rules, so a
//! user removed from the allowed groups loses their refresh tokens.
//!
//! Tessera additions (not in Dex): `issuer` (default Google's) and `adminAPIURL` (default
//! `https://admin.googleapis.com`), for tests and proxies.

use super::oidc::Oidc;
use super::{ConnectorError, Identity, OpenContext, RedirectLogin, Refresh, Scopes};
use crate::storage::Claims;
use crate::types::ConnectorId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Google's issuer (Dex hard-codes it).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// The Admin SDK's base URL.
pub const ADMIN_API_URL: &str = "https://admin.googleapis.com";
/// The scope needed to list groups.
const DIRECTORY_GROUP_READONLY: &str = "https://www.googleapis.com/auth/admin.directory.group.readonly";
/// `domainToAdminEmail` key used for any domain without its own entry.
const WILDCARD_DOMAIN: &str = "*";
/// Google's token endpoint, when a service account file names none.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// How long an assertion is valid (Google accepts at most an hour).
const ASSERTION_LIFETIME: u64 = 3600;

/// The connector's `config` block, as Dex spells it (plus `issuer` and `adminAPIURL`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    #[serde(rename = "clientID")]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: crate::types::Secret,
    /// Must be Tessera's `{issuer}/callback`; defaults to it.
    #[serde(default, rename = "redirectURI")]
    pub redirect_uri: String,
    /// Defaults to `profile email`; `openid` is always asked for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Only users of these Google Workspace domains (the `hd` claim) may log in.
    #[serde(default)]
    pub hosted_domains: Vec<String>,
    /// Only members of these groups may log in (needs the directory service account).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The service account's JSON key file, to list groups in the Directory API.
    #[serde(default)]
    pub service_account_file_path: String,
    /// Deprecated in Dex: the same as `domainToAdminEmail: {"*": adminEmail}`.
    #[serde(default, alias = "AdminEmail")]
    pub admin_email: String,
    /// Workspace domain (or `*`) → the admin the service account impersonates.
    #[serde(default, alias = "DomainToAdminEmail")]
    pub domain_to_admin_email: HashMap<String, String>,
    #[serde(default)]
    pub fetch_transitive_group_membership: bool,
    /// `prompt` sent with `offline_access`; `consent` when absent.
    #[serde(default)]
    pub prompt_type: Option<String>,
    /// Tessera's own: the OpenID provider (default `https://accounts.google.com`).
    #[serde(default)]
    pub issuer: Option<String>,
    /// Tessera's own: the Admin SDK base URL (default `https://admin.googleapis.com`).
    #[serde(default, rename = "adminAPIURL")]
    pub admin_api_url: Option<String>,
}

impl Config {
    /// `domainToAdminEmail` with the legacy `adminEmail` as the wildcard entry.
    fn admins(&self) -> HashMap<String, String> {
        let mut admins = self.domain_to_admin_email.clone();
        if !self.admin_email.is_empty() {
            admins.insert(WILDCARD_DOMAIN.into(), self.admin_email.clone());
        }
        admins
    }

    fn oidc_config(&self) -> super::oidc::config::Config {
        super::oidc::config::Config {
            issuer: self.issuer.clone().filter(|i| !i.is_empty()).unwrap_or_else(|| GOOGLE_ISSUER.into()),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            redirect_uri: self.redirect_uri.clone(),
            scopes: self.scopes.clone(),
            prompt_type: self.prompt_type.clone(),
            // Google's rules are applied here, not by the oidc mapping.
            insecure_skip_email_verified: true,
            ..Default::default()
        }
    }
}

/// The fields of a service account's JSON key file that are used.
#[derive(Deserialize)]
struct ServiceAccountFile {
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

/// The claims of a JWT-bearer assertion (RFC 7523 §3, Google's service account flow).
#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(Deserialize)]
struct AccessToken {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupsPage {
    #[serde(default)]
    groups: Vec<Group>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    email: String,
}

fn upstream(what: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Upstream(format!("google: {what}"))
}

/// The Directory API, reached as a service account impersonating each domain's admin.
struct Directory {
    http: reqwest::Client,
    api_url: String,
    client_email: String,
    key: jsonwebtoken::EncodingKey,
    key_id: Option<String>,
    token_uri: String,
    admins: HashMap<String, String>,
    /// Access tokens per admin email, until shortly before they expire.
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl Directory {
    fn open(path: &str, admins: HashMap<String, String>, api_url: String) -> Result<Self, ConnectorError> {
        let text = std::fs::read(path)
            .map_err(|e| upstream(format!("reading serviceAccountFilePath {path}: {e}")))?;
        let file: ServiceAccountFile = serde_json::from_slice(&text).map_err(|e| {
            upstream(format!("serviceAccountFilePath {path} is not a service account key: {e}"))
        })?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(file.private_key.as_bytes())
            .map_err(|e| upstream(format!("serviceAccountFilePath {path}: private_key: {e}")))?;
        Ok(Self {
            http: super::http::client(&super::http::Upstream::default())?,
            api_url: api_url.trim_end_matches('/').to_string(),
            client_email: file.client_email,
            key,
            key_id: file.private_key_id.filter(|k| !k.is_empty()),
            token_uri: file.token_uri.filter(|t| !t.is_empty()).unwrap_or_else(|| DEFAULT_TOKEN_URI.into()),
            admins,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// The admin to impersonate for a user or group address (its domain's, else `*`'s).
    fn admin_for(&self, email: &str) -> Result<&str, ConnectorError> {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or(WILDCARD_DOMAIN);
        self.admins.get(domain).or_else(|| self.admins.get(WILDCARD_DOMAIN)).map(String::as_str).ok_or_else(
            || upstream(format!("domainToAdminEmail has no entry for {domain:?} and no \"*\" entry")),
        )
    }

    /// An access token for the Directory API as `admin` (cached until near its expiry).
    async fn access_token(&self, admin: &str) -> Result<String, ConnectorError> {
        if let Ok(tokens) = self.tokens.lock()
            && let Some((token, until)) = tokens.get(admin)
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let claims = Assertion {
            iss: &self.client_email,
            sub: admin,
            scope: DIRECTORY_GROUP_READONLY,
            aud: &self.token_uri,
            iat: now,
            exp: now + ASSERTION_LIFETIME,
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = self.key_id.clone();
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| upstream(format!("signing the service account assertion: {e}")))?;
        let response = self
            .http
            .post(&self.token_uri)
            .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| upstream(format!("service account token: {e}")))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| upstream(format!("service account token: {e}")))?;
        if !status.is_success() {
            return Err(upstream(format!(
                "service account token for {admin}: status {status}: {}",
                body.chars().take(300).collect::<String>()
            )));
        }
        let token: AccessToken = serde_json::from_str(&body)
            .map_err(|e| upstream(format!("service account token: unexpected response: {e}")))?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600).saturating_sub(60));
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(admin.to_string(), (token.access_token.clone(), Instant::now() + lifetime));
        }
        Ok(token.access_token)
    }

    /// The groups of `email` (their addresses), depth first, each once; with `transitive`
    /// the groups of those groups too (Dex's order).
    async fn groups(&self, email: &str, transitive: bool) -> Result<Vec<String>, ConnectorError> {
        let admin = self.admin_for(email)?;
        let token = self.access_token(admin).await?;
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        self.collect(email, transitive, &token, &mut seen, &mut found).await?;
        Ok(found)
    }

    fn collect<'a>(
        &'a self,
        key: &'a str,
        transitive: bool,
        token: &'a str,
        seen: &'a mut HashSet<String>,
        found: &'a mut Vec<String>,
    ) -> Pin<Box<dyn Future<Output = Result<(), ConnectorError>> + Send + 'a>> {
        Box::pin(async move {
            let mut page_token: Option<String> = None;
            loop {
                let mut url = url::Url::parse(&format!("{}/admin/directory/v1/groups", self.api_url))
                    .map_err(|e| upstream(format!("adminAPIURL: {e}")))?;
                url.query_pairs_mut().append_pair("userKey", key);
                if let Some(page) = &page_token {
                    url.query_pairs_mut().append_pair("pageToken", page);
                }
                let (page, _): (GroupsPage, _) =
                    super::upstream::get_json("google", &self.http, url.as_str(), token, &[]).await?;
                for group in page.groups {
                    if group.email.is_empty() || !seen.insert(group.email.clone()) {
                        continue;
                    }
                    found.push(group.email.clone());
                    if transitive {
                        self.collect(&group.email, transitive, token, seen, found).await?;
                    }
                }
                match page.next_page_token.filter(|t| !t.is_empty()) {
                    Some(next) => page_token = Some(next),
                    None => return Ok(()),
                }
            }
        })
    }
}

pub struct Google {
    id: ConnectorId,
    oidc: Oidc,
    hosted_domains: Vec<String>,
    groups: Vec<String>,
    transitive: bool,
    directory: Option<Directory>,
}

impl Google {
    pub fn open(id: &ConnectorId, config: Config, context: &OpenContext) -> Result<Self, ConnectorError> {
        if config.client_id.is_empty() {
            return Err(upstream("clientID is required"));
        }
        if !config.admin_email.is_empty() {
            tracing::warn!(connector = %id, "adminEmail is deprecated: use domainToAdminEmail: {{\"*\": …}}");
        }
        let admins = config.admins();
        let mut account_file = config.service_account_file_path.clone();
        if account_file.is_empty() && !admins.is_empty() {
            // Dex falls back to Application Default Credentials; Tessera reads only the
            // key file such credentials name.
            account_file = std::env::var("GOOGLE_APPLICATION_CREDENTIALS").unwrap_or_default();
            if account_file.is_empty() {
                return Err(upstream(
                    "domainToAdminEmail needs serviceAccountFilePath (or GOOGLE_APPLICATION_CREDENTIALS naming a service account key file)",
                ));
            }
        }
        if !account_file.is_empty() && admins.is_empty() {
            return Err(upstream(
                "the directory service requires the domainToAdminEmail option to be configured",
            ));
        }
        let directory = if admins.is_empty() {
            None
        } else {
            let api_url = config
                .admin_api_url
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| ADMIN_API_URL.into());
            Some(Directory::open(&account_file, admins, api_url)?)
        };
        if !config.groups.is_empty() && directory.is_none() {
            tracing::warn!(
                connector = %id,
                "groups is set without a service account: as in Dex, it is not enforced"
            );
        }
        let mut oidc = Oidc::open(id, config.oidc_config(), context)?;
        match config.hosted_domains.as_slice() {
            [] => {}
            [one] => oidc = oidc.with_auth_param("hd", one),
            _ => oidc = oidc.with_auth_param("hd", "*"),
        }
        Ok(Self {
            id: id.clone(),
            oidc,
            hosted_domains: config.hosted_domains,
            groups: config.groups,
            transitive: config.fetch_transitive_group_membership,
            directory,
        })
    }

    /// Google's rules over the verified claims; `previous` is the identity being refreshed.
    async fn identity(
        &self,
        scopes: Scopes,
        claims: &Map<String, Value>,
        previous: Option<&Claims>,
    ) -> Result<Claims, ConnectorError> {
        let string = |key: &str| claims.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let user_id = string("sub");
        if user_id.is_empty() {
            return Err(ConnectorError::Refused("Google did not say who you are (no \"sub\").".into()));
        }
        let mut username = string("name");
        if username.is_empty()
            && let Some(previous) = previous
        {
            username = previous.username.clone();
        }
        let email = string("email");
        let email_verified = claims.get("email_verified").and_then(Value::as_bool).unwrap_or(false);
        if !self.hosted_domains.is_empty() {
            let hd = string("hd");
            if !self.hosted_domains.contains(&hd) {
                tracing::info!(connector = %self.id, hd, "hosted domain not allowed");
                let shown = if hd.is_empty() {
                    "a personal Google account".to_string()
                } else {
                    format!("the domain {hd}")
                };
                return Err(ConnectorError::Refused(format!(
                    "Your Google account belongs to {shown}, which may not log in here."
                )));
            }
        }
        let mut groups = Vec::new();
        // Dex checks `groups` only when the client asks for the groups scope; Tessera checks
        // it at every login, so leaving out the scope does not skip the restriction.
        if (scopes.groups || !self.groups.is_empty())
            && let Some(directory) = &self.directory
        {
            groups = directory.groups(&email, self.transitive).await?;
            if !self.groups.is_empty() {
                groups = super::upstream::filter_groups(&groups, &self.groups);
                if groups.is_empty() {
                    return Err(ConnectorError::Refused(
                        "You are not a member of any Google group allowed to log in here.".into(),
                    ));
                }
            }
        }
        if !scopes.groups {
            groups.clear();
        }
        Ok(Claims { user_id, username, preferred_username: String::new(), email, email_verified, groups })
    }
}

#[async_trait]
impl RedirectLogin for Google {
    #[tracing::instrument(skip_all, fields(connector = %self.id))]
    async fn login_url(
        &self,
        scopes: Scopes,
        callback_url: &str,
        state: &str,
    ) -> Result<(String, Option<Vec<u8>>), ConnectorError> {
        self.oidc.login_url(scopes, callback_url, state).await
    }

    #[tracing::instrument(skip_all, fields(connector = %self.id))]
    async fn handle_callback(
        &self,
        scopes: Scopes,
        login_data: Option<&[u8]>,
        params: &HashMap<String, String>,
    ) -> Result<Identity, ConnectorError> {
        let (claims, connector_data) = self.oidc.callback_claims(scopes, login_data, params).await?;
        let claims = self.identity(scopes, &claims, None).await?;
        Ok(Identity { claims, connector_data: Some(connector_data) })
    }
}

#[async_trait]
impl Refresh for Google {
    #[tracing::instrument(skip_all, fields(connector = %self.id))]
    async fn refresh(&self, scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        let (claims, connector_data) =
            self.oidc.refresh_claims(scopes, identity.connector_data.as_deref()).await?;
        let claims = claims.ok_or_else(|| upstream("no id_token in the refresh response"))?;
        let fresh = self.identity(scopes, &claims, Some(&identity.claims)).await?;
        if fresh.user_id != identity.claims.user_id {
            return Err(ConnectorError::Refused("Google refreshed another user.".into()));
        }
        Ok(Identity { claims: fresh, connector_data: Some(connector_data) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dex_keys_parse() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "clientID": "id", "clientSecret": "s", "redirectURI": "https://t.example/dex/callback",
            "scopes": ["profile", "email"], "hostedDomains": ["example.com"], "groups": ["a@example.com"],
            "serviceAccountFilePath": "/sa.json", "adminEmail": "root@example.com",
            "domainToAdminEmail": {"example.org": "admin@example.org"},
            "fetchTransitiveGroupMembership": true, "promptType": "select_account",
            "issuer": "http://127.0.0.1:1", "adminAPIURL": "http://127.0.0.1:2"
        }))
        .unwrap();
        let admins = config.admins();
        assert_eq!(admins["*"], "root@example.com");
        assert_eq!(admins["example.org"], "admin@example.org");
        let oidc = config.oidc_config();
        assert_eq!(oidc.issuer, "http://127.0.0.1:1");
        assert_eq!(oidc.prompt(), "select_account");
        // Go's JSON is case-insensitive and Dex leaves these two untagged.
        let legacy: Config = serde_json::from_value(
            serde_json::json!({"clientID": "id", "AdminEmail": "a@x", "DomainToAdminEmail": {}}),
        )
        .unwrap();
        assert_eq!(legacy.admin_email, "a@x");
        assert_eq!(legacy.oidc_config().issuer, GOOGLE_ISSUER);
        assert!(
            serde_json::from_value::<Config>(serde_json::json!({"clientID": "id", "hostedDomain": []}))
                .is_err()
        );
    }

    #[test]
    fn a_service_account_needs_an_admin() {
        let config: Config = serde_json::from_value(
            serde_json::json!({"clientID": "id", "serviceAccountFilePath": "/sa.json"}),
        )
        .unwrap();
        let context = OpenContext {
            callback_url: "https://t.example/dex/callback".into(),
            data_key: std::sync::Arc::new(
                super::super::sealed::DataKey::new(&super::super::sealed::DataKey::generate()).unwrap(),
            ),
        };
        let error = Google::open(&"g".into(), config, &context).err().unwrap().to_string();
        assert!(error.contains("domainToAdminEmail"), "{error}");
    }
}
