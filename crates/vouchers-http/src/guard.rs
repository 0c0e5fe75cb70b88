//! Limits checked on every request before any handler runs, answering in the API's error shape:
//! a URI longer than [`MAX_URI`] (414), more than [`MAX_HEADERS`] header lines or
//! [`MAX_HEADER_BYTES`] of headers (431), a declared body over the limit (413 at once, without
//! waiting for the body), and a client-chosen `X-Request-Id` that is not a short token of safe
//! characters (replaced, so a client cannot forge log fields).

use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// The longest request URI (path and query) accepted.
pub const MAX_URI: usize = 8 * 1024;
/// The most header lines a request may have.
pub const MAX_HEADERS: usize = 100;
/// The most bytes of header names and values a request may have.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The longest client-chosen request id kept.
const MAX_REQUEST_ID: usize = 64;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Refuses requests beyond the URI, header and declared body limits.
pub(crate) async fn request_limits(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Err(error) = check_limits(&request, state.settings.body_limit) {
        return error.into_response();
    }
    next.run(request).await
}

fn check_limits(request: &Request, body_limit: usize) -> Result<(), ApiError> {
    let uri = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI {
        return Err(ApiError::UriTooLong { limit: MAX_URI });
    }
    let headers = request.headers();
    let bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Err(ApiError::HeadersTooLarge { count: MAX_HEADERS, bytes: MAX_HEADER_BYTES });
    }
    // hyper has already refused a Content-Length that does not parse or that repeats with
    // different values, so a value here is one number.
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > body_limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit: body_limit });
    }
    Ok(())
}

/// Keeps a client's `X-Request-Id` only when it is 1 to 64 characters of `A-Z a-z 0-9 - _ . :`;
/// anything else is dropped, and the request gets a fresh id like one that sent none.
pub(crate) async fn safe_request_id(mut request: Request, next: Next) -> Response {
    let values = request.headers().get_all(&X_REQUEST_ID);
    let mut ids = values.iter();
    let keep = match (ids.next(), ids.next()) {
        (Some(id), None) => is_safe_request_id(id.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        request.headers_mut().remove(&X_REQUEST_ID);
    }
    next.run(request).await
}

fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        assert!(is_safe_request_id(b"0b9c5c1e-3f9a-4a53-9f71-6a2d5c2b1f00"));
        assert!(is_safe_request_id(b"lb:42.7_x"));
        assert!(!is_safe_request_id(b""));
        assert!(!is_safe_request_id(b"abc\" level=error msg=\"forged"));
        assert!(!is_safe_request_id(b"a b"));
        assert!(!is_safe_request_id(&[b'a'; 65]));
    }
}
