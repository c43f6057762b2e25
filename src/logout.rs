//! Logout: OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.
//!
//! A relying party sends the user to `/logout` with an `id_token_hint`, a
//! `post_logout_redirect_uri` registered for it (exact match) and a `state`. With a valid hint
//! for the browser's own session the user is logged out at once; without one, Tessera asks
//! first (so a cross-site image cannot log anyone out). Ending a session deletes it, ends the
//! refresh tokens bound to it (`refreshTokenLifetime: session`), and tells every client that
//! received tokens in it and has a `backchannelLogoutURI`, with a signed `logout_token`
//! delivered in the background with retries — the user never waits for it.

use crate::flow::FlowContext;
use crate::oauth2::authorize::{AuthorizeError, PageKind, with_params};
use crate::oauth2::{paths, subject};
use crate::signer::{Signer, verify_fresh};
use crate::storage::Client;
use crate::types::ClientId;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The logout request's parameters (query or form).
#[derive(Clone, Default, Deserialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}
crate::debug_only!(LogoutParams: post_logout_redirect_uri, state, client_id);

/// A checked logout request.
#[derive(Debug, Default)]
pub struct Checked {
    /// Where to send the user afterwards (with `state`), when the client registered it.
    pub redirect: Option<String>,
    /// The hint verified: our signature and issuer (an expired token is still a good hint).
    pub hint_valid: bool,
    /// The `sid` of the hint, when it has one.
    pub hint_sid: Option<String>,
    /// The parameters to carry through the confirmation page.
    pub params: LogoutParams,
}

fn page(kind: PageKind, message: &str) -> AuthorizeError {
    AuthorizeError::page(kind, message)
}

/// Validates the request: the redirect must be registered for the client the hint or
/// `client_id` names, and the two must agree. Problems are shown on a page, never redirected.
async fn check(ctx: &FlowContext<'_>, params: LogoutParams) -> Result<Checked, AuthorizeError> {
    let hint = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        None => None,
        Some(token) => match verify_fresh(ctx.signer, token).await {
            Ok(claims) if claims.get("iss").and_then(Value::as_str) == Some(ctx.settings.issuer.as_str()) => {
                Some(claims)
            }
            _ => {
                return Err(page(
                    PageKind::InvalidLogoutRequest,
                    "The application sent an ID token hint that is not valid.",
                ));
            }
        },
    };
    let audience: Vec<String> = match hint.as_ref().and_then(|c| c.get("aud")) {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let client_id = match params.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(id) if hint.is_some() && !audience.iter().any(|a| a == id) => {
            return Err(page(
                PageKind::InvalidLogoutRequest,
                "The ID token hint was not issued to this application.",
            ));
        }
        Some(id) => Some(id.to_string()),
        None => hint
            .as_ref()
            .and_then(|c| c.get("azp").and_then(Value::as_str).map(str::to_string))
            .or(audience.first().cloned()),
    };
    let redirect = match params.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) {
        None => None,
        Some(uri) => {
            let client = lookup(ctx, client_id.as_deref()).await?;
            if !client.as_ref().is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri)) {
                return Err(page(
                    PageKind::UnregisteredLogoutRedirect,
                    "The application asked to send you to an address it has not registered for after logout.",
                ));
            }
            Some(with_params(uri, &[("state", params.state.as_deref().unwrap_or_default())], false))
        }
    };
    Ok(Checked {
        redirect,
        hint_valid: hint.is_some(),
        hint_sid: hint.as_ref().and_then(|c| c.get("sid").and_then(Value::as_str).map(str::to_string)),
        params,
    })
}

async fn lookup(ctx: &FlowContext<'_>, client_id: Option<&str>) -> Result<Option<Client>, AuthorizeError> {
    let Some(id) = client_id else {
        return Ok(None);
    };
    ctx.clients.get(&ClientId::from(id)).await.map_err(|e| {
        tracing::error!(cause = %e, "client lookup failed");
        page(PageKind::Internal, "The login service could not look up the application.")
    })
}

/// What a logout request comes to.
#[derive(Debug)]
pub enum Logout {
    /// Ask the user first: the request may not come from them (no valid hint for this
    /// browser's session). The parameters go through the confirmation page.
    Confirm(LogoutParams),
    /// Done: the session (if any) ended. The browser forgets its session; then, with
    /// `upstream`, it goes there first (and comes back to [`paths::LOGOUT_CALLBACK`]), and
    /// at last to `redirect` (the client's registered URI with `state`) or the logged-out page.
    Done { upstream: Option<String>, redirect: Option<String> },
}

