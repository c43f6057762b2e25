//! The `ldap` connector: users log in with the password form against an LDAP directory
//! (OpenLDAP, Active Directory, …), configured with Dex's keys so Dex configs work unchanged.
//!
//! A login, as in Dex:
//! 1. An empty password is refused before anything is sent: a simple bind with a DN and no
//!    password is an *unauthenticated* bind (RFC 4513 §5.1.2) that many servers accept.
//! 2. Connect ([`conn`]: LDAPS, StartTLS or plain) and bind as the service account
//!    (`bindDN`/`bindPW`), or anonymously without one.
//! 3. Search the user under `userSearch.baseDN` with the username escaped into the filter
//!    ([`search`]). No entry → the same "wrong username or password" as a wrong password.
//! 4. Bind as the entry's DN with the password: the directory checks it.
//! 5. Read the claims from the entry (`idAttr` → user id, so `sub` is Dex's; `nameAttr` →
//!    username; `preferredUsernameAttr`; `emailAttr` or `<name>@emailSuffix`; email verified).
//! 6. With the `groups` scope, search the groups as the service account again, following
//!    nested groups through `recursionGroupAttr`.
//! 7. With `offline_access`, keep the username and DN for [`Refresh`], in Dex's JSON shape
//!    (`{"username", "entry": {"DN"}}`), so refresh tokens issued by Dex keep working.
//!
//! A refresh searches the user again by the stored username: gone, or now another DN →
//! [`ConnectorError::Refused`] and the refresh token ends; otherwise claims and groups are
//! re-read. A directory that is down or slow is an [`ConnectorError::Upstream`] error
//! (bounded by timeouts), never a hang or a panic.

mod config;
mod conn;
mod search;
#[cfg(test)]
mod tests;

pub use config::LdapConfig;
/// `(attr=value)` with `value` escaped (RFC 4515 §3); public for the fuzz target.
pub use search::equality as filter_equality;

use super::{ConnectorError, Identity, PasswordLogin, Refresh, Scopes};
use crate::storage::Claims;
use crate::types::ConnectorId;
use async_trait::async_trait;
use config::Settings;
use conn::Session;
use ldap3::SearchEntry;
use serde::{Deserialize, Serialize};

pub struct LdapConnector {
    settings: Settings,
    /// The attributes read from the user entry.
    user_attrs: Vec<String>,
    pool: conn::Pool,
    /// For the `tessera_ldap_connections_total` metric.
    id: ConnectorId,
}

/// Idle connections kept per connector, and how long one may be reused.
const POOL_IDLE: usize = 4;
const POOL_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// What a refresh needs, in the JSON shape Dex stores (`refreshData`), so either reads the
/// other's. Dex also stores the entry's attributes; they are not needed and ignored.
#[derive(Debug, Serialize, Deserialize)]
struct RefreshData {
    username: String,
    entry: RefreshEntry,
}

#[derive(Debug, Serialize, Deserialize)]
struct RefreshEntry {
    #[serde(rename = "DN")]
    dn: String,
}

impl LdapConnector {
    /// Parses and validates `connectors[].config`; every problem is in the error.
    pub fn open(id: &ConnectorId, config: LdapConfig) -> Result<Self, ConnectorError> {
        let settings =
            config.validate().map_err(|e| ConnectorError::Upstream(format!("ldap config: {e}")))?;
        let u = &settings.user;
        let mut user_attrs: Vec<String> = Vec::new();
        let candidates = [&u.id_attr, &u.email_attr, &u.name_attr, &u.preferred_username_attr]
            .into_iter()
            .chain(&u.username_attrs)
            .chain(settings.groups.iter().flat_map(|g| g.matchers.iter().map(|m| &m.user_attr)));
        for attr in candidates {
            if !attr.is_empty() && !user_attrs.iter().any(|a| a.eq_ignore_ascii_case(attr)) {
                user_attrs.push(attr.clone());
            }
        }
        Ok(Self { settings, user_attrs, pool: conn::Pool::new(POOL_IDLE, POOL_MAX_AGE), id: id.clone() })
    }

    fn user_attrs(&self) -> Vec<&str> {
        self.user_attrs.iter().map(String::as_str).collect()
    }

