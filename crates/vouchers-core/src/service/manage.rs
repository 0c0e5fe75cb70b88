//! Changing what exists: one voucher's state, uses and window; a whole batch deactivated. Each
//! change runs in one transaction, holding the rows it checks.

use super::webhooks;
use crate::domain::Conference;
use crate::domain::{
    Batch, BatchLabel, Budget, EventType, InvalidInput, MaxUses, ValidityWindow, Voucher, VoucherCode, When,
};
use crate::store::{Store, StoreTx, VoucherChange, VoucherFilter, VoucherState};
use crate::VoucherError;
use serde_json::json;

/// What to change on a voucher; `None` leaves a field as it is. For the window bounds,
/// `Some(None)` removes the bound.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoucherUpdate {
    /// Activate or deactivate.
    pub is_active: Option<bool>,
    /// New number of uses allowed: at least the uses already consumed.
    pub max_uses: Option<MaxUses>,
    /// New start of the validity window.
    pub valid_from: Option<Option<When>>,
    /// New end of the validity window.
    pub valid_until: Option<Option<When>>,
    /// New budget (`Some(None)` removes it).
    pub budget: Option<Option<Budget>>,
}

/// Applies `update` to the voucher with this code (ignoring ASCII case and surrounding spaces)
/// and returns it as stored afterwards.
///
/// # Errors
/// [`VoucherError::ConferenceNotFound`], [`VoucherError::VoucherNotFound`], or
/// [`VoucherError::Invalid`] naming `max_uses`, `valid_from` or `valid_until`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn update_voucher(
    store: &dyn Store,
    conference_slug: &str,
    code: &str,
    update: &VoucherUpdate,
) -> Result<Voucher, VoucherError> {
    let not_found =
        || VoucherError::VoucherNotFound { conference: conference_slug.to_owned(), code: code.trim().to_owned() };
    // Something that is not shaped like a code names no voucher.
    let code = VoucherCode::parse_lookup(code).map_err(|_| not_found())?;

    let mut tx = store.begin().await?;
    let conference = tx
        .conference(conference_slug)
        .await?
        .ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))?;
    let current = tx.lock_voucher(conference.id, code.as_str()).await?.ok_or_else(not_found)?;
    let voucher = apply(tx.as_mut(), &conference, code.as_str(), &current, update).await?;
    tx.commit().await?;
    Ok(voucher)
}

/// Applies `update` to `current` (locked by the caller's transaction): the checks, the row, the
/// `voucher.update` audit record and the `voucher.updated` event. Returns the voucher as stored.
async fn apply(
    tx: &mut dyn StoreTx,
    conference: &Conference,
    code: &str,
    current: &VoucherState,
    update: &VoucherUpdate,
) -> Result<Voucher, VoucherError> {
    let not_found = || VoucherError::VoucherNotFound { conference: conference.slug.clone(), code: code.to_owned() };
    let max_uses = update.max_uses.map_or(current.max_uses, MaxUses::get);
    if max_uses < current.times_used {
        return Err(InvalidInput::new(
            "max_uses",
            format!("max_uses must be at least the {} uses already consumed, got {max_uses}", current.times_used),
        )
        .into());
    }
    let bound = |given: Option<Option<When>>, field: &'static str, stored| match given {
        Some(Some(when)) => when.resolve(field, conference.timezone).map(Some),
        Some(None) => Ok(None),
        None => Ok(stored),
    };
    let from = bound(update.valid_from, "valid_from", current.window.from())?;
    let until = bound(update.valid_until, "valid_until", current.window.until())?;
    let change = VoucherChange {
        is_active: update.is_active.unwrap_or(current.is_active),
        max_uses,
        window: ValidityWindow::new(from, until)?,
        budget: update.budget.map_or(current.budget, |budget| budget.map(Budget::get)),
    };
    tx.update_voucher(current.id, &change, super::now()).await?;
    let mut changes = serde_json::Map::new();
    let mut changed = |field: &str, old: serde_json::Value, new: serde_json::Value| {
        if old != new {
            changes.insert(field.to_owned(), json!({"old": old, "new": new}));
        }
    };
    changed("is_active", json!(current.is_active), json!(change.is_active));
    changed("max_uses", json!(current.max_uses), json!(change.max_uses));
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| json!(t.as_ref().map(crate::domain::format_rfc3339));
    changed("valid_from", time(current.window.from()), time(change.window.from()));
    changed("valid_until", time(current.window.until()), time(change.window.until()));
    let money = |m: Option<crate::domain::Money>| json!(m.map(|m| m.to_string()));
    changed("budget", money(current.budget), money(change.budget));
    super::audit(tx, Some(conference.id), "voucher.update", code, changes.into()).await?;
    let voucher = tx.voucher(conference, current.id).await?.ok_or_else(not_found)?;
    let data = webhooks::VoucherData { voucher: &voucher, order_ref: None, cart_ref: None };
    webhooks::emit(tx, (conference.id, &conference.slug), EventType::VoucherUpdated, &data, super::now()).await?;
    Ok(voucher)
}

