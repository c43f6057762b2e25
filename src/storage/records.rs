//! The records Tessera keeps: one struct per entity, as Dex keeps them, plus what Tessera adds
//! (hashed refresh tokens with rotation state, revoked access tokens, browser sessions).
//!
//! Timestamps are Unix seconds. Records are plain data; the rules about them live in `oauth2/`.

use crate::types::{Secret, UnixTime};
use serde::{Deserialize, Serialize};

/// What a connector told us about a user. The same shape as Dex's `storage.Claims`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Claims {
    pub user_id: String,
    pub username: String,
    #[serde(default)]
    pub preferred_username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A PKCE challenge bound to an auth request, code or device request (RFC 7636).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Pkce {
    /// Empty when the client sent no challenge.
    pub code_challenge: String,
    /// `S256` or `plain`; empty when there is no challenge.
    pub code_challenge_method: String,
}

/// An OAuth2 client, from the config (static) or from storage.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    /// Empty for public clients.
    pub secret: Secret,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: String,
    /// `""`/`standalone` or `session` (Dex's `refreshTokenLifetime`).
    #[serde(default)]
    pub refresh_token_lifetime: String,
    #[serde(default)]
    pub trusted_peers: Vec<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub logo_url: String,
    /// Empty means every connector.
    #[serde(default)]
    pub allowed_connectors: Vec<String>,
    /// Groups put into client_credentials tokens (Dex's `clientCredentialsClaims.groups`).
    #[serde(default)]
    pub client_credentials_groups: Vec<String>,
}

/// A login in progress: created at `/auth`, filled in when the connector returns an identity,
/// consumed when the user approves (or when it expires).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthRequest {
    pub id: String,
    pub client_id: String,
    pub response_types: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub nonce: String,
    pub state: String,
    /// `prompt=consent` was asked for.
    pub force_approval_prompt: bool,
    /// The raw `prompt` parameter (space separated).
    pub prompt: String,
    /// `max_age` in seconds; `None` when absent.
    pub max_age: Option<i64>,
    pub expiry: UnixTime,
    pub logged_in: bool,
    pub claims: Claims,
    pub connector_id: String,
    pub connector_data: Option<Vec<u8>>,
    /// When the user authenticated; 0 until `logged_in`.
    pub auth_time: UnixTime,
    pub pkce: Pkce,
    /// Key for the HMAC that binds the approval step to whoever completed the login.
    pub hmac_key: Vec<u8>,
    /// The single sign-on session the login belongs to (the `sid` claim); empty until logged in.
    #[serde(default)]
    pub session_id: String,
}
crate::debug_only!(AuthRequest: client_id, connector_id, scopes, redirect_uri, logged_in, expiry);

/// An authorization code (RFC 6749 §4.1.2). Codes stay in storage after redemption until they
/// expire, so a replayed code can be detected and the tokens issued from it revoked.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthCode {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub nonce: String,
    pub scopes: Vec<String>,
    pub connector_id: String,
    pub connector_data: Option<Vec<u8>>,
    pub claims: Claims,
    pub expiry: UnixTime,
    pub auth_time: UnixTime,
    pub pkce: Pkce,
    /// Set once, atomically, by `redeem_auth_code`.
    pub redeemed_at: Option<UnixTime>,
    /// What was issued from this code, recorded after redemption so a replay can revoke it.
    pub issued: Option<IssuedTokens>,
    /// The single sign-on session (`sid`).
    #[serde(default)]
    pub session_id: String,
}
crate::debug_only!(AuthCode: client_id, connector_id, scopes, redirect_uri, expiry, redeemed_at);

/// The tokens issued from one code, remembered for replay revocation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IssuedTokens {
    /// `jti` of the access token.
    pub access_token_id: String,
    pub access_token_expiry: UnixTime,
    /// The refresh token family, when one was issued.
    pub refresh_token_id: Option<String>,
}

/// The outcome of [`super::AuthCodeStore::redeem_auth_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// First redemption: the caller may issue tokens.
    Fresh(AuthCode),
    /// The code was redeemed before: a replay (RFC 6749 §4.1.2).
    Replayed(AuthCode),
    NotFound,
}

/// One refresh token family. Rotation keeps the id and replaces the secret; the client holds
/// `{id}.{secret}` and storage holds only hashes of secrets.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefreshToken {
    pub id: String,
    /// SHA-256 of the current secret.
    pub token_hash: Vec<u8>,
    /// SHA-256 of the secret the last rotation replaced; accepted within `reuseInterval`.
    pub obsolete_hash: Option<Vec<u8>>,
    /// Salt of the last rotation: the current secret is HMAC(previous secret, salt), so a
    /// client presenting the previous secret within `reuseInterval` gets the same current one.
    pub rotation_salt: Vec<u8>,
    pub rotated_at: UnixTime,
    pub created_at: UnixTime,
    pub last_used: UnixTime,
    /// Hard end of life (`absoluteLifetime`); `None` = never.
    pub expires_at: Option<UnixTime>,
    pub client_id: String,
    pub connector_id: String,
    pub connector_data: Option<Vec<u8>>,
    pub claims: Claims,
    pub scopes: Vec<String>,
    pub nonce: String,
    /// The single sign-on session that ends this token, for clients with
    /// `refreshTokenLifetime: session`; empty for standalone tokens.
    pub session_id: String,
    /// When the user authenticated, carried into refreshed ID tokens.
    pub auth_time: UnixTime,
}
crate::debug_only!(RefreshToken: id, client_id, connector_id, scopes, created_at, last_used, expires_at, session_id);

