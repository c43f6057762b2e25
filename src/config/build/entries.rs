//! Building the list entries: `staticClients[]`, `staticPasswords[]` and `connectors[]`,
//! including the environment lookups Dex does for them (`idEnv`, `secretEnv`,
//! `hashFromEnv`) and `$VAR` expansion in connector configs.

use url::Url;

use super::{Report, expand_config, non_empty, parse_list};
use crate::client_options::{
    AccessTokenFormat, ClientExpiry, ClientOptions, ClientSecret, Profile, check_jwks_uri, parse_jwks,
};
use crate::config::env::EnvLookup;
use crate::config::hash::normalise_hash;
use crate::config::raw;
use crate::config::{ConnectorConfig, GrantType, RefreshTokenLifetime, StaticClient, StaticPassword};
use crate::protocol::ClientAuthMethod;
use crate::types::{ClientId, ConnectorId, Secret};

/// Resolves a `value` / `valueEnv` pair (Dex's `id`/`idEnv`, `secret`/`secretEnv`).
fn value_or_env(
    value: String,
    env_name: String,
    path: &str,
    key: &str,
    env: EnvLookup<'_>,
    report: &mut Report,
) -> String {
    let env_name = env_name.trim();
    if env_name.is_empty() {
        return value;
    }
    if !value.is_empty() {
        report.problem(
            format!("{path}.{key}Env"),
            format!("`{key}` and `{key}Env` are exclusive; keep only one"),
        );
        return value;
    }
    match env(env_name) {
        Some(v) if !v.is_empty() => v,
        _ => {
            report.problem(
                format!("{path}.{key}Env"),
                format!(
                    "environment variable {env_name} is not set or empty; export it or set `{key}` directly"
                ),
            );
            String::new()
        }
    }
}

pub(super) fn build_client(
    c: raw::Client,
    path: &str,
    env: EnvLookup<'_>,
    report: &mut Report,
) -> StaticClient {
    report.unsupported(&format!("{path}.mfaChain"), c.mfa_chain.as_ref());
    report.unsupported(&format!("{path}.ssoSharedWith"), c.sso_shared_with.as_ref());
    let secret = value_or_env(c.secret.clone(), c.secret_env.clone(), path, "secret", env, report);
    let options = client_options(&c, path, report);
    check_client_options(&c, &options, &secret, path, report);
    let id = value_or_env(c.id, c.id_env, path, "id", env, report);
    let refresh_token_lifetime =
        RefreshTokenLifetime::parse(c.refresh_token_lifetime.trim()).unwrap_or_else(|| {
            report.problem(
                format!("{path}.refreshTokenLifetime"),
                format!(
                    "unknown value {:?}; use standalone (the default) or session",
                    c.refresh_token_lifetime.trim()
                ),
            );
            RefreshTokenLifetime::Standalone
        });
    let backchannel_logout_uri = non_empty(c.backchannel_logout_uri).and_then(|uri| {
        match Url::parse(&uri) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.fragment().is_none() => Some(url),
            _ => {
                report.problem(
                    format!("{path}.backchannelLogoutURI"),
                    format!("{uri:?} is not an absolute http(s) URL without fragment; write e.g. https://app.example.com/backchannel-logout"),
                );
                None
            }
        }
    });
    StaticClient {
        id: ClientId::from(id),
        secret: non_empty(secret).map(Secret::new),
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        backchannel_logout_uri,
        refresh_token_lifetime,
        trusted_peers: c.trusted_peers.into_iter().map(ClientId::from).collect(),
        public: c.public,
        name: c.name,
        logo_url: non_empty(c.logo_url),
        allowed_connectors: c.allowed_connectors.into_iter().map(ConnectorId::from).collect(),
        client_credentials_groups: c.client_credentials_claims.map(|c| c.groups).unwrap_or_default(),
        options,
    }
}

