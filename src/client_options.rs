//! A client's options beyond Dex's client record: how it authenticates and with which keys,
//! and what the protocol requires of it. One struct, so that the config, the stored record
//! and the admin API carry them whole, and a new option is added in one place. Every option
//! defaults to Dex's behaviour: a client that sets none works exactly as in Dex.

use crate::protocol::{ClientAuthMethod, GrantType};
use jsonwebtoken::jwk::JwkSet;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientOptions {
    /// `tokenEndpointAuthMethod`. `None` is Dex's rule: a client with a secret sends it
    /// (Basic or in the body), a public client without one sends only its `client_id`. Set,
    /// only that method is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<ClientAuthMethod>,
    /// `jwks`: the public keys that check the client's `private_key_jwt` assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<JwkSet>,
    /// `jwksURI`: where the client publishes those keys instead (fetched and cached).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jwks_uri: String,
    /// `requirePushedAuthorizationRequests` (RFC 9126 §5): `/auth` takes only pushed requests.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// `dpopBoundAccessTokens` (RFC 9449 §5.2): token requests must carry a DPoP proof, so
    /// every access token is bound to the client's key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens: bool,
    /// `profile`: a security profile the client is held to (see [`Profile`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// `expiry`: this client's token lifetimes, each overriding the server's.
    #[serde(default, skip_serializing_if = "ClientExpiry::is_empty")]
    pub expiry: ClientExpiry,
    /// `grantTypes`: the grants this client may use; empty means every grant the server
    /// allows (Dex's behaviour).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<GrantType>,
    /// `allowedResources` (RFC 8707): the resource URIs this client may ask tokens for; a
    /// requested `resource` becomes the access token's `aud`. Empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_resources: Vec<String>,
    /// `accessTokenFormat`: Dex's shape (default) or RFC 9068's `at+jwt`.
    #[serde(default, skip_serializing_if = "AccessTokenFormat::is_dex")]
    pub access_token_format: AccessTokenFormat,
}

/// The shape of a client's access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenFormat {
    /// Dex's: a JWT with `typ: JWT`, `aud` the client (or the resource asked for).
    #[default]
    Dex,
    /// RFC 9068: `typ: at+jwt`, with `client_id`; `aud` the resource, else the client.
    Rfc9068,
}

impl AccessTokenFormat {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "" | "dex" => Some(Self::Dex),
            "rfc9068" => Some(Self::Rfc9068),
            _ => None,
        }
    }

    pub fn is_dex(&self) -> bool {
        *self == Self::Dex
    }
}

/// A client's `expiry` (seconds): `idTokens`, `accessTokens` (default: its `idTokens`, as in
/// Dex one lifetime covers both), `refreshTokens.validIfNotUsedFor` and
/// `refreshTokens.absoluteLifetime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientExpiry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_valid_if_not_used_for: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_absolute_lifetime: Option<i64>,
}

impl ClientExpiry {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// What is known of a client's secret when its options are checked.
#[derive(Debug, Clone, Copy)]
pub enum ClientSecret<'a> {
    None,
    Clear(&'a str),
    /// Only its hash is kept (clients made through the admin API).
    Hashed,
}

/// A named security profile: a set of requirements switched on together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The FAPI 2.0 Security Profile: pushed requests only, PKCE with S256, the `code`
    /// response type only, `private_key_jwt`, DPoP-bound tokens, codes of at most
    /// [`FAPI2_CODE_LIFETIME`], ES256 signatures.
    Fapi2,
}

/// FAPI 2.0 §5.3.2.1: authorization codes live at most 60 seconds.
pub const FAPI2_CODE_LIFETIME: i64 = 60;

impl Profile {
    pub fn parse(value: &str) -> Option<Self> {
        (value == "fapi2").then_some(Self::Fapi2)
    }
}

