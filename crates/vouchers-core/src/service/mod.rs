//! The use cases, one module each. Every write runs in one transaction: on any error nothing of
//! it remains.

pub mod accounts;
pub mod add;
pub mod catalog;
pub mod checkout;
pub mod codegen;
pub mod generate;
pub mod idempotent;
pub mod manage;
pub mod query;
mod terms;
pub mod tokens;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};

use crate::store::{self, DatabaseUrl, Store};
use crate::VoucherError;

/// Opens the database behind `url` (creating a SQLite file on first use) and applies the schema
/// migrations; several processes may start at once.
/// A URL that names no database is [`VoucherError::Invalid`] naming `database`.
pub async fn connect(url: &DatabaseUrl) -> Result<Arc<dyn Store>, VoucherError> {
    url.backend()?;
    Ok(store::connect(url).await?)
}

/// Succeeds when the database answers: what a readiness probe asks.
pub async fn ping(store: &dyn Store) -> Result<(), VoucherError> {
    Ok(store.ping().await?)
}

/// Operator settings that bound what a request may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest `count` one `generate` call accepts (`VOUCHERS_MAX_BATCH`, default 500).
    pub max_batch: i64,
}

impl Limits {
    /// The bound of the Django service this port started from (its `count` must be 1 to 500).
    pub const DEFAULT_MAX_BATCH: i64 = 500;
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_batch: Self::DEFAULT_MAX_BATCH }
    }
}

/// The clock every face and use case reads: the current time at the precision both databases
/// store (microseconds), so an instant handed out equals the one read back.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
