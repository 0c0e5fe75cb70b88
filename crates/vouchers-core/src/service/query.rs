//! Reading vouchers back: list with filters, show one by code.

use crate::domain::{Batch, Voucher, VoucherCode};
use crate::store::{Store, VoucherFilter};
use crate::VoucherError;

use super::catalog::conference;

/// The conference's vouchers matching `filter`, in creation order.
pub async fn list_vouchers(
    store: &dyn Store,
    conference_slug: &str,
    filter: &VoucherFilter,
) -> Result<Vec<Voucher>, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    Ok(store.vouchers(&conference, filter).await?)
}

/// The voucher with this code, matched ignoring ASCII case and surrounding whitespace.
pub async fn show_voucher(store: &dyn Store, conference_slug: &str, code: &str) -> Result<Voucher, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    let code = VoucherCode::parse_lookup(code)?;
    store
        .voucher_by_code(&conference, code.as_str())
        .await?
        .ok_or_else(|| VoucherError::VoucherNotFound { conference: conference.slug.clone(), code: code.into_string() })
}

/// A batch of the conference, or `None`.
pub async fn batch(store: &dyn Store, conference_slug: &str, id: i64) -> Result<Option<Batch>, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    Ok(store.batch(&conference, id).await?)
}
