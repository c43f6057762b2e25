//! Raw file structs → typed [`Config`]: parsing values, resolving the environment and
//! applying Dex's defaults, collecting every problem and warning on the way.

use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::duration::{format_duration, parse_duration};
use super::env::{self, EnvLookup};
use super::raw::{self, DurationText};
use super::{
    Config, ExpiryConfig, FrontendConfig, GrantType, GrpcConfig, IntrospectionConfig, LogFormat, LogLevel,
    LoggerConfig, OAuth2Config, ParConfig, PkceConfig, PkceMethod, Problem, RefreshTokenPolicy, ResponseType,
    SecurityHeaders, SessionsConfig, SignerConfig, SigningAlgorithm, TelemetryConfig, TlsVersion, WebConfig,
};

mod entries;
mod storage;
mod throttle;

use entries::{build_client, build_connector, build_password};

/// The client options of a `staticClients`-shaped entry alone (see
/// `config::client_options_from_yaml`), problems reported under `options`.
pub(super) fn client_options_of(
    c: &raw::Client,
    report: &mut Report,
) -> crate::client_options::ClientOptions {
    entries::client_options(c, "options", report)
}
use storage::build_storage;
use throttle::{build_client_address, build_throttle};

/// Problems and warnings gathered while building.
#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

impl Report {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn warn(&mut self, path: &str, message: impl std::fmt::Display) {
        self.warnings.push(format!("{path}: {message}"));
    }

    /// Warns about a key Dex knows but Tessera ignores, unless its value changes nothing.
    fn unsupported(&mut self, path: &str, value: Option<&Value>) {
        if value.is_some_and(is_meaningful) {
            self.warn(path, "known Dex key not supported yet; ignored");
        }
    }
}

/// Whether a value would change behaviour (`false`, `""`, `[]`, `{}` and `null` do not).
fn is_meaningful(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(true) | Value::Number(_) => true,
    }
}

