//! `POST /conferences`, `GET /conferences/{conf}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{Conference, NewConference};
use vouchers_core::service::catalog;

use crate::auth::{Managed, Principal};
use crate::error::{ApiError, ErrorResponses};
use crate::extract::ApiJson;
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_conference)).routes(routes!(get_conference))
}

/// A conference to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConference {
    /// Unique identifier: 1-50 characters of a-z, 0-9 and '-'.
    #[schema(example = "pycon-2027")]
    pub slug: String,
    /// Display name.
    #[schema(example = "PyCon US 2027")]
    pub name: String,
    /// First day, YYYY-MM-DD.
    #[schema(example = "2027-05-14")]
    pub start_date: String,
    /// Last day, YYYY-MM-DD, not before the first.
    #[schema(example = "2027-05-22")]
    pub end_date: String,
    /// IANA time zone; local times are read in it.
    #[schema(example = "America/New_York")]
    pub timezone: String,
}

/// Creates a conference (admin tokens only).
#[utoipa::path(
    post,
    path = "/api/v1/conferences",
    tag = "conferences",
    request_body = CreateConference,
    responses((status = 201, description = "Created", body = Conference), ErrorResponses),
    security(("bearer" = []))
)]
async fn create_conference(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateConference>,
) -> Result<(StatusCode, Json<Conference>), ApiError> {
    principal.require_admin()?;
    let new = NewConference::parse(&body.slug, &body.name, &body.start_date, &body.end_date, &body.timezone)
        .map_err(vouchers_core::VoucherError::from)?;
    let created = catalog::create_conference(principal.store(&state).as_ref(), &new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One conference.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}",
    tag = "conferences",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    responses((status = 200, description = "The conference", body = Conference), ErrorResponses),
    security(("bearer" = []))
)]
async fn get_conference(Managed { conference, .. }: Managed) -> Result<Json<Conference>, ApiError> {
    Ok(Json(conference))
}
