//! The records Tessera keeps: one struct per entity, as Dex keeps them, plus what Tessera adds
//! (hashed refresh tokens with rotation state, revoked access tokens, browser sessions).
//!
//! Timestamps are Unix seconds. Records are plain data; the rules about them live in `oauth2/`.

use crate::protocol::{DeviceStatus, PkceMethod, RefreshTokenLifetime, ResponseWord};
use crate::types::{ClientId, ConnectorId, Secret, UnixTime};
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

/// A PKCE challenge bound to an auth request, code or device request (RFC 7636). Records
/// hold an `Option<Pkce>`: `None` when the client sent no challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkce {
    pub code_challenge: String,
    pub method: PkceMethod,
}

/// How a record stores its `Option<Pkce>`: always the object `{code_challenge,
/// code_challenge_method}`, both empty for none. It is the shape stored before the method was
/// typed, so rows written by either version read in the other during a rolling upgrade.
mod stored_pkce {
    use super::{Pkce, PkceMethod};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    #[derive(Serialize, Deserialize, Default)]
    struct Wire {
        #[serde(default)]
        code_challenge: String,
        #[serde(default)]
        code_challenge_method: String,
    }

    pub fn serialize<S: Serializer>(pkce: &Option<Pkce>, s: S) -> Result<S::Ok, S::Error> {
        let wire = match pkce {
            Some(p) => Wire {
                code_challenge: p.code_challenge.clone(),
                code_challenge_method: p.method.as_str().into(),
            },
            None => Wire::default(),
        };
        wire.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pkce>, D::Error> {
        let wire = Wire::deserialize(d)?;
        if wire.code_challenge.is_empty() {
            return Ok(None);
        }
        let method = PkceMethod::parse(&wire.code_challenge_method).ok_or_else(|| {
            D::Error::custom(format!("unknown PKCE method {:?}", wire.code_challenge_method))
        })?;
        Ok(Some(Pkce { code_challenge: wire.code_challenge, method }))
    }
}

/// An OAuth2 client, from the config (static) or from storage.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Client {
    pub id: ClientId,
    /// The secret in plain text (static clients, and clients Dex stored); empty for public
    /// clients and for clients that keep only [`Self::secret_hash`].
    pub secret: Secret,
    /// The hash of the secret of a client created through the admin API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<crate::crypto::SecretHash>,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: String,
    /// Dex's `refreshTokenLifetime`.
    #[serde(default)]
    pub refresh_token_lifetime: RefreshTokenLifetime,
    #[serde(default)]
    pub trusted_peers: Vec<ClientId>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub logo_url: String,
    /// Empty means every connector.
    #[serde(default)]
    pub allowed_connectors: Vec<ConnectorId>,
    /// Groups put into client_credentials tokens (Dex's `clientCredentialsClaims.groups`).
    #[serde(default)]
    pub client_credentials_groups: Vec<String>,
    /// Authentication, keys and requirements beyond Dex's record (flattened: their keys sit
    /// beside Dex's in the stored document).
    #[serde(flatten)]
    pub options: crate::client_options::ClientOptions,
}

impl Client {
    /// Whether the client has a secret that a caller must present.
    pub fn has_secret(&self) -> bool {
        !self.secret.is_empty() || self.secret_hash.is_some()
    }
}

/// A pushed authorization request (RFC 9126): the parameters a client posted to `/par`,
/// checked and with the client authenticated, waiting for `/auth` to use them once.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PushedRequest {
    /// The random part of the `request_uri`.
    pub id: String,
    pub client_id: ClientId,
    /// The authorization request's parameters as posted (names and values).
    pub params: std::collections::BTreeMap<String, String>,
    pub expiry: UnixTime,
}

/// A login in progress: created at `/auth`, filled in when the connector returns an identity,
/// consumed when the user approves (or when it expires).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthRequest {
    pub id: String,
    pub client_id: ClientId,
    pub response_types: Vec<ResponseWord>,
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
    pub connector_id: ConnectorId,
    pub connector_data: Option<Vec<u8>>,
    /// When the user authenticated; 0 until `logged_in`.
    pub auth_time: UnixTime,
    #[serde(default, with = "stored_pkce")]
    pub pkce: Option<Pkce>,
    /// Key for the HMAC that binds the approval step to whoever completed the login.
    pub hmac_key: Vec<u8>,
    /// The single sign-on session the login belongs to (the `sid` claim); empty until logged in.
    #[serde(default)]
    pub session_id: String,
    /// `dpop_jkt` (RFC 9449 §10): the code must be redeemed with a DPoP proof of this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// `resource` (RFC 8707): the APIs the tokens are for, checked against the client's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}
crate::debug_only!(AuthRequest: client_id, connector_id, scopes, redirect_uri, logged_in, expiry);

