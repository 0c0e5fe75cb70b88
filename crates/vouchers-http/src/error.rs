//! The one HTTP error type. Every error answers `{"error": {"code", "message", "field"}}`; the
//! status comes from one match in [`ApiError::status`]. A 4xx tells the caller what to fix; a 5xx
//! logs the cause chain and says nothing internal.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::{RefOr, ResponseBuilder, ResponsesBuilder};
use utoipa::PartialSchema;
use vouchers_core::service::limiter::TooManyFailures;
use vouchers_core::{cause_chain, VoucherError};
use vouchers_web::{log_disk_full, mark_disk_full, DISK_FULL_RETRY_AFTER};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A use case refused or failed.
    #[error(transparent)]
    Voucher(#[from] VoucherError),
    /// No token, or one that is unknown or revoked.
    #[error("a valid bearer token is required (Authorization: Bearer TOKEN)")]
    Unauthorized,
    /// The token's scope does not allow this.
    #[error("this token's scope does not allow this request")]
    Forbidden,
    /// No route matches the path.
    #[error("no such resource")]
    RouteNotFound,
    /// A path parameter that cannot name anything (a batch id that is not a positive whole
    /// number): nothing has it, like an id nothing has.
    #[error("{message}")]
    PathNotFound {
        /// The path parameter.
        parameter: &'static str,
        /// What was given and what it must be.
        message: String,
    },
    /// The route exists, the method does not.
    #[error("method not allowed on this resource")]
    MethodNotAllowed,
    /// The body is not JSON (or not the JSON of any value).
    #[error("malformed JSON body: {0}")]
    MalformedJson(String),
    /// The body is JSON of the wrong shape, or a parameter is wrong; names the field.
    #[error("{message}")]
    Invalid {
        /// The field or parameter at fault (`None` for the body as a whole).
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The body is not `application/json`.
    #[error("the body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// The body is larger than the limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// The request's URI is longer than the server reads.
    #[error("the request URI is longer than {limit} bytes")]
    UriTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// The request's headers are more or larger than the server reads.
    #[error("the request has more than {count} header lines or more than {bytes} bytes of headers")]
    HeadersTooLarge {
        /// The most header lines.
        count: usize,
        /// The most header bytes.
        bytes: usize,
    },
    /// The request took longer than the server allows; nothing it started was committed.
    #[error("the request took too long and was cancelled")]
    Timeout,
    /// The database does not answer.
    #[error("the database is not reachable")]
    NotReady(#[source] VoucherError),
    /// The last write failed because the database's disk is full (`/readyz` until a write
    /// succeeds).
    #[error("the database's disk is full")]
    DiskFull,
    /// This caller (token and address) failed too many code lookups in the last minute.
    #[error("too many unknown codes from this client; retry after {} seconds", .0.whole_seconds())]
    TooManyFailedLookups(#[from] TooManyFailures),
    /// A handler panicked (a bug); caught so the process keeps serving.
    #[error("a handler panicked: {0}")]
    Panic(String),
}

impl ApiError {
    /// The HTTP status of each error: the only place statuses are chosen.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Voucher(e) => vouchers_web::status(e),
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::TooManyFailedLookups(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::RouteNotFound | ApiError::PathNotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::Timeout | ApiError::NotReady(_) | ApiError::DiskFull => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Panic(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable `error.code`.
    fn code(&self) -> &'static str {
        match self {
            ApiError::Voucher(e) => e.code(),
            ApiError::Unauthorized => "unauthorized",
            ApiError::TooManyFailedLookups(_) => "rate_limited",
            ApiError::Forbidden => "forbidden",
            ApiError::RouteNotFound | ApiError::PathNotFound { .. } => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::Invalid { .. } => "invalid_input",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UriTooLong { .. } => "uri_too_long",
            ApiError::HeadersTooLarge { .. } => "headers_too_large",
            ApiError::Timeout => "timeout",
            ApiError::NotReady(_) => "not_ready",
            ApiError::DiskFull => "storage_full",
            ApiError::Panic(_) => "internal",
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::Voucher(e) => e.field().map(str::to_owned),
            ApiError::Invalid { field, .. } => field.clone(),
            ApiError::PathNotFound { parameter, .. } => Some((*parameter).to_owned()),
            _ => None,
        }
    }

    /// An invalid parameter or body field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid { field: Some(field.into()), message: message.into() }
    }
}

/// What a client is told to wait while the database cannot be reached, in seconds.
const DATABASE_RETRY_AFTER: &str = "5";

pub use vouchers_core::{ErrorBody, ErrorDetail};

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let disk_full = matches!(self, ApiError::Voucher(VoucherError::StorageFull(_)));
        let message = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(status = status.as_u16(), error = %cause_chain(&self), "request failed");
            "internal server error; the server log has the details".to_owned()
        } else {
            if disk_full {
                log_disk_full(&self);
            } else if status == StatusCode::SERVICE_UNAVAILABLE && !matches!(self, ApiError::DiskFull) {
                tracing::warn!(error = %cause_chain(&self), "service unavailable");
            }
            self.to_string()
        };
        let retry_after = match &self {
            ApiError::Voucher(error) => error.retry_after(vouchers_core::now()),
            _ => None,
        };
        let body = ErrorBody::new(self.code(), message, self.field()).retry_after(retry_after);
        let mut response = (status, Json(body)).into_response();
        if let Some(value) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if let ApiError::TooManyFailedLookups(refused) = &self {
            if let Ok(value) = HeaderValue::from_str(&refused.whole_seconds().to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        if matches!(self, ApiError::Voucher(VoucherError::DatabaseUnavailable(_)) | ApiError::NotReady(_)) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(DATABASE_RETRY_AFTER));
        }
        if disk_full {
            mark_disk_full(&mut response);
        }
        if matches!(self, ApiError::DiskFull) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(DISK_FULL_RETRY_AFTER));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The error responses every authenticated route may give, for the OpenAPI document.
pub struct ErrorResponses;

impl utoipa::IntoResponses for ErrorResponses {
    fn responses() -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new().schema(Some(ErrorBody::schema())).build(),
                )
                .build()
        };
        ResponsesBuilder::new()
            .response("400", error("Malformed JSON body"))
            .response("401", error("Missing, unknown or revoked token"))
            .response("403", error("The token's scope does not allow this"))
            .response("404", error("No such conference (or not this token's), voucher or batch"))
            .response("405", error("Method not allowed"))
            .response("409", error("Duplicate slug or code, a code that cannot be redeemed now (the code says why), or a concurrent write that could not be waited out"))
            .response("413", error("Body larger than the limit (1 MiB by default)"))
            .response("414", error("Request URI longer than 8 KiB"))
            .response("415", error("Body is not application/json"))
            .response("422", error("Validation failed; `field` names the input"))
            .response("431", error("More than 100 header lines or 32 KiB of headers"))
            .response("429", error("Too many unknown codes from this token and address; see Retry-After"))
            .response("500", error("Server fault; the body says nothing internal"))
            .response("503", error("Timed out, the database cannot be reached (`database_unavailable`), or its disk is full (`storage_full`); both with Retry-After"))
            .build()
            .into()
    }
}
