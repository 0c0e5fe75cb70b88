//! Failed attempts per caller in a sliding window, in this process: the mechanism under the
//! guessing limit ([`super::guessing::GuessGuard`]) and the sign-in limit
//! ([`super::sign_in::SignInGuard`]).
//!
//! Only failures count. Once a caller has used up its failures in the window, its attempts are
//! refused until the oldest failure leaves the window; every other caller is unaffected, so a
//! valid code is never refused because someone else guessed badly. A window shared by several
//! instances is kept in the database by those use cases, which hand what they read to
//! [`FailureLimiter::absorb`].
//!
//! Counting and deciding are one step: an attempt first takes a slot ([`FailureLimiter::acquire`])
//! and runs only while the caller's failures in the window plus its lookups in flight stay under
//! the limit; the slot then becomes a failure or is given back. So 400 concurrent guesses from
//! one caller test at most `limit` codes. A caller with more lookups in flight than failures
//! left (a web shop's backend checking many real codes at once) is not refused: its further
//! lookups wait for a slot, and are refused only once its failures reach the limit.
//!
//! Hand-written rather than `governor`: a token bucket's check-and-consume cannot give a slot
//! back when the lookup turns out not to be a failure.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Callers one generation holds (see [`Callers`]): at most twice this many are kept, whatever
/// the number of addresses a flood comes from (about 300 bytes each: under 30 MiB).
pub const CALLERS_PER_GENERATION: usize = 50_000;

/// One caller's failures in the window and lookups in flight.
#[derive(Debug, Default)]
struct Caller {
    failures: VecDeque<Instant>,
    in_flight: usize,
}

/// The callers, in two generations: `current` holds those seen since the last rotation,
/// `previous` those seen in the one before. A caller found in `previous` moves to `current`.
/// Every window (or sooner, once `current` holds [`CALLERS_PER_GENERATION`]) `previous` is
/// dropped whole and `current` becomes it. So a lookup costs a few hash operations however
/// many callers there are (no sweep), a caller seen within the window is always kept (with
/// rotations a window apart), and memory is bounded. A flood of more than
/// [`CALLERS_PER_GENERATION`] new callers within a window rotates early, which can forget the
/// failures of a caller that stayed away for two such rotations.
#[derive(Debug)]
struct Callers<K> {
    current: HashMap<K, Caller>,
    previous: HashMap<K, Caller>,
    rotated_at: Instant,
}

impl<K: Eq + Hash + Clone> Callers<K> {
    fn new() -> Self {
        Self { current: HashMap::new(), previous: HashMap::new(), rotated_at: Instant::now() }
    }

    /// Rotates when due; returns the dropped generation, to be freed outside the lock.
    fn rotate(&mut self, now: Instant, window: Duration) -> Option<HashMap<K, Caller>> {
        if now.duration_since(self.rotated_at) < window && self.current.len() < CALLERS_PER_GENERATION {
            return None;
        }
        self.rotated_at = now;
        let current = std::mem::take(&mut self.current);
        Some(std::mem::replace(&mut self.previous, current))
    }

