//! Typed configuration in Dex's `config.yaml` format.
//!
//! A Dex configuration file must work unchanged, so key names, defaults and quirks follow
//! Dex (`cmd/dex/config.go`, `cmd/dex/serve.go`, `server/config.go`). Loading happens in
//! three steps, and every problem found carries its YAML path and a hint on how to fix it:
//!
//! 1. **Parse** (`raw`): the YAML is deserialised into strict "file" structs
//!    (`deny_unknown_fields` everywhere). A key Dex does not know is an error naming the key,
//!    its path and its line. Keys Dex knows but Tessera does not implement (MFA,
//!    `telemetry.enableProfiling`, ...) are accepted and reported as warnings. The parse stops at
//!    the first structural error, since nothing after it can be trusted.
//! 2. **Build** (`build`): raw values become typed ones — durations, enums, URLs,
//!    environment lookups (`idEnv`, `secretEnv`, `hashFromEnv`), `$VAR` expansion in
//!    `storage.config`, `signer.config` and `connectors[].config`, hash normalisation and
//!    Dex's defaults. Every problem is collected.
//! 3. **Validate** ([`Config::validate`]): cross-field rules (duplicate ids, listeners,
//!    TLS, redirect URIs, references between sections). Every problem is collected.
//!
//! The result is either a [`Loaded`] config with warnings, or a [`ConfigError`] listing
//! every problem at once. Tessera's own additions (`expiry.authCodes`,
//! `oauth2.introspection`, the `sessions` defaults) are marked as such on their fields.

mod build;
mod connectors;
mod duration;
mod env;
pub mod hash;
mod keys;
mod raw;
mod throttle;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::types::{ClientId, ConnectorId, Secret};

pub use crate::protocol::{GrantType, PkceMethod, RefreshTokenLifetime, ResponseType};
pub use connectors::{ConnectorSettings, DEX_CONNECTOR_TYPES};
pub use duration::{DurationError, format_duration, parse_duration};
pub use env::EnvLookup;
pub use keys::from_value;
pub use throttle::{ClientAddressConfig, ForwardedHeader, ThrottleConfig};

/// The whole configuration, typed and with defaults applied.
#[derive(Debug, Clone)]
pub struct Config {
    /// `issuer`: the canonical URL clients use; its path is the route prefix.
    pub issuer: Url,
    pub storage: StorageConfig,
    pub web: WebConfig,
    pub telemetry: TelemetryConfig,
    pub grpc: GrpcConfig,
    pub expiry: ExpiryConfig,
    pub logger: LoggerConfig,
    pub oauth2: OAuth2Config,
    pub signer: SignerConfig,
    pub static_clients: Vec<StaticClient>,
    /// `enablePasswordDB`: adds the built-in `local` connector backed by password records.
    pub enable_password_db: bool,
    pub static_passwords: Vec<StaticPassword>,
    pub connectors: Vec<ConnectorConfig>,
    pub frontend: FrontendConfig,
    pub sessions: SessionsConfig,
    /// Tessera's brute-force protection.
    pub throttle: ThrottleConfig,
}

impl Config {
    /// The issuer's path without a trailing slash: `"/dex"` for `http://host/dex/`, `""` for
    /// a root issuer. Every route is mounted under it.
    pub fn issuer_path(&self) -> String {
        self.issuer.path().trim_end_matches('/').to_owned()
    }

    /// The refresh-token policy (`expiry.refreshTokens`).
    pub fn refresh_tokens(&self) -> &RefreshTokenPolicy {
        &self.expiry.refresh_tokens
    }

    /// Every connector id a login can use: the configured ones, plus `local` when the
    /// password database is enabled.
    pub fn connector_ids(&self) -> impl Iterator<Item = &str> {
        self.connectors
            .iter()
            .map(|c| c.id.as_str())
            .chain(self.enable_password_db.then_some(LOCAL_CONNECTOR_ID))
    }
}

