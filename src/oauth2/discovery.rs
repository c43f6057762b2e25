//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3), with the fields Dex publishes.

use super::{Settings, client_assertion, paths, scopes};
use crate::protocol::{GrantType, ResponseType};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    pub response_types_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<String>,
    pub scopes_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 8414 §2: for `private_key_jwt` and `client_secret_jwt`; the same methods and
    /// algorithms hold at PAR, introspection and revocation.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 9449 §5.1.
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_session_supported: Option<bool>,
    /// RFC 9207 §3: every authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 9126 §5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
}

/// Every method Tessera takes, `none` (public clients) included; Dex lists only the first two.
const AUTH_METHODS: [&str; 5] =
    ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"];

pub fn metadata(settings: &Settings, signing_alg: &'static str) -> ProviderMetadata {
    // Dex lists the response types as configured, the token grants, and "implicit" when a
    // response type other than `code` is allowed.
    let mut grant_types: Vec<String> = settings.grant_types.iter().map(|g| g.as_str().to_string()).collect();
    if settings.response_types.iter().any(|r| *r != ResponseType::Code) {
        grant_types.push(GrantType::Implicit.as_str().into());
    }
    grant_types.sort();
    let response_types =
        if settings.grant_enabled(GrantType::AuthorizationCode) || !settings.response_types.is_empty() {
            settings.response_types.iter().map(|r| r.as_str().to_string()).collect()
        } else {
            Vec::new()
        };
    ProviderMetadata {
        issuer: settings.issuer.clone(),
        authorization_endpoint: settings.endpoint(paths::AUTH),
        token_endpoint: settings.endpoint(paths::TOKEN),
        jwks_uri: settings.endpoint(paths::KEYS),
        userinfo_endpoint: settings.endpoint(paths::USERINFO),
        device_authorization_endpoint: settings
            .grant_enabled(GrantType::DeviceCode)
            .then(|| settings.endpoint(paths::DEVICE_CODE)),
        introspection_endpoint: Some(settings.endpoint(paths::INTROSPECTION)),
        revocation_endpoint: Some(settings.endpoint(paths::REVOCATION)),
        end_session_endpoint: Some(settings.endpoint(paths::LOGOUT)),
        response_types_supported: response_types,
        grant_types_supported: grant_types,
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: vec![signing_alg],
        code_challenge_methods_supported: settings
            .pkce_methods
            .iter()
            .map(|m| m.as_str().to_string())
            .collect(),
        scopes_supported: scopes::SUPPORTED.to_vec(),
        token_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
        token_endpoint_auth_signing_alg_values_supported: client_assertion::ALGORITHMS.to_vec(),
        introspection_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
        revocation_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
        dpop_signing_alg_values_supported: super::dpop::ALGORITHMS.to_vec(),
        claims_supported: vec![
            "iss",
            "sub",
            "aud",
            "iat",
            "exp",
            "email",
            "email_verified",
            "locale",
            "name",
            "preferred_username",
            "at_hash",
            "groups",
            "federated_claims",
        ],
        backchannel_logout_supported: Some(true),
        backchannel_logout_session_supported: Some(true),
        authorization_response_iss_parameter_supported: true,
        pushed_authorization_request_endpoint: settings.par.enabled.then(|| settings.endpoint(paths::PAR)),
        require_pushed_authorization_requests: settings.par.enabled.then_some(settings.par.require_for_all),
    }
}
