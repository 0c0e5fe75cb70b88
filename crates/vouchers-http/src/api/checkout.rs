//! Checkout: check a code, redeem it for an order, release an order's use; and the usage
//! report. Check, redeem and release count unknown codes against the caller's guessing limit.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{Action, CartRef, Conference, Customer, HoldSeconds, LineItem, OrderRef, Quantity};
use vouchers_core::service::checkout::{
    self, CartLine, CheckResult, CheckoutView, Held, Redeemed, Release, Releasing, UsageReport, UseOptions,
};
use vouchers_core::service::guessing::{Guess, GuessOutcome};
use vouchers_core::service::tokens;
use vouchers_core::{now, VoucherError};

use crate::auth::{Bearer, Managed, Principal};
use crate::error::{ApiError, ErrorResponses};
use crate::extract::{ApiJson, ApiPath};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(check))
        .routes(routes!(hold))
        .routes(routes!(extend_hold))
        .routes(routes!(redeem))
        .routes(routes!(release))
        .routes(routes!(usage))
}

/// A cart line: a ticket type or an add-on, and how many.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    /// A ticket type's slug (give this or `addon`).
    #[serde(default)]
    pub ticket_type: Option<String>,
    /// An add-on's slug (give this or `ticket_type`).
    #[serde(default)]
    pub addon: Option<String>,
    /// How many, 1 to 10,000 (default 1).
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 10000, default = 1)]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

fn cart(lines: &[LineRequest]) -> Result<Vec<CartLine>, ApiError> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let item = match (&line.ticket_type, &line.addon) {
                (Some(slug), None) => LineItem::TicketType(slug.clone()),
                (None, Some(slug)) => LineItem::AddOn(slug.clone()),
                _ => {
                    return Err(ApiError::invalid(
                        format!("lines[{i}]"),
                        "each line needs exactly one of ticket_type and addon",
                    ))
                }
            };
            let quantity = Quantity::new(line.quantity)
                .map_err(|e| ApiError::invalid(format!("lines[{i}].quantity"), e.message))?;
            Ok(CartLine { item, quantity })
        })
        .collect()
}

/// A code to check, with an optional cart to price.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The code as the attendee typed it (case and surrounding spaces do not matter).
    #[schema(example = "SPEAKER-AB12CD34")]
    pub code: String,
    /// The cart.
    #[serde(default)]
    pub lines: Vec<LineRequest>,
}

/// A redemption for an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The code.
    pub code: String,
    /// The order this use belongs to (1-200 characters); the same order again replays the first
    /// answer.
    #[schema(example = "ORDER-1001")]
    pub order_ref: String,
    /// The cart, to answer with its pricing (required for a voucher with a budget, unless a
    /// hold of `cart_ref` priced it).
    #[serde(default)]
    pub lines: Option<Vec<LineRequest>>,
    /// The cart whose live hold this redemption converts (it then cannot fail for lack of uses);
    /// without a live hold of that cart, a free use is needed as without it.
    #[serde(default)]
    pub cart_ref: Option<String>,
    /// The customer; required by a once-per-customer voucher.
    #[serde(default)]
    pub customer_email: Option<String>,
}

/// A hold of one use for an open cart.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// The code.
    pub code: String,
    /// The cart (1-200 characters); the same cart again while its hold is live answers the same
    /// hold.
    #[schema(example = "CART-77")]
    pub cart_ref: String,
    /// The cart, priced in the answer; its discount is reserved from a budget.
    #[serde(default)]
    pub lines: Option<Vec<LineRequest>>,
    /// How long the hold lasts, 1 to 604800 seconds (default: the conference's `hold_seconds`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 604800)]
    pub ttl_seconds: Option<i64>,
    /// The customer; required by a once-per-customer voucher.
    #[serde(default)]
    pub customer_email: Option<String>,
}

/// A new end for a cart's live hold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendHoldRequest {
    /// The code.
    pub code: String,
    /// The cart.
    pub cart_ref: String,
    /// The hold ends this many seconds from now, 1 to 604800.
    #[schema(minimum = 1, maximum = 604800)]
    pub ttl_seconds: i64,
}

/// A release of an order's use, or of a cart's hold: exactly one of `order_ref` and `cart_ref`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The code.
    pub code: String,
    /// The cancelled or expired order.
    #[serde(default)]
    pub order_ref: Option<String>,
    /// The abandoned cart.
    #[serde(default)]
    pub cart_ref: Option<String>,
}

