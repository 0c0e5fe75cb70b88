//! Guessing: the limit's shared window, and which codes a guess can hit.
//!
//! The window counts failed code lookups per caller (a token and a client address) in the
//! database, so that every instance of a deployment sees the same count. The HTTP layer decides
//! and waits; this only reads and records.
//!
//! A guess at a batch's codes hits every active code of the conference with the same prefix (as
//! its alphabet compares it) and the same format ([`active_like`]); the arithmetic is
//! [`crate::domain::Guessing`].

use chrono::{DateTime, Utc};

use crate::domain::{Alphabet, CodeFormat};
use crate::store::{Store, UsageRow};
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
/// back. `serve` runs this every [`PRUNE_EVERY`].
#[tracing::instrument(level = "debug", skip_all)]
pub async fn prune_failures(
    store: &dyn Store,
    window: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<u64, VoucherError> {
    Ok(store.prune_failed_lookups(window_start(window, now)).await?)
}

/// How often `serve` prunes the shared window.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
