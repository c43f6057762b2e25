//! The OAuth2 / OpenID Connect protocol domain: every protocol decision lives here, none in
//! `web/`. Functions take typed requests and `now`, and return typed results or an
//! [`OAuthError`].

pub mod access_tokens;
pub mod authorize;
pub mod client_assertion;
pub mod client_auth;
pub mod client_keys;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod grants;
pub mod introspection;
pub mod par;
pub mod paths;
pub mod pkce;
pub mod redirect;
pub mod resource;
pub mod revocation;
pub mod scopes;
pub mod subject;
#[cfg(test)]
pub(crate) mod testing;
pub mod tokens;
pub mod userinfo;

pub use error::{ErrorCode, OAuthError};

use crate::protocol::{GrantType, PkceMethod, ResponseType};

/// Refresh token rules (`expiry.refreshTokens`), in seconds unless named otherwise.
#[derive(Debug, Clone)]
pub struct RefreshSettings {
    /// `reuseInterval` in milliseconds: the window is compared at full precision, as Dex does.
    pub reuse_interval_ms: i64,
    /// `None` = no idle limit.
    pub valid_if_not_used_for: Option<i64>,
    /// `None` = no absolute limit.
    pub absolute_lifetime: Option<i64>,
    pub disable_rotation: bool,
}

/// The protocol settings, taken from the config once at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The issuer URL without a trailing slash.
    pub issuer: String,
    /// Allowed `response_type` values (`code`, `token`, `id_token`).
    pub response_types: Vec<ResponseType>,
    /// Grants the token endpoint accepts (`oauth2.grantTypes`), of
    /// [`GrantType::TOKEN_ENDPOINT`].
    pub grant_types: Vec<GrantType>,
    pub skip_approval: bool,
    pub always_show_login: bool,
    /// `oauth2.passwordConnector`: the connector the password grant logs users in with.
    pub password_connector: Option<crate::types::ConnectorId>,
    /// `oauth2.introspection.allowUnauthenticated`: introspection without client auth.
    pub introspection_allow_unauthenticated: bool,
    pub pkce_enforce: bool,
    pub pkce_methods: Vec<PkceMethod>,
    pub id_token_lifetime: i64,
    /// The longest any client's ID or access token lives (clients may override
    /// `expiry.idTokens`): how long signing keys and revocations must outlive issuance.
    pub max_token_lifetime: i64,
    pub auth_request_lifetime: i64,
    pub auth_code_lifetime: i64,
    /// How long a device code and its user code stay valid (`expiry.deviceRequests`).
    pub device_request_lifetime: i64,
    pub refresh: RefreshSettings,
    pub par: ParSettings,
}

/// Pushed authorization requests (RFC 9126): `oauth2.par`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParSettings {
    pub enabled: bool,
    /// `/auth` takes only pushed requests, from every client.
    pub require_for_all: bool,
    /// Seconds a `request_uri` stays usable.
    pub lifetime: i64,
}

/// How long one client's tokens live, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub id: i64,
    pub access: i64,
}

impl Settings {
    /// The server's lifetimes with the client's own `expiry` over them; a client's access
    /// tokens follow its ID tokens unless it sets `accessTokens`, as the server's do in Dex.
    pub fn lifetimes(&self, client: &crate::storage::Client) -> Lifetimes {
        let own = client.options.expiry;
        Lifetimes {
            id: own.id_tokens.unwrap_or(self.id_token_lifetime),
            access: own.access_tokens.or(own.id_tokens).unwrap_or(self.id_token_lifetime),
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    pub fn device_callback_uri(&self) -> String {
        self.endpoint(paths::DEVICE_CALLBACK)
    }

    pub fn grant_enabled(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}
