//! The `vouchers` binary run as its users run it, in one test binary: real processes, flags in,
//! text out, exit status; `serve` on a real socket with a plain HTTP client.
//!
//! - `support`: running the binary without inheriting settings, and reading its answer; the
//!   backends, a fresh database on each, and `vouchers serve` as a guarded process;
//! - `child` (`tests/common/child.rs`): the guard that kills a process when dropped, shared with
//!   the browser tests and the load benchmark;
//! - `commands`: the organizer's and the checkout's commands, on SQLite and PostgreSQL;
//! - `server`: `token` and `serve` as an operator runs them;
//! - `accounts`: `vouchers user`, the console's organizer accounts;
//! - `conventions`: exit statuses, JSON errors, completions, man page, version, help;
//! - `formats`: code formats, folded lookups, `mistyped` and the guessing budget;
//! - `faults`: racing starts, the database going away, SIGKILL and SIGTERM;
//! - `mail`: recipients, the outbox and imports against a real SMTP server (aiosmtpd);
//! - `hostile`: malformed settings and outputs a careless operator or an attacker would try.
//!
//! A test that runs on both databases is written once, taking the [`support::Backend`], and
//! declared with [`both_backends!`]; the PostgreSQL tests live in modules named `postgres`, so
//! `--skip postgres::` skips them.
#![allow(clippy::unwrap_used, missing_docs)]

/// Declares each listed `fn name(backend: Backend)` of the calling module as two tests,
/// `sqlite::name` and `postgres::name`; the test gets its database(s) from the backend
/// ([`support::Backend::database`]). After `postgres only:`, each listed `fn name()` is declared
/// as `postgres::name` alone (a test of what only PostgreSQL has, which `--skip postgres::` must
/// skip too). A test of SQLite alone is a plain `#[test]`.
///
/// ```text
/// both_backends!(organizer_flow, formats);
/// both_backends!(killed_servers_lose_no_use; postgres only: an_outage_answers_fast);
/// ```
macro_rules! both_backends {
    ($($name:ident),+ $(,)? $(; postgres only: $($postgres:ident),+ $(,)?)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::support::Backend::Sqlite)
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::support::Backend::Postgres)
                }
            )+
            $($(
                #[test]
                fn $postgres() {
                    super::$postgres()
                }
            )+)?
        }
    };
}

#[path = "../common/child.rs"]
mod child;

mod accounts;
mod admin;
mod allotments;
mod cluster;
mod commands;
mod conventions;
mod disk;
mod faults;
mod formats;
mod hostile;
mod mail;
mod reports;
mod server;
mod support;
mod webhooks;