/// An authorization code (RFC 6749 §4.1.2). Codes stay in storage after redemption until they
/// expire, so a replayed code can be detected and the tokens issued from it revoked.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthCode {
    pub id: String,
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub nonce: String,
    pub scopes: Vec<String>,
    pub connector_id: ConnectorId,
    pub connector_data: Option<Vec<u8>>,
    pub claims: Claims,
    pub expiry: UnixTime,
    pub auth_time: UnixTime,
    #[serde(default, with = "stored_pkce")]
    pub pkce: Option<Pkce>,
    /// Set once, atomically, by `redeem_auth_code`.
    pub redeemed_at: Option<UnixTime>,
    /// What was issued from this code, recorded after redemption so a replay can revoke it.
    pub issued: Option<IssuedTokens>,
    /// The single sign-on session (`sid`).
    #[serde(default)]
    pub session_id: String,
    /// From the authorization request's `dpop_jkt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// From the authorization request's `resource`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
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
    /// When the secret was last rotated, in milliseconds since the epoch: the reuse window
    /// (`reuseInterval`) is measured from it at full precision.
    pub rotated_at_ms: i64,
    pub created_at: UnixTime,
    pub last_used: UnixTime,
    /// Hard end of life (`absoluteLifetime`); `None` = never.
    pub expires_at: Option<UnixTime>,
    pub client_id: ClientId,
    pub connector_id: ConnectorId,
    pub connector_data: Option<Vec<u8>>,
    pub claims: Claims,
    pub scopes: Vec<String>,
    pub nonce: String,
    /// The single sign-on session that ends this token, for clients with
    /// `refreshTokenLifetime: session`; empty for standalone tokens.
    pub session_id: String,
    /// When the user authenticated, carried into refreshed ID tokens.
    pub auth_time: UnixTime,
    /// The DPoP key a public client's token is bound to (RFC 9449 §5): every refresh must
    /// prove it.
    pub dpop_jkt: Option<String>,
    /// The client's own `expiry.refreshTokens.validIfNotUsedFor` when it set one (seconds),
    /// kept with the token as its absolute limit is (`expires_at`).
    pub valid_if_not_used_for: Option<i64>,
    /// The resources (RFC 8707) the grant was given for: a refresh keeps them or narrows them.
    pub resources: Vec<String>,
}
crate::debug_only!(RefreshToken: id, client_id, connector_id, scopes, created_at, last_used, expires_at, session_id);

/// A rotation to apply atomically: replace the current secret only if it is still `expected_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRotation {
    pub expected_hash: Vec<u8>,
    pub new_hash: Vec<u8>,
    pub rotation_salt: Vec<u8>,
    pub now: UnixTime,
    /// `now` in milliseconds: the new `rotated_at_ms`.
    pub now_ms: i64,
    /// Updated identity from the connector's refresh, if any.
    pub claims: Claims,
    pub connector_data: Option<Vec<u8>>,
}

/// Per user and connector: the connector data kept for refresh (Dex's `OfflineSessions`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OfflineSession {
    pub user_id: String,
    pub connector_id: ConnectorId,
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
    pub id: ConnectorId,
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
    /// The key that signs after the next rotation, published in the JWKS a whole rotation
    /// period before its first token, so that a verifier's cached JWKS (Envoy, istiod) knows it
    /// by then. Absent in key sets stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upcoming_key: Option<SigningKey>,
    /// Public JWK of `upcoming_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upcoming_key_pub: Option<serde_json::Value>,
    pub next_rotation: UnixTime,
    #[serde(skip)]
    pub version: i64,
}

/// A device authorization request (RFC 8628), keyed by user code.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceRequest {
    pub user_code: String,
    pub device_code: String,
    pub client_id: ClientId,
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
    pub client_id: ClientId,
    pub status: DeviceStatus,
    /// The token response JSON, once complete.
    pub token: String,
    pub expiry: UnixTime,
    pub last_request: UnixTime,
    pub poll_interval_seconds: i64,
    #[serde(default, with = "stored_pkce")]
    pub pkce: Option<Pkce>,
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
    pub connector_id: ConnectorId,
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
    pub consents: std::collections::BTreeMap<ClientId, Vec<String>>,
    /// Clients that received tokens in this session (told of logout over the back channel).
    #[serde(default)]
    pub clients: Vec<ClientId>,
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

/// A back-channel logout still to deliver (OIDC Back-Channel Logout §2.5): kept in storage
/// so that it survives a restart and any replica can retry it. The logout token is signed
/// afresh at each attempt from `sub` and `sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutDelivery {
    pub id: String,
    pub client_id: ClientId,
    /// The client's `backchannelLogoutURI` when the session ended.
    pub uri: String,
    pub sub: String,
    pub sid: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not before this time.
    pub next_attempt: UnixTime,
    /// A replica that claimed it is sending it until this time.
    pub claimed_until: UnixTime,
    /// Given up (and collected) after this time.
    pub expiry: UnixTime,
}

/// Failures counted for one key ([`super::ThrottleStore`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: u64,
    /// When the latest one was counted.
    pub last: UnixTime,
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
    pub failure_counts: u64,
    pub logout_deliveries: u64,
    pub pushed_requests: u64,
    pub jwt_ids: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written before PKCE and the response words were typed still read, and rows written
    /// now keep their shape for the previous version.
    #[test]
    fn auth_codes_keep_their_stored_shape() {
        let old = serde_json::json!({
            "id": "c", "client_id": "app", "redirect_uri": "https://app/cb", "nonce": "", "scopes": [],
            "connector_id": "local", "connector_data": null, "claims": {"user_id": "u", "username": "u"},
            "expiry": 10, "auth_time": 1, "pkce": {"code_challenge": "", "code_challenge_method": ""},
            "redeemed_at": null, "issued": null, "session_id": ""
        });
        let code: AuthCode = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(code.pkce, None);
        assert_eq!(serde_json::to_value(&code).unwrap()["pkce"], old["pkce"]);
        let mut with = old;
        with["pkce"] = serde_json::json!({"code_challenge": "abc", "code_challenge_method": "plain"});
        let code: AuthCode = serde_json::from_value(with.clone()).unwrap();
        assert_eq!(code.pkce, Some(Pkce { code_challenge: "abc".into(), method: PkceMethod::Plain }));
        assert_eq!(serde_json::to_value(&code).unwrap()["pkce"], with["pkce"]);
        with["pkce"]["code_challenge_method"] = "S512".into();
        assert!(serde_json::from_value::<AuthCode>(with).is_err());
    }
}
