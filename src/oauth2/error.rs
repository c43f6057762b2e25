//! OAuth2 errors as values: RFC 6749 §5.2 / §4.1.2.1 codes, OIDC Core §3.1.2.6 codes,
//! RFC 6750 §3.1 for bearer tokens and RFC 8628 §3.5 for device polling. `web::errors` is the
//! one place they become HTTP.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    InvalidToken,
    /// RFC 8628 §3.5: the user has not finished yet; poll again.
    AuthorizationPending,
    /// RFC 8628 §3.5: polled too fast; the interval grew by 5 seconds.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired; start again.
    ExpiredToken,
    /// RFC 8693 §2.2.2: the requested audience is unknown or unwilling.
    InvalidTarget,
    /// RFC 7009 §2.2.1: this kind of token cannot be revoked.
    UnsupportedTokenType,
    /// OIDC Core §3.1.2.6: a `request` object was sent; none is supported.
    RequestNotSupported,
    /// RFC 9449 §5: the DPoP proof is missing where required, or fails a check.
    InvalidDpopProof,
    /// RFC 9449 §8: the proof must carry the nonce the response's `DPoP-Nonce` header gives.
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::InvalidToken => "invalid_token",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::InvalidTarget => "invalid_target",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::RequestNotSupported => "request_not_supported",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }

    /// The HTTP status for this error at the token-style endpoints (RFC 6749 §5.2).
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// An error the client is told about. The description is for the client developer; it
/// never contains secrets or internal causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    /// RFC 6749 §5.2: a failed HTTP Basic authentication answers with `WWW-Authenticate`.
    pub basic_auth_challenge: bool,
    /// `Retry-After` (seconds), when trying again later can succeed.
    pub retry_after: Option<u64>,
    /// Brute-force protection refused the request: `429` instead of the code's status.
    pub too_many_requests: bool,
    /// A DPoP error (RFC 9449): a nonce to use, and at a resource the `DPoP` challenge.
    pub dpop: Option<Box<super::dpop::DpopChallenge>>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            basic_auth_challenge: false,
            retry_after: None,
            too_many_requests: false,
            dpop: None,
        }
    }

    /// Brute-force protection refused the request: `temporarily_unavailable`, answered `429`
    /// with `Retry-After`.
    pub fn throttled(refused: crate::throttle::Throttled) -> Self {
        Self {
            retry_after: Some(refused.retry_after),
            too_many_requests: true,
            ..Self::new(
                ErrorCode::TemporarilyUnavailable,
                format!("Too many failed attempts; retry after {} seconds.", refused.retry_after),
            )
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        Self { basic_auth_challenge: basic, ..Self::new(ErrorCode::InvalidClient, description) }
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, description)
    }

    /// An internal failure: the cause goes to the log (with the request's span), the client
    /// gets a generic `server_error`.
    pub fn server_error(cause: impl fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::ServerError, "Internal server error; see the server log for the request id.")
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

/// How long a client is asked to wait while the database is unavailable.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

impl From<crate::storage::StorageError> for OAuthError {
    fn from(e: crate::storage::StorageError) -> Self {
        match e {
            crate::storage::StorageError::Unavailable(cause) => {
                tracing::warn!(%cause, "storage unavailable; answering 503");
                Self {
                    retry_after: Some(UNAVAILABLE_RETRY_AFTER),
                    ..Self::new(
                        ErrorCode::TemporarilyUnavailable,
                        "The service is temporarily unavailable; retry shortly.",
                    )
                }
            }
            e => Self::server_error(e),
        }
    }
}

impl From<crate::signer::SignerError> for OAuthError {
    fn from(e: crate::signer::SignerError) -> Self {
        Self::server_error(e)
    }
}
