//! Webhooks over HTTP (manage scope): subscribe a URL to the conference's events (the secret is
//! in the answer, once), list, disable, enable, rotate the secret, list deliveries and queue one
//! again. Each handler calls the same use case as the CLI and the console; where a webhook may
//! point is the operator's setting, never a field here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{Delivery, Webhook};
use vouchers_core::service::webhooks::{self, WebhookWithSecret};
use vouchers_core::store::DeliveryFilter;

use super::id_of;
use crate::auth::Managed;
use crate::error::{ApiError, ErrorResponses};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::pagination::{page, Page, PageParams, Position};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(disable_webhook))
        .routes(routes!(enable_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
}

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST the events: `https://` (plain `http://` only when the operator allows it),
    /// never an internal address.
    pub url: String,
    /// The event types to send; absent or empty: every type.
    #[serde(default)]
    pub events: Vec<String>,
}

/// Subscribes a URL to the conference's events. The answer holds the signing secret, shown this
/// once. A refused target: 422 naming `url`.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/webhooks",
    tag = "webhooks",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = CreateWebhook,
    responses((status = 201, description = "The subscription and its secret", body = WebhookWithSecret), ErrorResponses),
    security(("bearer" = []))
)]
async fn create_webhook(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    let store = principal.store(&state);
    let policy = state.limits.webhooks.policy;
    let created = webhooks::create_webhook(store.as_ref(), &conference.slug, &body.url, &body.events, policy).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The conference's subscriptions (never their secrets), by id, in one page (a conference has
/// at most 20).
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/webhooks",
    tag = "webhooks",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    responses((status = 200, description = "The subscriptions", body = Page<Webhook>), ErrorResponses),
    security(("bearer" = []))
)]
async fn list_webhooks(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
) -> Result<Json<Page<Webhook>>, ApiError> {
    let all = webhooks::list_webhooks(principal.store(&state).as_ref(), &conference.slug).await?;
    Ok(Json(page(all, i64::MAX, |w| Position::Id(w.id))))
}

/// Stops writing and sending events for a subscription; its pending deliveries wait.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/webhooks/{id}/disable",
    tag = "webhooks",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The subscription's id", example = 1),
    ),
    responses((status = 200, description = "The subscription", body = Webhook), ErrorResponses),
    security(("bearer" = []))
)]
async fn disable_webhook(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<Webhook>, ApiError> {
    let id = id_of(&path.1, "webhook")?;
    Ok(Json(webhooks::set_enabled(principal.store(&state).as_ref(), &conference.slug, id, false).await?))
}

/// Enables a subscription again: its pending deliveries go out in order, new events are written.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/webhooks/{id}/enable",
    tag = "webhooks",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The subscription's id", example = 1),
    ),
    responses((status = 200, description = "The subscription", body = Webhook), ErrorResponses),
    security(("bearer" = []))
)]
async fn enable_webhook(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<Webhook>, ApiError> {
    let id = id_of(&path.1, "webhook")?;
    Ok(Json(webhooks::set_enabled(principal.store(&state).as_ref(), &conference.slug, id, true).await?))
}

/// Gives a subscription a new secret, shown this once; the old one keeps signing (a second
/// `v1=`) for 24 hours.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The subscription's id", example = 1),
    ),
    responses((status = 200, description = "The subscription and its new secret", body = WebhookWithSecret), ErrorResponses),
    security(("bearer" = []))
)]
async fn rotate_secret(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<WebhookWithSecret>, ApiError> {
    let id = id_of(&path.1, "webhook")?;
    Ok(Json(webhooks::rotate_secret(principal.store(&state).as_ref(), &conference.slug, id).await?))
}

/// Which deliveries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// Only deliveries with this status: `pending`, `delivered`, `failed`.
    pub status: Option<String>,
    /// Only this subscription's.
    pub webhook: Option<i64>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The conference's deliveries, oldest first: each one's status, attempts, the receiver's last
/// status code.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/webhooks/deliveries",
    tag = "webhooks",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), DeliveryParams),
    responses((status = 200, description = "A page of deliveries", body = Page<Delivery>), ErrorResponses),
    security(("bearer" = []))
)]
async fn list_deliveries(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<Json<Page<Delivery>>, ApiError> {
    let paging = PageParams { limit: params.limit, cursor: params.cursor };
    let limit = paging.limit()?;
    let status = webhooks::parse_status(params.status.as_deref()).map_err(vouchers_core::VoucherError::from)?;
    let after_id = paging.after_id()?;
    let filter = DeliveryFilter { webhook_id: params.webhook, status, after_id, limit: limit + 1, newest_first: false };
    let found = webhooks::list_deliveries(principal.store(&state).as_ref(), &conference.slug, &filter).await?;
    Ok(Json(page(found, limit, |d| Position::Id(d.id))))
}

/// Queues a delivery again, due now, with the same event id and body.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/webhooks/deliveries/{id}/redeliver",
    tag = "webhooks",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The delivery's id", example = 1),
    ),
    responses((status = 200, description = "The delivery, pending again", body = Delivery), ErrorResponses),
    security(("bearer" = []))
)]
async fn redeliver(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<Delivery>, ApiError> {
    let id = id_of(&path.1, "delivery")?;
    Ok(Json(webhooks::redeliver(principal.store(&state).as_ref(), &conference.slug, id).await?))
}
