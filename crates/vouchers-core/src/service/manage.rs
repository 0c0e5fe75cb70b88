//! Changing what exists: one voucher's state, uses and window; a whole batch deactivated. Each
//! change runs in one transaction, holding the rows it checks.

use super::webhooks;
use crate::domain::{Batch, Budget, EventType, InvalidInput, MaxUses, ValidityWindow, Voucher, VoucherCode, When};
use crate::store::{Store, VoucherChange};
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
    super::audit(tx.as_mut(), Some(conference.id), "voucher.update", code.as_str(), changes.into()).await?;
    let voucher = tx.voucher(&conference, current.id).await?.ok_or_else(not_found)?;
    let data = webhooks::VoucherData { voucher: &voucher, order_ref: None, cart_ref: None };
    webhooks::emit(tx.as_mut(), (conference.id, &conference.slug), EventType::VoucherUpdated, &data, super::now())
        .await?;
    tx.commit().await?;
    Ok(voucher)
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
