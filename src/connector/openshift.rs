//! `openshift`: login with an OpenShift cluster's OAuth server, as Dex does. The endpoints come
//! from `{issuer}/.well-known/oauth-authorization-server` (read at the first login, and again
//! after a failure, so a cluster that is down at start does not break the connector); the user
//! from `{issuer}/apis/user.openshift.io/v1/users/~` with the `user:info` scope.
//!
//! Identity, as Dex: the user's `metadata.uid` as user id, `metadata.name` as username,
//! preferred username and email (OpenShift has no email; unverified), and the user object's
//! `groups`. With `groups` set, the user must be in one of them. Refresh re-reads the user with
//! the stored access token and re-checks the groups; once that token has expired (OpenShift's
//! last a day by default and come without a refresh token) the user logs in again.
//!
//! TLS: `rootCA` (a PEM file, base64 of PEM, or PEM itself, as Dex reads it) is trusted besides
//! the system's roots; `insecureCA` skips certificate checks (development only).

use super::sealed::DataKey;
use super::upstream::{self, ClientAuth, OAuthApp, TokenData, upstream as fail};
use super::{ConnectorError, Identity, RedirectLogin, Refresh, Scopes};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use std::collections::HashMap;
use tokio::sync::OnceCell;

const KIND: &str = "openshift";
const SCOPE: &str = "user:info";

/// `connectors[].config` of an `openshift` connector (Dex's keys).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OpenshiftConfig {
    /// The cluster's API server URL (its OAuth metadata and user API are under it).
    pub issuer: String,
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(rename = "redirectURI")]
    pub redirect_uri: String,
    /// The user must be in at least one of these OpenShift groups.
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default, rename = "insecureCA")]
    pub insecure_ca: bool,
    #[serde(default, rename = "rootCA")]
    pub root_ca: String,
}

pub struct Openshift {
    key: std::sync::Arc<DataKey>,
    issuer: String,
    client_id: String,
    client_secret: Secret,
    redirect_uri: String,
    groups: Vec<String>,
    http: reqwest::Client,
    /// The OAuth client, once the endpoints are discovered.
    app: OnceCell<OAuthApp>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    authorization_endpoint: String,
    token_endpoint: String,
}

#[derive(Debug, Deserialize)]
struct User {
    metadata: ObjectMeta,
    #[serde(default)]
    groups: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct ObjectMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    uid: String,
}

/// `rootCA` as Dex reads it: a file, else base64 of PEM, else PEM itself.
fn root_ca(value: &str) -> Result<Vec<Vec<u8>>, ConnectorError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let pem = if let Ok(file) = std::fs::read(value) {
        file
    } else if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value) {
        decoded
    } else {
        value.as_bytes().to_vec()
    };
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(fail(KIND, "rootCA is not a PEM certificate, base64 of one, or a path to one"));
    }
    Ok(vec![pem])
}

impl Openshift {
    pub fn open(config: OpenshiftConfig, key: std::sync::Arc<DataKey>) -> Result<Self, ConnectorError> {
        let issuer = config.issuer.trim_end_matches('/').to_string();
        url::Url::parse(&issuer).map_err(|e| fail(KIND, format!("issuer {issuer:?}: {e}")))?;
        let tls = super::http::Upstream { root_cas: root_ca(&config.root_ca)? };
        let http =
            if config.insecure_ca { super::http::insecure_client(&tls)? } else { super::http::client(&tls)? };
        Ok(Self {
            key,
            issuer,
            client_id: config.client_id,
            client_secret: config.client_secret,
            redirect_uri: upstream::require_redirect_uri(KIND, &config.redirect_uri)?,
            groups: config.groups,
            http,
            app: OnceCell::new(),
        })
    }

