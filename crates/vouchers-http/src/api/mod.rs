//! The routes, one module per resource. Each handler parses, checks the token's scope, calls one
//! use case and renders; the rules live in `vouchers-core`.

pub(crate) mod allotments;
pub(crate) mod audit;
pub(crate) mod batches;
pub(crate) mod catalog;
pub(crate) mod checkout;
pub(crate) mod conferences;
pub(crate) mod export;
pub(crate) mod health;
pub(crate) mod recipients;
pub(crate) mod reports;
pub(crate) mod vouchers;
pub(crate) mod webhooks;

use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::AppState;

/// The id in a path (`.../webhooks/{id}`, `.../allotments/{id}`): a whole number from 1; anything
/// else is the same 404 as an id that names nothing, naming `what`.
pub(crate) fn id_of(text: &str, what: &'static str) -> Result<i64, ApiError> {
    match text.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ApiError::PathNotFound {
            parameter: "id",
            message: format!(
                "no {what} {} in this conference: an id is a whole number from 1",
                vouchers_core::domain::quoted(text)
            ),
        }),
    }
}

/// Every documented route, with its place in the OpenAPI document.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::routes())
        .merge(conferences::routes())
        .merge(catalog::routes())
        .merge(export::routes())
        .merge(vouchers::routes())
        .merge(batches::routes())
        .merge(checkout::routes())
        .merge(audit::routes())
        .merge(recipients::routes())
        .merge(webhooks::routes())
        .merge(allotments::routes())
        .merge(reports::routes())
}
