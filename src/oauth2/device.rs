//! The device authorization grant (RFC 8628), on Dex's paths:
//!
//! 1. The device posts `/device/code` (§3.1). [`authorize`] stores a [`DeviceRequest`] (keyed
//!    by the user code) and a pending [`DeviceToken`] (keyed by the device code) and answers
//!    with both codes and where the user should go (§3.2).
//! 2. The user opens `/device` on another machine and types the user code (§3.3).
//!    [`verify_user_code`] sends the browser into the ordinary login at `/auth`, with the
//!    device callback as `redirect_uri` and a `state` only this server can make for this
//!    device (an HMAC keyed by the device code).
//! 3. The login ends at `/device/callback`. [`complete`] redeems the code through the
//!    authorization code grant (the server is the client here) and stores the token response
//!    in the device token (`complete`), or records that the user declined (`denied`).
//! 4. All along the device polls `/token` (§3.4); [`poll`] decides each answer (§3.5) and
//!    `grants::device_code` applies it.
//!
//! Guessing user codes (§5.1): a code is 8 letters of 20, so 20⁸ ≈ 2.6 × 10¹⁰ codes, live for
//! `expiry.deviceRequests` (5 minutes by default). Wrong codes count per address in storage
//! (`throttle.userCodeFailures`, 5 free, then delays doubling from `firstDelay`), so one
//! address gets about 5 + log₂(300) ≈ 13 guesses in 5 minutes: with N codes pending at once,
//! a chance of about 13 N / 2.6 × 10¹⁰ per address and 5 minutes.

use super::authorize::{AuthorizeError, PageKind, check_cross_client_trust};
use super::client_auth::{ClientCredentials, authenticate};
use super::error::{ErrorCode, OAuthError};
use super::grants::GrantContext;
use super::grants::authorization_code::redeem;
use super::{pkce, scopes};
use crate::crypto::{base64url, constant_time_eq, hmac_sha256, random_bytes, random_token};
use crate::protocol::GrantType;
use crate::storage::{Client, DeviceRequest, DeviceToken, StorageError};
use crate::types::{Secret, UnixTime};
use serde::{Deserialize, Serialize};
use std::fmt::Display;

pub use super::grants::device_code::{INTERVAL, Poll, SLOW_DOWN_STEP, decide as poll};
/// Dex's user-code alphabet: consonants only (no vowels, so no words; no look-alikes).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code, shown as two groups of four (`XXXX-XXXX`).
const USER_CODE_LETTERS: usize = 8;

pub use crate::protocol::DeviceStatus;

/// A fresh user code from the CSPRNG: 8 letters of [`USER_CODE_ALPHABET`] as `XXXX-XXXX`.
pub fn generate_user_code() -> String {
    let mut letters = Vec::with_capacity(USER_CODE_LETTERS);
    while letters.len() < USER_CODE_LETTERS {
        let fresh = random_bytes(USER_CODE_LETTERS * 2).into_iter().filter_map(letter_for);
        letters.extend(fresh.take(USER_CODE_LETTERS - letters.len()));
    }
    format_user_code(&letters)
}

/// Rejection sampling: of the 256 byte values the first 240 (12 × 20) map onto the alphabet,
/// the rest are dropped, so every letter is exactly as likely (no modulo bias).
fn letter_for(byte: u8) -> Option<char> {
    let alphabet_len = USER_CODE_ALPHABET.len();
    let byte = usize::from(byte);
    if byte >= 256 - 256 % alphabet_len {
        return None;
    }
    USER_CODE_ALPHABET.get(byte % alphabet_len).map(|&b| char::from(b))
}

fn format_user_code(letters: &[char]) -> String {
    let (first, second) = letters.split_at(USER_CODE_LETTERS / 2);
    format!("{}-{}", first.iter().collect::<String>(), second.iter().collect::<String>())
}

/// What the user typed, as stored (`XXXX-XXXX`): case, spaces and dashes do not matter.
/// `None` when it cannot be a user code, so no lookup is needed.
pub fn normalize_user_code(input: &str) -> Option<String> {
    let letters: Vec<char> =
        input.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    let valid = letters.len() == USER_CODE_LETTERS
        && letters.iter().all(|c| c.is_ascii() && USER_CODE_ALPHABET.contains(&(*c as u8)));
    valid.then(|| format_user_code(&letters))
}