/// The id (and type) of the built-in password-database connector, as in Dex.
pub const LOCAL_CONNECTOR_ID: &str = "local";

/// `storage`: where state lives. Dex's `etcd` and `kubernetes` are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// `type: memory`; lost on restart.
    Memory,
    /// `type: sqlite3`.
    Sqlite3(SqliteConfig),
    /// `type: postgres`.
    Postgres(PostgresConfig),
    /// `type: mysql` (MySQL 8 or MariaDB 10.5+).
    Mysql(MysqlConfig),
}

/// `storage.config` for `sqlite3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// `file`: a path, or `:memory:`.
    pub file: String,
}

/// `storage.config` for `postgres` (Dex's `NetworkDB` + `ssl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// `host`; may carry the port (`db:5432`), which then wins over `port`, as in Dex.
    /// A path starting with `/` is a Unix socket directory. Default `localhost`.
    pub host: String,
    /// `port`, default 5432.
    pub port: u16,
    /// `database`; empty lets the server pick (the user name).
    pub database: String,
    pub user: String,
    pub password: Secret,
    pub ssl: PostgresSsl,
    /// `connectionTimeout` in seconds; `None` (0) waits forever, as in Dex.
    pub connection_timeout: Option<Duration>,
    /// `maxOpenConns`, default 5.
    pub max_open_conns: u32,
    /// `maxIdleConns`, default 5.
    pub max_idle_conns: u32,
    /// `connMaxLifetime` in seconds; `None` (0) keeps connections forever.
    pub conn_max_lifetime: Option<Duration>,
}

/// `storage.config.ssl` for `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSsl {
    /// `mode`, default `verify-full` (Dex assumes the strictest mode).
    pub mode: PostgresSslMode,
    /// `caFile`: roots to verify the server with.
    pub ca_file: Option<PathBuf>,
    /// `certFile` / `keyFile`: client certificate authentication.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresSslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// `storage.config` for `mysql` (Dex's `NetworkDB` + `ssl`, and Tessera's `params`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlConfig {
    /// `host`: a host name or address, `host:port` (the port then wins over `port`), or a Unix
    /// socket path starting with `/`. Default `127.0.0.1`, as Dex's driver.
    pub host: String,
    /// `port`, default 3306.
    pub port: u16,
    /// `database`: required.
    pub database: String,
    /// `user`; empty means `root`.
    pub user: String,
    pub password: Secret,
    pub ssl: MysqlSsl,
    /// `connectionTimeout` in seconds; `None` (0) means 30 s.
    pub connection_timeout: Option<Duration>,
    /// `maxOpenConns`, default 5 (Dex leaves MySQL's pool unbounded).
    pub max_open_conns: u32,
    /// `maxIdleConns`: accepted, not applied (idle connections close after 10 minutes).
    pub max_idle_conns: u32,
    /// `connMaxLifetime` in seconds; `None` (0) keeps connections forever. (Dex ignores it
    /// for MySQL.)
    pub conn_max_lifetime: Option<Duration>,
    /// `params` (Tessera's extension): session variables set on every new connection,
    /// `SET SESSION name = value`.
    pub params: Vec<(String, MysqlParam)>,
}

/// `storage.config.ssl` for `mysql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlSsl {
    /// `mode`; with any of the files below it is [`MysqlSslMode::Verify`], as in Dex.
    pub mode: MysqlSslMode,
    /// `caFile`: roots to verify the server with (besides the web PKI roots).
    pub ca_file: Option<PathBuf>,
    /// `certFile` / `keyFile`: client certificate authentication.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// The `tls` values of Dex's MySQL driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MysqlSslMode {
    /// `false`: no TLS.
    Disabled,
    /// `preferred`: TLS if the server offers it, without verifying its certificate.
    Preferred,
    /// `skip-verify`: TLS without verifying the server's certificate.
    SkipVerify,
    /// `true` (the default): TLS, verifying the certificate and the host name.
    Verify,
}

