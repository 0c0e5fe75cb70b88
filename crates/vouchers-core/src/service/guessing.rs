//! Guessing: the limit on failed code lookups ([`GuessGuard`]), its window shared by every
//! instance on PostgreSQL, and which codes a guess can hit.
//!
//! A caller is a token and a client address. Only failures count: a code that does not exist or
//! is mistyped ([`GuessOutcome`]). A caller that has used up its failures in the window is
//! refused before anything is read, so it cannot learn even from timing whether a code exists.
//! On PostgreSQL the failures are also recorded in the database and read in the checkout's one
//! round trip, so several instances behind a balancer allow the limit once, not once each; an
//! SQLite deployment is one process and keeps its window in memory.
//!
//! A guess at a batch's codes hits every active code of the conference with the same prefix (as
//! its alphabet compares it) and the same format ([`active_like`]); the arithmetic is
//! [`crate::domain::Guessing`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::checkout::{CheckResult, CheckoutView, Held, Redemption, Release};
use super::limiter::{FailureLimiter, Lookup, TooManyFailures};
use crate::domain::{Alphabet, CodeFormat, InvalidReason};
use crate::store::{Backend, Store, UsageRow};
use crate::VoucherError;

/// Whether a guess shaped like `prefix` + `format` can hit a code of a batch of that format with
/// prefix `other`: the same prefix as the alphabet compares it (ignoring case; folded for
/// readable codes).
fn same_prefix(format: &CodeFormat, prefix: &str, other: &str) -> bool {
    format.alphabet.canonical(prefix) == format.alphabet.canonical(other)
}

/// Active codes among `rows` (a conference's usage, per batch) that a guess shaped like
/// `prefix` + `format` can hit: those of generated batches with the same format and prefix.
pub fn active_like(rows: &[UsageRow], prefix: &str, format: &CodeFormat) -> i64 {
    let of_format = rows.iter().filter(|row| row_format(row).as_ref() == Some(format));
    sum_with_prefix(of_format.filter_map(|row| Some((row.prefix.as_deref()?, row.active))), prefix, format)
}

/// The same from `(prefix, active codes)` groups of batches of `format`
/// ([`crate::store::StoreTx::active_codes_by_prefix`]).
pub fn active_with_prefix(groups: &[(String, i64)], prefix: &str, format: &CodeFormat) -> i64 {
    sum_with_prefix(groups.iter().map(|(p, active)| (p.as_str(), *active)), prefix, format)
}

/// Active codes of the `(prefix, active)` groups whose prefix a guess shaped like `prefix` hits.
fn sum_with_prefix<'a>(groups: impl Iterator<Item = (&'a str, i64)>, prefix: &str, format: &CodeFormat) -> i64 {
    groups.filter(|(p, _)| same_prefix(format, prefix, p)).map(|(_, active)| active).fold(0i64, i64::saturating_add)
}

/// The format of a usage row's batch, `None` for vouchers added by hand and imported batches
/// (their codes were chosen, not drawn).
pub fn row_format(row: &UsageRow) -> Option<CodeFormat> {
    if row.source.as_deref() != Some("generate") {
        return None;
    }
    let alphabet = Alphabet::parse(row.alphabet.as_deref()?).ok()?;
    CodeFormat::new(alphabet, row.code_length?, row.check_char?).ok()
}

/// A caller's failures in the window: how many, and how long until the oldest leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentFailures {
    /// Failures in the window.
    pub count: usize,
    /// How long until the oldest of them leaves the window (zero when there is none).
    pub oldest_leaves_in: std::time::Duration,
}

/// The start of the `window` that ends at `now`: failures after it count.
pub fn window_start(window: std::time::Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX)
}

