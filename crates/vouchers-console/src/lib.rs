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
//! - `flash`: the sentence a change's redirect carries to the next page;
//! - `form`: reading `application/x-www-form-urlencoded` bodies;
//! - `error`: the one error type, rendered as a page with a 4xx status;
//! - `view`: what every page shows (navigation) and how values are shown;
//! - `pages/`: one module per page group.

mod error;
mod flash;
mod form;
mod pages;
mod session;
mod view;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use vouchers_core::service::accounts::SessionPolicy;
use vouchers_core::service::sign_in::SignInGuard;
use vouchers_core::{Limits, Store};

pub use error::ConsoleError;

/// Settings of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// Mark the session cookie `Secure` (sent over HTTPS only): set it behind HTTPS.
    pub secure_cookies: bool,
    /// How long sessions live.
    pub session: SessionPolicy,
    /// Failed sign-ins allowed per client address (and per known browser) per minute; an
    /// account takes [`vouchers_core::service::sign_in::ACCOUNT_FACTOR`] times as many from
    /// browsers it does not know.
    pub sign_ins_per_minute: u32,
    /// Take the client address from `X-Forwarded-For`, as the API does (`--trust-forwarded-for`).
    pub trust_forwarded_for: bool,
    /// This server sends the outbox's email (an SMTP URL is set): pages that queue email say so.
    pub mail_configured: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session: SessionPolicy::default(),
            sign_ins_per_minute: 5,
            trust_forwarded_for: false,
            mail_configured: false,
        }
    }
}

/// What every page shares.
#[derive(Clone)]
pub struct ConsoleState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) limits: Limits,
    pub(crate) settings: ConsoleSettings,
    /// The sign-in limit (also that of sponsor links).
    pub(crate) sign_ins: Arc<SignInGuard>,
    /// The origin sponsor links are made under (`--public-url`); the path alone without it.
    pub(crate) public_url: Option<Arc<str>>,
}

impl ConsoleState {
    /// The console over `store`, generating batches within `limits`.
    pub fn new(store: Arc<dyn Store>, limits: Limits, settings: ConsoleSettings) -> Self {
        let sign_ins = Arc::new(SignInGuard::new(store.backend(), settings.sign_ins_per_minute));
        Self { store, limits, settings, sign_ins, public_url: None }
    }

    /// The same, making sponsor links under `origin` (checked by `domain::public_origin`).
    pub fn with_public_url(mut self, origin: Option<&str>) -> Self {
        self.public_url = origin.map(Arc::from);
        self
    }
}

/// Keeps the shared sign-in window small: where the window lives in the database (PostgreSQL,
/// with a limit), deletes every [`vouchers_core::service::limiter::PRUNE_EVERY`] the failures
/// that have left it. Returns at once elsewhere; otherwise runs until its task is dropped.
pub async fn prune_sign_in_window(state: ConsoleState) {
    if !state.sign_ins.shared() {
        return;
    }
    let sign_ins = Arc::clone(&state.sign_ins);
    vouchers_core::service::limiter::prune_every_minute("failed sign-ins", move || {
        let (sign_ins, store) = (Arc::clone(&sign_ins), Arc::clone(&state.store));
        async move { sign_ins.prune(store.as_ref(), vouchers_core::now()).await }
    })
    .await;
}

/// The stylesheet, compiled into the binary.
const STYLESHEET: &str = include_str!("../assets/console.css");

/// The icon, compiled into the binary.
const FAVICON: &str = include_str!("../assets/favicon.svg");

async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        FAVICON,
    )
        .into_response()
}

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
    // A sponsor's address, and a set-password link's, hold a secret: never sent on.
    let path = request.uri().path();
    let secret_in_path = path.starts_with("/sponsor") || path.starts_with("/console/set-password/");
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
    let referrer = if secret_in_path { "no-referrer" } else { "same-origin" };
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Every path of the console that takes a POST (each a form whose handler refuses a missing or
/// wrong CSRF token, the sign-in form and a set-password link's form excepted: they have no
/// session), for tests and documentation.
pub fn post_paths() -> Vec<&'static str> {
    pages::routes().posts
}

/// Every console page, under `/console` (and `/`, which leads there).
pub fn router(state: ConsoleState) -> Router {
    pages::routes()
        .router
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/assets/favicon.svg", get(favicon))
        .route("/console/{*rest}", get(|| async { ConsoleError::NotFound }).post(|| async { ConsoleError::NotFound }))
        .route("/", get(|| async { Redirect::to("/console") }))
        // A file form's body: the file (at most form::MAX_FILE_BYTES) and, on an import's
        // confirmation, the same file again in base64.
        .layer(axum::extract::DefaultBodyLimit::max(3 * form::MAX_FILE_BYTES))
        .layer(middleware::from_fn(flash::clear))
        .layer(middleware::from_fn(session::same_origin))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}
