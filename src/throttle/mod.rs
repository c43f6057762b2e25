//! Brute-force and abuse protection: where guessing is possible, failures cost time.
//!
//! - **Password logins** (the login form and the password grant, whatever connector checks the
//!   password: the password database, LDAP, any other) are counted in storage, so every
//!   replica sees the same counts, under three keys: the account from this address, this
//!   address (any account) and the account (any address). Each key has free failures
//!   (`throttle.loginFailures`); past them every failure earns a delay that doubles
//!   ([`Backoff`]). During a delay an attempt is refused before any password is checked
//!   (`429` with `Retry-After`, or the login page saying how long to wait); once it has passed
//!   the next attempt is judged on its merits, and a success clears the account's counts.
//! - **Never a lockout.** An attacker elsewhere can only raise the per-account count, whose
//!   delay is capped low (`maxAccountDelay`), and a browser that has logged in as the account
//!   before does not wait for it at all ([`PasswordAttempt::known_browser`]).
//! - **Device user codes** (RFC 8628 §5.1): wrong codes per address, in storage, same backoff.
//! - **Client authentication failures** at `/token`, introspection, revocation and
//!   `/device/code`: `clientAuthFailures` per address and minute (governor, in memory, per
//!   replica); past that budget the address may not authenticate a client until it refills.
//!   Client secrets are high-entropy, so this is about abuse more than guessing.
//! - **`/auth` floods**: requests per address and second (governor).
//!
//! Addresses are the client's as `web` establishes it (trusted proxies), IPv6 ones by their
//! /64, since one host commonly holds a whole /64. Counting keys are SHA-256 digests, so
//! storage never holds account names or addresses. Every refusal is counted in
//! `tessera_throttled_total{scope}` and recorded as an audit event.

mod backoff;

pub use backoff::Backoff;

use crate::audit::{Audit, Event};
use crate::config::ThrottleConfig;
use crate::storage::{Result as StorageResult, ThrottleStore};
use crate::types::{ConnectorId, UnixTime};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock as _};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    AccountAndAddress,
    Address,
    Account,
    UserCode,
    ClientAuth,
    AuthRequests,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountAndAddress => "login_account_address",
            Self::Address => "login_address",
            Self::Account => "login_account",
            Self::UserCode => "device_user_code",
            Self::ClientAuth => "client_auth",
            Self::AuthRequests => "auth_requests",
        }
    }
}

/// A refusal: wait `retry_after` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub scope: Scope,
    pub retry_after: u64,
}

/// One password attempt, as the throttle sees it.
#[derive(Debug, Clone, Copy)]
pub struct PasswordAttempt<'a> {
    pub connector: &'a ConnectorId,
    /// What the user typed as their name (compared without case).
    pub login: &'a str,
    pub source: Option<IpAddr>,
    /// The browser has logged in as this account before: the per-account delay, the one an
    /// attacker elsewhere can raise, does not apply to it.
    pub known_browser: bool,
}

/// Blocked addresses at most in memory; past that, expired entries are dropped first.
const MAX_BLOCKED: usize = 100_000;

