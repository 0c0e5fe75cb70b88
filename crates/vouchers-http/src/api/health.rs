//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers too). No token.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The version of the running build (`vouchers --version` prints the same, with its commit).
    #[schema(example = "0.1.0")]
    pub version: &'static str,
}

/// The running build's version.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Up", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", version: VERSION })
}

/// How long `/readyz` waits for the database before it answers 503.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(1500);

/// The database is reachable (`SELECT 1` within 1.5 seconds, so the probe has its answer within
/// 2), and the last write did not fail for a full disk (503 `storage_full` until a write succeeds).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer, or its disk is full", body = ErrorBody),
    )
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if state.storage_full.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::DiskFull);
    }
    vouchers_core::service::ping(state.store.as_ref(), READY_WITHIN).await.map_err(ApiError::NotReady)?;
    Ok(Json(Health { status: "ready", version: VERSION }))
}
