//! Resource indicators (RFC 8707): a client names the API it wants a token for with
//! `resource`, at `/auth`, PAR or `/token`; that URI becomes the access token's `aud`, so the
//! API can tell tokens meant for it from tokens meant for others. A client may only name the
//! resources it is registered for (`allowedResources`).
//!
//! Tessera takes one `resource` per request (RFC 8707 allows several; several are refused, as
//! a request that is not understood). At `/token` the resource may only repeat the one the
//! grant was given for (narrowing a single resource leaves it as it is), or name one when the
//! grant had none (client_credentials, password).

use super::error::{ErrorCode, OAuthError};
use crate::storage::Client;

/// RFC 8707 §2: an absolute URI without a fragment.
pub fn is_valid(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| u.fragment().is_none())
}

fn invalid_target(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

/// The resource a request names, if the client may have tokens for it.
pub fn check(client: &Client, requested: Option<&str>) -> Result<Option<String>, OAuthError> {
    let Some(resource) = requested.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if !is_valid(resource) {
        return Err(invalid_target("resource must be an absolute URI without a fragment."));
    }
    if !client.options.allowed_resources.iter().any(|allowed| allowed == resource) {
        return Err(invalid_target(format!("This client may not ask for tokens for {resource:?}.")));
    }
    Ok(Some(resource.to_string()))
}

/// At `/token`: the resource of the grant (`granted`, from the authorization request or the
/// refresh token), or the one the token request names, which must be that same one.
pub fn at_token(
    client: &Client,
    granted: Option<&str>,
    requested: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    match (granted, requested.filter(|r| !r.is_empty())) {
        (granted, None) => Ok(granted.map(str::to_string)),
        (None, Some(_)) => check(client, requested),
        (Some(granted), Some(requested)) if granted == requested => Ok(Some(granted.to_string())),
        (Some(_), Some(requested)) => {
            Err(invalid_target(format!("{requested:?} is not the resource this grant was given for.")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let mut client = Client { id: "app".into(), ..Default::default() };
        client.options.allowed_resources = vec!["https://api.example.com".into()];
        client
    }

    #[test]
    fn a_client_asks_only_for_its_resources() {
        let c = client();
        assert_eq!(
            check(&c, Some("https://api.example.com")).unwrap().as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(check(&c, None).unwrap(), None);
        for bad in ["https://other.example.com", "https://api.example.com#x", "api", "urn:example:api"] {
            assert_eq!(check(&c, Some(bad)).unwrap_err().code, ErrorCode::InvalidTarget, "{bad}");
        }
    }

    #[test]
    fn the_token_request_keeps_or_names_the_resource() {
        let c = client();
        let api = "https://api.example.com";
        assert_eq!(at_token(&c, Some(api), None).unwrap().as_deref(), Some(api));
        assert_eq!(at_token(&c, Some(api), Some(api)).unwrap().as_deref(), Some(api));
        assert_eq!(at_token(&c, None, Some(api)).unwrap().as_deref(), Some(api));
        assert!(at_token(&c, Some(api), Some("https://other.example.com")).is_err());
        assert!(at_token(&c, None, Some("https://other.example.com")).is_err());
    }
}
