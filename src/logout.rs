//! Logout: OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.
//!
//! A relying party sends the user to `/logout` with an `id_token_hint`, a
//! `post_logout_redirect_uri` registered for it (exact match) and a `state`. With a valid hint
//! for the browser's own session the user is logged out at once; without one, Tessera asks
//! first (so a cross-site image cannot log anyone out). Ending a session deletes it, ends the
//! refresh tokens bound to it (`refreshTokenLifetime: session`), and tells every client that
//! received tokens in it and has a `backchannelLogoutURI`, with a signed `logout_token`
//! delivered in the background with retries — the user never waits for it.
//!
//! Deliveries are stored ([`LogoutDelivery`]) before the logout answers, so none is lost to a
//! restart: every replica runs [`deliver_due`] each second (and at once when one of its own
//! logouts adds some), claims due deliveries one by one (exactly one replica sends each
//! attempt) and signs a fresh logout token for every attempt. A refused or failed attempt is
//! retried after a pause that doubles from 1 s up to a minute, for [`DELIVERY_WINDOW`] after
//! the logout; then it is given up, logged and collected.

use crate::flow::FlowContext;
use crate::oauth2::authorize::{AuthorizeError, PageKind, with_params};
use crate::oauth2::{paths, subject};
use crate::signer::{Signer, verify_fresh};
use crate::storage::{Client, LogoutDelivery, Storage};
use crate::types::{ClientId, UnixTime};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
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
    let mut queued = 0;
    for client_id in &session.clients {
        let Ok(Some(client)) = ctx.clients.get(client_id).await else {
            continue;
        };
        if client.backchannel_logout_uri.is_empty() {
            continue;
        }
        let delivery = LogoutDelivery {
            id: crate::crypto::random_id(),
            client_id: client_id.clone(),
            uri: client.backchannel_logout_uri.clone(),
            sub: sub.clone(),
            sid: sid.to_string(),
            attempts: 0,
            next_attempt: now,
            claimed_until: 0,
            expiry: now + DELIVERY_WINDOW,
        };
        ctx.storage.create_logout_delivery(&delivery).await.map_err(internal)?;
        queued += 1;
    }
    if queued > 0 {
        ctx.logout_deliveries.wake();
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

/// How long after the logout a delivery is retried before it is given up.
pub const DELIVERY_WINDOW: UnixTime = 600;
/// How long one attempt may hold its claim (the HTTP client gives up after 5 s).
const CLAIM_SECONDS: UnixTime = 30;
/// Deliveries one pass takes on.
const BATCH: u32 = 100;

/// Wakes this replica's delivery loop when a logout here queued deliveries.
#[derive(Default)]
pub struct LogoutDeliveries {
    wake: tokio::sync::Notify,
}

impl LogoutDeliveries {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for a wake-up or for `interval`, whichever comes first.
    pub async fn wait(&self, interval: Duration) {
        let _ = tokio::time::timeout(interval, self.wake.notified()).await;
    }
}

/// What delivering needs; owned, so each attempt runs as a task of its own.
#[derive(Clone)]
pub struct Deliverer {
    pub storage: Arc<dyn Storage>,
    pub signer: Arc<dyn Signer>,
    pub http: reqwest::Client,
    pub issuer: String,
}

/// Claims the due deliveries and sends each in a task of its own (a slow client holds up no
/// other); returns how many were claimed.
pub async fn deliver_due(
    deliverer: &Deliverer,
    now: UnixTime,
) -> Result<usize, crate::storage::StorageError> {
    let due = deliverer.storage.list_due_logout_deliveries(now, BATCH).await?;
    let mut claimed = 0;
    for delivery in due {
        if !deliverer.storage.claim_logout_delivery(&delivery.id, now, now + CLAIM_SECONDS).await? {
            continue; // another replica has it
        }
        claimed += 1;
        let deliverer = deliverer.clone();
        tokio::spawn(async move { attempt(&deliverer, delivery, now).await });
    }
    Ok(claimed)
}

/// One attempt (§2.5): POST a freshly signed logout token; 2xx ends it, anything else waits
/// for the next try or, past the window, gives up.
async fn attempt(d: &Deliverer, delivery: LogoutDelivery, now: UnixTime) {
    let client_id = &delivery.client_id;
    let attempt = delivery.attempts + 1;
    let outcome =
        match logout_token(d.signer.as_ref(), &d.issuer, client_id, &delivery.sub, &delivery.sid, now) {
            Ok(token) => {
                match d.http.post(&delivery.uri).form(&[("logout_token", token.as_str())]).send().await {
                    Ok(response) if response.status().is_success() => Ok(()),
                    Ok(response) => Err(format!("answered {}", response.status())),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(format!("could not sign a logout token: {e}")),
        };
    let stored = match outcome {
        Ok(()) => {
            tracing::info!(%client_id, attempt, "back-channel logout delivered");
            d.storage.delete_logout_delivery(&delivery.id).await
        }
        Err(why) => {
            let next = now + retry_pause(attempt);
            if next > delivery.expiry {
                tracing::error!(%client_id, attempt, error = %why, "back-channel logout given up");
                d.storage.delete_logout_delivery(&delivery.id).await
            } else {
                tracing::warn!(%client_id, attempt, error = %why, "back-channel logout failed; will retry");
                d.storage.reschedule_logout_delivery(&delivery.id, next).await
            }
        }
    };
    // If this write fails the claim runs out and the delivery is simply tried again.
    if let Err(e) = stored {
        tracing::warn!(%client_id, error = %e, "recording a back-channel logout attempt failed");
    }
}

/// Seconds before attempt `attempt + 1`: 1, 2, 4, … up to 60.
fn retry_pause(attempt: u32) -> UnixTime {
    (1i64 << attempt.saturating_sub(1).min(6)).min(60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_pauses_double_up_to_a_minute() {
        let pauses: Vec<i64> = (1..=9).map(super::retry_pause).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(super::retry_pause(u32::MAX), 60);
    }
}
