//! Guessing protection: failed lookups of a code (`not_found`) are limited per token and client
//! address, in a sliding window of one minute.
//!
//! Only failures count. Once a caller (token + address) has used up its failures in the window,
//! its checkout requests get 429 with `Retry-After` until the oldest failure leaves the window;
//! every other caller is unaffected, so a valid code is never refused because someone else
//! guessed badly. The window lives in each server process: behind a load balancer with N
//! instances a caller spread across all of them can make up to N times the limit.
//!
//! Hand-written rather than `governor`: we must ask "is this caller blocked?" before the lookup
//! and count only after it turns out to be a failure, which a token bucket's check-and-consume
//! does not offer.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Who is counted: a token and the client's address.
pub type CallerKey = (i64, IpAddr);

/// Entries kept before a sweep drops the callers with no failure left in the window.
const SWEEP_ABOVE: usize = 10_000;

/// Failed lookups per caller in the last minute.
#[derive(Debug)]
pub struct FailureLimiter {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<CallerKey, VecDeque<Instant>>>,
}

impl FailureLimiter {
    /// At most `per_minute` failed lookups per caller per minute; 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self::with_window(per_minute, Duration::from_secs(60))
    }

    /// The same with another window (tests).
    pub fn with_window(limit: u32, window: Duration) -> Self {
        Self { limit: limit as usize, window, failures: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CallerKey, VecDeque<Instant>>> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(wait)` when `key` has used up its failures: how long until it may try again.
    pub fn check(&self, key: CallerKey) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(&key) else { return Ok(()) };
        while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            times.pop_front();
        }
        match times.front() {
            Some(oldest) if times.len() >= self.limit => Err(self.window.saturating_sub(now.duration_since(*oldest))),
            _ => Ok(()),
        }
    }

    /// Counts one failed lookup for `key`.
    pub fn record_failure(&self, key: CallerKey) {
        if self.limit == 0 {
            return;
        }
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.len() > SWEEP_ABOVE {
            let window = self.window;
            failures.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let times = failures.entry(key).or_default();
        times.push_back(now);
        while times.len() > self.limit {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: CallerKey = (1, IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    const B: CallerKey = (2, IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn blocks_after_the_limit_and_only_that_caller() {
        let limiter = FailureLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.check(A).is_ok());
            limiter.record_failure(A);
        }
        let wait = limiter.check(A).unwrap_err();
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60), "{wait:?}");
        assert!(limiter.check(B).is_ok(), "another caller is not affected");
    }

    #[test]
    fn failures_leave_the_window() {
        let limiter = FailureLimiter::with_window(2, Duration::from_millis(50));
        limiter.record_failure(A);
        limiter.record_failure(A);
        assert!(limiter.check(A).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(limiter.check(A).is_ok());
    }

    #[test]
    fn zero_turns_it_off() {
        let limiter = FailureLimiter::new(0);
        for _ in 0..100 {
            limiter.record_failure(A);
        }
        assert!(limiter.check(A).is_ok());
    }
}
