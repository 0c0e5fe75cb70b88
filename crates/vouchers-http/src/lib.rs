//! The voucher service over HTTP.
//!
//! [`router`] builds the whole API for a store (tests call it in process); [`serve`] runs it on a
//! listener until a shutdown signal, finishing the requests in flight. Routes live in `api/`, one
//! module per resource, and are documented with `utoipa` as they are registered, so the OpenAPI
//! document at `GET /api/v1/openapi.json` is generated from the same definitions that route.
//!
//! - [`auth`] knows bearer tokens and what each scope may do;
//! - [`error`] has the one error type and its JSON shape;
//! - [`extract`] has body, query and path extractors that answer in that shape;
//! - [`pagination`] has the cursors.

mod api;
pub mod auth;
pub mod error;
pub mod extract;
mod guard;
pub mod pagination;
mod server;

use std::any::Any;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use vouchers_core::service::guessing::GuessGuard;
use vouchers_core::{Limits, Store};

pub use error::ApiError;

/// Keeps the shared guessing window small: where the window lives in the database (PostgreSQL,
/// with a limit), deletes every [`vouchers_core::service::limiter::PRUNE_EVERY`] the failures
/// that have left it, so a flood of one-time addresses leaves no rows behind. Returns at once
/// elsewhere; otherwise runs until its task is dropped.
pub async fn prune_guessing_window(state: AppState) {
    if !state.guesses.shared() {
        return;
    }
    let guesses = Arc::clone(&state.guesses);
    vouchers_core::service::limiter::prune_every_minute("failed lookups", move || {
        let (guesses, store) = (Arc::clone(&guesses), Arc::clone(&state.store));
        async move { guesses.prune(store.as_ref(), vouchers_core::now()).await }
    })
    .await;
}

/// Limits of the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The largest request body accepted (larger: 413).
    pub body_limit: usize,
    /// How long a request may take until its response starts (longer: 503, and whatever it
    /// started is rolled back).
    pub request_timeout: Duration,
    /// Failed code lookups (`not_found`) allowed per token and client address per minute at
    /// check, redeem and release; then 429 until the oldest leaves the minute. 0: no limit.
    pub failed_lookups_per_minute: u32,
    /// Failed code lookups allowed per token from all its addresses together per minute; then
    /// 429 for every address of the token until the oldest leaves the minute. 0: no ceiling.
    pub token_failed_lookups_per_minute: u32,
    /// Take the client address from the last `X-Forwarded-For` entry (the one the load balancer
    /// in front appended) instead of the TCP peer. Only behind a proxy that sets it.
    pub trust_forwarded_for: bool,
    /// How long a client may take to send a request head, counted from the connection's start
    /// or from the end of its previous response (so it also bounds an idle kept-alive
    /// connection). Slower: the connection is closed.
    pub header_read_timeout: Duration,
    /// The most connections open at once; further clients wait to be accepted.
    pub max_connections: usize,
    /// After the shutdown signal, how long requests in flight may take to finish.
    pub drain_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            failed_lookups_per_minute: 10,
            token_failed_lookups_per_minute: 100,
            trust_forwarded_for: false,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Operator limits of the use cases (largest batch).
    pub limits: Limits,
    /// Limits of the HTTP layer.
    pub settings: Settings,
    /// The guessing limit: failed code lookups per caller and per token.
    pub guesses: Arc<GuessGuard>,
    /// The last write failed because the database's disk is full (and none has succeeded since).
    pub storage_full: Arc<std::sync::atomic::AtomicBool>,
    /// Requests being served now (API and console): the webhook sender gives way while any are.
    pub in_flight: InFlight,
    /// The origin sponsor links are made under (`--public-url`); the path alone without it.
    pub public_url: Option<Arc<str>>,
}

/// How many requests are being served now; [`vouchers_core::service::webhooks::Busy`] while any
/// are.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<std::sync::atomic::AtomicUsize>);

impl vouchers_core::service::webhooks::Busy for InFlight {
    fn busy(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed) > 0
    }
}

/// One request counted in [`InFlight`] until it is dropped (its response sent, or the request
/// cancelled).
struct Counted(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn count_in_flight(State(state): State<AppState>, request: Request, next: Next) -> Response {
    state.in_flight.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _counted = Counted(Arc::clone(&state.in_flight.0));
    next.run(request).await
}

impl AppState {
    /// State with the default HTTP settings.
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Self {
        Self::with_settings(store, limits, Settings::default())
    }

    /// State with these HTTP settings.
    pub fn with_settings(store: Arc<dyn Store>, limits: Limits, settings: Settings) -> Self {
        let guesses = Arc::new(GuessGuard::new(
            store.backend(),
            settings.failed_lookups_per_minute,
            settings.token_failed_lookups_per_minute,
        ));
        let storage_full = Arc::new(std::sync::atomic::AtomicBool::new(false));
        Self { store, limits, settings, guesses, storage_full, in_flight: InFlight::default(), public_url: None }
    }

    /// The same, making sponsor links under `origin` (checked by `domain::public_origin`).
    pub fn with_public_url(mut self, origin: Option<&str>) -> Self {
        self.public_url = origin.map(Arc::from);
        self
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vouchers",
        description = "Voucher codes for conferences. Every error answers {\"error\": {\"code\", \"message\", \"field\"}}."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "conferences", description = "Conferences (creating one needs an admin token)"),
        (name = "catalogue", description = "Ticket types and add-ons"),
        (name = "vouchers", description = "Vouchers: add, generate in bulk, list, change, export"),
        (name = "batches", description = "Generated batches"),
        (name = "recipients", description = "Recipients, emails through the outbox, imports"),
        (name = "webhooks", description = "Signed webhooks: subscriptions, deliveries, redelivery"),
        (name = "allotments", description = "Sponsor allotments: passes a sponsor assigns to named attendees by a deadline"),
        (name = "reports", description = "Reports: each batch's funnel, redemptions over time, the redemptions list"),
        (name = "checkout", description = "Check, redeem and release codes at checkout; the usage report"),
        (name = "health", description = "Liveness and readiness, no token"),
    )
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the routes refer to.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from `vouchers token create`"))
                    .build(),
            ),
        );
    }
}

