//! The client credentials grant (RFC 6749 §4.4): a confidential client gets tokens for
//! itself, no user involved. Off unless `oauth2.grantTypes` lists it (as in Dex).
//!
//! As Dex: the token's subject is the client (`sub` encodes user id = client id with an
//! empty connector id), `profile` gives the client's name, `groups` its
//! `clientCredentialsClaims.groups`; an ID token comes with `openid`; never a refresh token.

use super::{ClientCredentialsRequest, GrantContext, issue};
use crate::oauth2::authorize::check_cross_client_trust;
use crate::oauth2::error::OAuthError;
use crate::oauth2::scopes::{self, EMAIL, FEDERATED_ID, GROUPS, OFFLINE_ACCESS, OPENID, PROFILE};
use crate::oauth2::tokens::{TokenContext, TokenResponse};
use crate::storage::{Claims, Client};
use crate::types::ConnectorId;

/// Scopes this grant understands, besides cross-client audiences.
const ALLOWED: &[&str] = &[OPENID, EMAIL, PROFILE, GROUPS];

pub async fn issue_tokens(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: ClientCredentialsRequest,
) -> Result<TokenResponse, OAuthError> {
    if client.public {
        return Err(OAuthError::unauthorized_client("Public clients cannot use client_credentials grant."));
    }
    let granted = scopes::parse(request.scope.as_deref().unwrap_or_default());
    validate_scopes(&granted)?;
    check_cross_client_trust(&granted, client, ctx.clients).await?;

    let requested = crate::oauth2::resource::parse(request.resource.as_deref());
    let resources = crate::oauth2::resource::check(client, &requested)?;
    let claims = client_claims(client);
    let token_ctx = TokenContext {
        issuer: &ctx.settings.issuer,
        client_id: &client.id,
        scopes: &granted,
        claims: &claims,
        // No connector: Dex's empty connector id, which no configured connector can have.
        connector_id: &ConnectorId::default(),
        nonce: "",
        auth_time: 0,

        session_id: "",
        family: "",
        jkt: ctx.dpop_jkt.as_deref(),
        resources: &resources,
        access_format: client.options.access_token_format,
        now: ctx.now,
        lifetimes: ctx.settings.lifetimes(client),
    };
    issue(ctx, &token_ctx, None)
}

fn validate_scopes(requested: &[String]) -> Result<(), OAuthError> {
    for scope in requested {
        match scope.as_str() {
            OFFLINE_ACCESS => {
                return Err(OAuthError::invalid_scope(
                    "client_credentials grant does not support offline_access scope.",
                ));
            }
            FEDERATED_ID => {
                return Err(OAuthError::invalid_scope(
                    "client_credentials grant does not support federated:id scope.",
                ));
            }
            _ => {}
        }
    }
    let unknown: Vec<&str> = requested
        .iter()
        .map(String::as_str)
        .filter(|s| !ALLOWED.contains(s) && !scopes::is_cross_client(s))
        .collect();
    if !unknown.is_empty() {
        return Err(OAuthError::invalid_scope(format!("Unrecognized scope(s) {unknown:?}")));
    }
    Ok(())
}

/// The client as the token's subject.
fn client_claims(client: &Client) -> Claims {
    Claims {
        user_id: client.id.to_string(),
        username: client.name.clone(),
        preferred_username: client.name.clone(),
        groups: client.client_credentials_groups.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::ErrorCode;

    #[test]
    fn scopes_follow_dex() {
        assert!(validate_scopes(&scopes::parse("openid email profile groups")).is_ok());
        assert!(validate_scopes(&[]).is_ok());
        assert!(validate_scopes(&scopes::parse("audience:server:client_id:peer")).is_ok());
        for bad in ["offline_access", "federated:id", "openid admin", "audience:server:client_id:"] {
            assert_eq!(
                validate_scopes(&scopes::parse(bad)).unwrap_err().code,
                ErrorCode::InvalidScope,
                "{bad}"
            );
        }
    }

    #[test]
    fn the_client_is_the_subject() {
        let client = Client {
            id: "robot".into(),
            name: "Robot".into(),
            client_credentials_groups: vec!["bots".into()],
            ..Default::default()
        };
        let claims = client_claims(&client);
        assert_eq!((claims.user_id.as_str(), claims.username.as_str()), ("robot", "Robot"));
        assert_eq!(claims.groups, ["bots"]);
        assert!(claims.email.is_empty());
    }
}
