//! The `vouchers` binary run as its users run it, in one test binary: real processes, flags in,
//! text out, exit status; `serve` on a real socket with a plain HTTP client.
//!
//! - `support`: running the binary without inheriting settings, and reading its answer;
//! - `commands`: the organizer's and the checkout's commands, on SQLite and PostgreSQL;
//! - `server`: `token` and `serve` as an operator runs them;
//! - `accounts`: `vouchers user`, the console's organizer accounts;
//! - `conventions`: exit statuses, JSON errors, completions, man page, version, help;
//! - `formats`: code formats, folded lookups, `mistyped` and the guessing budget;
//! - `faults`: racing starts, the database going away, SIGKILL and SIGTERM;
//! - `mail`: recipients, the outbox and imports against a real SMTP server (aiosmtpd);
//! - `hostile`: malformed settings and outputs a careless operator or an attacker would try.
//!
//! The PostgreSQL tests live in modules named `postgres`, so `--skip postgres::` skips them.
#![allow(clippy::unwrap_used, missing_docs)]

mod accounts;
mod cluster;
mod commands;
mod conventions;
mod disk;
mod faults;
mod formats;
mod hostile;
mod mail;
mod server;
mod support;
