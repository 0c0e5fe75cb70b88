//! The vouchers as a CSV download: the API's export and the console's `Download CSV`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use vouchers_core::service::export;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{cause_chain, Store};

/// Every voucher of `conference` (or of one batch) as a streamed CSV download, safe to open in a
/// spreadsheet ([`export::csv_pages`]). A read that fails after the status line went out is
/// logged and cuts the body short, so the client sees an incomplete transfer rather than a
/// silently truncated file.
pub fn csv_download(store: Arc<dyn Store>, conference: String, batch: Option<i64>) -> Response {
    let filter = VoucherFilter { batch_id: batch, ..VoucherFilter::default() };
    csv_download_matching(store, conference, filter)
}

/// Every voucher of `conference` that `filter` matches, as [`csv_download`] streams it; named
/// after the batch when the filter names one.
pub fn csv_download_matching(store: Arc<dyn Store>, conference: String, filter: VoucherFilter) -> Response {
    let filename = match filter.batch_id {
        Some(batch) => format!("attachment; filename=\"{conference}-batch-{batch}.csv\""),
        None => format!("attachment; filename=\"{conference}-vouchers.csv\""),
    };
    let chunks = export::csv_pages(store, conference, filter).map(|chunk| {
        chunk.map(Bytes::from).map_err(|error| {
            tracing::error!(error = %cause_chain(&error), "export failed while streaming");
            std::io::Error::other("export failed")
        })
    });
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    // The slug is a-z, 0-9 and '-', so the header value is always valid.
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    response
}
