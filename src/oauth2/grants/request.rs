//! The token request, parsed once (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6; RFC 8628 §3.4;
//! RFC 8693 §2.1): the form as sent becomes one [`TokenRequest`] variant per grant, holding
//! exactly the fields that grant needs, checked. Nothing downstream reads the form.
//!
//! The errors keep the order clients see from Dex: the grant type first, then client
//! authentication, then the grant's own parameters. So parsing is two steps: [`TokenForm::grant`]
//! before authentication, [`TokenRequest::parse`] after it.

use super::super::Settings;
use super::super::error::{ErrorCode, OAuthError};
use crate::protocol::{GrantType, TokenType};
use crate::types::{ConnectorId, Secret};
use serde::Deserialize;

/// The token request's form fields as sent. Client credentials are extracted separately
/// (header or body) into [`super::ClientCredentials`].
#[derive(Default, Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// RFC 7523 §2.2 (`client_assertion_type` must be the JWT bearer type).
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<Secret>,
    /// RFC 8628 §3.4.
    pub device_code: Option<Secret>,
    /// `password` grant (RFC 6749 §4.3.2).
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Dex's extension: put into the ID token of the password grant.
    pub nonce: Option<String>,
    /// Dex's extension to RFC 8693: the connector that verifies the subject token.
    pub connector_id: Option<String>,
    /// Token exchange (RFC 8693 §2.1).
    pub subject_token: Option<Secret>,
    pub subject_token_type: Option<String>,
    pub requested_token_type: Option<String>,
    pub audience: Option<String>,
    /// RFC 8707 §2.2: the API the access token is for.
    pub resource: Option<String>,
}
crate::debug_only!(TokenForm: grant_type, redirect_uri, scope, client_id, username, connector_id, subject_token_type, requested_token_type, audience);

/// A token request of one grant, with its parameters checked.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode(CodeRequest),
    RefreshToken(RefreshRequest),
    DeviceCode(DeviceCodeRequest),
    ClientCredentials(ClientCredentialsRequest),
    Password(PasswordRequest),
    TokenExchange(ExchangeRequest),
}

/// RFC 6749 §4.1.3.
pub struct CodeRequest {
    pub code: String,
    /// Empty when the client sent none (it must then have sent none at `/auth` either).
    pub redirect_uri: String,
    pub code_verifier: Option<String>,
    pub resource: Option<String>,
}
crate::debug_only!(CodeRequest: redirect_uri, resource);

/// RFC 6749 §6.
pub struct RefreshRequest {
    pub refresh_token: Secret,
    pub scope: Option<String>,
    pub resource: Option<String>,
}
crate::debug_only!(RefreshRequest: scope, resource);

/// RFC 8628 §3.4 (with Dex's PKCE extension).
pub struct DeviceCodeRequest {
    pub device_code: Secret,
    pub code_verifier: Option<String>,
}
crate::debug_only!(DeviceCodeRequest: device_code);

/// RFC 6749 §4.4.2.
#[derive(Debug)]
pub struct ClientCredentialsRequest {
    pub scope: Option<String>,
    pub resource: Option<String>,
}

/// RFC 6749 §4.3.2, through `oauth2.passwordConnector`.
pub struct PasswordRequest {
    /// The configured `oauth2.passwordConnector`.
    pub connector_id: ConnectorId,
    pub username: String,
    pub password: Secret,
    pub scope: Option<String>,
    /// Empty when the client sent none.
    pub nonce: String,
    pub resource: Option<String>,
}
crate::debug_only!(PasswordRequest: connector_id, username, scope, resource);

/// RFC 8693 §2.1, with Dex's `connector_id`.
pub struct ExchangeRequest {
    pub connector_id: ConnectorId,
    pub subject_token: Secret,
    pub subject_token_type: TokenType,
    /// What to issue: an access token unless the client asks for an ID token.
    pub requested_token_type: TokenType,
    pub scope: Option<String>,
    /// Trimmed; `None` when absent or blank.
    pub audience: Option<String>,
}
crate::debug_only!(ExchangeRequest: connector_id, subject_token_type, requested_token_type, scope, audience);

impl TokenForm {
    /// The grant asked for: present, known and enabled (`oauth2.grantTypes`).
    pub fn grant(&self, settings: &Settings) -> Result<GrantType, OAuthError> {
        let name = required(&self.grant_type, "grant_type")?;
        GrantType::parse(name).filter(|g| settings.grant_enabled(*g)).ok_or_else(|| {
            OAuthError::new(ErrorCode::UnsupportedGrantType, format!("Unsupported grant type {name:?}."))
        })
    }
}