impl ClientOptions {
    /// The rules between the options and the client's `secret` and `public`, for the config
    /// and the admin API alike: each problem with the option's key (as in `staticClients`).
    pub fn check(&self, secret: ClientSecret<'_>, public: bool) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let mut problem = |key: &'static str, message: &str| problems.push((key, message.to_string()));
        let has_secret = !matches!(secret, ClientSecret::None);
        let has_keys = self.jwks.is_some() || !self.jwks_uri.is_empty();
        if self.jwks.is_some() && !self.jwks_uri.is_empty() {
            problem("jwks", "`jwks` and `jwksURI` are exclusive; keep only one");
        }
        const METHOD: &str = "tokenEndpointAuthMethod";
        match self.token_endpoint_auth_method {
            Some(ClientAuthMethod::PrivateKeyJwt) if !has_keys => {
                problem(METHOD, "private_key_jwt needs the client's public keys: set `jwks` or `jwksURI`");
            }
            Some(ClientAuthMethod::PrivateKeyJwt) if public => {
                problem(METHOD, "a public client cannot keep a private key; remove `public` or use `none`");
            }
            Some(ClientAuthMethod::ClientSecretBasic) if !has_secret => {
                problem(METHOD, "client_secret_basic needs a `secret`")
            }
            Some(ClientAuthMethod::ClientSecretPost) if !has_secret => {
                problem(METHOD, "client_secret_post needs a `secret`")
            }
            // RFC 7518 §3.2: an HMAC key at least as long as the hash (HS256: 32 bytes).
            Some(ClientAuthMethod::ClientSecretJwt) => match secret {
                ClientSecret::Clear(s) if s.len() >= 32 => {}
                ClientSecret::Hashed => problem(
                    METHOD,
                    "client_secret_jwt needs the secret in clear, and a client of the admin API keeps only its hash; use private_key_jwt",
                ),
                _ => problem(METHOD, "client_secret_jwt needs a `secret` of at least 32 characters"),
            },
            Some(ClientAuthMethod::None) if !public || has_secret => {
                problem(
                    METHOD,
                    "`none` is for public clients without a secret: set `public: true` and remove `secret`",
                );
            }
            _ => {}
        }
        if self.fapi2()
            && (public || self.token_endpoint_auth_method != Some(ClientAuthMethod::PrivateKeyJwt))
        {
            problem(
                "profile",
                "fapi2 needs a confidential client with `tokenEndpointAuthMethod: private_key_jwt` (and its `jwks` or `jwksURI`)",
            );
        }
        for (key, value) in
            [("expiry.idTokens", self.expiry.id_tokens), ("expiry.accessTokens", self.expiry.access_tokens)]
        {
            if value.is_some_and(|v| v < 1) {
                problem(key, "must be at least 1s");
            }
        }
        problems
    }

    pub fn fapi2(&self) -> bool {
        self.profile == Some(Profile::Fapi2)
    }

    /// `/auth` takes only pushed requests from this client.
    pub fn requires_par(&self) -> bool {
        self.require_pushed_authorization_requests || self.fapi2()
    }

    /// Token requests must carry a DPoP proof.
    pub fn requires_dpop(&self) -> bool {
        self.dpop_bound_access_tokens || self.fapi2()
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.is_empty() || self.grant_types.contains(&grant)
    }

    /// The longest an authorization code of this client lives, given the server's.
    pub fn code_lifetime(&self, server: i64) -> i64 {
        if self.fapi2() { server.min(FAPI2_CODE_LIFETIME) } else { server }
    }

    /// Whether `method` may authenticate this client, given whether it has a secret and is
    /// public. Unset, Dex's rule holds: the secret, in either place; `none` for a public
    /// client without a secret.
    pub fn allows(&self, method: ClientAuthMethod, has_secret: bool, public: bool) -> bool {
        match self.token_endpoint_auth_method {
            Some(registered) => registered == method,
            None => match method {
                ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost => has_secret,
                ClientAuthMethod::None => public && !has_secret,
                ClientAuthMethod::ClientSecretJwt | ClientAuthMethod::PrivateKeyJwt => false,
            },
        }
    }
}

/// An inline JWK Set of public signing keys, each one usable to verify.
pub fn parse_jwks(value: &serde_json::Value) -> Result<JwkSet, String> {
    let set: JwkSet = serde_json::from_value(value.clone())
        .map_err(|e| format!("not a JWK Set ({{\"keys\": [...]}}): {e}"))?;
    if set.keys.is_empty() {
        return Err("the JWK Set has no keys".into());
    }
    for (i, key) in set.keys.iter().enumerate() {
        if matches!(key.algorithm, jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_)) {
            return Err(format!("key {i} is a symmetric (oct) key; list public keys only"));
        }
        jsonwebtoken::DecodingKey::from_jwk(key)
            .map_err(|e| format!("key {i} cannot verify signatures: {e}"))?;
    }
    Ok(set)
}

/// A `jwksURI`: https, or http on a loopback address (a client on the same machine).
pub fn check_jwks_uri(uri: &str) -> Result<(), String> {
    let loopback = |url: &url::Url| match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url::Url::parse(uri) {
        Ok(url) if url.scheme() == "https" || (url.scheme() == "http" && loopback(&url)) => Ok(()),
        _ => Err(format!(
            "{uri:?} is not an https URL (http only on a loopback address); write e.g. https://app.example.com/jwks.json"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClientAuthMethod::*;

    #[test]
    fn unset_is_dex_and_set_is_exactly_one_method() {
        let dex = ClientOptions::default();
        assert!(dex.allows(ClientSecretBasic, true, false) && dex.allows(ClientSecretPost, true, false));
        assert!(!dex.allows(None, true, true), "a public client with a secret must present it");
        assert!(dex.allows(None, false, true) && !dex.allows(None, false, false));
        assert!(!dex.allows(PrivateKeyJwt, true, false) && !dex.allows(ClientSecretJwt, true, false));
        let jwt = ClientOptions { token_endpoint_auth_method: Some(PrivateKeyJwt), ..Default::default() };
        for other in [ClientSecretBasic, ClientSecretPost, ClientSecretJwt, None] {
            assert!(!jwt.allows(other, true, false), "{other:?}");
        }
        assert!(jwt.allows(PrivateKeyJwt, false, false));
    }
}
