//! The `oidc` connector's `config`, with Dex's keys and defaults, checked once at open.
//!
//! Every key of Dex's `connector/oidc` `Config` is accepted. Keys Tessera refuses rather than
//! honours (`insecureSkipVerify`, a non-empty `hostedDomains`) fail the open with a message
//! that names them; an unknown key fails too (`deny_unknown_fields`), so a typo is never
//! silently ignored.

use super::super::ConnectorError;
use serde::Deserialize;
use std::time::Duration;

/// Dex's `providerDiscoveryOverrides`: endpoints that replace the discovered ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscoveryOverrides {
    #[serde(rename = "tokenURL")]
    pub token_url: Option<String>,
    #[serde(rename = "authURL")]
    pub auth_url: Option<String>,
    #[serde(rename = "jwksURL")]
    pub jwks_url: Option<String>,
    #[serde(rename = "userInfoURL")]
    pub user_info_url: Option<String>,
    /// Accepted for compatibility; Tessera never starts a device flow upstream.
    #[serde(rename = "deviceAuthURL")]
    pub device_auth_url: Option<String>,
    #[serde(rename = "endSessionURL")]
    pub end_session_url: Option<String>,
}

impl DiscoveryOverrides {
    pub fn is_empty(&self) -> bool {
        [
            &self.token_url,
            &self.auth_url,
            &self.jwks_url,
            &self.user_info_url,
            &self.device_auth_url,
            &self.end_session_url,
        ]
        .iter()
        .all(|v| v.as_deref().unwrap_or_default().is_empty())
    }
}

/// Dex's `claimMapping`: where to look when the standard claim is absent (or always, with
/// `overrideClaimMapping`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    #[serde(default)]
    pub preferred_username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub groups: String,
}

/// One entry of `claimModifications.newGroupFromClaims`: a group made of claim values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewGroupFromClaims {
    #[serde(default)]
    pub claims: Vec<String>,
    #[serde(default)]
    pub delimiter: String,
    #[serde(default)]
    pub clear_delimiter: bool,
    #[serde(default)]
    pub prefix: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FilterGroupClaims {
    #[serde(default)]
    pub groups_filter: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyGroupNames {
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub suffix: String,
}

/// Dex's `claimModifications`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClaimModifications {
    #[serde(default)]
    pub new_group_from_claims: Vec<NewGroupFromClaims>,
    #[serde(default)]
    pub filter_group_claims: FilterGroupClaims,
    #[serde(default)]
    pub modify_group_names: ModifyGroupNames,
}

/// The connector's `config` block, as Dex spells it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    pub issuer: String,
    /// The `issuer` the provider announces and signs with, when it differs from the URL its
    /// discovery document is fetched from (Azure, Oracle IDCS).
    #[serde(default)]
    pub issuer_alias: String,
    #[serde(rename = "clientID")]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: crate::types::Secret,
    /// Must be Tessera's `{issuer}/callback`; defaults to it.
    #[serde(default, rename = "redirectURI")]
    pub redirect_uri: String,
    #[serde(default)]
    pub provider_discovery_overrides: DiscoveryOverrides,
    /// `None`: detect (known providers that refuse HTTP Basic client authentication).
    #[serde(default)]
    pub basic_auth_unsupported: Option<bool>,
    /// Defaults to `profile email`; `openid` is always asked for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Removed from Dex's oidc connector (use the google connector); refused when non-empty.
    #[serde(default)]
    pub hosted_domains: Vec<String>,
    #[serde(default, rename = "rootCAs")]
    pub root_cas: Vec<String>,
    #[serde(default)]
    pub insecure_skip_email_verified: bool,
    #[serde(default)]
    pub insecure_enable_groups: bool,
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// Refused: trust the upstream's CA with `rootCAs` instead.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(default)]
    pub get_user_info: bool,
    #[serde(default, rename = "userIDKey")]
    pub user_id_key: String,
    #[serde(default)]
    pub user_name_key: String,
    /// `prompt` sent with `offline_access`; `consent` when absent.
    #[serde(default)]
    pub prompt_type: Option<String>,
    /// `S256`, `plain`, or empty to pick what the provider supports (S256 first).
    #[serde(default, rename = "pkceChallenge")]
    pub pkce_challenge: String,
    #[serde(default)]
    pub override_claim_mapping: bool,
    #[serde(default)]
    pub claim_mapping: ClaimMapping,
    #[serde(default)]
    pub claim_modifications: ClaimModifications,
    /// Tessera's own: how long one request to the provider may take (e.g. `15s`).
    #[serde(default)]
    pub upstream_timeout: Option<String>,
}

/// Domains known to refuse HTTP Basic client authentication (as Dex lists them).
const BASIC_AUTH_BROKEN_DOMAINS: &[&str] = &["okta.com", "oktapreview.com"];

/// The default per-request timeout towards the provider.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

fn refuse(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Upstream(message.into())
}

