//! The organizers' web console: server-rendered pages under `/console`, on the same use cases
//! and rules as the CLI and the API.
//!
//! [`router`] builds every page for a [`ConsoleState`]; `vouchers serve` merges it beside the
//! API's routes, so both share the server's limits, request ids and logs. Pages work without
//! JavaScript. Every response carries security headers (a Content-Security-Policy without
//! `unsafe-inline`, `frame-ancestors 'none'`, `nosniff`, a referrer policy); every value is
//! HTML-escaped by askama; the stylesheet is compiled into the binary.
//!
//! - `session`: the session cookie, the signed-in account, CSRF tokens;
//! - `form`: reading `application/x-www-form-urlencoded` bodies;
//! - `error`: the one error type, rendered as a page with a 4xx status;
//! - `view`: what every page shows (navigation) and how values are shown;
//! - `pages/`: one module per page group.

mod error;
mod form;
mod pages;
mod session;
mod view;

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use vouchers_core::service::accounts::SessionPolicy;
use vouchers_core::{Limits, Store};
use vouchers_http::limiter::FailureLimiter;

pub use error::ConsoleError;

/// Settings of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// Mark the session cookie `Secure` (sent over HTTPS only): set it behind HTTPS.
    pub secure_cookies: bool,
    /// How long sessions live.
    pub session: SessionPolicy,
    /// Failed sign-ins allowed per client address (and per known browser) per minute; an
    /// account takes [`ACCOUNT_SIGN_INS_FACTOR`] times as many from browsers it does not know.
    pub sign_ins_per_minute: u32,
    /// Take the client address from `X-Forwarded-For`, as the API does (`--trust-forwarded-for`).
    pub trust_forwarded_for: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session: SessionPolicy::default(),
            sign_ins_per_minute: 5,
            trust_forwarded_for: false,
        }
    }
}

/// An account's failed sign-ins per minute from browsers it does not know, as a multiple of the
/// per-address limit: one address (one stranger) can never lock an account, since its own limit
/// stops it first; only failures from several addresses at once can, for a minute.
pub const ACCOUNT_SIGN_INS_FACTOR: u32 = 4;

/// Who a failed sign-in is counted against: the client's address, and the account it named (by
/// its parsed email) or, from a browser that signed in to that account before, that browser.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SignInKey {
    Account(String),
    Device(String),
    Address(IpAddr),
}

/// What every page shares.
#[derive(Clone)]
pub struct ConsoleState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) limits: Limits,
    pub(crate) settings: ConsoleSettings,
    /// Per client address and per known browser.
    pub(crate) sign_ins: Arc<FailureLimiter<SignInKey>>,
    /// Per account, from browsers it does not know.
    pub(crate) account_sign_ins: Arc<FailureLimiter<SignInKey>>,
}

impl ConsoleState {
    /// The console over `store`, generating batches within `limits`.
    pub fn new(store: Arc<dyn Store>, limits: Limits, settings: ConsoleSettings) -> Self {
        let sign_ins = Arc::new(FailureLimiter::new(settings.sign_ins_per_minute));
        let per_account = settings.sign_ins_per_minute.saturating_mul(ACCOUNT_SIGN_INS_FACTOR);
        let account_sign_ins = Arc::new(FailureLimiter::new(per_account));
        Self { store, limits, settings, sign_ins, account_sign_ins }
    }
}

/// The stylesheet, compiled into the binary.
const STYLESHEET: &str = include_str!("../assets/console.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Security headers on every console response; pages are not cached unless a page says so.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Every path of the console that takes a POST (each a form whose handler refuses a missing or
/// wrong CSRF token, the sign-in form excepted), for tests and documentation.
pub fn post_paths() -> Vec<&'static str> {
    pages::routes().posts
}

/// Every console page, under `/console` (and `/`, which leads there).
pub fn router(state: ConsoleState) -> Router {
    pages::routes()
        .router
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/{*rest}", get(|| async { ConsoleError::NotFound }).post(|| async { ConsoleError::NotFound }))
        .route("/", get(|| async { Redirect::to("/console") }))
        .layer(middleware::from_fn(session::same_origin))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}