/// The device authorization request's form fields (§3.1), parsed once.
#[derive(Debug, Default, Deserialize)]
pub struct DeviceAuthorizationRequest {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// RFC 7523 §2.2 (`client_assertion_type` must be the JWT bearer type).
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<Secret>,
    pub scope: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// The device authorization response (§3.2).
#[derive(Serialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}
crate::debug_only!(DeviceAuthorizationResponse: verification_uri, expires_in, interval);

/// `/device/code`: authenticates the client like the token endpoint does, checks the scopes
/// like `/auth` does, and starts a device flow.
#[tracing::instrument(skip_all, fields(client_id = %creds.client_id))]
pub async fn authorize(
    ctx: &GrantContext<'_>,
    creds: &ClientCredentials,
    request: &DeviceAuthorizationRequest,
) -> Result<DeviceAuthorizationResponse, OAuthError> {
    let client = authenticate(ctx, creds).await?;
    if !client.options.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::unauthorized_client("This client may not use the device flow."));
    }
    // §3.1 makes `scope` optional; like Dex, no scope means `openid`.
    let requested = scopes::parse(request.scope.as_deref().unwrap_or_default());
    let requested = if requested.is_empty() { vec![scopes::OPENID.to_string()] } else { requested };
    scopes::validate(&requested)?;
    check_cross_client_trust(&requested, &client, ctx.clients).await?;
    let challenge = request.code_challenge.as_deref();
    let method = request.code_challenge_method.as_deref();
    let pkce = pkce::parse_challenge(challenge, method, &ctx.settings.pkce_methods)?;

    let expiry = ctx.now + ctx.settings.device_request_lifetime;
    let device_code = random_token(32);
    let user_code = store_device_request(ctx, &client, &device_code, requested, expiry).await?;
    ctx.storage
        .create_device_token(&DeviceToken {
            device_code: device_code.clone(),
            client_id: client.id.clone(),
            status: DeviceStatus::Pending,
            token: String::new(),
            expiry,
            // Never polled: the first poll is never too fast.
            last_request: 0,
            poll_interval_seconds: INTERVAL,
            pkce,
        })
        .await?;

    let verification_uri = ctx.settings.endpoint(super::paths::DEVICE);
    let verification_uri_complete = format!("{verification_uri}?user_code={user_code}");
    Ok(DeviceAuthorizationResponse {
        device_code,
        user_code,
        verification_uri,
        verification_uri_complete,
        expires_in: ctx.settings.device_request_lifetime,
        interval: INTERVAL,
    })
}