fn build_grpc(grpc: raw::Grpc, env: EnvLookup<'_>, report: &mut Report) -> GrpcConfig {
    for (key, value) in
        [("grpc.tlsMinVersion", &grpc.tls_min_version), ("grpc.tlsMaxVersion", &grpc.tls_max_version)]
    {
        if !value.is_empty() {
            report.warn(key, "not applied yet; the API accepts TLS 1.2 and 1.3");
        }
    }
    GrpcConfig {
        addr: non_empty(grpc.addr),
        tls_cert: non_empty(grpc.tls_cert).map(PathBuf::from),
        tls_key: non_empty(grpc.tls_key).map(PathBuf::from),
        tls_client_ca: non_empty(grpc.tls_client_ca).map(PathBuf::from),
        reflection: grpc.reflection,
        allow_remote_plaintext: grpc.allow_remote_plaintext,
        connectors_crud: env(crate::admin::connectors::CRUD_ENV)
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

/// Builds the typed config. `None` only when the issuer is unusable (everything else falls
/// back to a placeholder so the remaining problems can still be found).
pub fn build(file: raw::File, env: EnvLookup<'_>, report: &mut Report) -> Option<Config> {
    report.unsupported("mfa", file.mfa.as_ref());

    let issuer = match Url::parse(file.issuer.trim()) {
        Ok(url) => Some(url),
        Err(e) => {
            report.problem(
                "issuer",
                format!(
                    "{:?} is not an absolute URL ({e}); write the public URL clients use, \
                     e.g. https://auth.example.com/dex",
                    file.issuer
                ),
            );
            None
        }
    };
    let expand = env::expand_enabled(env);
    let storage = build_storage(file.storage, env, expand, report);
    let web = build_web(file.web, report);
    let telemetry = TelemetryConfig { http: non_empty(file.telemetry.http) };
    let grpc = build_grpc(file.grpc, env, report);
    report.unsupported("telemetry.enableProfiling", file.telemetry.enable_profiling.as_ref());
    let signing_keys =
        file.expiry.signing_keys.as_ref().and_then(|t| duration(report, "expiry.signingKeys", t));
    let expiry = build_expiry(file.expiry, report);
    let signer = build_signer(file.signer, signing_keys, env, expand, report);
    let logger = build_logger(file.logger, report);
    let oauth2 = build_oauth2(file.oauth2, env, report);
    let static_clients = file
        .static_clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| build_client(c, &format!("staticClients[{i}]"), env, report))
        .collect();
    let static_passwords = file
        .static_passwords
        .into_iter()
        .enumerate()
        .map(|(i, p)| build_password(p, &format!("staticPasswords[{i}]"), env, report))
        .collect();
    let connectors = file
        .connectors
        .into_iter()
        .enumerate()
        .map(|(i, c)| build_connector(c, &format!("connectors[{i}]"), env, expand, report))
        .collect();
    let frontend = build_frontend(file.frontend, env);
    let sessions = build_sessions(file.sessions.unwrap_or_default(), report);
    let throttle = build_throttle(file.throttle, report);

    Some(Config {
        issuer: issuer?,
        storage,
        web,
        telemetry,
        grpc,
        expiry,
        logger,
        oauth2,
        signer,
        static_clients,
        enable_password_db: file.enable_password_db,
        static_passwords,
        connectors,
        frontend,
        sessions,
        throttle,
    })
}

/// Parses a duration; a malformed one is reported and yields `None`.
fn duration(report: &mut Report, path: &str, text: &DurationText) -> Option<Duration> {
    let parsed = match text {
        DurationText::Text(s) => parse_duration(s.trim()).map_err(|e| e.to_string()),
        DurationText::Number(n) if n.as_f64() == Some(0.0) => Ok(Duration::ZERO),
        DurationText::Number(n) => {
            Err(format!("{n} has no unit; write a Go duration string such as \"{n}s\" or \"{n}m\""))
        }
    };
    parsed.map_err(|message| report.problem(path, message)).ok()
}

/// A duration with a default for when it is absent (or malformed, which is reported).
fn duration_or(report: &mut Report, path: &str, text: Option<&DurationText>, default: Duration) -> Duration {
    text.and_then(|t| duration(report, path, t)).unwrap_or(default)
}

/// A limit where 0 (or absent) means "unlimited".
fn limit(report: &mut Report, path: &str, text: Option<&DurationText>) -> Option<Duration> {
    text.and_then(|t| duration(report, path, t)).filter(|d| !d.is_zero())
}

/// Expands `$VAR`s in a section's `config` (when enabled) and warns about unset ones.
fn expand_config(
    value: Option<Value>,
    path: &str,
    env: EnvLookup<'_>,
    expand: bool,
    report: &mut Report,
) -> Value {
    match value {
        None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
        Some(Value::Object(mut map)) => {
            if expand {
                let mut missing = Vec::new();
                env::expand_in_object(&mut map, env, &mut missing);
                missing.dedup();
                for name in missing {
                    report.warn(
                        path,
                        format_args!(
                            "environment variable {name} is not set; ${name} expanded to an empty string"
                        ),
                    );
                }
            }
            Value::Object(map)
        }
        Some(other) => {
            report.problem(
                path,
                format!(
                    "expected a mapping of keys to values, found {other}; indent the keys under `config:`"
                ),
            );
            Value::Object(serde_json::Map::new())
        }
    }
}

/// Deserialises an expanded `config` object, prefixing error paths with `path`.
fn from_config<T: DeserializeOwned + Default>(value: Value, path: &str, report: &mut Report) -> T {
    super::keys::from_value(value).unwrap_or_else(|err| {
        let inner = err.path().to_string();
        let full = if inner == "." { path.to_owned() } else { format!("{path}.{inner}") };
        let mut message = err.into_inner().to_string();
        if message.contains("unknown field") {
            message.push_str("; check the spelling (config.example.yaml lists every supported key)");
        }
        report.problem(full, message);
        T::default()
    })
}

fn tls_version(report: &mut Report, path: &str, value: &str) -> Option<TlsVersion> {
    match value.trim() {
        "" => None,
        "1.2" => Some(TlsVersion::V1_2),
        "1.3" => Some(TlsVersion::V1_3),
        other => {
            report.problem(path, format!("unsupported TLS version {other:?}; use \"1.2\" or \"1.3\""));
            None
        }
    }
}

fn build_web(web: raw::Web, report: &mut Report) -> WebConfig {
    let client_address = build_client_address(web.client_remote_ip, web.trusted_proxies, report);
    let header = |v: Option<String>| v.and_then(non_empty);
    WebConfig {
        http: non_empty(web.http),
        https: non_empty(web.https),
        tls_cert: non_empty(web.tls_cert).map(PathBuf::from),
        tls_key: non_empty(web.tls_key).map(PathBuf::from),
        tls_min_version: tls_version(report, "web.tlsMinVersion", &web.tls_min_version),
        tls_max_version: tls_version(report, "web.tlsMaxVersion", &web.tls_max_version),
        allowed_origins: web.allowed_origins,
        allowed_headers: if web.allowed_headers.is_empty() {
            vec!["Authorization".to_owned()]
        } else {
            web.allowed_headers
        },
        read_header_timeout: read_header_timeout(report, web.read_header_timeout.as_ref()),
        client_address,
        headers: SecurityHeaders {
            content_security_policy: header(web.headers.content_security_policy),
            x_frame_options: header(web.headers.x_frame_options),
            x_content_type_options: header(web.headers.x_content_type_options),
            x_xss_protection: header(web.headers.x_xss_protection),
            strict_transport_security: header(web.headers.strict_transport_security),
        },
    }
}

/// `web.readHeaderTimeout`: default 30s; at least a second, since zero would not mean
/// "unlimited" here but "refuse every connection".
fn read_header_timeout(report: &mut Report, text: Option<&DurationText>) -> Duration {
    const DEFAULT: Duration = Duration::from_secs(30);
    let timeout = duration_or(report, "web.readHeaderTimeout", text, DEFAULT);
    if timeout < Duration::from_secs(1) {
        report.problem("web.readHeaderTimeout", "must be at least 1s (the default is 30s)");
        return DEFAULT;
    }
    timeout
}

fn build_expiry(expiry: raw::Expiry, report: &mut Report) -> ExpiryConfig {
    const HOUR: Duration = Duration::from_secs(3600);
    const MINUTE: Duration = Duration::from_secs(60);
    let rt = &expiry.refresh_tokens;
    ExpiryConfig {
        id_tokens: duration_or(report, "expiry.idTokens", expiry.id_tokens.as_ref(), 24 * HOUR),
        auth_requests: duration_or(report, "expiry.authRequests", expiry.auth_requests.as_ref(), 24 * HOUR),
        device_requests: duration_or(
            report,
            "expiry.deviceRequests",
            expiry.device_requests.as_ref(),
            5 * MINUTE,
        ),
        auth_codes: duration_or(report, "expiry.authCodes", expiry.auth_codes.as_ref(), 10 * MINUTE),
        refresh_tokens: RefreshTokenPolicy {
            reuse_interval: duration_or(
                report,
                "expiry.refreshTokens.reuseInterval",
                rt.reuse_interval.as_ref(),
                Duration::ZERO,
            ),
            valid_if_not_used_for: limit(
                report,
                "expiry.refreshTokens.validIfNotUsedFor",
                rt.valid_if_not_used_for.as_ref(),
            ),
            absolute_lifetime: limit(
                report,
                "expiry.refreshTokens.absoluteLifetime",
                rt.absolute_lifetime.as_ref(),
            ),
            disable_rotation: rt.disable_rotation,
        },
    }
}

fn build_signer(
    signer: Option<raw::Signer>,
    signing_keys: Option<Duration>,
    env: EnvLookup<'_>,
    expand: bool,
    report: &mut Report,
) -> SignerConfig {
    const DEFAULT_ROTATION: Duration = Duration::from_secs(6 * 3600);
    let signer = signer.unwrap_or(raw::Signer { kind: String::new(), config: None });
    let config = expand_config(signer.config, "signer.config", env, expand, report);
    let local: raw::LocalSigner = match signer.kind.as_str() {
        "" | "local" => from_config(config, "signer.config", report),
        "vault" => {
            report
                .problem("signer.type", "Dex's vault signer is not supported by Tessera; use `type: local`");
            raw::LocalSigner::default()
        }
        other => {
            report.problem("signer.type", format!("unknown signer type {other:?}; use `type: local`"));
            raw::LocalSigner::default()
        }
    };
    let rotation = local
        .keys_rotation_period
        .as_ref()
        .and_then(|t| duration(report, "signer.config.keysRotationPeriod", t));
    let keys_rotation_period = match (rotation, signing_keys) {
        (Some(rotation), Some(_)) => {
            report.warn(
                "expiry.signingKeys",
                format_args!(
                    "both expiry.signingKeys and signer.config.keysRotationPeriod are set; using \
                     signer.config.keysRotationPeriod ({}); remove expiry.signingKeys",
                    format_duration(rotation)
                ),
            );
            rotation
        }
        (Some(rotation), None) => rotation,
        (None, Some(keys)) => {
            report.warn(
                "expiry.signingKeys",
                "deprecated (as in Dex); move it to signer.config.keysRotationPeriod",
            );
            keys
        }
        (None, None) => DEFAULT_ROTATION,
    };
    let algorithm = match local.algorithm.trim() {
        "" | "RS256" => SigningAlgorithm::RS256,
        "ES256" => SigningAlgorithm::ES256,
        other => {
            report.problem(
                "signer.config.algorithm",
                format!("unsupported signing algorithm {other:?}; use RS256 (the default) or ES256"),
            );
            SigningAlgorithm::RS256
        }
    };
    SignerConfig { keys_rotation_period, algorithm }
}

fn build_logger(logger: raw::Logger, report: &mut Report) -> LoggerConfig {
    report.unsupported("logger.excludeFields", logger.exclude_fields.as_ref());
    let level = match logger.level.trim().to_ascii_lowercase().as_str() {
        "debug" => LogLevel::Debug,
        "" | "info" => LogLevel::Info,
        "warn" => LogLevel::Warn,
        "error" => LogLevel::Error,
        _ => {
            report.problem(
                "logger.level",
                format!("unknown log level {:?}; use debug, info (the default), warn or error", logger.level),
            );
            LogLevel::Info
        }
    };
    let format = match logger.format.trim().to_ascii_lowercase().as_str() {
        "" | "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        _ => {
            report.problem(
                "logger.format",
                format!("unknown log format {:?}; use text (the default) or json", logger.format),
            );
            LogFormat::Text
        }
    };
    LoggerConfig { level, format, audit_file: non_empty(logger.audit_file).map(PathBuf::from) }
}