impl TokenRequest {
    /// The parameters of `grant` from the form; the first missing or invalid one is the error.
    pub fn parse(grant: GrantType, form: TokenForm, settings: &Settings) -> Result<Self, OAuthError> {
        // The device flow's tokens exist before its token request; token exchange names its
        // audience otherwise (Dex's `audience`).
        if form.resource.is_some() && matches!(grant, GrantType::DeviceCode | GrantType::TokenExchange) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("resource is not supported with the {} grant.", grant.as_str()),
            ));
        }
        Ok(match grant {
            GrantType::AuthorizationCode => Self::AuthorizationCode(CodeRequest {
                code: required(&form.code, "code")?.to_string(),
                redirect_uri: form.redirect_uri.unwrap_or_default(),
                code_verifier: form.code_verifier,
                resource: form.resource,
            }),
            GrantType::RefreshToken => Self::RefreshToken(RefreshRequest {
                refresh_token: required_secret(form.refresh_token, "refresh_token")?,
                scope: form.scope,
                resource: form.resource,
            }),
            GrantType::DeviceCode => Self::DeviceCode(DeviceCodeRequest {
                device_code: required_secret(form.device_code, "device_code")?,
                code_verifier: form.code_verifier,
            }),
            GrantType::ClientCredentials => Self::ClientCredentials(ClientCredentialsRequest {
                scope: form.scope,
                resource: form.resource,
            }),
            GrantType::Password => {
                let Some(connector_id) = settings.password_connector.clone() else {
                    return Err(OAuthError::new(
                        ErrorCode::UnsupportedGrantType,
                        "The password grant needs oauth2.passwordConnector.",
                    ));
                };
                Self::Password(PasswordRequest {
                    connector_id,
                    username: required(&form.username, "username")?.to_string(),
                    password: required_secret(form.password, "password")?,
                    scope: form.scope,
                    nonce: form.nonce.unwrap_or_default(),
                    resource: form.resource,
                })
            }
            GrantType::TokenExchange => Self::TokenExchange(exchange(form)?),
            // The implicit grant is answered by the authorization endpoint only.
            GrantType::Implicit => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("Unsupported grant type {:?}.", grant.as_str()),
                ));
            }
        })
    }

    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode(_) => GrantType::AuthorizationCode,
            Self::RefreshToken(_) => GrantType::RefreshToken,
            Self::DeviceCode(_) => GrantType::DeviceCode,
            Self::ClientCredentials(_) => GrantType::ClientCredentials,
            Self::Password(_) => GrantType::Password,
            Self::TokenExchange(_) => GrantType::TokenExchange,
        }
    }
}

fn exchange(form: TokenForm) -> Result<ExchangeRequest, OAuthError> {
    let connector_id = ConnectorId::from(required(&form.connector_id, "connector_id")?);
    let subject_token_type = TokenType::parse(required(&form.subject_token_type, "subject_token_type")?)
        .ok_or_else(|| OAuthError::invalid_request("Invalid subject_token_type."))?;
    let subject_token = required_secret(form.subject_token, "subject_token")?;
    let requested_token_type = match form.requested_token_type.as_deref().filter(|t| !t.is_empty()) {
        None => TokenType::AccessToken,
        Some(t) => {
            TokenType::parse(t).ok_or_else(|| OAuthError::invalid_request("Invalid requested_token_type."))?
        }
    };
    Ok(ExchangeRequest {
        connector_id,
        subject_token,
        subject_token_type,
        requested_token_type,
        scope: form.scope,
        audience: form.audience.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
    })
}

fn missing(name: &str) -> OAuthError {
    OAuthError::invalid_request(format!("Required parameter {name:?} is missing."))
}

/// A parameter that must be present and not empty.
pub fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    value.as_deref().filter(|v| !v.is_empty()).ok_or_else(|| missing(name))
}

/// The same for a secret one (refresh token, device code, password, subject token).
fn required_secret(value: Option<Secret>, name: &str) -> Result<Secret, OAuthError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| missing(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::testing::settings;

    fn form_of(pairs: &[(&str, &str)]) -> TokenForm {
        let fields: serde_json::Map<String, serde_json::Value> =
            pairs.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect();
        serde_json::from_value(fields.into()).unwrap()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<TokenRequest, OAuthError> {
        let settings = settings();
        let form = form_of(pairs);
        let grant = form.grant(&settings)?;
        TokenRequest::parse(grant, form, &settings)
    }

    #[test]
    fn each_grant_parses_into_its_variant() {
        let code = parse(&[("grant_type", "authorization_code"), ("code", "c")]).unwrap();
        assert!(
            matches!(&code, TokenRequest::AuthorizationCode(c) if c.code == "c" && c.redirect_uri.is_empty())
        );
        let refresh =
            parse(&[("grant_type", "refresh_token"), ("refresh_token", "r"), ("scope", "openid")]).unwrap();
        assert!(matches!(&refresh, TokenRequest::RefreshToken(r) if r.scope.as_deref() == Some("openid")));
        for request in [code, refresh] {
            let name = request.grant_type().as_str();
            assert!(["authorization_code", "refresh_token"].contains(&name));
        }
    }

    #[test]
    fn errors_name_the_missing_or_wrong_parameter() {
        let e = parse(&[]).unwrap_err();
        assert_eq!(
            (e.code, e.description.as_str()),
            (ErrorCode::InvalidRequest, "Required parameter \"grant_type\" is missing.")
        );
        let e = parse(&[("grant_type", "implicit")]).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrantType);
        let e = parse(&[("grant_type", "magic")]).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrantType);
        let e = parse(&[("grant_type", "authorization_code"), ("code", "")]).unwrap_err();
        assert_eq!(e.description, "Required parameter \"code\" is missing.");
        let e = parse(&[("grant_type", "refresh_token"), ("refresh_token", "")]).unwrap_err();
        assert_eq!(e.description, "Required parameter \"refresh_token\" is missing.");
        let e = parse(&[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")]).unwrap_err();
        assert_eq!(e.description, "Required parameter \"device_code\" is missing.");
        let exchange = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("connector_id", "mock"),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:saml2"),
            ("subject_token", "t"),
        ];
        assert_eq!(parse(&exchange).unwrap_err().description, "Invalid subject_token_type.");
    }

    /// The password grant needs its connector before anything else is checked (Dex's order).
    #[test]
    fn the_password_grant_needs_its_connector() {
        let mut settings = settings();
        settings.password_connector = None;
        let form = form_of(&[("grant_type", "password")]);
        let e = TokenRequest::parse(GrantType::Password, form, &settings).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrantType);
        settings.password_connector = Some("local".into());
        let form = form_of(&[("grant_type", "password"), ("username", "u")]);
        let e = TokenRequest::parse(GrantType::Password, form, &settings).unwrap_err();
        assert_eq!(e.description, "Required parameter \"password\" is missing.");
    }
}