/// RP-Initiated Logout §2–§4: checks the request, asks the user unless it may not, and ends
/// the session: the browser's own (`browser_sid`), else the one the hint names. `confirmed`:
/// the user submitted our confirmation page (its CSRF token already checked).
pub async fn logout(
    ctx: &FlowContext<'_>,
    params: LogoutParams,
    browser_sid: Option<&str>,
    confirmed: bool,
) -> Result<Logout, AuthorizeError> {
    let checked = check(ctx, params).await?;
    if !confirmed && !may_skip_confirmation(&checked, browser_sid) {
        return Ok(Logout::Confirm(checked.params));
    }
    let mut upstream = None;
    if let Some(ending) = browser_sid.or(checked.hint_sid.as_deref()) {
        // Only this browser's own session is ended upstream too (the upstream acts on the
        // browser's cookies there).
        if browser_sid == Some(ending) {
            upstream = upstream_logout_url(ctx, ending).await;
        }
        end_session(ctx, ending).await?;
    }
    Ok(Logout::Done { upstream, redirect: checked.redirect })
}

/// Logging out without asking is safe only with a valid hint for this browser's session (or
/// when the browser has none left to lose).
fn may_skip_confirmation(checked: &Checked, browser_sid: Option<&str>) -> bool {
    checked.hint_valid
        && match (browser_sid, checked.hint_sid.as_deref()) {
            (None, _) => true,
            (Some(browser), Some(hint)) => browser == hint,
            (Some(_), None) => false,
        }
}

/// Where the upstream provider ends its own session for this one (its `end_session_endpoint`,
/// with the upstream ID token as `id_token_hint`), coming back to `/logout/callback`; `None`
/// when the session's connector has no upstream logout. Read before the session ends.
async fn upstream_logout_url(ctx: &FlowContext<'_>, sid: &str) -> Option<String> {
    let session = ctx.storage.get_auth_session(sid).await.ok().flatten()?;
    let connector = ctx.connectors.get(&session.connector_id)?;
    let logout = connector.logout.as_ref()?;
    logout.logout_url(session.connector_data.as_deref(), &ctx.settings.endpoint(paths::LOGOUT_CALLBACK))
}

/// Ends a single sign-on session: deletes it and its bound refresh tokens, and notifies the
/// clients over the back channel (in the background).
pub async fn end_session(ctx: &FlowContext<'_>, sid: &str) -> Result<(), AuthorizeError> {
    let internal = |e: crate::storage::StorageError| {
        tracing::error!(cause = %e, "logout failed");
        page(PageKind::Internal, "The logout could not be completed. Please try again.")
    };
    let Some(session) = ctx.storage.get_auth_session(sid).await.map_err(internal)? else {
        return Ok(());
    };
    ctx.storage.delete_auth_session(sid).await.map_err(internal)?;
    let ended = ctx.storage.delete_refresh_tokens_for_session(sid).await.map_err(internal)?;
    tracing::info!(refresh_tokens = ended, "session ended");
    let now = ctx.now;
    let sub = subject::encode(&session.claims.user_id, &session.connector_id);
    let event = crate::audit::Event::Logout {
        user: &session.claims.user_id,
        connector: session.connector_id.as_str(),
        session_clients: session.clients.len(),
    };
    ctx.audit.record(now, &event);
    for client_id in &session.clients {
        let Ok(Some(client)) = ctx.clients.get(client_id).await else {
            continue;
        };
        if client.backchannel_logout_uri.is_empty() {
            continue;
        }
        match logout_token(ctx.signer, &ctx.settings.issuer, client_id, &sub, sid, now) {
            Ok(token) => {
                deliver(ctx.http.clone(), client.backchannel_logout_uri.clone(), client_id.clone(), token)
            }
            Err(e) => tracing::error!(error = %e, %client_id, "could not sign a logout token"),
        }
    }
    Ok(())
}

/// OIDC Back-Channel Logout §2.4: a JWT with `iss`, `aud`, `iat`, `exp`, `jti`, `sub`, `sid`
/// and the logout event, and no `nonce`.
pub fn logout_token(
    signer: &dyn Signer,
    issuer: &str,
    client_id: &ClientId,
    sub: &str,
    sid: &str,
    now: i64,
) -> Result<String, crate::signer::SignerError> {
    let claims = json!({
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + 120,
        "jti": crate::crypto::random_id(),
        "sub": sub,
        "sid": sid,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    signer.sign_typed(&claims, crate::oauth2::tokens::LOGOUT_TOKEN_TYPE)
}

/// Back-off between delivery attempts; the last entry ends the retries.
const RETRY_DELAYS: &[u64] = &[1, 2, 4, 8, 16];

/// POSTs the logout token (§2.5) until the client answers 2xx, with growing pauses.
fn deliver(http: reqwest::Client, uri: String, client_id: ClientId, token: String) {
    tokio::spawn(async move {
        for (attempt, delay) in RETRY_DELAYS.iter().enumerate() {
            let result = http.post(&uri).form(&[("logout_token", token.as_str())]).send().await;
            match result {
                Ok(response) if response.status().is_success() => {
                    tracing::info!(%client_id, "back-channel logout delivered");
                    return;
                }
                Ok(response) => {
                    tracing::warn!(%client_id, status = %response.status(), attempt, "back-channel logout refused")
                }
                Err(e) => tracing::warn!(%client_id, error = %e, attempt, "back-channel logout failed"),
            }
            tokio::time::sleep(Duration::from_secs(*delay)).await;
        }
        tracing::error!(%client_id, "back-channel logout given up");
    });
}
