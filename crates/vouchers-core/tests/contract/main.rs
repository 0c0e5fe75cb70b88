//! Contract tests of `vouchers-core`: every test runs once on SQLite (`...::sqlite::name`) and
//! once on PostgreSQL (`...::postgres::name`, needs `VOUCHERS_TEST_POSTGRES_URL`).
#![allow(clippy::unwrap_used, missing_docs)]

/// `vouchers_core::both_backends!`, in scope for every module below.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        vouchers_core::both_backends!($($name),+);
    };
}

mod accounts;
mod add;
mod allotments;
mod api;
mod audit;
mod bulk;
mod catalog;
mod checkout;
mod collisions;
mod concurrency;
mod errors;
mod formats;
mod generate;
mod holds;
mod hostile;
mod label;
mod query;
mod recipients;
mod reports;
mod support;
mod tallies;
mod usable;
mod validation;
mod wal;
mod webhooks;
