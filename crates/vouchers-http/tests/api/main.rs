//! API tests of `vouchers-http`, in process through the router (one smoke test on a real
//! socket). Every test runs on SQLite (`...::sqlite::name`) and on PostgreSQL
//! (`...::postgres::name`, needs `VOUCHERS_TEST_POSTGRES_URL`).
#![allow(clippy::unwrap_used, missing_docs)]

/// `vouchers_core::both_backends!` with a [`support::TestApp`] (fresh database, fixture loaded)
/// as each test's argument, in scope for every module below.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        vouchers_core::both_backends!(with crate::support::TestApp::new; $($name),+);
    };
}

mod allotments;
mod authorization;
mod batches;
mod catalog;
mod checkout;
mod conferences;
mod errors;
mod export;
mod health;
mod hostile;
mod idempotency;
mod recipients;
mod reports;
mod socket;
mod support;
mod vouchers;
mod webhooks;
