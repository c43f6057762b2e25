//! The protocol vocabularies the config names: response types, grant types and PKCE
//! methods, each with its exact spelling from the specs.

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

/// `oauth2.pkce` (RFC 7636).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceConfig {
    /// `enforce`: require PKCE on every authorization-code flow. Default false.
    pub enforce: bool,
    /// `codeChallengeMethodsSupported`, default `["S256", "plain"]`.
    pub code_challenge_methods_supported: Vec<PkceMethod>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PkceMethod {
    S256,
    Plain,
}

impl PkceMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}
