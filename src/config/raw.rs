//! The file as written: strict serde structs mirroring Dex's YAML keys.
//!
//! Everything here is `deny_unknown_fields`, so a misspelt key fails with its path and line;
//! keys match field names ignoring case, as on Dex (see [`super::keys`]).
//! Values stay close to the text (strings, `Option`s); [`super::build`] turns them into typed
//! values so that every problem can be collected instead of stopping at the first.
//! Keys Dex knows but Tessera does not implement are typed `Option<Value>`: accepted with any
//! content and reported as warnings by the builder.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{ConfigError, MysqlParam, Problem};

/// Parses the YAML text; the first structural error becomes a [`Problem`] with path and line.
pub fn parse(yaml: &str) -> Result<File, ConfigError> {
    let deserializer = super::keys::CaseInsensitive(serde_norway::Deserializer::from_str(yaml));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = match err.path().to_string() {
            p if p == "." || p.is_empty() => "(top level)".to_owned(),
            p => p,
        };
        let inner = err.into_inner();
        let mut message = inner.to_string();
        // serde_norway prefixes its own path ("oauth2: unknown field ..."); ours is fuller.
        if let Some((prefix, rest)) = message.split_once(": ")
            && path.starts_with(prefix)
        {
            message = rest.to_owned();
        }
        if message.contains("unknown field") {
            message.push_str(
                "; check the spelling and indentation (config.example.yaml lists every supported key)",
            );
        } else if message.contains("missing field") {
            message.push_str("; add it (see config.example.yaml)");
        }
        ConfigError { problems: vec![Problem::new(path, message)] }
    })
}

/// Treats an explicit YAML `null` (`key:` with nothing after it) like an absent key, as
/// Go's JSON decoder does.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads a string the way Dex's YAML loader does: an unquoted scalar (`tlsMinVersion: 1.2`,
/// `mode: false`, `port: 5432` where text is expected) becomes its text, and `null` is empty.
fn text<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct TextVisitor;
    impl serde::de::Visitor<'_> for TextVisitor {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
    }
    deserializer.deserialize_any(TextVisitor)
}

/// Reads a whole number that may also be written as a string, so `port: $PG_PORT` works
/// after `$VAR` expansion (which only produces strings). `null` is the default.
fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + serde::de::DeserializeOwned + Default,
{
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(T::default()),
        Value::String(s) if s.trim().is_empty() => Ok(T::default()),
        Value::String(s) => {
            s.trim().parse().map_err(|_| D::Error::custom(format!("expected a whole number, got {s:?}")))
        }
        v @ Value::Number(_) => serde_json::from_value(v.clone())
            .map_err(|_| D::Error::custom(format!("expected a whole number in range, got {v}"))),
        other => Err(D::Error::custom(format!("expected a whole number, got {other}"))),
    }
}

/// A scalar written where a duration is expected: Dex wants strings, but a bare `0` is harmless.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DurationText {
    Text(String),
    Number(serde_json::Number),
}

/// The top level (`cmd/dex/config.go: Config`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct File {
    pub issuer: String,
    pub storage: Storage,
    #[serde(default, deserialize_with = "nullable")]
    pub web: Web,
    #[serde(default, deserialize_with = "nullable")]
    pub telemetry: Telemetry,
    #[serde(default, deserialize_with = "nullable")]
    pub oauth2: OAuth2,
    #[serde(default, deserialize_with = "nullable")]
    pub grpc: Grpc,
    #[serde(default, deserialize_with = "nullable")]
    pub expiry: Expiry,
    #[serde(default, deserialize_with = "nullable")]
    pub logger: Logger,
    #[serde(default, deserialize_with = "nullable")]
    pub frontend: Frontend,
    pub signer: Option<Signer>,
    #[serde(default, deserialize_with = "nullable")]
    pub connectors: Vec<Connector>,
    #[serde(default, deserialize_with = "nullable")]
    pub static_clients: Vec<Client>,
    #[serde(default, rename = "enablePasswordDB", deserialize_with = "nullable")]
    pub enable_password_db: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub static_passwords: Vec<Password>,
    pub sessions: Option<Sessions>,
    /// Tessera's brute-force protection.
    #[serde(default, deserialize_with = "nullable")]
    pub throttle: Throttle,
    /// Dex's multi-factor authentication: not built.
    pub mfa: Option<Value>,
}

/// `storage`: `config` stays JSON until `$VAR`s are expanded and `type` is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub config: Option<Value>,
}
crate::debug_only!(Storage: kind);

/// `storage.config` for `sqlite3`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sqlite {
    #[serde(default, deserialize_with = "text")]
    pub file: String,
}