/// The cart reference and customer of a hold or redemption, checked.
fn use_options(cart_ref: Option<&str>, customer_email: Option<&str>) -> Result<UseOptions, VoucherError> {
    Ok(UseOptions {
        cart_ref: cart_ref.map(CartRef::parse).transpose()?,
        customer: customer_email.map(Customer::parse).transpose()?,
    })
}

/// The TCP peer, when the server was started with connect info (not for in-process calls).
pub(crate) struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

/// A checkout request after its one read: who asked, the conference, what the read found, and
/// the caller's guess under the guessing limit.
struct Found<'a> {
    principal: Principal,
    conference: Conference,
    view: CheckoutView,
    guess: Guess<'a>,
}

impl Found<'_> {
    /// Ends the request with the use case's answer, counted by the guessing limit
    /// ([`vouchers_core::service::guessing::GuessOutcome`]).
    async fn settle<T: GuessOutcome>(self, state: &AppState, answer: Result<T, VoucherError>) -> Result<T, ApiError> {
        self.guess.settle(state.store.as_ref(), self.principal.token_id, &answer).await;
        Ok(answer?)
    }
}

/// Decides, in this order: 429 for a caller (the presented token and the client's address) that
/// has used up its failed lookups here, before anything is read, so a refused caller cannot learn
/// even from timing whether a code exists; then reads the token, the conference, the code and the
/// caller's failures in the shared window in one round trip; then 401 for an unknown or revoked
/// token, 403 or 404 for a token that may not do this here, and 429 when the shared window holds
/// the caller's failures (from then on refused here before reading, too). Only then may the
/// request answer from what was found.
async fn find<'a>(
    state: &'a AppState,
    Bearer(secret): &Bearer,
    (headers, peer): (&HeaderMap, Option<SocketAddr>),
    conf: &str,
    code: &str,
    action: Action,
) -> Result<Found<'a>, ApiError> {
    let address = vouchers_web::client_address(state.settings.trust_forwarded_for, headers, peer);
    let token_hash = tokens::token_hash(secret.expose());
    let guess = state.guesses.admit(token_hash.clone(), address, now()).await?;
    let since = guess.failures_since();
    let failures_since = since.as_ref().map(|(address, since)| (address.as_str(), *since));
    let view = checkout::look_up(state.store.as_ref(), Some(&token_hash), conf, code, failures_since).await?;
    let principal = Principal::from_token(view.token.clone())?;
    let conference = principal.admit(view.conference.clone(), conf, action)?;
    let guess = guess.absorb(&view).await?;
    Ok(Found { principal, conference, view, guess })
}