/// A value of `storage.config.params`: a whole number (also when written as a string, e.g.
/// after `$VAR` expansion: MySQL refuses text for a numeric variable; a boolean is 1 or 0),
/// or other text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MysqlParam {
    Text(String),
    Integer(i64),
}

/// `web`: the public HTTP(S) listener.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebConfig {
    /// `http`: `host:port` to serve plain HTTP on.
    pub http: Option<String>,
    /// `https`: `host:port` to serve HTTPS on; needs `tlsCert` and `tlsKey`.
    pub https: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `tlsMinVersion`; `None` means TLS 1.2.
    pub tls_min_version: Option<TlsVersion>,
    /// `tlsMaxVersion`; `None` means the newest supported.
    pub tls_max_version: Option<TlsVersion>,
    /// `allowedOrigins`: CORS origins for discovery, token, keys and userinfo; `*` allows
    /// any; empty disables CORS.
    pub allowed_origins: Vec<String>,
    /// `allowedHeaders`: CORS request headers; default `["Authorization"]` as in Dex.
    pub allowed_headers: Vec<String>,
    /// `headers`: security headers added to every response.
    pub headers: SecurityHeaders,
    /// Tessera's `readHeaderTimeout` (default 30s): how long a client may take to send a
    /// request's headers, counted from when the connection opens or its previous response
    /// ends, so it also closes idle keep-alive connections (see `server`).
    pub read_header_timeout: Duration,
    /// `clientRemoteIP` / `trustedProxies`: whose address a request comes from.
    pub client_address: ClientAddressConfig,
}

/// A TLS protocol version allowed in `tlsMinVersion`/`tlsMaxVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// `"1.2"`
    V1_2,
    /// `"1.3"`
    V1_3,
}

/// `web.headers`. Dex spells the keys as the header names (`X-Frame-Options: DENY`);
/// camelCase spellings (`xFrameOptions`) are accepted too. Unset headers are not sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityHeaders {
    pub content_security_policy: Option<String>,
    pub x_frame_options: Option<String>,
    pub x_content_type_options: Option<String>,
    pub x_xss_protection: Option<String>,
    pub strict_transport_security: Option<String>,
}

impl SecurityHeaders {
    /// The configured headers as `(name, value)` pairs, in a fixed order.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("Content-Security-Policy", &self.content_security_policy),
            ("X-Frame-Options", &self.x_frame_options),
            ("X-Content-Type-Options", &self.x_content_type_options),
            ("X-XSS-Protection", &self.x_xss_protection),
            ("Strict-Transport-Security", &self.strict_transport_security),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
        .collect()
    }
}

/// `grpc`: Dex's admin API (`api/v2`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrpcConfig {
    /// `addr`: `host:port`; `None` disables the API.
    pub addr: Option<String>,
    /// `tlsCert`/`tlsKey`: serve over TLS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `tlsClientCA`: require a client certificate signed by this CA (mutual TLS).
    pub tls_client_ca: Option<PathBuf>,
    /// `reflection`: serve gRPC server reflection (v1), for tools such as grpcurl.
    pub reflection: bool,
    /// Tessera's `allowRemotePlaintext`: serve without TLS on an address other than
    /// loopback. Off by default: the API changes clients and passwords, and without TLS
    /// anyone who can reach the port can.
    pub allow_remote_plaintext: bool,
    /// `DEX_API_CONNECTORS_CRUD=true` in the environment, as Dex reads it: connectors may be
    /// created, changed and deleted through the API.
    pub connectors_crud: bool,
}

impl GrpcConfig {
    pub fn tls(&self) -> bool {
        self.tls_cert.is_some()
    }
}

/// `telemetry`: metrics and health endpoints on a separate listener.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryConfig {
    /// `http`: `host:port`; `None` disables the telemetry listener.
    pub http: Option<String>,
}

