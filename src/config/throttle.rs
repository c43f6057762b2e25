//! Typed `throttle` (Tessera's brute-force protection) and `web.clientRemoteIP` (whose
//! address a request comes from). Built in `build/throttle.rs`.

use ipnet::IpNet;
use std::net::IpAddr;
use std::time::Duration;

/// `throttle`. Counts are failures allowed before delays start; delays start at
/// `first_delay` and double with each further failure up to `max_delay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// `enabled` (default true).
    pub enabled: bool,
    /// `loginFailures.perAccountAndAddress` (default 5).
    pub per_account_and_address: u32,
    /// `loginFailures.perAddress` (default 20): any account, one address.
    pub per_address: u32,
    /// `loginFailures.perAccount` (default 50): one account, any address; a browser that
    /// logged in as the account before is exempt.
    pub per_account: u32,
    /// `userCodeFailures` (default 5): wrong device user codes per address.
    pub user_code_failures: u32,
    /// `clientAuthFailures` (default 10): failed client authentications per address and
    /// minute (in memory, per replica).
    pub client_auth_failures: u32,
    /// `authRequestsPerSecond` (default 20; 0 turns the limit off) and `authRequestsBurst`
    /// (default 100): `/auth` requests per address.
    pub auth_requests_per_second: u32,
    pub auth_requests_burst: u32,
    /// `firstDelay` (default 1s), `maxDelay` (default 15m).
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// `maxAccountDelay` (default 1m): the ceiling of the per-account delay, low so that no
    /// one can keep a victim out for long by failing on purpose.
    pub max_account_delay: Duration,
    /// `forgetAfter` (default 24h): a count is dropped this long after its last failure.
    pub forget_after: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            per_account_and_address: 5,
            per_address: 20,
            per_account: 50,
            user_code_failures: 5,
            client_auth_failures: 10,
            auth_requests_per_second: 20,
            auth_requests_burst: 100,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            max_account_delay: Duration::from_secs(60),
            forget_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// `web.clientRemoteIP` / `web.trustedProxies`: a request's address is its connection's
/// peer, unless that peer is a trusted proxy, which may name the client in `header`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientAddressConfig {
    pub header: ForwardedHeader,
    pub trusted_proxies: Vec<IpNet>,
}

impl ClientAddressConfig {
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.trusted_proxies.iter().any(|net| net.contains(&peer))
    }
}

/// The header a trusted proxy names the client in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (the default, as Envoy and most proxies).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    Forwarded,
    /// Any other header holding one address or a list like X-Forwarded-For
    /// (`X-Real-IP`, `X-Envoy-External-Address`).
    Other(String),
}

impl ForwardedHeader {
    pub fn name(&self) -> &str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
            Self::Other(name) => name,
        }
    }
}
