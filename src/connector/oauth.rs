//! `oauth`: any OAuth 2.0 provider with a user-info endpoint (Dex's generic connector).
//! The code is exchanged at `tokenURL`, then `userInfoURL` is read with the access token and
//! mapped to claims by configurable keys: the user id from `userIDKey` (default `id`, a
//! string or a number), the rest from `claimMapping` (defaults `user_name`,
//! `preferred_username`, `email`, `email_verified`, `groups`). With the `groups` scope,
//! groups come from the user info and, when the access token is a JWT, from its claims too;
//! a group may be a string or an object with a `name`.
//!
//! Like Dex, this connector has no refresh: a refresh keeps the claims of the login.

use super::oauth2_upstream::OAuth2Upstream;
use super::sealed::DataKey;
use super::upstream::{self, ClientAuth, OAuthApp, upstream as fail};
use super::{ConnectorError, Scopes};
use crate::storage::Claims;
use crate::types::Secret;
use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

const KIND: &str = "oauth";

/// `connectors[].config` of an `oauth` connector (Dex's keys).
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OauthConfig {
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(rename = "redirectURI")]
    pub redirect_uri: String,
    #[serde(rename = "tokenURL")]
    pub token_url: String,
    #[serde(rename = "authorizationURL")]
    pub authorization_url: String,
    #[serde(rename = "userInfoURL")]
    pub user_info_url: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// PEM files of CAs to trust in addition to the system's.
    #[serde(default, rename = "rootCAs")]
    pub root_cas: Vec<String>,
    /// Skips TLS certificate checks: for development only.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(default, rename = "userIDKey")]
    pub user_id_key: String,
    #[serde(default)]
    pub claim_mapping: ClaimMapping,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClaimMapping {
    #[serde(default)]
    pub user_name_key: String,
    #[serde(default)]
    pub preferred_username_key: String,
    #[serde(default)]
    pub groups_key: String,
    #[serde(default)]
    pub email_key: String,
    #[serde(default)]
    pub email_verified_key: String,
}

pub struct Oauth {
    /// Seals the upstream tokens kept for refresh.
    key: std::sync::Arc<super::sealed::DataKey>,
    app: OAuthApp,
    user_info_url: String,
    scopes: Vec<String>,
    user_id_key: String,
    user_name_key: String,
    preferred_username_key: String,
    groups_key: String,
    email_key: String,
    email_verified_key: String,
}

fn or_default(value: String, default: &str) -> String {
    if value.is_empty() { default.to_string() } else { value }
}

impl Oauth {
    pub fn open(
        config: OauthConfig,
        key: std::sync::Arc<super::sealed::DataKey>,
    ) -> Result<Self, ConnectorError> {
        for (key, value) in [
            ("tokenURL", &config.token_url),
            ("authorizationURL", &config.authorization_url),
            ("userInfoURL", &config.user_info_url),
        ] {
            url::Url::parse(value).map_err(|e| fail(KIND, format!("{key} {value:?} is not a URL: {e}")))?;
        }
        let upstream_http = super::http::Upstream { root_cas: super::http::read_root_cas(&config.root_cas)? };
        let http = if config.insecure_skip_verify {
            tracing::warn!("oauth: insecureSkipVerify is set; TLS certificates are not checked");
            super::http::insecure_client(&upstream_http)?
        } else {
            super::http::client(&upstream_http)?
        };
        let mapping = config.claim_mapping;
        Ok(Self {
            key,
            app: OAuthApp {
                client_id: config.client_id,
                auth: ClientAuth::Basic(config.client_secret),
                redirect_uri: upstream::require_redirect_uri(KIND, &config.redirect_uri)?,
                authorization_url: config.authorization_url,
                token_url: config.token_url,
                http,
            },
            user_info_url: config.user_info_url,
            scopes: config.scopes,
            user_id_key: or_default(config.user_id_key, "id"),
            user_name_key: or_default(mapping.user_name_key, "user_name"),
            preferred_username_key: or_default(mapping.preferred_username_key, "preferred_username"),
            groups_key: or_default(mapping.groups_key, "groups"),
            email_key: or_default(mapping.email_key, "email"),
            email_verified_key: or_default(mapping.email_verified_key, "email_verified"),
        })
    }

