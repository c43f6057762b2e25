//! `authproxy`: the user was authenticated by a reverse proxy in front of Tessera (e.g.
//! Apache `mod_auth_*`, oauth2-proxy), which says who they are in request headers.
//!
//! As in Dex, the login URL is Tessera's own `/callback/{connector id}?state=…`, which the
//! proxy protects; there the headers become the identity: `userHeader` (default
//! `X-Remote-User`, required) is the username and the fallback for the user id
//! (`userIDHeader`), preferred username (`userNameHeader`) and email (`emailHeader`);
//! `groupHeader` holds groups split on `groupHeaderSeparator`, followed by `staticGroups`.
//! The email counts as verified.
//!
//! Tessera trusts these headers only at that path: the web layer strips them from every
//! other request, so a client cannot forge an identity through another route. The proxy
//! must still strip client-sent copies on the callback path itself, as with Dex.

use super::{ConnectorError, Identity, RedirectLogin, Scopes};
use crate::storage::Claims;
use crate::types::ConnectorId;
use async_trait::async_trait;
use serde::Deserialize;
use std::collections::HashMap;
use url::Url;

/// `connectors[].config` of an `authproxy` connector (Dex's keys).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthProxyConfig {
    #[serde(default, rename = "userIDHeader")]
    pub user_id_header: String,
    #[serde(default)]
    pub user_header: String,
    #[serde(default)]
    pub user_name_header: String,
    #[serde(default)]
    pub email_header: String,
    #[serde(default)]
    pub group_header: String,
    #[serde(default)]
    pub group_header_separator: String,
    #[serde(default)]
    pub static_groups: Vec<String>,
}

pub struct AuthProxy {
    id: ConnectorId,
    user_id_header: String,
    user_header: String,
    user_name_header: String,
    email_header: String,
    group_header: String,
    separator: String,
    static_groups: Vec<String>,
}

/// A header name, lowercase (HTTP header names are case-insensitive), or the default.
fn header(name: String, default: &str) -> Result<String, ConnectorError> {
    let name = if name.trim().is_empty() { default.to_string() } else { name.trim().to_ascii_lowercase() };
    http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConnectorError::Upstream(format!("authproxy: {name:?} is not a valid header name")))?;
    Ok(name.to_ascii_lowercase())
}

impl AuthProxy {
    pub fn open(id: &ConnectorId, config: AuthProxyConfig) -> Result<Self, ConnectorError> {
        Ok(Self {
            id: id.clone(),
            user_id_header: header(config.user_id_header, "X-Remote-User-Id")?,
            user_header: header(config.user_header, "X-Remote-User")?,
            user_name_header: header(config.user_name_header, "X-Remote-User-Name")?,
            email_header: header(config.email_header, "X-Remote-User-Email")?,
            group_header: header(config.group_header, "X-Remote-Group")?,
            separator: if config.group_header_separator.is_empty() {
                ",".to_string()
            } else {
                config.group_header_separator
            },
            static_groups: config.static_groups,
        })
    }
}

#[async_trait]
impl RedirectLogin for AuthProxy {
    /// `{callback_url}/{id}?state=…`: the path the proxy guards.
    async fn login_url(
        &self,
        _scopes: Scopes,
        callback_url: &str,
        state: &str,
    ) -> Result<(String, Option<Vec<u8>>), ConnectorError> {
        let mut url = Url::parse(callback_url).map_err(|e| {
            ConnectorError::Upstream(format!("authproxy: callback URL {callback_url:?}: {e}"))
        })?;
        url.path_segments_mut()
            .map_err(|_| {
                ConnectorError::Upstream(format!("authproxy: callback URL {callback_url:?} has no path"))
            })?
            .push(self.id.as_str());
        url.query_pairs_mut().append_pair("state", state);
        Ok((url.into(), None))
    }

    /// Reached through `/callback` without the headers: the proxy is not in front of it.
    async fn handle_callback(
        &self,
        scopes: Scopes,
        _login_data: Option<&[u8]>,
        params: &HashMap<String, String>,
    ) -> Result<Identity, ConnectorError> {
        self.handle_header_callback(scopes, None, params, &HashMap::new()).await
    }

    fn trusted_headers(&self) -> Vec<String> {
        vec![
            self.user_id_header.clone(),
            self.user_header.clone(),
            self.user_name_header.clone(),
            self.email_header.clone(),
            self.group_header.clone(),
        ]
    }

    async fn handle_header_callback(
        &self,
        _scopes: Scopes,
        _login_data: Option<&[u8]>,
        _params: &HashMap<String, String>,
        headers: &HashMap<String, String>,
    ) -> Result<Identity, ConnectorError> {
        let get =
            |name: &str| headers.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_string);
        let Some(user) = get(&self.user_header) else {
            return Err(ConnectorError::Upstream(format!(
                "authproxy: required header {} is not set; is the authenticating proxy in front of this path?",
                self.user_header
            )));
        };
        let mut groups: Vec<String> = get(&self.group_header)
            .map(|g| g.split(self.separator.as_str()).map(|s| s.trim().to_string()).collect())
            .unwrap_or_default();
        groups.extend(self.static_groups.iter().cloned());
        Ok(Identity {
            claims: Claims {
                user_id: get(&self.user_id_header).unwrap_or_else(|| user.clone()),
                preferred_username: get(&self.user_name_header).unwrap_or_else(|| user.clone()),
                email: get(&self.email_header).unwrap_or_else(|| user.clone()),
                username: user,
                email_verified: true,
                groups,
            },
            connector_data: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn identity_from_headers_with_defaults() {
        let proxy = AuthProxy::open(
            &"proxy".into(),
            AuthProxyConfig { static_groups: vec!["static".into()], ..Default::default() },
        )
        .unwrap();
        let url = proxy.login_url(Scopes::default(), "https://id.example/dex/callback", "s1").await.unwrap();
        assert_eq!(url.0, "https://id.example/dex/callback/proxy?state=s1");
        let headers: HashMap<String, String> =
            [("x-remote-user", "jane"), ("x-remote-group", "a, b")].map(|(k, v)| (k.into(), v.into())).into();
        let id =
            proxy.handle_header_callback(Scopes::default(), None, &HashMap::new(), &headers).await.unwrap();
        assert_eq!(id.claims.user_id, "jane");
        assert_eq!(id.claims.email, "jane");
        assert_eq!(id.claims.groups, ["a", "b", "static"]);
        assert!(proxy.handle_callback(Scopes::default(), None, &HashMap::new()).await.is_err());
    }
}