pub(super) fn build_password(
    p: raw::Password,
    path: &str,
    env: EnvLookup<'_>,
    report: &mut Report,
) -> StaticPassword {
    let env_name = p.hash_from_env.trim();
    let (hash_text, hash_path) = if !p.hash.trim().is_empty() {
        if !env_name.is_empty() {
            report.warn(
                &format!("{path}.hashFromEnv"),
                "ignored because `hash` is set (as in Dex); remove one of them",
            );
        }
        (Some(p.hash), format!("{path}.hash"))
    } else if !env_name.is_empty() {
        let value = env(env_name).filter(|v| !v.trim().is_empty());
        if value.is_none() {
            report.problem(
                format!("{path}.hashFromEnv"),
                format!(
                    "environment variable {env_name} is not set or empty; export the hash in it or set `hash`"
                ),
            );
        }
        (value, format!("{path}.hashFromEnv"))
    } else {
        report.problem(
            format!("{path}.hash"),
            "no password hash; set `hash` (bcrypt or argon2id) or `hashFromEnv`; generate one with `tessera hash-password`",
        );
        (None, String::new())
    };
    let hash = hash_text
        .map(|text| {
            normalise_hash(&text).unwrap_or_else(|message| {
                report.problem(hash_path, message);
                String::new()
            })
        })
        .unwrap_or_default();
    StaticPassword {
        email: p.email.trim().to_lowercase(),
        hash: Secret::new(hash),
        username: p.username,
        user_id: p.user_id,
        name: p.name,
        preferred_username: p.preferred_username,
        email_verified: p.email_verified,
        groups: p.groups,
    }
}

pub(super) fn build_connector(
    c: raw::Connector,
    path: &str,
    env: EnvLookup<'_>,
    expand: bool,
    report: &mut Report,
) -> ConnectorConfig {
    let config = expand_config(c.config, &format!("{path}.config"), env, expand, report);
    let grant_types = parse_list(
        &c.grant_types,
        &format!("{path}.grantTypes"),
        |g| GrantType::parse(g).filter(|g| *g != GrantType::ClientCredentials),
        "use authorization_code, implicit, password, refresh_token, \
         urn:ietf:params:oauth:grant-type:device_code or urn:ietf:params:oauth:grant-type:token-exchange",
        report,
    );
    ConnectorConfig::new(c.kind, ConnectorId::from(c.id), c.name, config, grant_types, path)
}

/// The options beyond Dex's client record, each parsed here; how they fit together with the
/// client is `check_client_options`'s.
pub(super) fn client_options(c: &raw::Client, path: &str, report: &mut Report) -> ClientOptions {
    let method_text = c.token_endpoint_auth_method.trim();
    let token_endpoint_auth_method = non_empty(method_text.to_string()).and_then(|text| {
        let parsed = ClientAuthMethod::parse(&text);
        if parsed.is_none() {
            let known: Vec<&str> = ClientAuthMethod::ALL.iter().map(|m| m.as_str()).collect();
            report.problem(
                format!("{path}.tokenEndpointAuthMethod"),
                format!("unknown method {text:?}; use one of {}", known.join(", ")),
            );
        }
        parsed
    });
    let jwks = c.jwks.as_ref().and_then(|value| match parse_jwks(value) {
        Ok(set) => Some(set),
        Err(why) => {
            report.problem(format!("{path}.jwks"), why);
            None
        }
    });
    let jwks_uri = non_empty(c.jwks_uri.trim().to_string()).and_then(|uri| match check_jwks_uri(&uri) {
        Ok(()) => Some(uri),
        Err(why) => {
            report.problem(format!("{path}.jwksURI"), why);
            None
        }
    });
    let profile = non_empty(c.profile.trim().to_string()).and_then(|name| {
        let parsed = Profile::parse(&name);
        if parsed.is_none() {
            report.problem(
                format!("{path}.profile"),
                format!("unknown profile {name:?}; the one profile is fapi2"),
            );
        }
        parsed
    });
    ClientOptions {
        token_endpoint_auth_method,
        jwks,
        jwks_uri: jwks_uri.unwrap_or_default(),
        require_pushed_authorization_requests: c.require_pushed_authorization_requests,
        dpop_bound_access_tokens: c.dpop_bound_access_tokens,
        profile,
        expiry: client_expiry(&c.expiry, path, report),
        grant_types: client_grant_types(&c.grant_types, path, report),
        allowed_resources: client_resources(&c.allowed_resources, path, report),
        access_token_format: AccessTokenFormat::parse(c.access_token_format.trim()).unwrap_or_else(|| {
            report.problem(
                format!("{path}.accessTokenFormat"),
                format!(
                    "unknown format {:?}; use dex (the default) or rfc9068",
                    c.access_token_format.trim()
                ),
            );
            AccessTokenFormat::Dex
        }),
    }
}