/// `expiry`: lifetimes. Signing-key rotation lives in [`SignerConfig`] (see there for how
/// Dex's deprecated `expiry.signingKeys` is reconciled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryConfig {
    /// `idTokens`, default 24h (also the access-token lifetime, as in Dex).
    pub id_tokens: Duration,
    /// `authRequests`, default 24h: how long a login may take.
    pub auth_requests: Duration,
    /// `deviceRequests`, default 5m.
    pub device_requests: Duration,
    /// `authCodes`, default 10m. Tessera's own key (Dex hard-codes 30 minutes).
    pub auth_codes: Duration,
    pub refresh_tokens: RefreshTokenPolicy,
}

/// `expiry.refreshTokens`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefreshTokenPolicy {
    /// `reuseInterval`: how long a just-rotated token is still accepted (to survive
    /// retries). Default 0 (no reuse), which is what Dex does when the key is absent.
    pub reuse_interval: Duration,
    /// `validIfNotUsedFor`: idle limit; `None` (0 or absent) is unlimited.
    pub valid_if_not_used_for: Option<Duration>,
    /// `absoluteLifetime`: limit since the original login; `None` (0 or absent) is unlimited.
    pub absolute_lifetime: Option<Duration>,
    /// `disableRotation`: keep the same refresh token on every use. Default false.
    pub disable_rotation: bool,
}

/// `logger`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoggerConfig {
    /// `level`: `debug`, `info` (default), `warn` or `error` (any case, as Go's slog).
    pub level: LogLevel,
    /// `format`: `text` (default) or `json`.
    pub format: LogFormat,
    /// Tessera's `auditFile`: audit events are also appended there, one JSON object a line.
    /// They always go to the log too, under the target `tessera::audit`.
    pub audit_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `oauth2`: protocol options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Config {
    /// `responseTypes`, default `["code"]`. Dex also accepts the hybrid combinations.
    pub response_types: Vec<ResponseType>,
    /// `grantTypes`: the grants allowed. Default: Dex's set — `authorization_code`,
    /// `implicit`, `password`, `refresh_token`, device code and token exchange, plus
    /// `client_credentials` when `DEX_CLIENT_CREDENTIAL_GRANT_ENABLED_BY_DEFAULT` (or the
    /// `TESSERA_` spelling) is true. See [`OAuth2Config::effective_grant_types`].
    pub grant_types: Vec<GrantType>,
    /// `skipApprovalScreen`, default false.
    pub skip_approval_screen: bool,
    /// `alwaysShowLoginScreen`, default false.
    pub always_show_login_screen: bool,
    /// `passwordConnector`: the connector that checks the password grant; `None` disables
    /// that grant.
    pub password_connector: Option<ConnectorId>,
    pub pkce: PkceConfig,
    pub introspection: IntrospectionConfig,
    pub par: ParConfig,
    /// `oauth2.dpop.nonces` (default false): DPoP proofs must carry a nonce we issued
    /// (RFC 9449 §8), which bounds how long a proof made in advance can be used.
    pub dpop_nonces: bool,
}

/// `oauth2.par`: pushed authorization requests (RFC 9126). Tessera's own block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParConfig {
    /// `enabled` (default true): the `/par` endpoint exists and `/auth` takes `request_uri`.
    pub enabled: bool,
    /// `requireForAll` (default false): `/auth` takes only pushed requests, from every client
    /// (per client: `requirePushedAuthorizationRequests`).
    pub require_for_all: bool,
    /// `requestURILifetime` (default 60s, at most 10m): how long a `request_uri` may wait
    /// for its one use.
    pub request_uri_lifetime: Duration,
}

impl Default for ParConfig {
    fn default() -> Self {
        Self { enabled: true, require_for_all: false, request_uri_lifetime: Duration::from_secs(60) }
    }
}