    /// The caller's entry, in the current generation (new when it is in neither).
    fn entry(&mut self, key: &K) -> &mut Caller {
        if !self.current.contains_key(key) {
            let moved = self.previous.remove(key).unwrap_or_default();
            self.current.insert(key.clone(), moved);
        }
        self.current.entry(key.clone()).or_default()
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut Caller> {
        match self.current.get_mut(key) {
            Some(caller) => Some(caller),
            None => self.previous.get_mut(key),
        }
    }

    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

/// Failed attempts per caller in the last minute. A caller is any key: a token and an address
/// for code lookups, an account or an address for console sign-ins.
#[derive(Debug)]
pub struct FailureLimiter<K> {
    limit: usize,
    window: Duration,
    callers: Mutex<Callers<K>>,
    /// Woken whenever a slot is given back or becomes a failure.
    slot_freed: tokio::sync::Notify,
}

/// An attempt refused: the caller's failures fill the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed attempts; retry after {} seconds", self.whole_seconds())]
pub struct TooManyFailures {
    /// How long until the oldest failure leaves the window (at least a second).
    pub retry_after: Duration,
}

impl TooManyFailures {
    /// [`TooManyFailures::retry_after`] in whole seconds, rounded up and at least 1: a client that
    /// waits this long is let through.
    pub fn whole_seconds(&self) -> u64 {
        let wait = self.retry_after;
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }
}

/// What one attempt at a slot found.
enum Acquire {
    Granted,
    /// The caller's failures fill the window: how long until the oldest leaves it.
    Refused(Duration),
    /// Every slot the caller's failures leave is held by its lookups in flight.
    Busy,
}

/// A lookup allowed by [`FailureLimiter::acquire`]: say how it ended with [`Lookup::failed`] or
/// [`Lookup::found`]; dropped unsaid (the request failed otherwise), it is given back.
#[derive(Debug)]
#[must_use = "a lookup is counted only when it is said to have failed"]
pub struct Lookup<K: Eq + Hash + Clone> {
    limiter: Option<Arc<FailureLimiter<K>>>,
    key: K,
}

impl<K: Eq + Hash + Clone> FailureLimiter<K> {
    /// The window failures are counted in.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// At most `per_minute` failed lookups per caller per minute; 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self::with_window(per_minute, Duration::from_secs(60))
    }

    /// The same with another window (tests).
    pub fn with_window(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit as usize,
            window,
            callers: Mutex::new(Callers::new()),
            slot_freed: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Callers<K>> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.callers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for one attempt by `key`, or refused: how long until it may try again. Waits
    /// while the caller's attempts in flight hold every slot its failures leave.
    pub async fn acquire(self: &Arc<Self>, key: K) -> Result<Lookup<K>, TooManyFailures> {
        if self.limit == 0 {
            return Ok(Lookup { limiter: None, key });
        }
        loop {
            // Registered before the check, so a slot freed right after it still wakes us.
            let freed = self.slot_freed.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            match self.try_acquire(&key) {
                Acquire::Granted => return Ok(Lookup { limiter: Some(Arc::clone(self)), key }),
                Acquire::Refused(retry_after) => return Err(TooManyFailures { retry_after }),
                Acquire::Busy => freed.await,
            }
        }
    }

    /// How many callers are kept now (at most twice [`CALLERS_PER_GENERATION`]).
    pub fn callers(&self) -> usize {
        self.lock().len()
    }

    fn try_acquire(&self, key: &K) -> Acquire {
        let now = Instant::now();
        let mut callers = self.lock();
        let dropped = callers.rotate(now, self.window);
        let decided = Self::decide(self.limit, self.window, callers.entry(key), now);
        drop(callers);
        // Freeing a dropped generation takes a while; not under the lock.
        drop(dropped);
        decided
    }

    fn decide(limit: usize, window: Duration, caller: &mut Caller, now: Instant) -> Acquire {
        while caller.failures.front().is_some_and(|t| now.duration_since(*t) >= window) {
            caller.failures.pop_front();
        }
        let failures = caller.failures.len();
        let oldest = caller.failures.front().copied().unwrap_or(now);
        let wait = window.saturating_sub(now.duration_since(oldest));
        if failures >= limit {
            return Acquire::Refused(wait.max(Duration::from_secs(1)));
        }
        if failures + caller.in_flight >= limit {
            return Acquire::Busy;
        }
        caller.in_flight += 1;
        Acquire::Granted
    }

    /// Takes in failures counted elsewhere (the window shared by several instances): from now on
    /// the caller has at least `count` failures here, the oldest leaving the window in
    /// `oldest_leaves_in`, so this instance refuses it before reading anything. Returns whether
    /// that added any (the caller's slot should then be taken again).
    pub fn absorb(&self, key: &K, count: usize, oldest_leaves_in: Duration) -> bool {
        if self.limit == 0 {
            return false;
        }
        let now = Instant::now();
        let mut callers = self.lock();
        let caller = callers.entry(key);
        while caller.failures.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            caller.failures.pop_front();
        }
        let count = count.min(self.limit);
        if caller.failures.len() >= count {
            return false;
        }
        // The shared failures, as if they had happened here when the oldest of them did.
        let at = (now + oldest_leaves_in).checked_sub(self.window).unwrap_or(now);
        for _ in caller.failures.len()..count {
            caller.failures.push_back(at);
        }
        caller.failures.make_contiguous().sort();
        true
    }

    fn finish(&self, key: &K, failed: bool) {
        // A caller whose entry a flood rotated away meanwhile has nothing to record; its waiters
        // are woken all the same.
        if let Some(caller) = self.lock().get_mut(key) {
            caller.in_flight = caller.in_flight.saturating_sub(1);
            if failed {
                caller.failures.push_back(Instant::now());
                while caller.failures.len() > self.limit {
                    caller.failures.pop_front();
                }
            }
        }
        self.slot_freed.notify_waiters();
    }
}

impl<K: Eq + Hash + Clone> Lookup<K> {
    /// The attempt failed (an unknown code, a wrong password): counts one failure.
    pub fn failed(mut self) {
        if let Some(limiter) = self.limiter.take() {
            limiter.finish(&self.key, true);
        }
    }

