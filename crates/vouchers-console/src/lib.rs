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
    /// Failed sign-ins allowed per account and per client address per minute.
    pub sign_ins_per_minute: u32,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self { secure_cookies: false, session: SessionPolicy::default(), sign_ins_per_minute: 5 }
    }
}

/// Who a failed sign-in is counted against: the account it named, and the client's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SignInKey {
    Account(String),
    Address(IpAddr),
}

/// What every page shares.
#[derive(Clone)]
pub struct ConsoleState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) limits: Limits,
    pub(crate) settings: ConsoleSettings,
    pub(crate) sign_ins: Arc<FailureLimiter<SignInKey>>,
}

impl ConsoleState {
    /// The console over `store`, generating batches within `limits`.
    pub fn new(store: Arc<dyn Store>, limits: Limits, settings: ConsoleSettings) -> Self {
        let sign_ins = Arc::new(FailureLimiter::new(settings.sign_ins_per_minute));
        Self { store, limits, settings, sign_ins }
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

/// Every console page, under `/console` (and `/`, which leads there).
pub fn router(state: ConsoleState) -> Router {
    pages::routes()
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/{*rest}", get(|| async { ConsoleError::NotFound }).post(|| async { ConsoleError::NotFound }))
        .route("/", get(|| async { Redirect::to("/console") }))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}