/// Parses a list of names, reporting each unknown one at its index.
fn parse_list<T>(
    values: &[String],
    path: &str,
    parse: impl Fn(&str) -> Option<T>,
    hint: &str,
    report: &mut Report,
) -> Vec<T> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let parsed = parse(v.trim());
            if parsed.is_none() {
                report.problem(format!("{path}[{i}]"), format!("unknown value {v:?}; {hint}"));
            }
            parsed
        })
        .collect()
}

const GRANT_HINT: &str = "use authorization_code, implicit, password, refresh_token, client_credentials, \
                          urn:ietf:params:oauth:grant-type:device_code or \
                          urn:ietf:params:oauth:grant-type:token-exchange";

fn build_oauth2(oauth2: raw::OAuth2, env: EnvLookup<'_>, report: &mut Report) -> OAuth2Config {
    let response_types = if oauth2.response_types.is_empty() {
        vec![ResponseType::Code]
    } else {
        parse_list(
            &oauth2.response_types,
            "oauth2.responseTypes",
            ResponseType::parse,
            "use code, token or id_token (or a space-separated combination such as \"code id_token\")",
            report,
        )
    };
    let grant_types = if oauth2.grant_types.is_empty() {
        let mut grants = vec![
            GrantType::AuthorizationCode,
            GrantType::Implicit,
            GrantType::Password,
            GrantType::RefreshToken,
            GrantType::DeviceCode,
            GrantType::TokenExchange,
        ];
        if env::flag(env, "CLIENT_CREDENTIAL_GRANT_ENABLED_BY_DEFAULT", false) {
            grants.push(GrantType::ClientCredentials);
        }
        grants
    } else {
        parse_list(&oauth2.grant_types, "oauth2.grantTypes", GrantType::parse, GRANT_HINT, report)
    };
    let methods = if oauth2.pkce.code_challenge_methods_supported.is_empty() {
        vec![PkceMethod::S256, PkceMethod::Plain]
    } else {
        parse_list(
            &oauth2.pkce.code_challenge_methods_supported,
            "oauth2.pkce.codeChallengeMethodsSupported",
            |m| match m {
                "S256" => Some(PkceMethod::S256),
                "plain" => Some(PkceMethod::Plain),
                _ => None,
            },
            "use S256 or plain (exact case)",
            report,
        )
    };
    OAuth2Config {
        response_types,
        grant_types,
        skip_approval_screen: oauth2.skip_approval_screen,
        always_show_login_screen: oauth2.always_show_login_screen,
        password_connector: non_empty(oauth2.password_connector).map(crate::types::ConnectorId::from),
        pkce: PkceConfig { enforce: oauth2.pkce.enforce, code_challenge_methods_supported: methods },
        introspection: build_introspection(oauth2.introspection, report),
        par: build_par(oauth2.par, report),
        dpop_nonces: oauth2.dpop.nonces,
    }
}

