//! The reports over HTTP (manage scope), the same use cases as the CLI's `report` and the
//! console's Reports page: each batch's funnel, redemptions over time in the conference's time
//! zone, and the redemptions one by one (paged, newest first).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{BatchFunnel, Interval, RedemptionEntry, Timeline, When};
use vouchers_core::service::reports::{self, RedemptionQuery};
use vouchers_core::VoucherError;

use crate::auth::Managed;
use crate::error::{ApiError, ErrorResponses};
use crate::extract::ApiQuery;
use crate::pagination::{page, Page, PageParams, Position};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(batch_report)).routes(routes!(timeline)).routes(routes!(redemption_list))
}

/// Each batch's funnel.
#[derive(Serialize, ToSchema)]
pub struct BatchReport {
    /// By batch; the vouchers added by hand last (`batch_id` null).
    pub batches: Vec<BatchFunnel>,
}

/// Each batch's funnel: issued, assigned, emailed, held now, redeemed, released, and the discount
/// the standing redemptions gave.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/reports/batches",
    tag = "reports",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    responses((status = 200, description = "Each batch's funnel", body = BatchReport), ErrorResponses),
    security(("bearer" = []))
)]
async fn batch_report(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
) -> Result<Json<BatchReport>, ApiError> {
    let batches = reports::batches(principal.store(&state).as_ref(), &conference.slug).await?;
    Ok(Json(BatchReport { batches }))
}

/// The timeline's range and step.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimelineParams {
    /// RFC 3339, or YYYY-MM-DDTHH:MM in the conference's time zone (default: 30 days, or 48
    /// hours, before `to`).
    pub from: Option<String>,
    /// The same forms (default: now); the step holding it is the last.
    pub to: Option<String>,
    /// `day` (default) or `hour`.
    pub interval: Option<String>,
}

fn when(field: &'static str, value: Option<&str>) -> Result<Option<When>, VoucherError> {
    Ok(value.map(|v| When::parse(field, v)).transpose()?)
}

/// Standing redemptions and the discount they gave per local day (or hour), in the conference's
/// time zone, every step of the range listed (at most 400 days, or 14 days by hour).
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/reports/redemptions",
    tag = "reports",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), TimelineParams),
    responses((status = 200, description = "The timeline", body = Timeline), ErrorResponses),
    security(("bearer" = []))
)]
async fn timeline(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiQuery(params): ApiQuery<TimelineParams>,
) -> Result<Json<Timeline>, ApiError> {
    let interval = params.interval.as_deref().unwrap_or("day").parse::<Interval>().map_err(VoucherError::from)?;
    let (from, to) = (when("from", params.from.as_deref())?, when("to", params.to.as_deref())?);
    let store = principal.store(&state);
    Ok(Json(reports::timeline(store.as_ref(), &conference.slug, from, to, interval, vouchers_core::now()).await?))
}

/// Which redemptions to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RedemptionParams {
    /// Only this batch's.
    pub batch: Option<i64>,
    /// Only released (`true`) or standing (`false`) ones.
    pub released: Option<bool>,
    /// Made at or after this (RFC 3339, or local YYYY-MM-DDTHH:MM).
    pub from: Option<String>,
    /// Made before this.
    pub to: Option<String>,
    /// Code or order reference starting with this text, ignoring case.
    pub search: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The conference's redemptions, newest first: time, code, batch, order, customer email (when
/// the checkout gave one), discount, released.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/redemptions",
    tag = "reports",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), RedemptionParams),
    responses((status = 200, description = "A page of redemptions", body = Page<RedemptionEntry>), ErrorResponses),
    security(("bearer" = []))
)]
async fn redemption_list(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiQuery(params): ApiQuery<RedemptionParams>,
) -> Result<Json<Page<RedemptionEntry>>, ApiError> {
    let paging = PageParams { limit: params.limit, cursor: params.cursor };
    let limit = paging.limit()?;
    let before = paging.after_id()?;
    let query = RedemptionQuery {
        batch_id: params.batch,
        released: params.released,
        from: when("from", params.from.as_deref())?,
        to: when("to", params.to.as_deref())?,
        search: params.search,
        before_id: (before > 0).then_some(before),
        limit: limit + 1,
    };
    let found = reports::redemptions(principal.store(&state).as_ref(), &conference.slug, &query).await?;
    Ok(Json(page(found, limit, |r| Position::Id(r.id))))
}