/// The document of this very route.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "health",
    responses((status = 200, description = "This OpenAPI 3.1 document", body = Object))
)]
async fn openapi_json() -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], openapi_text()).into_response()
}

fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(api::routes()).routes(utoipa_axum::routes!(openapi_json))
}

/// The OpenAPI 3.1 document of every route, generated from the handlers' definitions.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented_routes().into_openapi()
}

/// The document as served, built once.
fn openapi_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| openapi().to_pretty_json().unwrap_or_else(|_| "{}".to_owned()))
}

/// Keeps [`AppState::storage_full`]: set by an answer marked [`vouchers_web::StorageFullMarker`] (API or
/// console), cleared by a request that wrote ([`wrote`]).
async fn track_storage(State(state): State<AppState>, request: Request, next: Next) -> Response {
    use std::sync::atomic::Ordering;
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = next.run(request).await;
    if response.extensions().get::<vouchers_web::StorageFullMarker>().is_some() {
        state.storage_full.store(true, Ordering::Relaxed);
    } else if wrote(&method, &path, response.status()) {
        state.storage_full.store(false, Ordering::Relaxed);
    }
    response
}

/// Whether a request that got `status` wrote to the database: a state-changing method that
/// succeeded, but not the API's read-only POSTs (`check`, the email preview), and in the console
/// only a form that redirects (a page answered 200 to a POST is a preview or the form again).
fn wrote(method: &axum::http::Method, path: &str, status: axum::http::StatusCode) -> bool {
    if matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS) {
        return false;
    }
    if path.starts_with("/console") {
        return status.is_redirection();
    }
    status.is_success() && !path.ends_with("/vouchers/check") && !path.ends_with("/send/preview")
}

/// Cancels a request whose response has not started within the configured time.
async fn request_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.settings.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    ApiError::Panic(message).into_response()
}

/// The whole API: routes, error fallbacks, body limit, timeout, panic guard, request ids and
/// request logs (method, path, status, latency and request id; never a header, so never a token).
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] with more routes beside the API's (the organizers' console), served under the
/// same limits, timeout, request ids and request logs.
pub fn router_with(state: AppState, extra: Router) -> Router {
    let (routes, _) = documented_routes().split_for_parts();
    routes
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state.clone())
        .merge(extra)
        .layer(middleware::from_fn_with_state(state.clone(), track_storage))
        .layer(DefaultBodyLimit::max(state.settings.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), request_timeout))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(state.clone(), guard::request_limits))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %vouchers_web::logged_path(request.uri().path()))
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::from_fn(guard::safe_request_id))
        .layer(middleware::from_fn_with_state(state.clone(), count_in_flight))
}

/// Serves [`router`] on `listener` until `shutdown` completes, then stops accepting connections
/// and waits for the requests in flight to finish. Connections are bounded in number and in how
/// long a request head may take ([`Settings`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Router::new(), shutdown).await
}

/// [`serve`] with more routes beside the API's ([`router_with`]).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    extra: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(address = %listener.local_addr()?, "listening");
    let settings = state.settings;
    server::run(listener, router_with(state, extra), settings, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};

    use super::wrote;

    #[test]
    fn only_a_successful_write_clears_a_full_disk() {
        assert!(wrote(&Method::POST, "/api/v1/conferences/p/vouchers/redeem", StatusCode::OK));
        assert!(wrote(&Method::POST, "/api/v1/conferences/p/vouchers/bulk", StatusCode::CREATED));
        assert!(wrote(&Method::PATCH, "/api/v1/conferences/p/vouchers/X", StatusCode::OK));
        assert!(wrote(&Method::POST, "/console/login", StatusCode::SEE_OTHER));
        assert!(!wrote(&Method::POST, "/api/v1/conferences/p/vouchers/check", StatusCode::OK));
        assert!(!wrote(&Method::POST, "/api/v1/conferences/p/batches/1/send/preview", StatusCode::OK));
        assert!(!wrote(&Method::POST, "/console/c/p/batches/1/send", StatusCode::OK), "a preview page");
        assert!(!wrote(&Method::POST, "/api/v1/conferences/p/vouchers/redeem", StatusCode::CONFLICT));
        assert!(!wrote(&Method::GET, "/readyz", StatusCode::OK));
    }
}
