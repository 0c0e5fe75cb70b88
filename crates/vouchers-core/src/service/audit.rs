//! Reading the audit log of a conference: who did what, newest first, filtered by time, action
//! and actor, for the API, the CLI and the console alike.

use crate::domain::{quoted, AuditRecord, InvalidInput};
use crate::store::{AuditFilter, Store};
use crate::VoucherError;

use super::catalog::conference;

/// The most records one call returns (the CLI's `--limit` at most). The store is read in pages
/// of at most [`AuditFilter::MAX_PAGE`] records, one statement each.
pub const MAX_RECORDS: i64 = 100_000;

/// The longest actor text a filter takes, in characters.
pub const MAX_ACTOR: usize = 200;

/// The longest action a filter takes, in characters (the longest listed is much shorter).
pub const MAX_ACTION: usize = 100;

/// The filter's text `field`, trimmed, `None` when empty; refused when longer than `most`
/// characters or holding a control character.
fn text_filter(field: &'static str, value: Option<&str>, most: usize) -> Result<Option<String>, InvalidInput> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > most || text.chars().any(char::is_control) {
        let message =
            format!("{field} must be at most {most} characters without control characters, got {}", quoted(text));
        return Err(InvalidInput::new(field, message));
    }
    Ok(Some(text.to_owned()))
}

/// The conference's audit records matching `filter`, newest first: at most `filter.limit` (1 to
/// [`MAX_RECORDS`]), read from the store [`AuditFilter::MAX_PAGE`] at a time. The actor matches
/// when its name (an account's email, a token's name, a sponsor's name, the command line's user)
/// contains the text, ignoring ASCII case; `until` is exclusive.
///
/// # Errors
/// [`VoucherError::Invalid`] naming `limit`, `action` (over [`MAX_ACTION`] characters),
/// `actor` (over [`MAX_ACTOR`] characters) or `until` (before `since`);
/// [`VoucherError::ConferenceNotFound`].
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug, limit = filter.limit))]
pub async fn audit_log(
    store: &dyn Store,
    conference_slug: &str,
    filter: &AuditFilter,
) -> Result<Vec<AuditRecord>, VoucherError> {
    if !(1..=MAX_RECORDS).contains(&filter.limit) {
        let message = format!("limit must be from 1 to {MAX_RECORDS}, got {}", filter.limit);
        return Err(InvalidInput::new("limit", message).into());
    }
    let action = text_filter("action", filter.action.as_deref(), MAX_ACTION)?;
    let actor = text_filter("actor", filter.actor.as_deref(), MAX_ACTOR)?;
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if until < since {
            let message = format!("until must not be before since ({} < {})", until.to_rfc3339(), since.to_rfc3339());
            return Err(InvalidInput::new("until", message).into());
        }
    }
    let conference = conference(store, conference_slug).await?;
    let mut page = AuditFilter { action, actor, ..filter.clone() };
    let mut records: Vec<AuditRecord> = Vec::new();
    loop {
        let left = filter.limit - i64::try_from(records.len()).unwrap_or(i64::MAX);
        page.limit = left.min(AuditFilter::MAX_PAGE);
        let found = store.audit_log(conference.id, &page).await?;
        let full = i64::try_from(found.len()).unwrap_or(0) == page.limit;
        page.before_id = found.last().map(|r| r.id);
        records.extend(found);
        if !full || left <= page.limit {
            return Ok(records);
        }
    }
}