impl RecentFailures {
    /// From what the database counted since [`window_start`]: `(how many, the oldest)`.
    pub fn from_counted(
        (count, oldest): (i64, Option<DateTime<Utc>>),
        window: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Self {
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        let oldest_leaves_in = oldest.map(|t| (t + window - now).to_std().unwrap_or_default()).unwrap_or_default();
        Self { count: usize::try_from(count).unwrap_or(usize::MAX), oldest_leaves_in }
    }
}

/// Records one failed lookup of the caller at `now` (and forgets its failures older than the
/// window): one small write.
#[tracing::instrument(level = "debug", skip_all, fields(token = token_id))]
pub async fn record_failure(
    store: &dyn Store,
    token_id: i64,
    address: &str,
    window: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<(), VoucherError> {
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    Ok(store.record_failed_lookup(token_id, address, now, now - window).await?)
}

/// Deletes the failed lookups that have left the `window` ending at `now`, of every caller: a
/// caller's own old records go when it fails again, but a flood of one-time addresses never comes
/// back. `serve` runs this every [`super::limiter::PRUNE_EVERY`].
#[tracing::instrument(level = "debug", skip_all)]
pub async fn prune_failures(
    store: &dyn Store,
    window: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<u64, VoucherError> {
    Ok(store.prune_failed_lookups(window_start(window, now)).await?)
}

/// Who a guess is counted against: a token (the SHA-256 of its secret, known before anything is
/// read) and the client's address.
pub type CallerKey = (String, IpAddr);

/// Whether a checkout answer is a failed guess: the code does not exist, or is mistyped. The
/// one place that decides what the guessing limit counts.
pub trait GuessOutcome {
    /// True when this answer counts as one failed lookup.
    fn is_failed_guess(&self) -> bool;
}

impl GuessOutcome for CheckResult {
    fn is_failed_guess(&self) -> bool {
        matches!(self.reason, Some(InvalidReason::NotFound | InvalidReason::Mistyped))
    }
}

impl GuessOutcome for Redemption {
    fn is_failed_guess(&self) -> bool {
        false
    }
}

impl GuessOutcome for Release {
    fn is_failed_guess(&self) -> bool {
        false
    }
}

impl GuessOutcome for Held {
    fn is_failed_guess(&self) -> bool {
        false
    }
}

impl GuessOutcome for VoucherError {
    fn is_failed_guess(&self) -> bool {
        matches!(self, VoucherError::VoucherNotFound { .. } | VoucherError::Mistyped { .. })
    }
}

impl<T: GuessOutcome> GuessOutcome for Result<T, VoucherError> {
    fn is_failed_guess(&self) -> bool {
        match self {
            Ok(answer) => answer.is_failed_guess(),
            Err(error) => error.is_failed_guess(),
        }
    }
}

/// The guessing limit of a server: failed lookups per caller (a token at an address) and per
/// token (from all its addresses together) in a sliding window of one minute.
#[derive(Debug)]
pub struct GuessGuard {
    per_caller: Arc<FailureLimiter<CallerKey>>,
    per_token: Arc<FailureLimiter<String>>,
    /// The window is also kept in the database (PostgreSQL, with a limit on).
    shared: bool,
}

impl GuessGuard {
    /// `per_caller` failed lookups per token and address and `per_token` per token a minute (0:
    /// no such limit), shared through the database when `backend` is PostgreSQL.
    pub fn new(backend: Backend, per_caller: u32, per_token: u32) -> Self {
        Self::with_window(backend, per_caller, per_token, Duration::from_secs(60))
    }

    /// The same with another window (tests).
    pub fn with_window(backend: Backend, per_caller: u32, per_token: u32, window: Duration) -> Self {
        Self {
            per_caller: Arc::new(FailureLimiter::with_window(per_caller, window)),
            per_token: Arc::new(FailureLimiter::with_window(per_token, window)),
            shared: backend == Backend::Postgres && (per_caller > 0 || per_token > 0),
        }
    }

    /// Whether the window lives in the database too (several instances share it).
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// The window failures are counted in.
    pub fn window(&self) -> Duration {
        self.per_caller.window()
    }

    /// Callers this process keeps now (bounded; see [`super::limiter::CALLERS_PER_GENERATION`]).
    pub fn callers(&self) -> usize {
        self.per_caller.callers()
    }

    /// A lookup by the caller (`token_hash` at `address`) at `now`, before anything is read: refused
    /// when its failures here fill the window; waits while its lookups in flight hold every slot
    /// its failures leave.
    pub async fn admit(
        &self,
        token_hash: String,
        address: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<Guess<'_>, TooManyFailures> {
        let key: CallerKey = (token_hash, address);
        let caller = self.per_caller.acquire(key.clone()).await?;
        let token = self.per_token.acquire(key.0.clone()).await?;
        Ok(Guess { guard: self, key, caller, token, at: now })
    }

    /// Deletes the shared window's failures that have left it, of every caller (a caller's own
    /// old ones go when it fails again, but a flood of one-time addresses never comes back).
    /// Nothing to do when the window is not shared.
    pub async fn prune(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<u64, VoucherError> {
        if !self.shared {
            return Ok(0);
        }
        prune_failures(store, self.window(), now).await
    }
}

/// One admitted lookup: read with [`Guess::failures_since`], take in the shared window with
/// [`Guess::absorb`], and end with [`Guess::settle`]. Dropped unsettled (the request failed
/// otherwise), nothing is counted.
#[derive(Debug)]
#[must_use = "a guess is counted only when it is settled"]
pub struct Guess<'a> {
    guard: &'a GuessGuard,
    key: CallerKey,
    caller: Lookup<CallerKey>,
    token: Lookup<String>,
    at: DateTime<Utc>,
}

impl Guess<'_> {
    /// What the checkout's read counts in the shared window (the caller's address and the window's
    /// start), or `None` when the window is not shared.
    pub fn failures_since(&self) -> Option<(String, DateTime<Utc>)> {
        self.guard.shared.then(|| (self.key.1.to_string(), window_start(self.guard.window(), self.at)))
    }

    /// Takes in the failures the checkout's read found in the shared window: refused when they
    /// fill it (and from then on refused here before reading, too).
    pub async fn absorb(self, view: &CheckoutView) -> Result<Self, TooManyFailures> {
        if !self.guard.shared {
            return Ok(self);
        }
        let window = self.guard.window();
        let caller = RecentFailures::from_counted(view.failures, window, self.at);
        let token = RecentFailures::from_counted(view.token_failures, window, self.at);
        let caller_more = self.guard.per_caller.absorb(&self.key, caller.count, caller.oldest_leaves_in);
        let token_more = self.guard.per_token.absorb(&self.key.0, token.count, token.oldest_leaves_in);
        if !(caller_more || token_more) {
            return Ok(self);
        }
        let Guess { guard, key, caller, token, at } = self;
        drop((caller, token));
        guard.admit(key.0, key.1, at).await
    }

    /// Ends the lookup with its answer: a failed guess ([`GuessOutcome`]) counts one failure, here
    /// and, when the window is shared, in the database for token `token_id`; any other answer
    /// counts nothing. A failure that cannot be recorded in the database is logged, never
    /// returned: the answer stands.
    pub async fn settle(self, store: &dyn Store, token_id: i64, outcome: &impl GuessOutcome) {
        if !outcome.is_failed_guess() {
            self.caller.found();
            self.token.found();
            return;
        }
        self.caller.failed();
        self.token.failed();
        if self.guard.shared {
            let address = self.key.1.to_string();
            let recorded = record_failure(store, token_id, &address, self.guard.window(), crate::now()).await;
            if let Err(error) = recorded {
                tracing::warn!(error = %crate::cause_chain(&error), "a failed lookup could not be recorded");
            }
        }
    }
}