fn build_par(raw: raw::Par, report: &mut Report) -> ParConfig {
    const PATH: &str = "oauth2.par.requestURILifetime";
    let defaults = ParConfig::default();
    let lifetime =
        duration_or(report, PATH, raw.request_uri_lifetime.as_ref(), defaults.request_uri_lifetime);
    // RFC 9126 §2.2: long enough to reach `/auth`, short enough that a leaked URI is useless.
    if lifetime < Duration::from_secs(1) || lifetime > Duration::from_secs(600) {
        report.problem(PATH, "must be between 1s and 10m");
    }
    if raw.require_for_all && raw.enabled == Some(false) {
        report.problem("oauth2.par.requireForAll", "needs PAR enabled (oauth2.par.enabled)");
    }
    ParConfig {
        enabled: raw.enabled.unwrap_or(defaults.enabled),
        require_for_all: raw.require_for_all,
        request_uri_lifetime: lifetime,
    }
}

fn build_introspection(raw: raw::Introspection, report: &mut Report) -> IntrospectionConfig {
    use crate::protocol::OnStale;
    const PATH: &str = "oauth2.introspection.revocationsMaxAge";
    let max_age = duration_or(report, PATH, raw.revocations_max_age.as_ref(), Duration::from_secs(30));
    // The list is read every second; a bound under a few seconds would fail on one slow read.
    if max_age < Duration::from_secs(3) {
        report.problem(PATH, "must be at least 3s (the revoked tokens are read every second)");
    }
    let when_revocations_stale = match raw.when_revocations_stale.trim() {
        "" | "error" => OnStale::Error,
        "inactive" => OnStale::Inactive,
        other => {
            report.problem(
                "oauth2.introspection.whenRevocationsStale",
                format!("{other:?} is not a choice; use error or inactive"),
            );
            OnStale::Error
        }
    };
    IntrospectionConfig {
        allow_unauthenticated: raw.allow_unauthenticated,
        revocations_max_age: max_age,
        when_revocations_stale,
    }
}