/// `storage.config` for `postgres` (Dex's `NetworkDB` fields + `ssl`).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Postgres {
    #[serde(default, deserialize_with = "text")]
    pub host: String,
    #[serde(default, deserialize_with = "number")]
    pub port: u16,
    #[serde(default, deserialize_with = "text")]
    pub database: String,
    #[serde(default, deserialize_with = "text")]
    pub user: String,
    #[serde(default, deserialize_with = "text")]
    pub password: String,
    #[serde(default, deserialize_with = "nullable")]
    pub ssl: PostgresSsl,
    #[serde(default, deserialize_with = "number")]
    pub connection_timeout: u64,
    #[serde(default, deserialize_with = "number")]
    pub max_open_conns: u32,
    #[serde(default, deserialize_with = "number")]
    pub max_idle_conns: u32,
    #[serde(default, deserialize_with = "number")]
    pub conn_max_lifetime: u64,
}
crate::debug_only!(Postgres: host, port, database, user);

/// `storage.config` for `mysql` (Dex's `NetworkDB` fields + `ssl`), plus `params`, a Tessera
/// extension (Dex has the field, but only for its tests).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mysql {
    #[serde(default, deserialize_with = "text")]
    pub host: String,
    #[serde(default, deserialize_with = "number")]
    pub port: u16,
    #[serde(default, deserialize_with = "text")]
    pub database: String,
    #[serde(default, deserialize_with = "text")]
    pub user: String,
    #[serde(default, deserialize_with = "text")]
    pub password: String,
    #[serde(default, deserialize_with = "nullable")]
    pub ssl: PostgresSsl,
    #[serde(default, deserialize_with = "number")]
    pub connection_timeout: u64,
    #[serde(default, deserialize_with = "number")]
    pub max_open_conns: u32,
    #[serde(default, deserialize_with = "number")]
    pub max_idle_conns: u32,
    #[serde(default, deserialize_with = "number")]
    pub conn_max_lifetime: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub params: BTreeMap<String, MysqlParam>,
}
crate::debug_only!(Mysql: host, port, database, user, params);

impl<'de> Deserialize<'de> for MysqlParam {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(s.trim().parse().map_or(Self::Text(s), Self::Integer)),
            Value::Number(n) => n
                .as_i64()
                .map(Self::Integer)
                .ok_or_else(|| D::Error::custom(format!("expected a whole number or a string, got {n}"))),
            Value::Bool(b) => Ok(Self::Integer(i64::from(b))),
            _ => Err(D::Error::custom("expected a string, a whole number or a boolean")),
        }
    }
}

/// `ssl` of `postgres` and `mysql` (Dex's `SSL`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PostgresSsl {
    #[serde(default, deserialize_with = "text")]
    pub mode: String,
    #[serde(default, deserialize_with = "text")]
    pub ca_file: String,
    #[serde(default, deserialize_with = "text")]
    pub cert_file: String,
    #[serde(default, deserialize_with = "text")]
    pub key_file: String,
}

/// `web` (`cmd/dex/config.go: Web`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Web {
    #[serde(default, deserialize_with = "text")]
    pub http: String,
    #[serde(default, deserialize_with = "text")]
    pub https: String,
    #[serde(default, deserialize_with = "nullable")]
    pub headers: Headers,
    #[serde(default, deserialize_with = "text")]
    pub tls_cert: String,
    #[serde(default, deserialize_with = "text")]
    pub tls_key: String,
    #[serde(default, deserialize_with = "text")]
    pub tls_min_version: String,
    #[serde(default, deserialize_with = "text")]
    pub tls_max_version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub allowed_origins: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub allowed_headers: Vec<String>,
    /// Tessera's: see `WebConfig::read_header_timeout`.
    pub read_header_timeout: Option<DurationText>,
    /// Dex's `clientRemoteIP`: the header that carries the client's address, and the proxies
    /// trusted to set it.
    #[serde(default, rename = "clientRemoteIP", deserialize_with = "nullable")]
    pub client_remote_ip: ClientRemoteIp,
    /// Tessera's shorthand for `clientRemoteIP.trustedProxies`.
    #[serde(default, deserialize_with = "nullable")]
    pub trusted_proxies: Vec<String>,
}

/// `web.clientRemoteIP` (Dex 2.42).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientRemoteIp {
    #[serde(default, deserialize_with = "text")]
    pub header: String,
    #[serde(default, deserialize_with = "nullable")]
    pub trusted_proxies: Vec<String>,
}

/// Tessera's `throttle`: brute-force protection.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Throttle {
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub login_failures: LoginFailures,
    pub user_code_failures: Option<u32>,
    pub client_auth_failures: Option<u32>,
    pub auth_requests_per_second: Option<u32>,
    pub auth_requests_burst: Option<u32>,
    pub first_delay: Option<DurationText>,
    pub max_delay: Option<DurationText>,
    pub max_account_delay: Option<DurationText>,
    pub forget_after: Option<DurationText>,
}

