//! The use cases, one module each. Every write runs in one transaction: on any error nothing of
//! it remains.

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

use chrono::{DateTime, SubsecRound, Utc};

/// Operator settings that bound what a request may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest `count` one `generate` call accepts (`VOUCHERS_MAX_BATCH`, default 500).
    pub max_batch: i64,
}

impl Limits {
    /// The original service's bound.
    pub const DEFAULT_MAX_BATCH: i64 = 500;
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_batch: Self::DEFAULT_MAX_BATCH }
    }
}

/// The current time at the precision both databases store (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