/// Stores the request under a fresh user code; a code already in use is drawn again.
async fn store_device_request(
    ctx: &GrantContext<'_>,
    client: &Client,
    device_code: &str,
    scopes: Vec<String>,
    expiry: UnixTime,
) -> Result<String, OAuthError> {
    let mut request = DeviceRequest {
        user_code: String::new(),
        device_code: device_code.to_string(),
        client_id: client.id.clone(),
        // The client authenticated just now; its secret is not kept.
        client_secret: Secret::default(),
        scopes,
        expiry,
    };
    for _ in 0..8 {
        request.user_code = generate_user_code();
        match ctx.storage.create_device_request(&request).await {
            Ok(()) => return Ok(request.user_code),
            Err(StorageError::AlreadyExists) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(OAuthError::server_error("no free user code after 8 attempts"))
}

/// The `state` of the login a user code starts: the user code, and an HMAC over it keyed
/// by the device code, which never reaches the browser. Only this server can make it, so
/// nobody can complete or deny someone else's device by guessing user codes.
fn login_state(request: &DeviceRequest) -> String {
    format!("{}.{}", request.user_code, state_mac(request))
}

fn state_mac(request: &DeviceRequest) -> String {
    base64url(&hmac_sha256(request.device_code.as_bytes(), request.user_code.as_bytes()))
}

/// What entering a user code leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    /// Log in: where to send the browser.
    Login(String),
    /// Unknown, expired or already used: ask again.
    Invalid,
    /// Too many wrong codes from this address (RFC 8628 §5.1): wait before trying again.
    Throttled(crate::throttle::Throttled),
}

/// `/device/auth/verify_code`: finds the device flow of a user code and starts the login.
pub async fn verify_user_code(ctx: &GrantContext<'_>, input: &str) -> Result<Verification, AuthorizeError> {
    if let Some(refused) =
        ctx.throttle.check_user_code(ctx.storage, ctx.source, ctx.now).await.map_err(internal)?
    {
        return Ok(Verification::Throttled(refused));
    }
    let Some(request) = live_device_request(ctx, input).await? else {
        ctx.throttle.user_code_failed(ctx.storage, ctx.source, ctx.now).await.map_err(internal)?;
        return Ok(Verification::Invalid);
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", request.client_id.as_str())
        .append_pair("redirect_uri", &ctx.settings.device_callback_uri())
        .append_pair("response_type", "code")
        .append_pair("scope", &request.scopes.join(" "))
        .append_pair("state", &login_state(&request))
        .finish();
    Ok(Verification::Login(ctx.settings.endpoint(&format!("{}?{query}", super::paths::AUTH))))
}

/// The pending device flow a typed user code names, if it is live.
async fn live_device_request(
    ctx: &GrantContext<'_>,
    input: &str,
) -> Result<Option<DeviceRequest>, AuthorizeError> {
    let Some(user_code) = normalize_user_code(input) else {
        return Ok(None);
    };
    let Some(request) = ctx.storage.get_device_request(&user_code).await.map_err(internal)? else {
        return Ok(None);
    };
    let token = ctx.storage.get_device_token(&request.device_code).await.map_err(internal)?;
    let pending = token.is_some_and(|t| t.status == DeviceStatus::Pending);
    Ok((request.expiry > ctx.now && pending).then_some(request))
}

/// What the login sends to `/device/callback` (the authorization response, RFC 6749 §4.1.2).
#[derive(Default, Deserialize)]
pub struct DeviceCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}
crate::debug_only!(DeviceCallback: state, error, error_description);

/// How the browser side of a device flow ended.
#[derive(Debug)]
pub enum Outcome {
    /// The tokens wait for the device.
    Approved { client: Box<Client> },
    /// The user declined; the device is told `access_denied`.
    Denied { client: Box<Client> },
}

fn page(kind: PageKind, message: &str) -> AuthorizeError {
    AuthorizeError::page(kind, message)
}

fn internal(cause: impl Display + 'static) -> AuthorizeError {
    AuthorizeError::internal(
        "device flow failed",
        cause,
        "The login service hit an internal error. Please try again.",
    )
}

fn expired() -> AuthorizeError {
    page(
        PageKind::DeviceLoginExpired,
        "This device login expired or is not valid. Start again on your device.",
    )
}

/// `/device/callback`: the login finished (or the user declined) for the device `state`
/// names. Redeems the code and stores the tokens for the device, exactly once.
#[tracing::instrument(skip_all)]
pub async fn complete(ctx: &GrantContext<'_>, callback: &DeviceCallback) -> Result<Outcome, AuthorizeError> {
    let request = device_request_for_state(ctx, callback.state.as_deref().unwrap_or_default()).await?;
    let mut token =
        ctx.storage.get_device_token(&request.device_code).await.map_err(internal)?.ok_or_else(expired)?;
    if token.expiry <= ctx.now {
        return Err(expired());
    }
    if token.status != DeviceStatus::Pending {
        return Err(page(
            PageKind::DeviceAlreadyHandled,
            "This device login was already completed or declined.",
        ));
    }
    let client = ctx.clients.get(&request.client_id).await.map_err(internal)?.ok_or_else(expired)?;

    if let Some(error) = callback.error.as_deref().filter(|e| !e.is_empty()) {
        if error != ErrorCode::AccessDenied.as_str() {
            let description = callback.error_description.as_deref().unwrap_or_default();
            tracing::warn!(%error, %description, "device login failed");
            return Err(page(
                PageKind::LoginFailed,
                "The login did not complete. Start again on your device.",
            ));
        }
        token.status = DeviceStatus::Denied;
        store_outcome(ctx, &token).await?;
        return Ok(Outcome::Denied { client: Box::new(client) });
    }

    let code = callback.code.as_deref().filter(|c| !c.is_empty()).ok_or_else(expired)?;
    let response = match redeem(ctx, &client, code, &ctx.settings.device_callback_uri(), None, None).await {
        Ok(response) => response,
        Err(e) if e.code == ErrorCode::ServerError => return Err(internal(e)),
        Err(e) => {
            tracing::warn!(error = %e, "device callback: code refused");
            return Err(expired());
        }
    };
    token.token = serde_json::to_string(&response).map_err(internal)?;
    token.status = DeviceStatus::Complete;
    store_outcome(ctx, &token).await?;
    Ok(Outcome::Approved { client: Box::new(client) })
}

/// The live device request a callback's `state` was made for.
async fn device_request_for_state(
    ctx: &GrantContext<'_>,
    state: &str,
) -> Result<DeviceRequest, AuthorizeError> {
    let (user_code, mac) = state.split_once('.').ok_or_else(expired)?;
    let request = ctx.storage.get_device_request(user_code).await.map_err(internal)?.ok_or_else(expired)?;
    if !constant_time_eq(state_mac(&request).as_bytes(), mac.as_bytes()) || request.expiry <= ctx.now {
        return Err(expired());
    }
    Ok(request)
}

/// Moves a pending device token to its final status; of two racing callbacks one wins.
async fn store_outcome(ctx: &GrantContext<'_>, token: &DeviceToken) -> Result<(), AuthorizeError> {
    if ctx.storage.update_device_token(token, DeviceStatus::Pending).await.map_err(internal)? {
        Ok(())
    } else {
        Err(page(PageKind::DeviceAlreadyHandled, "This device login was already completed or declined."))
    }
}

#[cfg(test)]
mod tests;