impl Config {
    /// Every problem that makes the config unusable, in one error.
    pub fn check(&self, callback_url: &str) -> Result<(), ConnectorError> {
        let mut problems = Vec::new();
        if self.issuer.is_empty() {
            problems.push("issuer is required".to_string());
        } else if url::Url::parse(&self.issuer).is_err() {
            problems.push(format!("issuer {:?} is not a URL", self.issuer));
        }
        if self.client_id.is_empty() {
            problems.push("clientID is required".into());
        }
        if !self.redirect_uri.is_empty() && self.redirect_uri != callback_url {
            problems.push(format!(
                "redirectURI {:?} must be Tessera's callback URL {callback_url:?} (or be left out)",
                self.redirect_uri
            ));
        }
        if !self.hosted_domains.is_empty() {
            problems.push(
                "hostedDomains is no longer supported by the oidc connector (as in Dex); use the google connector"
                    .into(),
            );
        }
        if self.insecure_skip_verify {
            problems.push(
                "insecureSkipVerify is refused: Tessera never turns TLS verification off; \
                 add the provider's CA to rootCAs instead"
                    .into(),
            );
        }
        if !matches!(self.pkce_challenge.as_str(), "" | "S256" | "plain") {
            problems.push(format!("pkceChallenge {:?} must be S256 or plain", self.pkce_challenge));
        }
        if let Err(e) = self.timeout() {
            problems.push(e.to_string());
        }
        if !self.claim_modifications.filter_group_claims.groups_filter.is_empty()
            && regex::Regex::new(&self.claim_modifications.filter_group_claims.groups_filter).is_err()
        {
            problems.push(format!(
                "claimModifications.filterGroupClaims.groupsFilter {:?} is not a valid regular expression",
                self.claim_modifications.filter_group_claims.groups_filter
            ));
        }
        if problems.is_empty() { Ok(()) } else { Err(refuse(problems.join("; "))) }
    }

    /// The scopes asked of the provider: `openid` and the configured ones (default
    /// `profile email`), each once.
    pub fn upstream_scopes(&self) -> Vec<String> {
        let configured: Vec<String> =
            if self.scopes.is_empty() { vec!["profile".into(), "email".into()] } else { self.scopes.clone() };
        let mut scopes = vec!["openid".to_string()];
        for scope in configured {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes
    }

    /// Client credentials go in the form body rather than HTTP Basic.
    pub fn credentials_in_body(&self) -> bool {
        self.basic_auth_unsupported.unwrap_or_else(|| {
            url::Url::parse(&self.issuer).ok().and_then(|u| u.host_str().map(str::to_string)).is_some_and(
                |host| {
                    BASIC_AUTH_BROKEN_DOMAINS.iter().any(|d| host == *d || host.ends_with(&format!(".{d}")))
                },
            )
        })
    }

    pub fn prompt(&self) -> String {
        self.prompt_type.clone().unwrap_or_else(|| "consent".into())
    }

    pub fn timeout(&self) -> Result<Duration, ConnectorError> {
        match self.upstream_timeout.as_deref().filter(|t| !t.is_empty()) {
            None => Ok(DEFAULT_TIMEOUT),
            Some(text) => {
                crate::config::parse_duration(text).ok().filter(|d| !d.is_zero()).ok_or_else(|| {
                    refuse(format!("upstreamTimeout {text:?} is not a positive duration like 15s"))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<Config, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn dex_keys_parse_and_defaults_apply() {
        let config = parse(serde_json::json!({
            "issuer": "https://accounts.example.com",
            "clientID": "id", "clientSecret": "s", "redirectURI": "https://t.example/dex/callback",
            "providerDiscoveryOverrides": {"tokenURL": "https://x/token", "endSessionURL": "https://x/end"},
            "basicAuthUnsupported": true, "insecureSkipEmailVerified": true, "insecureEnableGroups": true,
            "allowedGroups": ["a"], "acrValues": ["mfa"], "getUserInfo": true, "userIDKey": "email",
            "userNameKey": "nickname", "promptType": "login", "pkceChallenge": "S256",
            "overrideClaimMapping": true,
            "claimMapping": {"preferred_username": "u", "email": "mail", "groups": "roles"},
            "claimModifications": {
                "newGroupFromClaims": [{"claims": ["a", "b"], "delimiter": ":", "clearDelimiter": true, "prefix": "p"}],
                "filterGroupClaims": {"groupsFilter": "^team-"},
                "modifyGroupNames": {"prefix": "x-", "suffix": "-y"}
            },
            "rootCAs": [], "hostedDomains": [], "insecureSkipVerify": false, "issuerAlias": ""
        }))
        .unwrap();
        config.check("https://t.example/dex/callback").unwrap();
        assert!(config.credentials_in_body());
        assert_eq!(config.prompt(), "login");

        let minimal = parse(serde_json::json!({"issuer": "https://a.okta.com", "clientID": "id"})).unwrap();
        minimal.check("https://t.example/dex/callback").unwrap();
        assert_eq!(minimal.upstream_scopes(), ["openid", "profile", "email"]);
        assert!(minimal.credentials_in_body(), "okta is detected");
        assert_eq!(minimal.prompt(), "consent");
        assert_eq!(minimal.timeout().unwrap(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn unusable_settings_are_named() {
        let error =
            parse(serde_json::json!({"issuer": "https://a", "clientID": "i", "scope": ["x"]})).unwrap_err();
        assert!(error.to_string().contains("scope"), "{error}");
        let config = parse(serde_json::json!({
            "issuer": "https://a", "clientID": "i", "insecureSkipVerify": true, "hostedDomains": ["x.com"],
            "redirectURI": "https://elsewhere/callback", "pkceChallenge": "S512",
            "claimModifications": {"filterGroupClaims": {"groupsFilter": "("}}
        }))
        .unwrap();
        let message = config.check("https://t.example/dex/callback").unwrap_err().to_string();
        for key in ["insecureSkipVerify", "hostedDomains", "redirectURI", "pkceChallenge", "groupsFilter"] {
            assert!(message.contains(key), "{key} not named in {message}");
        }
    }
}
