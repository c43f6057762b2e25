//! The delay a run of failures earns: nothing while they are fewer than `free`; from the
//! `free`-th on, a wait that starts at `first` and doubles with each further failure, up to a
//! ceiling. A delay, never a lockout: once it has
//! passed, the next attempt is judged on its merits, so the right password always gets in.

use crate::types::UnixTime;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before any delay (0 counts as 1: the first failure already waits).
    pub free: u32,
    /// The delay after the `free`-th failure; each further failure doubles it.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// The wait after `failures` failures in a row (zero while they are fewer than `free`).
    pub fn delay(&self, failures: u64) -> Duration {
        let Some(beyond) = failures.checked_sub(u64::from(self.free.max(1))) else {
            return Duration::ZERO;
        };
        // first × 2^beyond; past 2^31 the ceiling has long been reached.
        let doublings = beyond.min(31) as u32;
        self.first.saturating_mul(1 << doublings).min(self.max)
    }

    /// Seconds to wait at `now` after `failures` failures, the last at `last_failure`; zero when
    /// the next attempt may go ahead. Whole seconds, rounded up: time is kept in seconds.
    pub fn wait(&self, failures: u64, last_failure: UnixTime, now: UnixTime) -> u64 {
        let delay = self.delay(failures);
        if delay.is_zero() {
            return 0;
        }
        let until = last_failure.saturating_add(i64::try_from(delay.as_secs().max(1)).unwrap_or(i64::MAX));
        u64::try_from(until.saturating_sub(now)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff { free: 5, first: Duration::from_secs(1), max: Duration::from_secs(900) };

    #[test]
    fn the_free_failures_cost_nothing_then_the_delay_doubles_up_to_the_ceiling() {
        let delays: Vec<u64> = (0..=11).map(|n| B.delay(n).as_secs()).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64]);
        assert_eq!(B.delay(14).as_secs(), 512);
        assert_eq!(B.delay(15).as_secs(), 900);
        assert_eq!(B.delay(u64::MAX).as_secs(), 900, "no overflow, however many failures");
    }

    #[test]
    fn the_wait_counts_from_the_last_failure_and_ends() {
        // 7 failures: 4 s from the last one.
        assert_eq!(B.wait(7, 100, 100), 4);
        assert_eq!(B.wait(7, 100, 103), 1);
        assert_eq!(B.wait(7, 100, 104), 0, "after the delay the next attempt goes ahead");
        assert_eq!(B.wait(7, 100, 1_000_000), 0);
        assert_eq!(B.wait(4, 100, 100), 0, "within the free failures");
        assert_eq!(B.wait(5, 100, 100), 1, "the fifth failure earns the first delay");
    }

    #[test]
    fn a_zero_free_count_delays_from_the_first_failure() {
        let b = Backoff { free: 0, ..B };
        assert_eq!(b.delay(0), Duration::ZERO);
        assert_eq!(b.delay(1).as_secs(), 1);
        assert_eq!(b.delay(2).as_secs(), 2);
    }
}
