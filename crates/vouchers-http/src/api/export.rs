//! `GET /conferences/{conf}/vouchers/export?format=csv[&batch=ID]`: every voucher as CSV,
//! streamed page by page from the store (memory stays flat), safe to open in a spreadsheet.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Managed;
use crate::error::{ApiError, ErrorResponses};
use crate::extract::ApiQuery;
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export))
}

/// What to export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (the only format, and the default).
    #[param(example = "csv")]
    pub format: Option<String>,
    /// Only vouchers of this batch.
    pub batch: Option<i64>,
}

/// Every voucher of the conference (or of one batch) as CSV, streamed.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/vouchers/export",
    tag = "vouchers",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), ExportParams),
    responses(
        (status = 200, description = "CSV with a header row; cells never start with = + - @", content_type = "text/csv", body = String),
        ErrorResponses,
    ),
    security(("bearer" = []))
)]
async fn export(
    State(state): State<AppState>,
    Managed { conference, .. }: Managed,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    if let Some(format) = params.format.as_deref().filter(|f| *f != "csv") {
        return Err(ApiError::invalid("format", format!("format must be csv, got {format:?}")));
    }
    Ok(vouchers_web::csv_download(state.store.clone(), conference.slug, params.batch))
}