#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/vouchers/check",
    tag = "checkout",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = CheckRequest,
    responses((status = 200, description = "Valid or not (and why), what it unlocks, the cart priced", body = CheckResult), ErrorResponses),
    security(("bearer" = []))
)]
async fn check(
    State(state): State<AppState>,
    bearer: Bearer,
    Peer(peer): Peer,
    headers: HeaderMap,
    ApiPath(conf): ApiPath<String>,
    ApiJson(body): ApiJson<CheckRequest>,
) -> Result<Json<CheckResult>, ApiError> {
    let lines = cart(&body.lines)?;
    let found = find(&state, &bearer, (&headers, peer), &conf, &body.code, Action::Check).await?;
    let result = checkout::check_found(&found.view, &found.conference, &lines, now());
    Ok(Json(found.settle(&state, result).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/vouchers/redeem",
    tag = "checkout",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = RedeemRequest,
    responses((status = 200, description = "Redeemed (or this order's first answer, replayed)", body = Redeemed), ErrorResponses),
    security(("bearer" = []))
)]
async fn redeem(
    State(state): State<AppState>,
    bearer: Bearer,
    Peer(peer): Peer,
    headers: HeaderMap,
    ApiPath(conf): ApiPath<String>,
    ApiJson(body): ApiJson<RedeemRequest>,
) -> Result<Json<Redeemed>, ApiError> {
    let lines = body.lines.as_deref().map(cart).transpose()?;
    let order = OrderRef::parse(&body.order_ref).map_err(VoucherError::from)?;
    let found = find(&state, &bearer, (&headers, peer), &conf, &body.code, Action::Redeem).await?;
    let store = found.principal.store(&state);
    let with = use_options(body.cart_ref.as_deref(), body.customer_email.as_deref())?;
    let redemption = checkout::redeem_found(
        store.as_ref(),
        &found.view,
        &found.conference,
        &body.code,
        &order,
        lines.as_deref(),
        &with,
        now(),
    )
    .await;
    Ok(Json(found.settle(&state, redemption).await?.answer))
}

#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/vouchers/hold",
    tag = "checkout",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = HoldRequest,
    responses((status = 200, description = "Held for the cart (or this cart's live hold, its end unchanged)", body = Held), ErrorResponses),
    security(("bearer" = []))
)]
async fn hold(
    State(state): State<AppState>,
    bearer: Bearer,
    Peer(peer): Peer,
    headers: HeaderMap,
    ApiPath(conf): ApiPath<String>,
    ApiJson(body): ApiJson<HoldRequest>,
) -> Result<Json<Held>, ApiError> {
    let lines = body.lines.as_deref().map(cart).transpose()?;
    let with = use_options(Some(&body.cart_ref), body.customer_email.as_deref())?;
    let ttl = body.ttl_seconds.map(|t| HoldSeconds::new("ttl_seconds", t)).transpose().map_err(VoucherError::from)?;
    let found = find(&state, &bearer, (&headers, peer), &conf, &body.code, Action::Redeem).await?;
    let store = found.principal.store(&state);
    let (view, conference) = (&found.view, &found.conference);
    let held =
        checkout::hold_found(store.as_ref(), view, conference, &body.code, lines.as_deref(), ttl, &with, now()).await;
    Ok(Json(found.settle(&state, held).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/vouchers/hold/extend",
    tag = "checkout",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = ExtendHoldRequest,
    responses((status = 200, description = "The hold, ending `ttl_seconds` from now", body = Held), ErrorResponses),
    security(("bearer" = []))
)]
async fn extend_hold(
    State(state): State<AppState>,
    bearer: Bearer,
    Peer(peer): Peer,
    headers: HeaderMap,
    ApiPath(conf): ApiPath<String>,
    ApiJson(body): ApiJson<ExtendHoldRequest>,
) -> Result<Json<Held>, ApiError> {
    let cart_ref = CartRef::parse(&body.cart_ref).map_err(VoucherError::from)?;
    let ttl = HoldSeconds::new("ttl_seconds", body.ttl_seconds).map_err(VoucherError::from)?;
    let found = find(&state, &bearer, (&headers, peer), &conf, &body.code, Action::Redeem).await?;
    let store = found.principal.store(&state);
    let (view, conference) = (&found.view, &found.conference);
    let held = checkout::extend_hold_found(store.as_ref(), view, conference, &body.code, &cart_ref, ttl, now()).await;
    Ok(Json(found.settle(&state, held).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/vouchers/release",
    tag = "checkout",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = ReleaseRequest,
    responses((status = 200, description = "Whether a use was given back, and the voucher", body = Release), ErrorResponses),
    security(("bearer" = []))
)]
async fn release(
    State(state): State<AppState>,
    bearer: Bearer,
    Peer(peer): Peer,
    headers: HeaderMap,
    ApiPath(conf): ApiPath<String>,
    ApiJson(body): ApiJson<ReleaseRequest>,
) -> Result<Json<Release>, ApiError> {
    let what = match (&body.order_ref, &body.cart_ref) {
        (Some(order), None) => Releasing::Order(OrderRef::parse(order).map_err(VoucherError::from)?),
        (None, Some(cart)) => Releasing::Cart(CartRef::parse(cart).map_err(VoucherError::from)?),
        _ => return Err(ApiError::invalid("order_ref".to_owned(), "give exactly one of order_ref and cart_ref")),
    };
    let found = find(&state, &bearer, (&headers, peer), &conf, &body.code, Action::Release).await?;
    let store = found.principal.store(&state);
    let release =
        checkout::release_found(store.as_ref(), &found.view, &found.conference, &body.code, &what, now()).await;
    Ok(Json(found.settle(&state, release).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/usage",
    tag = "checkout",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    responses((status = 200, description = "Per batch and per prefix: issued, active, fully used, uses consumed and left", body = UsageReport), ErrorResponses),
    security(("bearer" = []))
)]
async fn usage(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
) -> Result<Json<UsageReport>, ApiError> {
    Ok(Json(checkout::usage_report(principal.store(&state).as_ref(), &conference.slug, &state.limits.guessing).await?))
}
