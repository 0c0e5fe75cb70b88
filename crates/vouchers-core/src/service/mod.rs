//! The use cases, one module each. Every write runs in one transaction: on any error nothing of
//! it remains.

pub mod accounts;
pub mod add;
pub mod allotments;
pub mod assign;
pub mod audit;
pub mod backup;
pub mod catalog;
pub mod checkout;
pub mod codegen;
mod csv_input;
pub mod export;
pub mod generate;
pub mod guessing;
pub mod idempotent;
pub mod import;
pub mod limiter;
pub mod manage;
pub mod outbox;
pub mod query;
pub mod reports;
pub mod send;
pub mod sign_in;
pub mod terms;
pub mod tokens;
pub mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};

use crate::store::{self, DatabaseUrl, Store, StoreError};
use crate::VoucherError;

/// Opens the database behind `url` (creating a SQLite file on first use) and applies the schema
/// migrations; several processes may start at once.
/// A URL that names no database is [`VoucherError::Invalid`] naming `database`.
pub async fn connect(url: &DatabaseUrl, timeout: std::time::Duration) -> Result<Arc<dyn Store>, VoucherError> {
    url.backend()?;
    Ok(store::connect_with(url, timeout).await?)
}

/// Succeeds when the database answers within `timeout`: what a readiness probe asks.
pub async fn ping(store: &dyn Store, timeout: std::time::Duration) -> Result<(), VoucherError> {
    match tokio::time::timeout(timeout, store.ping()).await {
        Ok(answer) => Ok(answer?),
        Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut).into()),
    }
}

/// Operator settings that bound what a request may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest `count` one `generate` call accepts (`VOUCHERS_MAX_BATCH`, default 500).
    pub max_batch: i64,
    /// The failed-lookup limit a batch's guessing figure assumes, and its floor.
    pub guessing: crate::domain::GuessingPolicy,
    /// Where webhooks may point, and how their sender retries.
    pub webhooks: webhooks::WebhookSettings,
}

impl Limits {
    /// The bound of the Django service this port started from (its `count` must be 1 to 500).
    pub const DEFAULT_MAX_BATCH: i64 = 500;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch: Self::DEFAULT_MAX_BATCH,
            guessing: crate::domain::GuessingPolicy::default(),
            webhooks: webhooks::WebhookSettings::default(),
        }
    }
}

/// Appends an audit record to `tx` (whose actor it names), at the service's clock.
pub(crate) async fn audit(
    tx: &mut dyn store::StoreTx,
    conference_id: Option<i64>,
    action: &str,
    target: &str,
    changes: serde_json::Value,
) -> Result<(), VoucherError> {
    debug_assert!(
        crate::domain::AUDIT_ACTIONS.contains(&action),
        "audit action {action:?} is not in domain::AUDIT_ACTIONS: add it there (the console's audit filter lists them)"
    );
    let entry = store::AuditEntry { at: now(), conference_id, action, target, changes: &changes };
    Ok(tx.audit(&entry).await?)
}

/// The clock every face and use case reads: the current time at the precision both databases
/// store (microseconds), so an instant handed out equals the one read back.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
