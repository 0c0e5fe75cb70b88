//! Batches of a conference: list, show, deactivate all of a batch's vouchers.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{quoted, Batch};
use vouchers_core::service::{manage, query};
use vouchers_core::VoucherError;

use crate::auth::Managed;
use crate::error::{ApiError, ErrorResponses};
use crate::extract::{ApiPath, ApiQuery};
use crate::pagination::{page, Page, PageParams, Position};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show)).routes(routes!(deactivate))
}

/// The answer to a deactivation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deactivated {
    /// The batch.
    pub batch: Batch,
    /// How many of its vouchers were active and are not any more.
    pub deactivated: u64,
}

/// A batch id from the path; text that is not a positive whole number names no batch, and the
/// 404 says which parameter and what it must be.
pub(crate) fn batch_id(conference: &str, id: &str) -> Result<i64, ApiError> {
    match id.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ApiError::PathNotFound {
            parameter: "id",
            message: format!(
                "no batch {} in conference {}: a batch id is a whole number from 1 to {}",
                quoted(id),
                quoted(conference),
                i64::MAX
            ),
        }),
    }
}

/// The conference's batches, in creation order.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/batches",
    tag = "batches",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), PageParams),
    responses((status = 200, description = "A page of batches", body = Page<Batch>), ErrorResponses),
    security(("bearer" = []))
)]
async fn list(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<Batch>>, ApiError> {
    let (limit, after) = (params.limit()?, params.after_id()?);
    let batches = query::list_batches(principal.store(&state).as_ref(), &conference.slug, after, limit + 1).await?;
    Ok(Json(page(batches, limit, |b| Position::Id(b.id))))
}

/// One batch.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/batches/{id}",
    tag = "batches",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The batch id", example = 1),
    ),
    responses((status = 200, description = "The batch", body = Batch), ErrorResponses),
    security(("bearer" = []))
)]
async fn show(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<Batch>, ApiError> {
    let (_, id) = path;
    let id = batch_id(&conference.slug, &id)?;
    let batch = query::batch(principal.store(&state).as_ref(), &conference.slug, id)
        .await?
        .ok_or(VoucherError::BatchNotFound { conference: conference.slug, id })?;
    Ok(Json(batch))
}

/// Deactivates every voucher of the batch, in one transaction.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/batches/{id}/deactivate",
    tag = "batches",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The batch id", example = 1),
    ),
    responses((status = 200, description = "The batch and how many vouchers were deactivated", body = Deactivated), ErrorResponses),
    security(("bearer" = []))
)]
async fn deactivate(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<Deactivated>, ApiError> {
    let (_, id) = path;
    let id = batch_id(&conference.slug, &id)?;
    let (batch, deactivated) = manage::deactivate_batch(principal.store(&state).as_ref(), &conference.slug, id).await?;
    Ok(Json(Deactivated { batch, deactivated }))
}