/// `throttle.loginFailures`: failed password logins allowed before delays start.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoginFailures {
    pub per_account_and_address: Option<u32>,
    pub per_address: Option<u32>,
    pub per_account: Option<u32>,
}

/// `web.headers`: Dex's keys are the header names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Headers {
    #[serde(rename = "Content-Security-Policy", alias = "contentSecurityPolicy")]
    pub content_security_policy: Option<String>,
    #[serde(rename = "X-Frame-Options", alias = "xFrameOptions")]
    pub x_frame_options: Option<String>,
    #[serde(rename = "X-Content-Type-Options", alias = "xContentTypeOptions")]
    pub x_content_type_options: Option<String>,
    #[serde(rename = "X-XSS-Protection", alias = "xXSSProtection")]
    pub x_xss_protection: Option<String>,
    #[serde(rename = "Strict-Transport-Security", alias = "strictTransportSecurity")]
    pub strict_transport_security: Option<String>,
}

/// `grpc` (`cmd/dex/config.go: GRPC`), plus Tessera's `allowRemotePlaintext`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Grpc {
    #[serde(default, deserialize_with = "text")]
    pub addr: String,
    #[serde(default, deserialize_with = "text")]
    pub tls_cert: String,
    #[serde(default, deserialize_with = "text")]
    pub tls_key: String,
    #[serde(default, deserialize_with = "text", rename = "tlsClientCA")]
    pub tls_client_ca: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tls_min_version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tls_max_version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub reflection: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub allow_remote_plaintext: bool,
}

/// `telemetry`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Telemetry {
    #[serde(default, deserialize_with = "text")]
    pub http: String,
    /// Go pprof endpoints: not built.
    pub enable_profiling: Option<Value>,
}

/// `oauth2` (`cmd/dex/config.go: OAuth2`) plus Tessera's `introspection`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OAuth2 {
    #[serde(default, deserialize_with = "nullable")]
    pub grant_types: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub response_types: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub skip_approval_screen: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub always_show_login_screen: bool,
    #[serde(default, deserialize_with = "text")]
    pub password_connector: String,
    #[serde(default, deserialize_with = "nullable")]
    pub pkce: Pkce,
    #[serde(default, deserialize_with = "nullable")]
    pub introspection: Introspection,
    #[serde(default, deserialize_with = "nullable")]
    pub par: Par,
    #[serde(default, deserialize_with = "nullable")]
    pub dpop: Dpop,
}

/// `oauth2.dpop` (RFC 9449). Tessera's own block.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dpop {
    #[serde(default, deserialize_with = "nullable")]
    pub nonces: bool,
}

/// `oauth2.par` (RFC 9126). Tessera's own block.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Par {
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub require_for_all: bool,
    #[serde(rename = "requestURILifetime")]
    pub request_uri_lifetime: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Pkce {
    #[serde(default, deserialize_with = "nullable")]
    pub enforce: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub code_challenge_methods_supported: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Introspection {
    #[serde(default, deserialize_with = "nullable")]
    pub allow_unauthenticated: bool,
    pub revocations_max_age: Option<DurationText>,
    #[serde(default, deserialize_with = "text")]
    pub when_revocations_stale: String,
}

/// `expiry` plus Tessera's `authCodes`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expiry {
    pub signing_keys: Option<DurationText>,
    pub id_tokens: Option<DurationText>,
    pub auth_requests: Option<DurationText>,
    pub device_requests: Option<DurationText>,
    pub auth_codes: Option<DurationText>,
    #[serde(default, deserialize_with = "nullable")]
    pub refresh_tokens: RefreshTokens,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshTokens {
    #[serde(default, deserialize_with = "nullable")]
    pub disable_rotation: bool,
    pub reuse_interval: Option<DurationText>,
    pub absolute_lifetime: Option<DurationText>,
    pub valid_if_not_used_for: Option<DurationText>,
}

/// `logger`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Logger {
    #[serde(default, deserialize_with = "text")]
    pub level: String,
    #[serde(default, deserialize_with = "text")]
    pub format: String,
    /// Dropping attributes from every log line: not built.
    pub exclude_fields: Option<Value>,
    /// Tessera's: where audit events are appended as JSON lines.
    #[serde(default, deserialize_with = "text")]
    pub audit_file: String,
}

/// `frontend` (`server/config.go: WebConfig`; Go matches its untagged fields by name).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frontend {
    #[serde(default, deserialize_with = "text")]
    pub dir: String,
    #[serde(default, rename = "logoURL", deserialize_with = "text")]
    pub logo_url: String,
    #[serde(default, deserialize_with = "text")]
    pub issuer: String,
    #[serde(default, deserialize_with = "text")]
    pub theme: String,
    #[serde(default, deserialize_with = "nullable")]
    pub extra: BTreeMap<String, String>,
}

