//! `GET /conferences/{conf}/audit`: who did what in a conference, newest first (manage, admin).

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{AuditRecord, When};
use vouchers_core::service::audit;
use vouchers_core::store::AuditFilter;
use vouchers_core::VoucherError;

use crate::auth::Managed;
use crate::error::{ApiError, ErrorResponses};
use crate::extract::ApiQuery;
use crate::pagination::{page, Page, PageParams, Position};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Filters and paging of the audit log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only records at or after this time (RFC 3339, or YYYY-MM-DDTHH:MM in the conference's
    /// time zone).
    pub since: Option<String>,
    /// Only this action, e.g. `voucher.redeem`.
    pub action: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The conference's audit records, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/audit",
    tag = "conferences",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), AuditParams),
    responses((status = 200, description = "A page of audit records, newest first", body = Page<AuditRecord>), ErrorResponses),
    security(("bearer" = []))
)]
async fn list(
    State(state): State<AppState>,
    Managed { conference, .. }: Managed,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<Page<AuditRecord>>, ApiError> {
    let paging = PageParams { limit: params.limit, cursor: params.cursor };
    let limit = paging.limit()?;
    let since = match params.since.as_deref() {
        None => None,
        Some(text) => Some(
            When::parse("since", text)
                .and_then(|w| w.resolve("since", conference.timezone))
                .map_err(VoucherError::from)?,
        ),
    };
    let before = paging.after_id()?;
    let filter = AuditFilter {
        since,
        action: params.action.filter(|a| !a.is_empty()),
        before_id: (before > 0).then_some(before),
        limit: limit + 1,
        ..AuditFilter::default()
    };
    let records = audit::audit_log(state.store.as_ref(), &conference.slug, &filter).await?;
    Ok(Json(page(records, limit, |r| Position::Id(r.id))))
}