impl OAuth2Config {
    /// The grants the server actually advertises and accepts, as Dex computes them:
    /// `implicit` only when a response type includes `token`, `password` only with a
    /// `passwordConnector`, then narrowed to `grantTypes`. Sorted by name.
    pub fn effective_grant_types(&self) -> Vec<GrantType> {
        let mut grants: Vec<GrantType> = GrantType::ALL
            .into_iter()
            .filter(|g| match g {
                GrantType::Implicit => self.response_types.iter().any(|r| r.includes_token()),
                GrantType::Password => self.password_connector.is_some(),
                _ => true,
            })
            .filter(|g| self.grant_types.contains(g))
            .collect();
        grants.sort_by_key(|g| g.as_str());
        grants
    }
}

/// `oauth2.introspection` (RFC 7662). Tessera's own block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntrospectionConfig {
    /// `allowUnauthenticated`: let anyone introspect without client authentication.
    /// Default false.
    pub allow_unauthenticated: bool,
    /// `revocationsMaxAge` (default 30s): when the revoked-token list could not be read from
    /// storage for longer, access tokens are no longer trusted as unrevoked (at introspection
    /// and `/userinfo`).
    pub revocations_max_age: Duration,
    /// `whenRevocationsStale`: `error` (default; `503 temporarily_unavailable`) or
    /// `inactive` (`active: false`, `invalid_token` at `/userinfo`).
    pub when_revocations_stale: crate::protocol::OnStale,
}

/// `signer`: how tokens are signed. Only Dex's `local` signer exists (keys in storage,
/// rotated); `vault` is refused.
///
/// `keys_rotation_period` comes from `signer.config.keysRotationPeriod`; when that is
/// absent, from Dex's deprecated `expiry.signingKeys`; else 6h. When both are set the
/// signer's value wins and a warning says so, as Dex does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignerConfig {
    pub keys_rotation_period: Duration,
    /// `algorithm`: for newly generated keys; default RS256.
    pub algorithm: SigningAlgorithm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    #[default]
    RS256,
    ES256,
}

impl SigningAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
        }
    }
}

/// One `staticClients[]` entry, with `idEnv`/`secretEnv` already resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticClient {
    /// `id`, or the value of the variable named by `idEnv`.
    pub id: ClientId,
    /// `secret`, or the value of the variable named by `secretEnv`; `None` for public
    /// clients.
    pub secret: Option<Secret>,
    /// `redirectURIs`: absolute URIs without fragment, or the device callback path.
    pub redirect_uris: Vec<String>,
    /// `postLogoutRedirectURIs` (OIDC RP-Initiated Logout §2).
    pub post_logout_redirect_uris: Vec<String>,
    /// `backchannelLogoutURI` (OIDC Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<Url>,
    /// `refreshTokenLifetime`: `standalone` (default) or `session`.
    pub refresh_token_lifetime: RefreshTokenLifetime,
    /// `trustedPeers`: clients allowed to mint tokens for this one.
    pub trusted_peers: Vec<ClientId>,
    /// `public`: no secret; native and single-page apps.
    pub public: bool,
    /// `name`: shown on the approval screen. Required, as in Dex.
    pub name: String,
    /// `logoURL`.
    pub logo_url: Option<String>,
    /// `allowedConnectors`: empty means every connector.
    pub allowed_connectors: Vec<ConnectorId>,
    /// `clientCredentialsClaims.groups`: groups put into client_credentials tokens.
    pub client_credentials_groups: Vec<String>,
    /// `tokenEndpointAuthMethod`, `jwks`, `jwksURI`, `requirePushedAuthorizationRequests`.
    pub options: crate::client_options::ClientOptions,
}

/// One `staticPasswords[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPassword {
    /// `email`, lower-cased (emails compare case-insensitively, as in Dex).
    pub email: String,
    /// `hash` (or the variable named by `hashFromEnv`): a bcrypt or argon2id PHC string,
    /// base64 already decoded.
    pub hash: Secret,
    /// `username`: display name; not used to log in.
    pub username: String,
    /// `userID`: the stable subject. Required.
    pub user_id: String,
    /// `name`: the `name` claim; empty means use `username`, as in Dex.
    pub name: String,
    /// `preferredUsername`: the `preferred_username` claim.
    pub preferred_username: String,
    /// `emailVerified`; `None` means verified, as in Dex.
    pub email_verified: Option<bool>,
    pub groups: Vec<String>,
}

