//! `linkedin`: login with LinkedIn (Sign In with LinkedIn, the v2 API), with Dex's identity:
//! the member `id` as user id, "First Last" as username (the email when both are empty), and
//! the primary email address from the email API (always verified by LinkedIn). No groups.
//! A refresh re-reads the name and email with the stored access token (LinkedIn issues no
//! refresh tokens; its access tokens last about 60 days, after which the user logs in again).
//!
//! `authURL` and `apiURL` are Tessera's own keys (an egress proxy or a test double in front of
//! LinkedIn); Dex has no such keys and always talks to linkedin.com.

use super::oauth2_upstream::{OAuth2Refresh, OAuth2Upstream};
use super::sealed::DataKey;
use super::upstream::{self, ClientAuth, OAuthApp};
use super::{ConnectorError, Scopes};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use serde::Deserialize;

const KIND: &str = "linkedin";
const DEFAULT_AUTH_URL: &str = "https://www.linkedin.com/oauth/v2";
const DEFAULT_API_URL: &str = "https://api.linkedin.com/v2";
/// The email API's query, as Dex sends it (the projection unencoded, as LinkedIn documents).
const EMAIL_QUERY: &str = "/emailAddress?q=members&projection=(elements*(handle~))";

/// `connectors[].config` of a `linkedin` connector (Dex's keys, plus `authURL`/`apiURL`).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkedinConfig {
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(rename = "redirectURI")]
    pub redirect_uri: String,
    /// Tessera: where `/authorization` and `/accessToken` live.
    #[serde(default, rename = "authURL")]
    pub auth_url: String,
    /// Tessera: the v2 API's base URL.
    #[serde(default, rename = "apiURL")]
    pub api_url: String,
}

pub struct Linkedin {
    key: std::sync::Arc<DataKey>,
    app: OAuthApp,
    api_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    id: String,
    #[serde(default)]
    localized_first_name: String,
    #[serde(default)]
    localized_last_name: String,
}

#[derive(Debug, Deserialize)]
struct Emails {
    #[serde(default)]
    elements: Vec<EmailElement>,
}

#[derive(Debug, Deserialize)]
struct EmailElement {
    #[serde(rename = "handle~", default)]
    handle: Option<Handle>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Handle {
    #[serde(default)]
    email_address: String,
}

impl Linkedin {
    pub fn open(config: LinkedinConfig, key: std::sync::Arc<DataKey>) -> Result<Self, ConnectorError> {
        let auth_url = upstream::base_url(KIND, "authURL", &config.auth_url, DEFAULT_AUTH_URL)?;
        Ok(Self {
            key,
            app: OAuthApp {
                client_id: config.client_id,
                // LinkedIn takes the client's credentials in the form body.
                auth: ClientAuth::Post(config.client_secret),
                redirect_uri: upstream::require_redirect_uri(KIND, &config.redirect_uri)?,
                authorization_url: format!("{auth_url}/authorization"),
                token_url: format!("{auth_url}/accessToken"),
                http: super::http::client(&super::http::Upstream::default())?,
            },
            api_url: upstream::base_url(KIND, "apiURL", &config.api_url, DEFAULT_API_URL)?,
        })
    }

    /// The primary email: the last element that has one, as Dex reads the list.
    async fn email(&self, token: &str) -> Result<String, ConnectorError> {
        let url = format!("{}{EMAIL_QUERY}", self.api_url);
        let (emails, _): (Emails, _) = upstream::get_json(KIND, &self.app.http, &url, token, &[]).await?;
        emails
            .elements
            .into_iter()
            .filter_map(|e| e.handle.map(|h| h.email_address))
            .rfind(|e| !e.is_empty())
            .ok_or_else(|| ConnectorError::Refused("Your LinkedIn account shares no email address.".into()))
    }
}

#[async_trait]
impl OAuth2Upstream for Linkedin {
    const KIND: &'static str = KIND;

    fn app(&self) -> &OAuthApp {
        &self.app
    }

    fn data_key(&self) -> &DataKey {
        &self.key
    }

    fn login_scopes(&self, _scopes: Scopes) -> Vec<String> {
        vec!["r_liteprofile".into(), "r_emailaddress".into()]
    }

    async fn identity(&self, _scopes: Scopes, token: &str) -> Result<Claims, ConnectorError> {
        let url = format!("{}/me", self.api_url);
        let (profile, _): (Profile, _) = upstream::get_json(KIND, &self.app.http, &url, token, &[]).await?;
        let email = self.email(token).await?;
        let full_name =
            format!("{} {}", profile.localized_first_name, profile.localized_last_name).trim().to_string();
        Ok(Claims {
            user_id: profile.id,
            username: if full_name.is_empty() { email.clone() } else { full_name },
            preferred_username: String::new(),
            email,
            email_verified: true,
            groups: Vec::new(),
        })
    }
}

/// Refresh re-reads the name and email; the user id stays the login's, as in Dex.
impl OAuth2Refresh for Linkedin {}
