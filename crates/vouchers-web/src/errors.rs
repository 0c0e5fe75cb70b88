//! What a use case's error means over HTTP.

use std::error::Error as StdError;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use vouchers_core::{cause_chain, ErrorKind, VoucherError};

/// The HTTP status of a use-case error, from its kind: the API's and the console's, chosen here
/// once.
pub fn status(error: &VoucherError) -> StatusCode {
    match error.kind() {
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Refused => StatusCode::CONFLICT,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a client is told to wait while the database's disk is full, in seconds.
pub const DISK_FULL_RETRY_AFTER: &str = "30";

/// Marks a response whose request failed because the database's disk is full (read by the
/// server's layer that keeps `/readyz` honest).
#[derive(Debug, Clone, Copy)]
pub struct StorageFullMarker;

/// Logs a full disk at ERROR at most once a minute (a full disk fails every write; one line a
/// request would fill the log's disk too); returns whether it logged.
pub fn log_disk_full(error: &dyn StdError) -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    if last != 0 && now < last + 60 {
        return false;
    }
    if LAST.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err() {
        return false;
    }
    tracing::error!(error = %cause_chain(error), "the database's disk is full; writes fail until space is freed");
    true
}

/// Adds what every answer to a full disk carries: `Retry-After` and the marker.
pub fn mark_disk_full(response: &mut Response) {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(DISK_FULL_RETRY_AFTER));
    response.extensions_mut().insert(StorageFullMarker);
}
