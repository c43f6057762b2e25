//! Scopes Tessera understands, as Dex does: `openid` (required), `email`, `profile`,
//! `groups`, `offline_access`, `federated:id`, and cross-client `audience:server:client_id:X`.

use super::error::OAuthError;
use crate::types::ClientId;

pub const OPENID: &str = "openid";
pub const EMAIL: &str = "email";
pub const PROFILE: &str = "profile";
pub const GROUPS: &str = "groups";
pub const OFFLINE_ACCESS: &str = "offline_access";
pub const FEDERATED_ID: &str = "federated:id";
pub const CROSS_CLIENT_PREFIX: &str = "audience:server:client_id:";

/// The scopes listed in discovery.
pub const SUPPORTED: &[&str] = &[OPENID, EMAIL, GROUPS, PROFILE, OFFLINE_ACCESS, FEDERATED_ID];

/// Splits a `scope` parameter (RFC 6749 §3.3: space-delimited), dropping duplicates.
pub fn parse(scope: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !scopes.iter().any(|existing| existing == s) {
            scopes.push(s.to_string());
        }
    }
    scopes
}

pub fn has(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| s == scope)
}

/// Client ids named by cross-client scopes.
pub fn cross_client_peers(scopes: &[String]) -> impl Iterator<Item = &str> {
    scopes.iter().filter_map(|s| s.strip_prefix(CROSS_CLIENT_PREFIX))
}

/// Checks syntax: `openid` present and every scope known. Cross-client trust is checked by
/// the caller, which can look clients up.
pub fn validate(scopes: &[String]) -> Result<(), OAuthError> {
    if !has(scopes, OPENID) {
        return Err(OAuthError::invalid_scope(r#"Missing required scope(s) ["openid"]."#));
    }
    let unknown: Vec<&str> = scopes.iter().map(String::as_str).filter(|s| !is_known(s)).collect();
    if !unknown.is_empty() {
        return Err(OAuthError::invalid_scope(format!("Unrecognized scope(s) {unknown:?}")));
    }
    Ok(())
}

fn is_known(scope: &str) -> bool {
    SUPPORTED.contains(&scope) || is_cross_client(scope)
}

/// `audience:server:client_id:X` with a non-empty X.
pub fn is_cross_client(scope: &str) -> bool {
    scope.strip_prefix(CROSS_CLIENT_PREFIX).is_some_and(|peer| !peer.is_empty())
}

/// The `aud` and `azp` of tokens for `client_id` with these scopes (as Dex): the client
/// alone, or the requested peers plus the client, with the client as authorized party.
pub fn audience(scopes: &[String], client_id: &ClientId) -> (Vec<String>, Option<String>) {
    let client_id = client_id.as_str();
    let mut aud: Vec<String> = cross_client_peers(scopes).map(str::to_string).collect();
    if aud.is_empty() {
        return (vec![client_id.to_string()], None);
    }
    if !aud.iter().any(|a| a == client_id) {
        aud.push(client_id.to_string());
    }
    (aud, Some(client_id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_validate() {
        let s = parse("openid  email openid groups");
        assert_eq!(s, vec!["openid", "email", "groups"]);
        assert!(validate(&s).is_ok());
        assert!(validate(&parse("email")).is_err());
        assert!(validate(&parse("openid foo")).is_err());
        assert!(validate(&parse("openid audience:server:client_id:")).is_err());
        assert!(validate(&parse("openid audience:server:client_id:peer")).is_ok());
    }

    #[test]
    fn audience_rules() {
        assert_eq!(audience(&parse("openid"), &"a".into()), (vec!["a".to_string()], None));
        let (aud, azp) = audience(&parse("openid audience:server:client_id:b"), &"a".into());
        assert_eq!(aud, vec!["b", "a"]);
        assert_eq!(azp.as_deref(), Some("a"));
    }
}
