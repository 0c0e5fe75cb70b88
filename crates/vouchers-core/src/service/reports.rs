//! The reports, one use case each, for the API, the CLI and the console alike: each batch's
//! funnel (issued → assigned → emailed → held → redeemed → released, and the discount given),
//! redemptions over time in the conference's time zone, and the redemptions one by one.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{quoted, BatchFunnel, Interval, InvalidInput, RedemptionEntry, Timeline, When};
use crate::store::{RedemptionFilter, Store};
use crate::VoucherError;

/// The most redemptions one page lists.
pub const MAX_PAGE: i64 = 10_000;

/// The longest search text.
pub const MAX_SEARCH: usize = 100;

/// Each batch's funnel, by batch (vouchers added by hand last, with no batch).
///
/// # Errors
/// [`VoucherError::ConferenceNotFound`].
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference))]
pub async fn batches(store: &dyn Store, conference: &str) -> Result<Vec<BatchFunnel>, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    Ok(store.batch_funnel(conference.id).await?)
}

/// Redemptions and the discount given per local day (or hour) from `from` to `to` (their steps
/// included), in the conference's time zone. Without `to`: now; without `from`: 30 days (by day)
/// or 48 hours (by hour) before `to`.
///
/// # Errors
/// [`VoucherError::Invalid`] naming `from` or `to` (a time that does not parse, a range backwards
/// or longer than 400 days, or 14 days by hour); [`VoucherError::ConferenceNotFound`].
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference))]
pub async fn timeline(
    store: &dyn Store,
    conference: &str,
    from: Option<When>,
    to: Option<When>,
    interval: Interval,
    now: DateTime<Utc>,
) -> Result<Timeline, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    let tz = conference.timezone;
    let to = to.map(|t| t.resolve("to", tz)).transpose()?.unwrap_or(now);
    let back = match interval {
        Interval::Day => Duration::days(29),
        Interval::Hour => Duration::hours(47),
    };
    let from = from.map(|t| t.resolve("from", tz)).transpose()?.unwrap_or(to - back);
    let range = Timeline::range(from, to, tz, interval)?;
    let buckets = store.redemption_buckets(conference.id, range.0, range.1).await?;
    Ok(Timeline::fold(&buckets, range, tz, interval))
}

/// Which redemptions to list, as a face reads them (times in the conference's time zone).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RedemptionQuery {
    /// Only this batch's.
    pub batch_id: Option<i64>,
    /// Only released (true) or standing (false) ones.
    pub released: Option<bool>,
    /// Made at or after this.
    pub from: Option<When>,
    /// Made before this.
    pub to: Option<When>,
    /// Code or order reference starting with this text, ignoring case.
    pub search: Option<String>,
    /// The page after the redemption with this id (the previous page's last).
    pub before_id: Option<i64>,
    /// At most this many (1 to [`MAX_PAGE`]).
    pub limit: i64,
}

/// The conference's redemptions, newest first: time, code, batch, order, customer email (when
/// given), discount, released.
///
/// # Errors
/// [`VoucherError::Invalid`] naming `limit`, `search`, `from` or `to`;
/// [`VoucherError::ConferenceNotFound`].
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference))]
pub async fn redemptions(
    store: &dyn Store,
    conference: &str,
    query: &RedemptionQuery,
) -> Result<Vec<RedemptionEntry>, VoucherError> {
    if !(1..=MAX_PAGE).contains(&query.limit) {
        let message = format!("limit must be from 1 to {MAX_PAGE}, got {}", query.limit);
        return Err(InvalidInput::new("limit", message).into());
    }
    let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(search) = search {
        if search.chars().count() > MAX_SEARCH || search.chars().any(char::is_control) {
            let message = format!(
                "search must be at most {MAX_SEARCH} characters without control characters, got {}",
                quoted(search)
            );
            return Err(InvalidInput::new("search", message).into());
        }
    }
    let conference = super::catalog::conference(store, conference).await?;
    let tz = conference.timezone;
    let filter = RedemptionFilter {
        before_id: query.before_id,
        batch_id: query.batch_id,
        released: query.released,
        from: query.from.map(|t| t.resolve("from", tz)).transpose()?,
        to: query.to.map(|t| t.resolve("to", tz)).transpose()?,
        search: search.map(str::to_owned),
        limit: query.limit,
    };
    Ok(store.redemption_log(conference.id, &filter).await?)
}