/// The most vouchers one bulk change touches: a selection of codes, or all that match a filter.
pub const MAX_BULK: usize = 1000;

/// The vouchers a bulk action is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// These codes (at most [`MAX_BULK`]).
    Codes(Vec<String>),
    /// Every voucher the filter matches (its paging ignored; refused past [`MAX_BULK`]).
    Matching(VoucherFilter),
}

/// What a bulk change did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkChange {
    /// Vouchers changed.
    pub changed: u64,
    /// Vouchers already in the asked state, left as they were.
    pub unchanged: u64,
}

/// The codes of `selection`, checked against its bounds; the message names the field
/// (`selection`) and the rule.
pub async fn selected_codes(
    store: &dyn Store,
    conference_slug: &str,
    selection: &Selection,
) -> Result<Vec<String>, VoucherError> {
    let too_many = |what: &str| {
        InvalidInput::new(
            "selection",
            format!(
                "at most {MAX_BULK} vouchers at once, {what}: narrow the filter (a batch, a status, a prefix), \
                 or deactivate a whole batch from its page"
            ),
        )
    };
    let codes = match selection {
        Selection::Codes(codes) => {
            if codes.len() > MAX_BULK {
                return Err(too_many(&format!("got {}", codes.len())).into());
            }
            codes.clone()
        }
        Selection::Matching(filter) => {
            let filter = VoucherFilter {
                after_id: None,
                limit: Some(i64::try_from(MAX_BULK).unwrap_or(1000) + 1),
                ..filter.clone()
            };
            let found = super::query::list_vouchers(store, conference_slug, &filter).await?;
            if found.len() > MAX_BULK {
                return Err(too_many("and more match this filter").into());
            }
            found.into_iter().map(|v| v.code).collect()
        }
    };
    if codes.is_empty() {
        return Err(
            InvalidInput::new("selection", "select at least one voucher, or choose all that match the filter").into()
        );
    }
    Ok(codes)
}

