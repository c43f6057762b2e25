//! Time, injected: domain code takes `now` from a [`Clock`] so tests can move time forward
//! instead of sleeping.

use crate::types::UnixTime;
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch: for the few rules that need sub-second precision
    /// (the refresh token reuse window).
    fn now_ms(&self) -> i64;

    /// Seconds since the Unix epoch, rounded down: what tokens and records carry.
    fn now(&self) -> UnixTime {
        self.now_ms().div_euclid(1000)
    }
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }
}

/// A clock that only moves when told to, for tests. It keeps milliseconds.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(now: UnixTime) -> Self {
        Self(AtomicI64::new(now * 1000))
    }

    pub fn advance(&self, seconds: i64) {
        self.advance_ms(seconds * 1000);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set(&self, now: UnixTime) {
        self.0.store(now * 1000, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A clock offset from the system clock by a settable amount: real time passes, and tests can
/// jump ahead (expiry, rotation) against a server they run.
#[derive(Debug, Default)]
pub struct OffsetClock(AtomicI64);

impl OffsetClock {
    pub fn advance(&self, seconds: i64) {
        self.advance_ms(seconds * 1000);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.0.load(Ordering::SeqCst)
    }
}
