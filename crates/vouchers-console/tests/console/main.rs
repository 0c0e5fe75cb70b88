//! The console's pages over HTTP, in process through the router, on SQLite and PostgreSQL:
//! sign-in and sessions, CSRF, role and conference isolation, every page and form, validation
//! that keeps the values and writes nothing, double submits. (The real-browser test is in
//! `crates/vouchers-cli/tests/browser/`.)
#![allow(clippy::unwrap_used, missing_docs)]

/// `vouchers_core::both_backends!` with a [`support::Console`] as each test's argument.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        vouchers_core::both_backends!(with crate::support::Console::new; $($name),+);
    };
}

mod accounts;
mod admin;
mod bulk;
mod hostile;
mod import;
mod lists;
mod outbox;
mod pages;
mod recipients;
mod reports;
mod sessions;
mod sponsors;
mod support;