/// Activates (`active`) or deactivates the selected vouchers in one transaction, each as
/// [`update_voucher`] changes it (its audit record, its `voucher.updated` event); vouchers
/// already so are left alone. A code that names no voucher of the conference refuses the whole
/// change, and nothing is written.
///
/// # Errors
/// [`VoucherError::Invalid`] naming `selection` (none, or more than [`MAX_BULK`]),
/// [`VoucherError::VoucherNotFound`], [`VoucherError::ConferenceNotFound`].
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug, active))]
pub async fn set_active_many(
    store: &dyn Store,
    conference_slug: &str,
    selection: &Selection,
    active: bool,
) -> Result<BulkChange, VoucherError> {
    let codes = selected_codes(store, conference_slug, selection).await?;
    let mut tx = store.begin().await?;
    let conference = tx
        .conference(conference_slug)
        .await?
        .ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))?;
    let mut outcome = BulkChange::default();
    let update = VoucherUpdate { is_active: Some(active), ..VoucherUpdate::default() };
    // Rows are locked in one order (the codes sorted), so two bulk changes over the same
    // vouchers wait for each other instead of deadlocking.
    let mut lookups = Vec::with_capacity(codes.len());
    for code in &codes {
        let not_found =
            || VoucherError::VoucherNotFound { conference: conference.slug.clone(), code: code.trim().to_owned() };
        lookups.push(VoucherCode::parse_lookup(code).map_err(|_| not_found())?);
    }
    lookups.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    lookups.dedup_by(|a, b| a.as_str() == b.as_str());
    for code in &lookups {
        let not_found =
            || VoucherError::VoucherNotFound { conference: conference.slug.clone(), code: code.as_str().to_owned() };
        let current = tx.lock_voucher(conference.id, code.as_str()).await?.ok_or_else(not_found)?;
        if current.is_active == active {
            outcome.unchanged += 1;
        } else {
            apply(tx.as_mut(), &conference, code.as_str(), &current, &update).await?;
            outcome.changed += 1;
        }
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Names a batch and sets its note (both may be empty), audited as `batch.label` with the old
/// and new values. Returns the batch as it is now.
///
/// # Errors
/// [`VoucherError::Invalid`] naming `name` or `note` ([`BatchLabel::parse`]),
/// [`VoucherError::BatchNotFound`], [`VoucherError::ConferenceNotFound`].
#[tracing::instrument(level = "debug", skip_all, fields(batch = batch_id))]
pub async fn label_batch(
    store: &dyn Store,
    conference_slug: &str,
    batch_id: i64,
    name: &str,
    note: &str,
) -> Result<Batch, VoucherError> {
    let label = BatchLabel::parse(name, note)?;
    let not_found = || VoucherError::BatchNotFound { conference: conference_slug.to_owned(), id: batch_id };
    let mut tx = store.begin().await?;
    let conference = tx
        .conference(conference_slug)
        .await?
        .ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))?;
    let before = tx.batch(&conference, batch_id).await?.ok_or_else(not_found)?;
    if !tx.set_batch_label(conference.id, batch_id, &label).await? {
        return Err(not_found());
    }
    let changes = json!({
        "name": {"old": before.name, "new": label.name},
        "note": {"old": before.note, "new": label.note},
    });
    super::audit(tx.as_mut(), Some(conference.id), "batch.label", &format!("batch {batch_id}"), changes).await?;
    let batch = tx.batch(&conference, batch_id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(batch)
}

/// Deactivates every voucher of a batch in one transaction (one UPDATE). Returns the batch and
/// how many vouchers were active before.
#[tracing::instrument(level = "debug", skip_all, fields(batch = batch_id))]
pub async fn deactivate_batch(
    store: &dyn Store,
    conference_slug: &str,
    batch_id: i64,
) -> Result<(Batch, u64), VoucherError> {
    let not_found = || VoucherError::BatchNotFound { conference: conference_slug.to_owned(), id: batch_id };
    let mut tx = store.begin().await?;
    let conference = tx
        .conference(conference_slug)
        .await?
        .ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))?;
    let deactivated = tx.deactivate_batch(conference.id, batch_id, super::now()).await?.ok_or_else(not_found)?;
    let target = format!("batch {batch_id}");
    super::audit(tx.as_mut(), Some(conference.id), "batch.deactivate", &target, json!({"deactivated": deactivated}))
        .await?;
    let batch = tx.batch(&conference, batch_id).await?.ok_or_else(not_found)?;
    let data = webhooks::BatchData { batch: &batch, deactivated: Some(deactivated) };
    webhooks::emit(tx.as_mut(), (conference.id, &conference.slug), EventType::BatchDeactivated, &data, super::now())
        .await?;
    tx.commit().await?;
    Ok((batch, deactivated))
}
