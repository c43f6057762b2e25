//! The protocol's vocabulary, typed once for every layer: response types, grant types, PKCE
//! methods, refresh-token lifetime policies and device-flow states, each with its exact
//! spelling from the specs (and Dex). Config parses into these, records store them, the domain
//! matches on them; a protocol word is never compared as a string past this module.

use serde::{Deserialize, Serialize};

/// An OAuth 2.0 / OIDC `response_type` value (space-separated words, any order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseType {
    Code,
    Token,
    IdToken,
    CodeIdToken,
    CodeToken,
    IdTokenToken,
    CodeIdTokenToken,
}

impl ResponseType {
    /// Parses a value such as `"code"` or `"id_token code"`.
    pub fn parse(value: &str) -> Option<Self> {
        let mut words: Vec<&str> = value.split_whitespace().collect();
        words.sort_unstable();
        words.dedup();
        Some(match words.as_slice() {
            ["code"] => Self::Code,
            ["token"] => Self::Token,
            ["id_token"] => Self::IdToken,
            ["code", "id_token"] => Self::CodeIdToken,
            ["code", "token"] => Self::CodeToken,
            ["id_token", "token"] => Self::IdTokenToken,
            ["code", "id_token", "token"] => Self::CodeIdTokenToken,
            _ => return None,
        })
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Token => "token",
            Self::IdToken => "id_token",
            Self::CodeIdToken => "code id_token",
            Self::CodeToken => "code token",
            Self::IdTokenToken => "id_token token",
            Self::CodeIdTokenToken => "code id_token token",
        }
    }

    /// Whether this response type returns an access token from the authorization endpoint
    /// (the implicit grant, RFC 6749 §4.2).
    pub fn includes_token(self) -> bool {
        matches!(self, Self::Token | Self::CodeToken | Self::IdTokenToken | Self::CodeIdTokenToken)
    }

    /// The response type of one word.
    pub fn of_word(word: ResponseWord) -> Self {
        match word {
            ResponseWord::Code => Self::Code,
            ResponseWord::Token => Self::Token,
            ResponseWord::IdToken => Self::IdToken,
        }
    }
}

/// One word of a requested `response_type` (OAuth 2.0 Multiple Response Types §3): what an
/// auth request keeps, in the order the client sent them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseWord {
    Code,
    Token,
    IdToken,
}

impl ResponseWord {
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "code" => Self::Code,
            "token" => Self::Token,
            "id_token" => Self::IdToken,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Token => "token",
            Self::IdToken => "id_token",
        }
    }
}

/// Whether the words answer in the URI fragment (everything but a plain `code`,
/// OAuth 2.0 Multiple Response Types §5).
pub fn uses_fragment(words: &[ResponseWord]) -> bool {
    words.iter().any(|w| *w != ResponseWord::Code)
}

/// A `grant_type` Dex knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    Implicit,
    Password,
    RefreshToken,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628).
    DeviceCode,
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693).
    TokenExchange,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 7] = [
        Self::AuthorizationCode,
        Self::Implicit,
        Self::Password,
        Self::RefreshToken,
        Self::DeviceCode,
        Self::TokenExchange,
        Self::ClientCredentials,
    ];

    /// The grants the token endpoint implements; `oauth2.grantTypes` selects among them
    /// (`implicit` is answered by the authorization endpoint).
    pub const TOKEN_ENDPOINT: [GrantType; 6] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::DeviceCode,
        Self::ClientCredentials,
        Self::Password,
        Self::TokenExchange,
    ];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::Implicit => "implicit",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            Self::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

impl Serialize for GrantType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for GrantType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown grant type {text:?}")))
    }
}

/// A token type identifier of RFC 8693 §3, for the token types Tessera exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    AccessToken,
    IdToken,
}

impl TokenType {
    pub fn parse(value: &str) -> Option<Self> {
        [Self::AccessToken, Self::IdToken].into_iter().find(|t| t.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            Self::IdToken => "urn:ietf:params:oauth:token-type:id_token",
        }
    }
}

