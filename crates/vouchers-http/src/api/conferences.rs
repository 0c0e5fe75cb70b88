//! `POST /conferences`, `GET /conferences/{conf}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{Conference, ConferenceChange, HoldSeconds, NewConference};
use vouchers_core::service::catalog;

use crate::auth::{Managed, Principal};
use crate::error::{ApiError, ErrorResponses};
use crate::extract::ApiJson;
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_conference)).routes(routes!(get_conference, update_conference))
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
    /// How long a hold keeps a use for a cart when the hold names no time, 1 to 604800 seconds
    /// (default 1800).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 604800, default = 1800)]
    pub hold_seconds: Option<i64>,
}

/// The changeable settings of a conference.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConference {
    /// How long a hold keeps a use when it names no time, 1 to 604800 seconds.
    #[schema(minimum = 1, maximum = 604800)]
    pub hold_seconds: i64,
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
    let mut new = NewConference::parse(&body.slug, &body.name, &body.start_date, &body.end_date, &body.timezone)
        .map_err(vouchers_core::VoucherError::from)?;
    if let Some(seconds) = body.hold_seconds {
        new.hold_seconds = HoldSeconds::new("hold_seconds", seconds).map_err(vouchers_core::VoucherError::from)?;
    }
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

/// Changes a conference's settings (manage tokens of the conference).
#[utoipa::path(
    patch,
    path = "/api/v1/conferences/{conf}",
    tag = "conferences",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = UpdateConference,
    responses((status = 200, description = "The conference as changed", body = Conference), ErrorResponses),
    security(("bearer" = []))
)]
async fn update_conference(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiJson(body): ApiJson<UpdateConference>,
) -> Result<Json<Conference>, ApiError> {
    let change = ConferenceChange::parse(None, None, None, Some(body.hold_seconds))
        .map_err(vouchers_core::VoucherError::from)?;
    let updated = catalog::update_conference(principal.store(&state).as_ref(), &conference.slug, &change).await?;
    Ok(Json(updated.value))
}
