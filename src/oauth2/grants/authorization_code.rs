//! The authorization code grant (RFC 6749 §4.1.3): a code is redeemed once, by the client it
//! was issued to, with the same `redirect_uri` and the PKCE verifier (RFC 7636 §4.6). A
//! replayed code is refused and the tokens first issued from it are revoked (§4.1.2).

use super::refresh_token::{Origin, create_family, revoke_family_access, should_issue};
use super::{CodeRequest, GrantContext};
use crate::oauth2::error::{ErrorCode, OAuthError};
use crate::oauth2::pkce;
use crate::oauth2::tokens::{TokenContext, TokenResponse, mint};
use crate::storage::{AuthCode, Client, IssuedTokens, Redemption};

pub async fn exchange(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: CodeRequest,
) -> Result<TokenResponse, OAuthError> {
    redeem(
        ctx,
        client,
        &request.code,
        &request.redirect_uri,
        request.code_verifier.as_deref(),
        request.resource.as_deref(),
    )
    .await
}

/// Redeems a code issued to `client` for `redirect_uri`, once, and mints the tokens. The
/// client is already authenticated; the device flow's callback calls this for the codes it
/// receives at its own redirect URI (RFC 8628 leaves that step to the server).
pub async fn redeem(
    ctx: &GrantContext<'_>,
    client: &Client,
    code_id: &str,
    redirect_uri: &str,
    code_verifier: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let code = match ctx.storage.redeem_auth_code(code_id, ctx.now).await? {
        Redemption::NotFound => return Err(OAuthError::invalid_grant("Invalid or expired code parameter.")),
        Redemption::Replayed(code) => {
            revoke_issued(ctx, &code).await?;
            tracing::warn!(client_id = %code.client_id, "authorization code replayed; tokens issued from it revoked");
            return Err(OAuthError::invalid_grant("The code was already used."));
        }
        Redemption::Fresh(code) => code,
    };
    if code.client_id != client.id {
        return Err(OAuthError::invalid_grant("Invalid or expired code parameter."));
    }
    if code.expiry <= ctx.now {
        return Err(OAuthError::invalid_grant("Invalid or expired code parameter."));
    }
    if redirect_uri != code.redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri did not match the one of the authorization request.",
        ));
    }
    pkce::check(code.pkce.as_ref(), code_verifier)?;
    if let Some(bound) = &code.dpop_jkt
        && ctx.dpop_jkt.as_ref() != Some(bound)
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "The authorization request named a DPoP key (dpop_jkt): send a proof made with it.",
        ));
    }

    let requested = crate::oauth2::resource::parse(resource);
    let resources = crate::oauth2::resource::at_token(client, &code.resources, &requested)?;

    // The family first: the access token names it, so that revoking it revokes the token.
    let connector = ctx.connectors.get(&code.connector_id).map(|c| c.as_ref());
    let refresh = if should_issue(ctx.settings, client, connector, &code.scopes) {
        let origin = Origin { resources: &resources, ..(&code).into() };
        Some(create_family(ctx, client, origin).await?)
    } else {
        None
    };
    let family = refresh.as_ref().map_or("", |(id, _)| id.as_str());
    let token_ctx = TokenContext {
        issuer: &ctx.settings.issuer,
        client_id: &client.id,
        scopes: &code.scopes,
        claims: &code.claims,
        connector_id: &code.connector_id,
        nonce: &code.nonce,
        auth_time: code.auth_time,
        session_id: &code.session_id,
        family,
        jkt: ctx.dpop_jkt.as_deref(),
        resources: &resources,
        access_format: client.options.access_token_format,
        now: ctx.now,
        lifetimes: ctx.settings.lifetimes(client),
    };
    let minted = mint(ctx.signer, &token_ctx, None)?;

    let issued = IssuedTokens {
        access_token_id: minted.access_token_id.clone(),
        access_token_expiry: minted.expires_at,
        refresh_token_id: refresh.as_ref().map(|(id, _)| id.clone()),
    };
    ctx.storage.set_auth_code_issued(&code.id, &issued).await?;
    Ok(TokenResponse::new(minted, ctx.now, refresh.map(|(_, token)| token), &code.scopes))
}

async fn revoke_issued(ctx: &GrantContext<'_>, code: &AuthCode) -> Result<(), OAuthError> {
    if let Some(issued) = &code.issued {
        ctx.access_tokens
            .revoke(ctx.storage, &issued.access_token_id, issued.access_token_expiry, ctx.now)
            .await?;
        if let Some(refresh_id) = &issued.refresh_token_id {
            ctx.storage.delete_refresh_token(refresh_id).await?;
            revoke_family_access(ctx, refresh_id).await?;
        }
    }
    Ok(())
}