pub struct Throttle {
    config: ThrottleConfig,
    audit: Audit,
    /// One cell per failed client authentication, per address.
    client_auth: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses whose client-authentication budget ran out, until when.
    client_auth_blocked: Mutex<HashMap<IpAddr, Instant>>,
    auth_requests: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Throttle {
    pub fn new(config: ThrottleConfig, audit: Audit) -> Self {
        let per_minute = NonZeroU32::new(config.client_auth_failures).unwrap_or(NonZeroU32::MIN);
        let auth_requests = NonZeroU32::new(config.auth_requests_per_second).map(|rate| {
            let burst = NonZeroU32::new(config.auth_requests_burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            client_auth: RateLimiter::keyed(Quota::per_minute(per_minute)),
            client_auth_blocked: Mutex::default(),
            auth_requests,
            config,
            audit,
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    fn login_backoff(&self, free: u32, max: Duration) -> Backoff {
        Backoff { free, first: self.config.first_delay, max }
    }

    fn forget_at(&self, now: UnixTime) -> UnixTime {
        now.saturating_add(i64::try_from(self.config.forget_after.as_secs()).unwrap_or(i64::MAX))
    }

    /// The keys a password attempt counts under, with each one's backoff.
    fn password_keys(&self, attempt: &PasswordAttempt<'_>) -> Vec<(Scope, String, Backoff)> {
        let c = &self.config;
        let account = attempt.login.trim().to_lowercase();
        let mut keys = Vec::with_capacity(3);
        if let Some(addr) = attempt.source.map(address_key) {
            let addr = addr.to_string();
            keys.push((
                Scope::AccountAndAddress,
                digest("login-account-address", &[attempt.connector.as_str(), &account, &addr]),
                self.login_backoff(c.per_account_and_address, c.max_delay),
            ));
            keys.push((
                Scope::Address,
                digest("login-address", &[&addr]),
                self.login_backoff(c.per_address, c.max_delay),
            ));
        }
        keys.push((
            Scope::Account,
            digest("login-account", &[attempt.connector.as_str(), &account]),
            self.login_backoff(c.per_account, c.max_account_delay),
        ));
        keys
    }

    /// What a browser remembers of an account it logged in as (see
    /// [`PasswordAttempt::known_browser`]): a digest, not the name.
    pub fn account_tag(connector: &ConnectorId, login: &str) -> String {
        digest("known-browser", &[connector.as_str(), &login.trim().to_lowercase()])
    }

    /// Whether a password attempt may be checked now; `Some` refuses it (nothing is counted).
    pub async fn check_password(
        &self,
        storage: &dyn ThrottleStore,
        attempt: &PasswordAttempt<'_>,
        now: UnixTime,
    ) -> StorageResult<Option<Throttled>> {
        if !self.config.enabled {
            return Ok(None);
        }
        let mut longest: Option<Throttled> = None;
        for (scope, key, backoff) in self.password_keys(attempt) {
            if scope == Scope::Account && attempt.known_browser {
                continue;
            }
            let Some(failures) = storage.get_failures(&key, now).await? else { continue };
            let retry_after = backoff.wait(failures.count, failures.last, now);
            if retry_after > longest.map_or(0, |t| t.retry_after) {
                longest = Some(Throttled { scope, retry_after });
            }
        }
        if let Some(refused) = longest {
            let event = Event::Throttled { scope: refused.scope.as_str(), login: attempt.login, client: "" };
            self.refused(attempt.source, now, refused, &event);
        }
        Ok(longest)
    }

    /// Counts a wrong password under every key.
    pub async fn password_failed(
        &self,
        storage: &dyn ThrottleStore,
        attempt: &PasswordAttempt<'_>,
        now: UnixTime,
    ) -> StorageResult<()> {
        if !self.config.enabled {
            return Ok(());
        }
        for (_, key, _) in self.password_keys(attempt) {
            storage.count_failure(&key, now, self.forget_at(now)).await?;
        }
        Ok(())
    }

    /// A right password: the account's counts start again (the address's count, which covers
    /// other accounts too, stays).
    pub async fn password_succeeded(
        &self,
        storage: &dyn ThrottleStore,
        attempt: &PasswordAttempt<'_>,
    ) -> StorageResult<()> {
        if !self.config.enabled {
            return Ok(());
        }
        for (scope, key, _) in self.password_keys(attempt) {
            if scope != Scope::Address {
                storage.delete_failures(&key).await?;
            }
        }
        Ok(())
    }

    fn user_code_key(source: IpAddr) -> String {
        digest("device-user-code", &[&address_key(source).to_string()])
    }

    /// Whether a device user code from `source` may be looked up now.
    pub async fn check_user_code(
        &self,
        storage: &dyn ThrottleStore,
        source: Option<IpAddr>,
        now: UnixTime,
    ) -> StorageResult<Option<Throttled>> {
        let Some(source) = source.filter(|_| self.config.enabled) else { return Ok(None) };
        let Some(failures) = storage.get_failures(&Self::user_code_key(source), now).await? else {
            return Ok(None);
        };
        let backoff = self.login_backoff(self.config.user_code_failures, self.config.max_delay);
        let retry_after = backoff.wait(failures.count, failures.last, now);
        if retry_after == 0 {
            return Ok(None);
        }
        let refused = Throttled { scope: Scope::UserCode, retry_after };
        let event = Event::Throttled { scope: refused.scope.as_str(), login: "", client: "" };
        self.refused(Some(source), now, refused, &event);
        Ok(Some(refused))
    }

    /// Counts a wrong (unknown, expired or used) device user code.
    pub async fn user_code_failed(
        &self,
        storage: &dyn ThrottleStore,
        source: Option<IpAddr>,
        now: UnixTime,
    ) -> StorageResult<()> {
        if let Some(source) = source.filter(|_| self.config.enabled) {
            storage.count_failure(&Self::user_code_key(source), now, self.forget_at(now)).await?;
        }
        Ok(())
    }

    /// Whether `source` may try to authenticate a client now.
    pub fn check_client_auth(
        &self,
        source: Option<IpAddr>,
        client: &str,
        now: UnixTime,
    ) -> Option<Throttled> {
        let source = source.filter(|_| self.config.enabled)?;
        let key = address_key(source);
        let until = {
            let mut blocked = self.client_auth_blocked.lock().unwrap_or_else(PoisonError::into_inner);
            match blocked.get(&key) {
                Some(until) if *until > Instant::now() => *until,
                Some(_) => {
                    blocked.remove(&key);
                    return None;
                }
                None => return None,
            }
        };
        let refused = Throttled { scope: Scope::ClientAuth, retry_after: seconds_until(until) };
        let event = Event::Throttled { scope: refused.scope.as_str(), login: "", client };
        self.refused(Some(source), now, refused, &event);
        Some(refused)
    }

    /// Counts a failed client authentication from `source`; once the address's budget is
    /// spent it may not authenticate clients until the budget refills.
    pub fn client_auth_failed(&self, source: Option<IpAddr>) {
        let Some(source) = source.filter(|_| self.config.enabled) else { return };
        let key = address_key(source);
        if let Err(not_until) = self.client_auth.check_key(&key) {
            let wait = not_until.wait_time_from(self.client_auth.clock().now());
            let mut blocked = self.client_auth_blocked.lock().unwrap_or_else(PoisonError::into_inner);
            if blocked.len() >= MAX_BLOCKED {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            if blocked.len() < MAX_BLOCKED {
                blocked.insert(key, Instant::now() + wait.max(Duration::from_secs(1)));
            }
        }
    }

    /// Whether `source` may start another login at `/auth` now.
    pub fn check_auth_request(&self, source: Option<IpAddr>, now: UnixTime) -> Option<Throttled> {
        let limiter = self.auth_requests.as_ref().filter(|_| self.config.enabled)?;
        let source = source?;
        let not_until = limiter.check_key(&address_key(source)).err()?;
        let wait = not_until.wait_time_from(limiter.clock().now());
        let refused = Throttled { scope: Scope::AuthRequests, retry_after: wait.as_secs().max(1) };
        let event = Event::Throttled { scope: refused.scope.as_str(), login: "", client: "" };
        self.refused(Some(source), now, refused, &event);
        Some(refused)
    }

    /// Drops the in-memory state of addresses that are quiet again (run with the garbage
    /// collection).
    pub fn forget_quiet_addresses(&self) {
        self.client_auth.retain_recent();
        self.client_auth.shrink_to_fit();
        if let Some(limiter) = &self.auth_requests {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let now = Instant::now();
        self.client_auth_blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, until| *until > now);
    }

    fn refused(&self, source: Option<IpAddr>, now: UnixTime, refused: Throttled, event: &Event<'_>) {
        metrics::counter!("tessera_throttled_total", "scope" => refused.scope.as_str()).increment(1);
        self.audit.record_from(source, now, event);
    }
}

/// The address a limit counts: an IPv4 address as it is, an IPv6 address by its /64.
pub fn address_key(addr: IpAddr) -> IpAddr {
    match addr.to_canonical() {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        v4 => v4,
    }
}

/// `kind` and the parts, hashed: fixed length, and no account name or address in storage.
fn digest(kind: &str, parts: &[&str]) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(kind.as_bytes());
    for part in parts {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    ctx.finish().as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whole seconds until `until`, rounded up, at least 1 (for `Retry-After`).
fn seconds_until(until: Instant) -> u64 {
    let left = until.saturating_duration_since(Instant::now());
    (left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests;
