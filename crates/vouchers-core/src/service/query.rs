//! Reading vouchers back: list with filters, show one by code.

use crate::domain::{Batch, Voucher, VoucherCode};
use crate::store::{RedemptionRecord, Store, VoucherFilter};
use crate::VoucherError;

use super::catalog::conference;

/// The conference's vouchers matching `filter`, in creation order.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn list_vouchers(
    store: &dyn Store,
    conference_slug: &str,
    filter: &VoucherFilter,
) -> Result<Vec<Voucher>, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    Ok(store.vouchers(&conference, filter).await?)
}

/// The voucher with this code, matched ignoring ASCII case and surrounding whitespace.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn show_voucher(store: &dyn Store, conference_slug: &str, code: &str) -> Result<Voucher, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    let code = VoucherCode::parse_lookup(code)?;
    store
        .voucher_by_code(&conference, code.as_str())
        .await?
        .ok_or_else(|| VoucherError::VoucherNotFound { conference: conference.slug.clone(), code: code.into_string() })
}

/// A batch of the conference, or `None`.
#[tracing::instrument(level = "debug", skip_all, fields(batch = id))]
pub async fn batch(store: &dyn Store, conference_slug: &str, id: i64) -> Result<Option<Batch>, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    Ok(store.batch(&conference, id).await?)
}

/// The conference's batches with an id above `after_id`, by id, at most `limit`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn list_batches(
    store: &dyn Store,
    conference_slug: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Batch>, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    Ok(store.batches(&conference, after_id, limit).await?)
}

/// Like [`show_voucher`], for a code taken from a URL: text that is not shaped like a code names
/// no voucher, so it is [`VoucherError::VoucherNotFound`] rather than invalid input.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn find_voucher(store: &dyn Store, conference_slug: &str, code: &str) -> Result<Voucher, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    let not_found =
        || VoucherError::VoucherNotFound { conference: conference.slug.clone(), code: code.trim().to_owned() };
    let code = VoucherCode::parse_lookup(code).map_err(|_| not_found())?;
    store.voucher_by_code(&conference, code.as_str()).await?.ok_or_else(not_found)
}

/// The voucher with this code and its redemptions (order, when, released), newest first.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn voucher_with_redemptions(
    store: &dyn Store,
    conference_slug: &str,
    code: &str,
) -> Result<(Voucher, Vec<RedemptionRecord>), VoucherError> {
    let voucher = find_voucher(store, conference_slug, code).await?;
    let redemptions = store.redemptions(voucher.id).await?;
    Ok((voucher, redemptions))
}

/// A `recipient` filter as typed (`Ana@Example.org`): checked as an email and lower-cased, as
/// recipients are stored ([`crate::store::VoucherFilter::recipient_email`]).
pub fn recipient_filter(email: &str) -> Result<String, VoucherError> {
    Ok(crate::domain::Email::parse("recipient", email)?.as_str().to_owned())
}
