//! `GET /conferences/{conf}/vouchers/export?format=csv[&batch=ID]`: every voucher as CSV,
//! streamed page by page from the store (memory stays flat), safe to open in a spreadsheet.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{spreadsheet_safe, Voucher};
use vouchers_core::service::query;
use vouchers_core::store::VoucherFilter;
use vouchers_core::Store;

use crate::auth::Managed;
use crate::error::{cause_chain, ApiError, ErrorResponses};
use crate::extract::ApiQuery;
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export))
}

/// Vouchers read from the store per round trip.
const PAGE: i64 = 1000;

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

fn csv_chunk(header: bool, vouchers: &[Voucher]) -> Result<Bytes, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(vouchers.len() * 160 + 200));
    if header {
        writer.write_record(Voucher::CSV_COLUMNS)?;
    }
    for v in vouchers {
        writer.write_record(v.csv_record().map(spreadsheet_safe))?;
    }
    writer.into_inner().map(Bytes::from).map_err(|e| csv::Error::from(e.into_error()))
}

/// Where the stream is: after which id, and whether the header went out.
struct Cursor {
    store: Arc<dyn Store>,
    conference: String,
    batch: Option<i64>,
    after_id: i64,
    header_sent: bool,
    done: bool,
}

async fn next_chunk(mut cursor: Cursor) -> Option<(Result<Bytes, std::io::Error>, Cursor)> {
    if cursor.done {
        return None;
    }
    let filter = VoucherFilter {
        batch_id: cursor.batch,
        after_id: Some(cursor.after_id),
        limit: Some(PAGE),
        ..VoucherFilter::default()
    };
    let page = match query::list_vouchers(cursor.store.as_ref(), &cursor.conference, &filter).await {
        Ok(page) => page,
        Err(e) => {
            // The status line is already sent: log, and cut the body short so the client sees
            // an incomplete transfer rather than a silently truncated file.
            tracing::error!(error = %cause_chain(&e), "export failed while streaming");
            cursor.done = true;
            return Some((Err(std::io::Error::other("export failed")), cursor));
        }
    };
    cursor.done = page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
    if page.is_empty() && cursor.header_sent {
        return None;
    }
    let chunk = csv_chunk(!cursor.header_sent, &page).map_err(std::io::Error::other);
    cursor.header_sent = true;
    if let Some(last) = page.last() {
        cursor.after_id = last.id;
    }
    Some((chunk, cursor))
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
    Ok(csv_download(state.store.clone(), conference.slug, params.batch))
}

/// Every voucher of `conference` (or of one batch) as a streamed CSV download, safe to open in a
/// spreadsheet: the API's export and the console's `Download CSV` both answer with it.
pub fn csv_download(store: Arc<dyn Store>, conference: String, batch: Option<i64>) -> Response {
    let filename = match batch {
        Some(batch) => format!("attachment; filename=\"{conference}-batch-{batch}.csv\""),
        None => format!("attachment; filename=\"{conference}-vouchers.csv\""),
    };
    let cursor = Cursor { store, conference, batch, after_id: 0, header_sent: false, done: false };
    let body = Body::from_stream(futures::stream::unfold(cursor, next_chunk));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    // The slug is a-z, 0-9 and '-', so the header value is always valid.
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    response
}