/// One `connectors[]` entry (or a connector kept in storage).
#[derive(Clone)]
pub struct ConnectorConfig {
    /// `type`: one of Dex's connector types (`oidc`, `ldap`, `github`, ...), as written.
    pub kind: String,
    pub id: ConnectorId,
    pub name: String,
    /// `config` as JSON, `$VAR`s expanded; an empty object when absent. What the connector
    /// opens from is [`Self::settings`]; this is the text as given.
    pub config: serde_json::Value,
    /// `config` typed by `kind`, or why it is not valid for it (the connector is then
    /// skipped at start, as a connector that fails to open; `check-config` reports it).
    pub settings: Result<ConnectorSettings, Problem>,
    /// `grantTypes`: grants this connector may serve; empty means all.
    pub grant_types: Vec<GrantType>,
}
crate::debug_only!(ConnectorConfig: kind, id, name, grant_types);

impl ConnectorConfig {
    /// An entry with its `config` typed; problems are reported at `at` (a YAML path such as
    /// `connectors[2]`). A `type` Dex does not know parses as unknown (validation reports
    /// it as a typo).
    pub fn new(
        kind: String,
        id: ConnectorId,
        name: String,
        config: serde_json::Value,
        grant_types: Vec<GrantType>,
        at: &str,
    ) -> Self {
        let settings =
            ConnectorSettings::parse(&kind, config.clone(), at).unwrap_or(Ok(ConnectorSettings::Unknown));
        Self { kind, id, name, config, settings, grant_types }
    }
}

impl PartialEq for ConnectorConfig {
    /// The typed settings follow from `kind` and `config`.
    fn eq(&self, other: &Self) -> bool {
        (&self.kind, &self.id, &self.name, &self.config, &self.grant_types)
            == (&other.kind, &other.id, &other.name, &other.config, &other.grant_types)
    }
}

/// `frontend`: the look of the login pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendConfig {
    /// `dir`: templates and static assets to use instead of the built-in ones; falls back
    /// to `TESSERA_FRONTEND_DIR` / `DEX_FRONTEND_DIR` as Dex does.
    pub dir: Option<PathBuf>,
    /// `logoURL`; `None` means the theme's logo.
    pub logo_url: Option<String>,
    /// `issuer`: the product name shown on pages; `None` means the default.
    pub issuer: Option<String>,
    /// `theme`: `light` (default), `dark` or `auto`, or a directory under `dir/themes`.
    pub theme: String,
    /// `extra`: free values passed to the templates.
    pub extra: BTreeMap<String, String>,
}

/// `sessions`: the browser login session. Dex's keys with Tessera's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionsConfig {
    /// `absoluteLifetime`, default 24h.
    pub absolute_lifetime: Duration,
    /// `validIfNotUsedFor`, default 1h; at most `absoluteLifetime`.
    pub valid_if_not_used_for: Duration,
    /// `cookieName`, default `tessera_session` (Dex uses `dex_session`).
    pub cookie_name: String,
}

/// A loaded configuration and the warnings worth logging at start-up.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Keys Dex knows that Tessera ignores, deprecated spellings, unset `$VAR`s...
    pub warnings: Vec<String>,
}

/// One thing wrong with the file, at a YAML path such as `staticClients[1].secret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in a configuration. `Display` prints one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl ConfigError {
    fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { problems: vec![Problem::new(path, message)] }
    }
}