fn build_frontend(f: raw::Frontend, env: EnvLookup<'_>) -> FrontendConfig {
    let dir = non_empty(f.dir)
        .or_else(|| env("TESSERA_FRONTEND_DIR").and_then(non_empty))
        .or_else(|| env("DEX_FRONTEND_DIR").and_then(non_empty))
        .map(PathBuf::from);
    FrontendConfig {
        dir,
        logo_url: non_empty(f.logo_url),
        issuer: non_empty(f.issuer),
        theme: non_empty(f.theme).unwrap_or_else(|| "light".to_owned()),
        extra: f.extra,
    }
}

fn build_sessions(s: raw::Sessions, report: &mut Report) -> SessionsConfig {
    report.unsupported("sessions.rememberMeCheckedByDefault", s.remember_me_checked_by_default.as_ref());
    report.unsupported("sessions.cookieEncryptionKey", s.cookie_encryption_key.as_ref());
    report.unsupported("sessions.ssoSharedWithDefault", s.sso_shared_with_default.as_ref());
    SessionsConfig {
        absolute_lifetime: duration_or(
            report,
            "sessions.absoluteLifetime",
            s.absolute_lifetime.as_ref(),
            Duration::from_secs(24 * 3600),
        ),
        valid_if_not_used_for: duration_or(
            report,
            "sessions.validIfNotUsedFor",
            s.valid_if_not_used_for.as_ref(),
            Duration::from_secs(3600),
        ),
        cookie_name: non_empty(s.cookie_name).unwrap_or_else(|| "tessera_session".to_owned()),
    }
}