    /// The OAuth client with the discovered endpoints; discovery is retried until it works.
    async fn app(&self) -> Result<&OAuthApp, ConnectorError> {
        self.app
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/oauth-authorization-server", self.issuer);
                let response =
                    self.http.get(&url).send().await.map_err(|e| fail(KIND, format!("GET {url}: {e}")))?;
                let status = response.status();
                let body = response.text().await.map_err(|e| fail(KIND, format!("GET {url}: {e}")))?;
                if !status.is_success() {
                    return Err(fail(KIND, format!("GET {url}: status {status}")));
                }
                let metadata: Metadata = serde_json::from_str(&body)
                    .map_err(|e| fail(KIND, format!("GET {url}: not OAuth metadata: {e}")))?;
                Ok(OAuthApp {
                    client_id: self.client_id.clone(),
                    auth: ClientAuth::Basic(self.client_secret.clone()),
                    redirect_uri: self.redirect_uri.clone(),
                    authorization_url: metadata.authorization_endpoint,
                    token_url: metadata.token_endpoint,
                    http: self.http.clone(),
                })
            })
            .await
    }

    async fn identity(&self, token: &str) -> Result<Claims, ConnectorError> {
        let url = format!("{}/apis/user.openshift.io/v1/users/~", self.issuer);
        let (user, _): (User, _) = upstream::get_json(KIND, &self.http, &url, token, &[]).await?;
        let groups = user.groups.unwrap_or_default();
        if !self.groups.is_empty() && !groups.iter().any(|g| self.groups.contains(g)) {
            return Err(ConnectorError::Refused(format!(
                "You ({}) are not in any of the OpenShift groups this login requires.",
                user.metadata.name
            )));
        }
        Ok(Claims {
            user_id: user.metadata.uid,
            username: user.metadata.name.clone(),
            preferred_username: user.metadata.name.clone(),
            email: user.metadata.name,
            email_verified: false,
            groups,
        })
    }
}

#[async_trait]
impl RedirectLogin for Openshift {
    async fn login_url(
        &self,
        _scopes: Scopes,
        callback_url: &str,
        state: &str,
    ) -> Result<(String, Option<Vec<u8>>), ConnectorError> {
        let url = self.app().await?.authorize_url(KIND, callback_url, &[SCOPE.to_string()], state, &[])?;
        Ok((url, None))
    }

    #[tracing::instrument(skip_all, fields(connector = KIND))]
    async fn handle_callback(
        &self,
        scopes: Scopes,
        _login_data: Option<&[u8]>,
        params: &HashMap<String, String>,
    ) -> Result<Identity, ConnectorError> {
        let code = upstream::callback_code(params)?;
        let app = self.app().await?;
        let token = app.exchange(KIND, code).await?;
        let claims = self.identity(&token.access_token).await?;
        let connector_data = TokenData::keep(&token, scopes, KIND, &self.key)?;
        Ok(Identity { claims, connector_data })
    }
}

#[async_trait]
impl Refresh for Openshift {
    /// The whole identity is read again, the user id included (as Dex: the `uid` is stable).
    #[tracing::instrument(skip_all, fields(connector = KIND))]
    async fn refresh(&self, _scopes: Scopes, identity: Identity) -> Result<Identity, ConnectorError> {
        let stored = TokenData::open(KIND, &self.key, identity.connector_data.as_deref())?;
        let tokens = self.app().await?.usable_token(KIND, stored).await?;
        let claims = self.identity(&tokens.access_token).await?;
        Ok(Identity { claims, connector_data: Some(tokens.seal(KIND, &self.key)?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_ca_is_a_file_base64_or_pem() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, pem).unwrap();
        assert_eq!(root_ca(file.to_str().unwrap()).unwrap(), vec![pem.as_bytes().to_vec()]);
        let encoded = base64::engine::general_purpose::STANDARD.encode(pem);
        assert_eq!(root_ca(&encoded).unwrap(), vec![pem.as_bytes().to_vec()]);
        assert_eq!(root_ca(pem).unwrap(), vec![pem.trim().as_bytes().to_vec()]);
        assert!(root_ca("").unwrap().is_empty());
        assert!(root_ca("/no/such/file").is_err());
    }
}
