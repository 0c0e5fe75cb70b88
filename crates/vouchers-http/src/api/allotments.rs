//! Sponsor allotments over HTTP (manage scope): create one (the sponsor's link is in the answer,
//! once), list, show, extend the deadline, resize, revoke the link, make a new one. Each handler
//! calls the same use case as the CLI and the console. The sponsor's own page is the console's
//! (`/sponsor`), not an API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{Allotment, When};
use vouchers_core::service::allotments::{self, AllotmentWithLink};

use super::id_of;
use super::vouchers::CreateAllotment;
use crate::auth::Managed;
use crate::error::{ApiError, ErrorResponses};
use crate::extract::{ApiJson, ApiPath};
use crate::pagination::{page, Page, Position};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_allotment, list_allotments))
        .routes(routes!(show_allotment))
        .routes(routes!(extend))
        .routes(routes!(resize))
        .routes(routes!(revoke_link))
        .routes(routes!(new_link))
}

/// A new deadline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Extend {
    /// RFC 3339, or YYYY-MM-DDTHH:MM in the conference's time zone; in the future.
    #[schema(example = "2027-05-07T23:59")]
    pub deadline: String,
}

/// A new number of passes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resize {
    /// At least the passes assigned, at most the server's batch limit.
    #[schema(example = 8)]
    pub seats: i64,
}

/// A sponsor's new link, shown this once.
#[derive(Serialize, ToSchema)]
pub struct NewLink {
    /// `http://HOST/sponsor/SECRET` (the path alone when the server has no public URL).
    pub link: String,
}

/// Gives a sponsor passes with a deadline. The answer holds the sponsor's link, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/allotments",
    tag = "allotments",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = CreateAllotment,
    responses((status = 201, description = "The allotment and the sponsor's link", body = AllotmentWithLink), ErrorResponses),
    security(("bearer" = []))
)]
async fn create_allotment(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiJson(body): ApiJson<CreateAllotment>,
) -> Result<(StatusCode, Json<AllotmentWithLink>), ApiError> {
    let request = body.request(conference.slug)?;
    let created = allotments::create(principal.store(&state).as_ref(), &state.limits, &request).await?;
    Ok((StatusCode::CREATED, Json(created.with_link(state.public_url.as_deref()))))
}

/// The conference's allotments, by id, in one page.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/allotments",
    tag = "allotments",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    responses((status = 200, description = "The allotments", body = Page<Allotment>), ErrorResponses),
    security(("bearer" = []))
)]
async fn list_allotments(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
) -> Result<Json<Page<Allotment>>, ApiError> {
    let all = allotments::list(principal.store(&state).as_ref(), &conference.slug).await?;
    Ok(Json(page(all, i64::MAX, |a| Position::Id(a.id))))
}

/// One allotment: seats, assigned, redeemed, left, the deadline, whether it closed and what it
/// returned.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/allotments/{id}",
    tag = "allotments",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The allotment's id", example = 1),
    ),
    responses((status = 200, description = "The allotment", body = Allotment), ErrorResponses),
    security(("bearer" = []))
)]
async fn show_allotment(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<Allotment>, ApiError> {
    let id = id_of(&path.1, "allotment")?;
    Ok(Json(allotments::show(principal.store(&state).as_ref(), &conference.slug, id).await?))
}

/// Sets a new deadline (in the future); a closed allotment opens again with its passes back.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/allotments/{id}/extend",
    tag = "allotments",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The allotment's id", example = 1),
    ),
    request_body = Extend,
    responses((status = 200, description = "The allotment", body = Allotment), ErrorResponses),
    security(("bearer" = []))
)]
async fn extend(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Extend>,
) -> Result<Json<Allotment>, ApiError> {
    let id = id_of(&path.1, "allotment")?;
    let deadline = When::parse("deadline", &body.deadline).map_err(vouchers_core::VoucherError::from)?;
    Ok(Json(allotments::extend(principal.store(&state).as_ref(), &conference.slug, id, deadline).await?))
}

/// Changes the number of passes (never below those assigned: 409 `seats_below_assigned`).
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/allotments/{id}/resize",
    tag = "allotments",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The allotment's id", example = 1),
    ),
    request_body = Resize,
    responses((status = 200, description = "The allotment", body = Allotment), ErrorResponses),
    security(("bearer" = []))
)]
async fn resize(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Resize>,
) -> Result<Json<Allotment>, ApiError> {
    let id = id_of(&path.1, "allotment")?;
    let store = principal.store(&state);
    Ok(Json(allotments::resize(store.as_ref(), &state.limits, &conference.slug, id, body.seats).await?))
}

/// Stops the sponsor's link at once (and the sessions it opened).
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/allotments/{id}/revoke-link",
    tag = "allotments",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The allotment's id", example = 1),
    ),
    responses((status = 200, description = "The allotment", body = Allotment), ErrorResponses),
    security(("bearer" = []))
)]
async fn revoke_link(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<Allotment>, ApiError> {
    let id = id_of(&path.1, "allotment")?;
    Ok(Json(allotments::revoke_link(principal.store(&state).as_ref(), &conference.slug, id).await?))
}

/// Gives the sponsor a new link, shown this once; the old one stops at once.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/allotments/{id}/new-link",
    tag = "allotments",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The allotment's id", example = 1),
    ),
    responses((status = 200, description = "The new link", body = NewLink), ErrorResponses),
    security(("bearer" = []))
)]
async fn new_link(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<NewLink>, ApiError> {
    let id = id_of(&path.1, "allotment")?;
    let created = allotments::new_link(principal.store(&state).as_ref(), &conference.slug, id).await?;
    Ok(Json(NewLink { link: created.secret.link(state.public_url.as_deref()) }))
}
