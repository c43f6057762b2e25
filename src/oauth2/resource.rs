//! Resource indicators (RFC 8707): a client names the APIs it wants a token for with
//! `resource` (repeatable), at `/auth`, PAR or `/token`; those URIs become the access token's
//! `aud`, so an API can tell tokens meant for it from tokens meant for others. A client may
//! only name the resources it is registered for (`allowedResources`).
//!
//! The values of a repeated `resource` travel inside Tessera space-separated in one parameter
//! (the web layer joins them; a URI has no space), and are kept as a list in the records. At
//! `/token` the request may narrow the resources the grant was given for (§2.2): each named
//! one must be among them; a grant given for none (client_credentials, password, or a code
//! asked without any) takes what the request names, if the client may have it.

use super::error::{ErrorCode, OAuthError};
use crate::storage::Client;

/// The parameter's name.
pub const PARAMETER: &str = "resource";

/// RFC 8707 §2: an absolute URI without a fragment.
pub fn is_valid(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| u.fragment().is_none())
}

/// The resources a `resource` parameter names (its values space-separated).
pub fn parse(parameter: Option<&str>) -> Vec<String> {
    let mut resources: Vec<String> =
        parameter.unwrap_or_default().split(' ').filter(|r| !r.is_empty()).map(str::to_string).collect();
    resources.dedup();
    resources
}

fn invalid_target(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

/// The resources a request names, if the client may have tokens for each.
pub fn check(client: &Client, requested: &[String]) -> Result<Vec<String>, OAuthError> {
    for resource in requested {
        if !is_valid(resource) {
            return Err(invalid_target("resource must be an absolute URI without a fragment."));
        }
        if !client.options.allowed_resources.contains(resource) {
            return Err(invalid_target(format!("This client may not ask for tokens for {resource:?}.")));
        }
    }
    Ok(requested.to_vec())
}

/// At `/token`: the resources of the grant (`granted`, from the authorization request or the
/// refresh token), or those of them the token request names.
pub fn at_token(
    client: &Client,
    granted: &[String],
    requested: &[String],
) -> Result<Vec<String>, OAuthError> {
    if requested.is_empty() {
        return Ok(granted.to_vec());
    }
    if granted.is_empty() {
        return check(client, requested);
    }
    match requested.iter().find(|r| !granted.contains(r)) {
        Some(other) => {
            Err(invalid_target(format!("{other:?} is not among the resources this grant was given for.")))
        }
        None => Ok(requested.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "https://api.example.com";
    const MCP: &str = "https://mcp.example.com";

    fn client() -> Client {
        let mut client = Client { id: "app".into(), ..Default::default() };
        client.options.allowed_resources = vec![API.into(), MCP.into()];
        client
    }

    fn list(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn a_client_asks_only_for_its_resources() {
        let c = client();
        assert_eq!(check(&c, &list(&[API, MCP])).unwrap(), list(&[API, MCP]));
        assert_eq!(parse(Some(&format!("{API} {MCP}"))), list(&[API, MCP]));
        assert!(parse(None).is_empty());
        for bad in ["https://other.example.com", "https://api.example.com#x", "api", "urn:example:api"] {
            assert_eq!(check(&c, &list(&[API, bad])).unwrap_err().code, ErrorCode::InvalidTarget, "{bad}");
        }
    }

    #[test]
    fn the_token_request_may_narrow_the_resources() {
        let c = client();
        let both = list(&[API, MCP]);
        assert_eq!(at_token(&c, &both, &[]).unwrap(), both);
        assert_eq!(at_token(&c, &both, &list(&[MCP])).unwrap(), list(&[MCP]));
        assert_eq!(at_token(&c, &[], &list(&[API])).unwrap(), list(&[API]));
        assert!(at_token(&c, &list(&[API]), &list(&[MCP])).is_err(), "not widened");
        assert!(at_token(&c, &[], &list(&["https://other.example.com"])).is_err());
    }
}