/// Values from the command line that replace the file's before it is validated, as Dex's
/// `serve` flags do (Dex's Helm chart gives the listeners only as flags, with no `web:` key).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--web-http-addr`: `web.http`.
    pub web_http: Option<String>,
    /// `--web-https-addr`: `web.https`.
    pub web_https: Option<String>,
    /// `--telemetry-addr`: `telemetry.http`.
    pub telemetry_http: Option<String>,
    /// `--grpc-addr`: `grpc.addr`.
    pub grpc_addr: Option<String>,
}

impl Overrides {
    fn apply(&self, config: &mut Config) {
        if let Some(addr) = &self.web_http {
            config.web.http = Some(addr.clone());
        }
        if let Some(addr) = &self.web_https {
            config.web.https = Some(addr.clone());
        }
        if let Some(addr) = &self.telemetry_http {
            config.telemetry.http = Some(addr.clone());
        }
        if let Some(addr) = &self.grpc_addr {
            config.grpc.addr = Some(addr.clone());
        }
    }
}

/// Reads and loads a configuration file with the process environment.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    load_file_with(path, &Overrides::default())
}

/// [`load_file`], with command-line values applied before validation.
pub fn load_file_with(path: &Path, overrides: &Overrides) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::single(
            path.display().to_string(),
            format!("cannot read the configuration file: {e}; check the path and permissions"),
        )
    })?;
    load(&text, &env::process_env, overrides)
}

/// Loads a configuration from YAML text with the process environment.
pub fn load_str(yaml: &str) -> Result<Loaded, ConfigError> {
    load_str_with_env(yaml, &env::process_env)
}

/// The keys of a `staticClients` entry that are client options (`ClientOptions`), as they are
/// spelled there.
pub const CLIENT_OPTION_KEYS: [&str; 10] = [
    "tokenEndpointAuthMethod",
    "jwks",
    "jwksURI",
    "requirePushedAuthorizationRequests",
    "dpopBoundAccessTokens",
    "allowedResources",
    "accessTokenFormat",
    "expiry",
    "grantTypes",
    "profile",
];

/// Client options written as in a `staticClients` entry (YAML or JSON) and nothing else, for
/// `tessera admin clients --options FILE`: parsed as the config parses them; how they fit the
/// client is checked by the server.
pub fn client_options_from_yaml(text: &str) -> Result<crate::client_options::ClientOptions, String> {
    let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    let Some(mapping) = value.as_mapping() else {
        return Err(
            "expected a mapping of client options, e.g. `tokenEndpointAuthMethod: private_key_jwt`".into()
        );
    };
    for key in mapping.keys() {
        let name = key.as_str().unwrap_or_default();
        if !CLIENT_OPTION_KEYS.contains(&name) {
            return Err(format!(
                "{name:?} is not a client option; the options are {}",
                CLIENT_OPTION_KEYS.join(", ")
            ));
        }
    }
    let raw: raw::Client = serde_norway::from_value(value).map_err(|e| e.to_string())?;
    let mut report = build::Report::default();
    let options = build::client_options_of(&raw, &mut report);
    match report.problems.first() {
        Some(problem) => Err(problem.to_string()),
        None => Ok(options),
    }
}

/// Loads a configuration from YAML text, reading variables through `env` (for tests, which
/// must not mutate the process environment).
pub fn load_str_with_env(yaml: &str, env: EnvLookup<'_>) -> Result<Loaded, ConfigError> {
    load(yaml, env, &Overrides::default())
}

/// Parse, build, apply the overrides, validate.
fn load(yaml: &str, env: EnvLookup<'_>, overrides: &Overrides) -> Result<Loaded, ConfigError> {
    let file = raw::parse(yaml)?;
    let mut report = build::Report::default();
    let mut config = build::build(file, env, &mut report);
    if let Some(config) = &mut config {
        overrides.apply(config);
    }
    if let Some(config) = &config {
        report.problems.extend(config.validate());
        report.warnings.extend(config.warnings());
    }
    match config {
        Some(config) if report.problems.is_empty() => Ok(Loaded { config, warnings: report.warnings }),
        _ => Err(ConfigError { problems: report.problems }),
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