    /// The attempt succeeded: nothing is counted.
    pub fn found(self) {}
}

impl<K: Eq + Hash + Clone> Drop for Lookup<K> {
    fn drop(&mut self) {
        if let Some(limiter) = self.limiter.take() {
            limiter.finish(&self.key, false);
        }
    }
}

/// How often `serve` deletes the failures that have left a window shared through the database.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Runs `prune` every [`PRUNE_EVERY`] until its task is dropped, logging what it deleted (of
/// `what`) and a failure (then tries again at the next tick).
pub async fn prune_every_minute<F, Fut>(what: &'static str, mut prune: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, crate::VoucherError>>,
{
    let mut every = tokio::time::interval(PRUNE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match prune().await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, what, "old rows pruned"),
            Err(error) => tracing::warn!(error = %crate::cause_chain(&error), what, "old rows could not be pruned"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    const A: (i64, IpAddr) = (1, IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    const B: (i64, IpAddr) = (2, IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[tokio::test]
    async fn absorbed_shared_failures_refuse_before_anything_is_read() {
        let limiter = Arc::new(FailureLimiter::new(3));
        limiter.acquire(A).await.unwrap().failed();
        assert!(!limiter.absorb(&A, 1, Duration::from_secs(30)), "one failure was already known here");
        assert!(limiter.absorb(&A, 3, Duration::from_secs(30)));
        let wait = limiter.acquire(A).await.unwrap_err().retry_after;
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
        limiter.acquire(B).await.unwrap().found();
    }

    #[tokio::test]
    async fn blocks_after_the_limit_and_only_that_caller() {
        let limiter = Arc::new(FailureLimiter::new(3));
        for _ in 0..3 {
            limiter.acquire(A).await.unwrap().failed();
        }
        let wait = limiter.acquire(A).await.unwrap_err().retry_after;
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60), "{wait:?}");
        limiter.acquire(B).await.unwrap().found();
    }

    #[tokio::test]
    async fn found_lookups_count_nothing() {
        let limiter = Arc::new(FailureLimiter::new(2));
        for _ in 0..100 {
            limiter.acquire(A).await.unwrap().found();
        }
        drop(limiter.acquire(A).await.unwrap());
        limiter.acquire(A).await.unwrap().failed();
        limiter.acquire(A).await.unwrap().failed();
        assert!(limiter.acquire(A).await.is_err());
    }

    /// 400 concurrent guesses test at most 10 codes; the rest are refused, none waits forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_failures_never_exceed_the_limit() {
        let limiter = Arc::new(FailureLimiter::new(10));
        let barrier = Arc::new(tokio::sync::Barrier::new(400));
        let tasks: Vec<_> = (0..400)
            .map(|_| {
                let (limiter, barrier) = (Arc::clone(&limiter), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    match limiter.acquire(A).await {
                        Ok(lookup) => {
                            tokio::task::yield_now().await;
                            lookup.failed();
                            true
                        }
                        Err(_) => false,
                    }
                })
            })
            .collect();
        let mut allowed = 0;
        for task in tasks {
            // A waiter never woken fails here instead of hanging the run.
            let done = tokio::time::timeout(Duration::from_secs(10), task).await.expect("a guess waited forever");
            allowed += usize::from(done.unwrap());
        }
        assert_eq!(allowed, 10, "guesses allowed with a limit of 10");
        assert!(limiter.acquire(A).await.is_err());
    }

    /// 100 concurrent lookups of real codes by one caller all run (beyond 10 at once they wait).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_found_lookups_all_run() {
        let limiter = Arc::new(FailureLimiter::new(10));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                tokio::spawn(async move {
                    let lookup = limiter.acquire(A).await?;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    lookup.found();
                    Ok::<(), TooManyFailures>(())
                })
            })
            .collect();
        for task in tasks {
            let done = tokio::time::timeout(Duration::from_secs(10), task).await.expect("a lookup waited forever");
            done.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn failures_leave_the_window() {
        let limiter = Arc::new(FailureLimiter::with_window(2, Duration::from_millis(50)));
        limiter.acquire(A).await.unwrap().failed();
        limiter.acquire(A).await.unwrap().failed();
        assert!(limiter.acquire(A).await.is_err());
        let deadline = Instant::now() + Duration::from_secs(5);
        while limiter.acquire(A).await.is_err() {
            assert!(Instant::now() < deadline, "the failures never left the window");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A flood of one-time callers keeps at most two generations, and a caller that keeps
    /// coming back keeps its failures through the rotations the flood causes.
    #[tokio::test]
    async fn memory_is_bounded_whatever_the_number_of_callers() {
        let limiter = Arc::new(FailureLimiter::new(3));
        let guesser = (u32::MAX, IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        for _ in 0..3 {
            limiter.acquire(guesser).await.unwrap().failed();
        }
        for i in 0..(5 * CALLERS_PER_GENERATION as u32) {
            let flooder = (i, IpAddr::V4(std::net::Ipv4Addr::from(i)));
            limiter.acquire(flooder).await.unwrap().failed();
            assert!(limiter.callers() <= 2 * CALLERS_PER_GENERATION, "{} callers", limiter.callers());
            if i % 10_000 == 0 {
                assert!(limiter.acquire(guesser).await.is_err(), "the guesser is still refused after {i}");
            }
        }
        assert!(limiter.callers() >= CALLERS_PER_GENERATION, "the last generation is kept");
    }

    #[tokio::test]
    async fn zero_turns_it_off() {
        let limiter = Arc::new(FailureLimiter::new(0));
        for _ in 0..100 {
            limiter.acquire(A).await.unwrap().failed();
        }
        limiter.acquire(A).await.unwrap().found();
    }
}