/// A rotation to apply atomically: replace the current secret only if it is still `expected_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRotation {
    pub expected_hash: Vec<u8>,
    pub new_hash: Vec<u8>,
    pub rotation_salt: Vec<u8>,
    pub now: UnixTime,
    /// Updated identity from the connector's refresh, if any.
    pub claims: Claims,
    pub connector_data: Option<Vec<u8>>,
}

/// Per user and connector: the connector data kept for refresh (Dex's `OfflineSessions`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OfflineSession {
    pub user_id: String,
    pub connector_id: String,
    pub connector_data: Option<Vec<u8>>,
}

/// A local user of the password database (`enablePasswordDB`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Password {
    /// Stored lower-cased: emails compare case-insensitively, as in Dex.
    pub email: String,
    /// bcrypt or argon2id PHC string.
    pub hash: Secret,
    pub username: String,
    pub user_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub preferred_username: String,
    /// Dex treats a missing value as verified.
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A connector's stored configuration (Dex's `storage.Connector`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Connector {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub resource_version: String,
    /// The connector's `config` object as JSON.
    pub config: serde_json::Value,
    #[serde(default)]
    pub grant_types: Vec<String>,
}

/// A signing key pair in storage. The private part is PKCS#8 DER.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    pub private_pkcs8: Vec<u8>,
}
crate::debug_only!(SigningKey: kid, alg);

/// A public key kept in the JWKS after its private half was retired.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VerificationKey {
    /// The public JWK as JSON.
    pub jwk: serde_json::Value,
    /// Drop from the JWKS after this (every token it signed has expired).
    pub expiry: UnixTime,
}

/// The key set. `version` increases on every swap (compare-and-swap).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Keys {
    pub signing_key: Option<SigningKey>,
    /// Public JWK of `signing_key`.
    pub signing_key_pub: Option<serde_json::Value>,
    pub verification_keys: Vec<VerificationKey>,
    pub next_rotation: UnixTime,
    #[serde(skip)]
    pub version: i64,
}

/// A device authorization request (RFC 8628), keyed by user code.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceRequest {
    pub user_code: String,
    pub device_code: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    pub expiry: UnixTime,
}
crate::debug_only!(DeviceRequest: client_id, scopes, expiry);

/// The polling state of a device flow, keyed by device code.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceToken {
    pub device_code: String,
    /// The client that asked for the device code; only it may poll for the tokens.
    #[serde(default)]
    pub client_id: String,
    /// `pending`, `complete`, `denied`.
    pub status: String,
    /// The token response JSON, once complete.
    pub token: String,
    pub expiry: UnixTime,
    pub last_request: UnixTime,
    pub poll_interval_seconds: i64,
    pub pkce: Pkce,
}
crate::debug_only!(DeviceToken: client_id, status, expiry, last_request, poll_interval_seconds);

/// A browser session record (tower-sessions), opaque to storage.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct WebSession {
    pub id: String,
    pub data: Vec<u8>,
    pub expiry: UnixTime,
}
crate::debug_only!(WebSession: expiry);

/// A single sign-on session: who logged in, when, and what they allowed. Its id is the `sid`
/// claim; the browser holds it in its (separate, secret) session cookie.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthSession {
    pub id: String,
    pub connector_id: String,
    pub claims: Claims,
    pub connector_data: Option<Vec<u8>>,
    /// When the user authenticated (the `auth_time` claim).
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub last_activity: UnixTime,
    /// `sessions.absoluteLifetime` after the login.
    pub absolute_expiry: UnixTime,
    /// `sessions.validIfNotUsedFor` after the last use.
    pub idle_expiry: UnixTime,
    /// Client id → the scopes the user approved for it in this session.
    #[serde(default)]
    pub consents: std::collections::BTreeMap<String, Vec<String>>,
    /// Clients that received tokens in this session (told of logout over the back channel).
    #[serde(default)]
    pub clients: Vec<String>,
}
crate::debug_only!(AuthSession: id, connector_id, auth_time, created_at, last_activity, absolute_expiry, idle_expiry, clients);

impl AuthSession {
    /// The session ends at the earlier of its two expiries.
    pub fn expiry(&self) -> UnixTime {
        self.absolute_expiry.min(self.idle_expiry)
    }

    pub fn is_live(&self, now: UnixTime) -> bool {
        now < self.expiry()
    }
}

/// How many expired records one garbage collection removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GcResult {
    pub auth_requests: u64,
    pub auth_codes: u64,
    pub device_requests: u64,
    pub device_tokens: u64,
    pub refresh_tokens: u64,
    pub web_sessions: u64,
    pub revoked_tokens: u64,
    pub auth_sessions: u64,
    pub saml_assertions: u64,
}
