//! The guessing limit's shared window: failed code lookups per caller (a token and a client
//! address) counted in the database, so that every instance of a deployment sees the same
//! count. The HTTP layer decides and waits; this only reads and records.

use chrono::{DateTime, Utc};

use crate::store::Store;
use crate::VoucherError;

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