    /// The claims of a user entry; an attribute the config names but the entry lacks is an
    /// error (as in Dex), since the token would otherwise be missing a claim.
    fn claims(&self, entry: &SearchEntry) -> Result<Claims, ConnectorError> {
        let u = &self.settings.user;
        let mut missing = Vec::new();
        let mut read = |attr: &str| match search::first(entry, attr) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => {
                missing.push(attr.to_string());
                String::new()
            }
        };
        let user_id = read(&u.id_attr);
        let username = if u.name_attr.is_empty() { String::new() } else { read(&u.name_attr) };
        let preferred_username = if u.preferred_username_attr.is_empty() {
            String::new()
        } else {
            read(&u.preferred_username_attr)
        };
        let email = if u.email_suffix.is_empty() {
            read(&u.email_attr)
        } else {
            format!("{username}@{}", u.email_suffix)
        };
        if !missing.is_empty() {
            return Err(ConnectorError::Upstream(format!(
                "ldap: entry {:?} lacks the attribute(s) {missing:?} named in userSearch",
                entry.dn
            )));
        }
        // Dex marks LDAP emails verified: the directory is the authority for its users.
        Ok(Claims { user_id, username, preferred_username, email, email_verified: true, groups: Vec::new() })
    }

    /// Claims (and groups when asked for) of `entry`, on a session bound as the user or
    /// the service; groups are always searched as the service account.
    async fn identity(
        &self,
        session: &mut Session,
        scopes: Scopes,
        entry: &SearchEntry,
        rebind: bool,
    ) -> Result<Claims, ConnectorError> {
        let mut claims = self.claims(entry)?;
        if let (true, Some(groups)) = (scopes.groups, &self.settings.groups) {
            if rebind {
                session.bind_service(self.settings.service.as_ref()).await?;
            }
            claims.groups = search::find_groups(session, groups, entry).await?;
        }
        Ok(claims)
    }

    async fn login_on(
        &self,
        session: &mut Session,
        scopes: Scopes,
        username: &str,
        password: &str,
    ) -> Result<Option<Identity>, ConnectorError> {
        session.bind_service(self.settings.service.as_ref()).await?;
        let attrs = self.user_attrs();
        let Some(entry) = search::find_user(session, &self.settings.user, &attrs, username).await? else {
            tracing::info!("ldap: no user entry for the username");
            return Ok(None);
        };
        // An empty DN would make the bind anonymous whatever the password.
        if entry.dn.is_empty() || !session.bind(&entry.dn, password).await? {
            tracing::info!(dn = %entry.dn, "ldap: password refused");
            return Ok(None);
        }
        let claims = self.identity(session, scopes, &entry, true).await?;
        let connector_data = if scopes.offline_access {
            let data =
                RefreshData { username: username.to_string(), entry: RefreshEntry { dn: entry.dn.clone() } };
            Some(serde_json::to_vec(&data).map_err(|e| ConnectorError::Upstream(format!("ldap: {e}")))?)
        } else {
            None
        };
        Ok(Some(Identity { claims, connector_data }))
    }

    async fn refresh_on(
        &self,
        session: &mut Session,
        scopes: Scopes,
        data: &RefreshData,
    ) -> Result<Claims, ConnectorError> {
        session.bind_service(self.settings.service.as_ref()).await?;
        let attrs = self.user_attrs();
        let entry = search::find_user(session, &self.settings.user, &attrs, &data.username)
            .await?
            .ok_or_else(|| ConnectorError::Refused("The user no longer exists in the directory.".into()))?;
        if !entry.dn.eq_ignore_ascii_case(&data.entry.dn) {
            tracing::info!(was = %data.entry.dn, now = %entry.dn, "ldap: the username now names another entry");
            return Err(ConnectorError::Refused("The user no longer exists in the directory.".into()));
        }
        self.identity(session, scopes, &entry, false).await
    }
}

/// What a connection is used for.
enum Work<'a> {
    Login { scopes: Scopes, username: &'a str, password: &'a str },
    Refresh { scopes: Scopes, data: &'a RefreshData },
}

enum Done {
    Login(Option<Identity>),
    Refresh(Claims),
}

impl LdapConnector {
    async fn run(&self, session: &mut Session, work: &Work<'_>) -> Result<Done, ConnectorError> {
        match work {
            Work::Login { scopes, username, password } => {
                self.login_on(session, *scopes, username, password).await.map(Done::Login)
            }
            Work::Refresh { scopes, data } => {
                self.refresh_on(session, *scopes, data).await.map(Done::Refresh)
            }
        }
    }

    /// Runs `work` on a pooled or new connection within the total timeout. A connection that
    /// served without a transport error goes back to the pool; a pooled connection that
    /// turns out dead (the directory closed it) is replaced by a new one, once.
    async fn with_session(&self, work: Work<'_>) -> Result<Done, ConnectorError> {
        let attempt = async {
            if let Some(mut pooled) = self.pool.take() {
                match self.run(&mut pooled, &work).await {
                    Err(ConnectorError::Upstream(cause)) => {
                        tracing::debug!(%cause, "ldap: pooled connection failed; using a new one");
                    }
                    result => {
                        self.pool.give(pooled);
                        return result;
                    }
                }
            }
            metrics::counter!("tessera_ldap_connections_total", "connector" => self.id.to_string())
                .increment(1);
            let mut session = Session::connect(&self.settings.target).await?;
            let result = self.run(&mut session, &work).await;
            match result {
                Err(ConnectorError::Upstream(_)) => session.close().await,
                _ => self.pool.give(session),
            }
            result
        };
        let total = self.settings.target.timeouts.total;
        tokio::time::timeout(total, attempt).await.map_err(|_| {
            ConnectorError::Upstream(format!(
                "ldap: no answer from {} within {total:?}",
                self.settings.target.url
            ))
        })?
    }
}

#[async_trait]
impl PasswordLogin for LdapConnector {
    fn prompt(&self) -> &str {
        &self.settings.prompt
    }

    #[tracing::instrument(skip_all, fields(connector = "ldap"))]
    async fn login(
        &self,
        scopes: Scopes,
        username: &str,
        password: &str,
    ) -> Result<Option<Identity>, ConnectorError> {
        // RFC 4513 §5.1.2: never let an empty password reach a bind.
        if password.is_empty() || username.is_empty() {
            return Ok(None);
        }
        match self.with_session(Work::Login { scopes, username, password }).await? {
            Done::Login(identity) => Ok(identity),
            Done::Refresh(_) => Err(ConnectorError::Upstream("ldap: unexpected result".into())),
        }
    }
}

#[async_trait]
impl Refresh for LdapConnector {
    #[tracing::instrument(skip_all, fields(connector = "ldap"))]
    async fn refresh(&self, scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        let data: RefreshData =
            identity.connector_data.as_deref().and_then(|d| serde_json::from_slice(d).ok()).ok_or_else(
                || ConnectorError::Refused("The refresh token carries no directory entry.".into()),
            )?;
        let claims = match self.with_session(Work::Refresh { scopes, data: &data }).await? {
            Done::Refresh(claims) => claims,
            Done::Login(_) => return Err(ConnectorError::Upstream("ldap: unexpected result".into())),
        };
        Ok(Identity { claims, connector_data: identity.connector_data })
    }
}