/// `signer`: `config` stays JSON until `$VAR`s are expanded and `type` is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    #[serde(default, rename = "type", deserialize_with = "text")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub config: Option<Value>,
}
crate::debug_only!(Signer: kind);

/// `signer.config` for `local`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalSigner {
    pub keys_rotation_period: Option<DurationText>,
    #[serde(default, deserialize_with = "text")]
    pub algorithm: String,
}

/// `connectors[]`: `config` stays JSON for the connector to parse.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Connector {
    #[serde(default, rename = "type", deserialize_with = "text")]
    pub kind: String,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub config: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub grant_types: Vec<String>,
}
crate::debug_only!(Connector: kind, id, name);

/// `staticClients[]` (`storage/storage.go: Client`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Client {
    #[serde(default, deserialize_with = "text")]
    pub id: String,
    #[serde(default, deserialize_with = "text")]
    pub id_env: String,
    #[serde(default, deserialize_with = "text")]
    pub secret: String,
    #[serde(default, deserialize_with = "text")]
    pub secret_env: String,
    #[serde(default, rename = "redirectURIs", deserialize_with = "nullable")]
    pub redirect_uris: Vec<String>,
    #[serde(default, rename = "postLogoutRedirectURIs", deserialize_with = "nullable")]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, rename = "backchannelLogoutURI", deserialize_with = "text")]
    pub backchannel_logout_uri: String,
    #[serde(default, deserialize_with = "text")]
    pub refresh_token_lifetime: String,
    #[serde(default, deserialize_with = "nullable")]
    pub trusted_peers: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub public: bool,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default, rename = "logoURL", deserialize_with = "text")]
    pub logo_url: String,
    #[serde(default, deserialize_with = "nullable")]
    pub allowed_connectors: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub client_credentials_claims: Option<ClientCredentialsClaims>,
    #[serde(default, deserialize_with = "nullable")]
    pub require_pushed_authorization_requests: bool,
    #[serde(default, deserialize_with = "text")]
    pub token_endpoint_auth_method: String,
    /// An inline JWK Set (`{"keys": [...]}`), checked when the config is built.
    #[serde(default, deserialize_with = "nullable")]
    pub jwks: Option<Value>,
    #[serde(default, rename = "jwksURI", deserialize_with = "text")]
    pub jwks_uri: String,
    #[serde(default, deserialize_with = "nullable")]
    pub dpop_bound_access_tokens: bool,
    #[serde(default, deserialize_with = "text")]
    pub profile: String,
    #[serde(default, deserialize_with = "nullable")]
    pub expiry: ClientExpiry,
    #[serde(default, deserialize_with = "nullable")]
    pub grant_types: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub allowed_resources: Vec<String>,
    #[serde(default, deserialize_with = "text")]
    pub access_token_format: String,
    /// MFA chain: not built.
    pub mfa_chain: Option<Value>,
    /// SSO sharing between clients: not built.
    pub sso_shared_with: Option<Value>,
}
crate::debug_only!(Client: id, name, public);

/// `staticClients[].expiry`: Tessera's per-client lifetimes (Dex #3557).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientExpiry {
    pub id_tokens: Option<DurationText>,
    pub access_tokens: Option<DurationText>,
    #[serde(default, deserialize_with = "nullable")]
    pub refresh_tokens: ClientRefreshTokens,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientRefreshTokens {
    pub valid_if_not_used_for: Option<DurationText>,
    pub absolute_lifetime: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentialsClaims {
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<String>,
}

/// `staticPasswords[]` (`cmd/dex/config.go: password`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Password {
    #[serde(default, deserialize_with = "text")]
    pub email: String,
    #[serde(default, deserialize_with = "text")]
    pub hash: String,
    #[serde(default, deserialize_with = "text")]
    pub hash_from_env: String,
    #[serde(default, deserialize_with = "text")]
    pub username: String,
    #[serde(default, deserialize_with = "text")]
    pub name: String,
    #[serde(default, deserialize_with = "text")]
    pub preferred_username: String,
    pub email_verified: Option<bool>,
    #[serde(default, rename = "userID", deserialize_with = "text")]
    pub user_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<String>,
}
crate::debug_only!(Password: email, username, user_id);

/// `sessions` (Dex's keys; the last three are not built).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sessions {
    #[serde(default, deserialize_with = "text")]
    pub cookie_name: String,
    pub absolute_lifetime: Option<DurationText>,
    pub valid_if_not_used_for: Option<DurationText>,
    pub remember_me_checked_by_default: Option<Value>,
    pub cookie_encryption_key: Option<Value>,
    pub sso_shared_with_default: Option<Value>,
}