/// `ClientOptions::check` (shared with the admin API) for a static client, and a warning for
/// keys that nothing uses.
fn check_client_options(
    c: &raw::Client,
    options: &ClientOptions,
    secret: &str,
    path: &str,
    report: &mut Report,
) {
    // A key that did not parse was reported already; do not report it missing too.
    let unparsed_keys = options.jwks.is_none()
        && options.jwks_uri.is_empty()
        && (c.jwks.is_some() || !c.jwks_uri.trim().is_empty());
    let known = if secret.is_empty() { ClientSecret::None } else { ClientSecret::Clear(secret) };
    for (key, message) in options.check(known, c.public) {
        if !(unparsed_keys && key == "tokenEndpointAuthMethod" && message.contains("public keys")) {
            report.problem(format!("{path}.{key}"), message);
        }
    }
    let has_keys = c.jwks.is_some() || !c.jwks_uri.trim().is_empty();
    if has_keys && options.token_endpoint_auth_method != Some(ClientAuthMethod::PrivateKeyJwt) {
        report.warn(&format!("{path}.jwks"), "ignored unless tokenEndpointAuthMethod is private_key_jwt");
    }
}

/// `expiry`: each lifetime at least a second; the refresh limits as in `expiry.refreshTokens`
/// (0 means none).
fn client_expiry(raw: &raw::ClientExpiry, path: &str, report: &mut Report) -> ClientExpiry {
    let mut lifetime = |key: &str, text: &Option<raw::DurationText>| {
        let at = format!("{path}.expiry.{key}");
        let value = text.as_ref().and_then(|t| super::duration(report, &at, t))?;
        if value < std::time::Duration::from_secs(1) {
            report.problem(at, "must be at least 1s");
            return None;
        }
        i64::try_from(value.as_secs()).ok()
    };
    let id_tokens = lifetime("idTokens", &raw.id_tokens);
    let access_tokens = lifetime("accessTokens", &raw.access_tokens);
    let mut limit = |key: &str, text: &Option<raw::DurationText>| {
        let at = format!("{path}.expiry.refreshTokens.{key}");
        let value = text.as_ref().and_then(|t| super::duration(report, &at, t))?;
        (!value.is_zero()).then(|| i64::try_from(value.as_secs()).unwrap_or(i64::MAX))
    };
    ClientExpiry {
        id_tokens,
        access_tokens,
        refresh_valid_if_not_used_for: limit("validIfNotUsedFor", &raw.refresh_tokens.valid_if_not_used_for),
        refresh_absolute_lifetime: limit("absoluteLifetime", &raw.refresh_tokens.absolute_lifetime),
    }
}

/// `allowedResources`: absolute URIs without a fragment (RFC 8707 §2).
fn client_resources(uris: &[String], path: &str, report: &mut Report) -> Vec<String> {
    let mut resources = Vec::new();
    for (i, uri) in uris.iter().enumerate() {
        if crate::oauth2::resource::is_valid(uri) {
            resources.push(uri.clone());
        } else {
            report.problem(
                format!("{path}.allowedResources[{i}]"),
                format!(
                    "{uri:?} is not an absolute URI without a fragment; write e.g. https://api.example.com"
                ),
            );
        }
    }
    resources
}

/// `grantTypes`: names as in `oauth2.grantTypes`.
fn client_grant_types(names: &[String], path: &str, report: &mut Report) -> Vec<GrantType> {
    let mut grants = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match GrantType::parse(name.trim()) {
            Some(grant) => grants.push(grant),
            None => report.problem(
                format!("{path}.grantTypes[{i}]"),
                format!("unknown grant type {name:?}; use the names of oauth2.grantTypes"),
            ),
        }
    }
    grants
}
