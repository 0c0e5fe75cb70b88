//! Real-browser tests: headless Chromium driven through chromedriver (WebDriver, with
//! fantoccini). Debian's `chromium` and `chromium-driver` must be installed
//! (scripts/browser-deps.sh); without them these tests fail, never skip.
//!
//! - `child`: the guard that kills a process (or its process group) when dropped, shared with
//!   the `cli` tests and the load benchmark;
//! - `browser`: chromedriver and Chromium as guarded processes, and the page helpers;
//! - `app`: a prepared database and `vouchers serve`;
//! - `harness`: the browser setup proven on a page the test serves itself;
//! - `console`: the organizers' console, end to end;
//! - `sponsor`: a sponsor allotment, from the organizer's console and the sponsor's own page;
//! - `pages`: every page at a laptop's and a phone's width (axe-core, the layout, the screenshots
//!   of `docs/screenshots/`);
//! - `keyboard`: signing in, generating a batch and deactivating it with the keyboard alone.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../common/child.rs"]
mod child;

mod app;
mod browser;
mod console;
mod harness;
mod keyboard;
mod pages;
mod sponsor;
