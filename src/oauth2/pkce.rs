//! PKCE (RFC 7636): checking a `code_verifier` against the stored challenge.

use super::error::OAuthError;
use crate::crypto::{base64url, constant_time_eq, sha256};
use crate::protocol::PkceMethod;
use crate::storage::Pkce;

/// RFC 7636 §4.1: 43 to 128 characters from the unreserved set.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A challenge has the same syntax as a verifier (an S256 challenge is 43 characters).
pub fn is_valid_challenge(challenge: &str) -> bool {
    is_valid_verifier(challenge)
}

/// The challenge a request carries (`/auth` or the device authorization request), checked
/// against the configured methods; `None` when it carries none.
pub fn parse_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
    supported: &[PkceMethod],
) -> Result<Option<Pkce>, OAuthError> {
    let challenge = challenge.unwrap_or_default();
    let method = method.unwrap_or_default();
    if challenge.is_empty() {
        if !method.is_empty() {
            return Err(OAuthError::invalid_request("code_challenge_method without code_challenge."));
        }
        return Ok(None);
    }
    // RFC 7636 §4.3: the method defaults to plain.
    let method = if method.is_empty() { PkceMethod::Plain.as_str() } else { method };
    let Some(method) = PkceMethod::parse(method).filter(|m| supported.contains(m)) else {
        return Err(OAuthError::invalid_request(format!("Unsupported PKCE challenge method {method:?}.")));
    };
    if !is_valid_challenge(challenge) {
        return Err(OAuthError::invalid_request("code_challenge must be 43 to 128 unreserved characters."));
    }
    Ok(Some(Pkce { code_challenge: challenge.to_string(), method }))
}

/// RFC 7636 §4.6 at the token endpoint: a verifier exactly when a challenge was sent, and it
/// must match.
pub fn check(pkce: Option<&Pkce>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (pkce, verifier.filter(|v| !v.is_empty())) {
        (None, None) => Ok(()),
        (None, Some(_)) => {
            Err(OAuthError::invalid_grant("No PKCE flow started; cannot check code_verifier."))
        }
        (Some(_), None) => Err(OAuthError::invalid_grant("Expecting parameter code_verifier in PKCE flow.")),
        (Some(pkce), Some(v)) if verify(pkce, v) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant("Invalid code_verifier.")),
    }
}

/// Whether `verifier` answers the challenge (RFC 7636 §4.6), compared in constant time.
pub fn verify(pkce: &Pkce, verifier: &str) -> bool {
    if !is_valid_verifier(verifier) {
        return false;
    }
    let computed = match pkce.method {
        PkceMethod::S256 => base64url(&sha256(verifier.as_bytes())),
        PkceMethod::Plain => verifier.to_string(),
    };
    constant_time_eq(computed.as_bytes(), pkce.code_challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let pkce = Pkce {
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            method: PkceMethod::S256,
        };
        assert!(verify(&pkce, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!verify(&pkce, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"));
    }

    #[test]
    fn plain_and_syntax() {
        let v = "a".repeat(43);
        let pkce = Pkce { code_challenge: v.clone(), method: PkceMethod::Plain };
        assert!(verify(&pkce, &v));
        assert!(!verify(&pkce, "short"));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}!", "a".repeat(43))));
    }

    /// The method defaults to plain (RFC 7636 §4.3) and must be one the config allows.
    #[test]
    fn challenge_methods() {
        let c = "a".repeat(43);
        let plain = parse_challenge(Some(&c), None, &[PkceMethod::Plain]).unwrap().unwrap();
        assert_eq!(plain.method, PkceMethod::Plain);
        assert!(parse_challenge(Some(&c), None, &[PkceMethod::S256]).is_err());
        assert!(parse_challenge(Some(&c), Some("S512"), &[PkceMethod::S256]).is_err());
        assert!(parse_challenge(None, Some("S256"), &[PkceMethod::S256]).is_err());
        assert!(parse_challenge(None, None, &[]).unwrap().is_none());
        assert!(check(None, None).is_ok());
        assert!(check(None, Some("v")).is_err());
        assert!(check(Some(&plain), None).is_err());
        assert!(check(Some(&plain), Some(&c)).is_ok());
    }
}