/// A `code_challenge_method` (RFC 7636 §4.3), spelled as the RFC spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PkceMethod {
    S256,
    #[serde(rename = "plain")]
    Plain,
}

impl PkceMethod {
    pub fn parse(value: &str) -> Option<Self> {
        [Self::S256, Self::Plain].into_iter().find(|m| m.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}

/// How a client authenticates at the token endpoint and the other back-channel endpoints
/// (`token_endpoint_auth_method`, OIDC Core §9 and RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// The secret in HTTP Basic (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// The secret in the form body.
    ClientSecretPost,
    /// A JWT signed with the secret (HMAC), RFC 7523 §2.2.
    ClientSecretJwt,
    /// A JWT signed with the client's private key, its public keys registered (`jwks`,
    /// `jwksURI`), RFC 7523 §2.2.
    PrivateKeyJwt,
    /// A public client: it sends only its `client_id`.
    None,
}

impl ClientAuthMethod {
    pub const ALL: [Self; 5] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::ClientSecretJwt,
        Self::PrivateKeyJwt,
        Self::None,
    ];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    /// The client proves itself with a signed JWT (`client_assertion`).
    pub fn uses_assertion(self) -> bool {
        matches!(self, Self::ClientSecretJwt | Self::PrivateKeyJwt)
    }
}

/// A client's `refreshTokenLifetime` (Dex): whether its refresh tokens outlive the login
/// session that issued them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefreshTokenLifetime {
    /// The token lives out its expiry whatever happens to the login session. Records written
    /// before this was typed keep `""` for it.
    #[default]
    #[serde(alias = "")]
    Standalone,
    /// The token ends with the session that issued it.
    Session,
}

impl RefreshTokenLifetime {
    /// `standalone`, `session`, or empty for the default (standalone).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "" | "standalone" => Some(Self::Standalone),
            "session" => Some(Self::Session),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standalone => "standalone",
            Self::Session => "session",
        }
    }
}

/// Where a device flow stands (RFC 8628 §3.5): what polling the token endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceStatus {
    /// Waiting for the user.
    #[default]
    Pending,
    /// The user approved; the token response is stored.
    Complete,
    /// The user declined.
    Denied,
}

impl DeviceStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Complete => "complete",
            Self::Denied => "denied",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records keep these words as JSON; the spelling on disk is the protocol's.
    #[test]
    fn stored_spellings_are_the_protocol_words() {
        assert_eq!(serde_json::to_string(&PkceMethod::Plain).unwrap(), "\"plain\"");
        assert_eq!(serde_json::to_string(&PkceMethod::S256).unwrap(), "\"S256\"");
        assert_eq!(serde_json::to_string(&ResponseWord::IdToken).unwrap(), "\"id_token\"");
        assert_eq!(serde_json::to_string(&DeviceStatus::Complete).unwrap(), "\"complete\"");
        assert_eq!(serde_json::to_string(&RefreshTokenLifetime::Session).unwrap(), "\"session\"");
        let old: RefreshTokenLifetime = serde_json::from_str("\"\"").unwrap();
        assert_eq!(old, RefreshTokenLifetime::Standalone);
        for m in [PkceMethod::S256, PkceMethod::Plain] {
            assert_eq!(PkceMethod::parse(m.as_str()), Some(m));
        }
        for w in [ResponseWord::Code, ResponseWord::Token, ResponseWord::IdToken] {
            assert_eq!(ResponseWord::parse(w.as_str()), Some(w));
        }
    }

    /// Every grant Dex knows is implemented: `implicit` by the authorization endpoint, the
    /// rest by the token endpoint.
    #[test]
    fn every_grant_is_implemented_somewhere() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::TOKEN_ENDPOINT.contains(&g), g != GrantType::Implicit, "{g:?}");
        }
    }
}

/// What an access token gets while the revoked-token list is stale
/// (`oauth2.introspection.whenRevocationsStale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnStale {
    /// `error`: `temporarily_unavailable` (`503`); the resource server knows to retry.
    #[default]
    Error,
    /// `inactive`: `invalid_token`; introspection answers `active: false`.
    Inactive,
}
