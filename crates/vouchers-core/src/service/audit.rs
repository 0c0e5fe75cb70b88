//! Reading the audit log of a conference: who did what, newest first.

use crate::domain::AuditRecord;
use crate::store::{AuditFilter, Store};
use crate::VoucherError;

use super::catalog::conference;

/// The conference's audit records matching `filter`, newest first.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn audit_log(
    store: &dyn Store,
    conference_slug: &str,
    filter: &AuditFilter,
) -> Result<Vec<AuditRecord>, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    Ok(store.audit_log(conference.id, filter).await?)
}