    /// Adds the groups under `groups_key` of a claims object.
    fn add_groups(&self, groups: &mut BTreeSet<String>, claims: &Map<String, Value>) {
        let Some(Value::Array(items)) = claims.get(&self.groups_key) else {
            return;
        };
        for item in items {
            match item {
                Value::String(name) => {
                    groups.insert(name.clone());
                }
                Value::Object(group) => {
                    if let Some(Value::String(name)) = group.get("name") {
                        groups.insert(name.clone());
                    }
                }
                _ => {}
            }
        }
    }
}

/// The claims of a JWT access token, unverified: they only add groups, as in Dex.
fn jwt_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn string_claim(info: &Map<String, Value>, key: &str) -> String {
    info.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Like Dex, no [`OAuth2Refresh`](super::oauth2_upstream::OAuth2Refresh): a refresh keeps the
/// claims of the login.
#[async_trait]
impl OAuth2Upstream for Oauth {
    const KIND: &'static str = KIND;

    fn app(&self) -> &OAuthApp {
        &self.app
    }

    fn data_key(&self) -> &DataKey {
        &self.key
    }

    /// The configured `scopes`, whatever the client asked for.
    fn login_scopes(&self, _scopes: Scopes) -> Vec<String> {
        self.scopes.clone()
    }

    /// `userInfoURL` read with the access token, mapped by the configured keys.
    async fn identity(&self, scopes: Scopes, access_token: &str) -> Result<Claims, ConnectorError> {
        let (info, _): (Map<String, Value>, _) =
            upstream::get_json(KIND, &self.app.http, &self.user_info_url, access_token, &[]).await?;
        let user_id = match info.get(&self.user_id_key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(fail(
                    KIND,
                    format!(
                        "user info claim {:?} should be a string or a number, got {other}",
                        self.user_id_key
                    ),
                ));
            }
            None => {
                return Err(fail(KIND, format!("user info has no {:?} claim (userIDKey)", self.user_id_key)));
            }
        };
        let mut groups = Vec::new();
        if scopes.groups {
            let mut set = BTreeSet::new();
            self.add_groups(&mut set, &info);
            if let Some(claims) = jwt_claims(access_token) {
                self.add_groups(&mut set, &claims);
            }
            groups = set.into_iter().collect();
        }
        Ok(Claims {
            user_id,
            username: string_claim(&info, &self.user_name_key),
            preferred_username: string_claim(&info, &self.preferred_username_key),
            email: string_claim(&info, &self.email_key),
            email_verified: info.get(&self.email_verified_key).and_then(Value::as_bool).unwrap_or(false),
            groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> std::sync::Arc<crate::connector::sealed::DataKey> {
        std::sync::Arc::new(
            crate::connector::sealed::DataKey::new(&crate::connector::sealed::DataKey::generate()).unwrap(),
        )
    }

    #[test]
    fn groups_from_strings_objects_and_jwt() {
        let connector = Oauth::open(
            OauthConfig {
                redirect_uri: "http://x/callback".into(),
                token_url: "http://p/token".into(),
                authorization_url: "http://p/auth".into(),
                user_info_url: "http://p/userinfo".into(),
                ..Default::default()
            },
            test_key(),
        )
        .unwrap();
        let mut set = BTreeSet::new();
        let info = serde_json::json!({"groups": ["a", {"name": "b"}, 3]});
        connector.add_groups(&mut set, info.as_object().unwrap());
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"groups":["c"]}"#);
        connector.add_groups(&mut set, &jwt_claims(&format!("h.{payload}.s")).unwrap());
        assert_eq!(set.into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(jwt_claims("opaque").is_none());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = serde_json::from_value::<OauthConfig>(
            serde_json::json!({"clientID": "x", "clientSecret": "y",
            "redirectURI": "r", "tokenURL": "t", "authorizationURL": "a", "userInfoURL": "u", "userIdKey": "sub"}),
        );
        assert!(err.is_err());
    }
}
