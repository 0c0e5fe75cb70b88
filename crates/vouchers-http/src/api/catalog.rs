//! `POST|GET /conferences/{conf}/ticket-types` and `POST|GET /conferences/{conf}/addons`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{AddOn, NewAddOn, NewTicketType, TicketType};
use vouchers_core::service::catalog;
use vouchers_core::VoucherError;

use crate::auth::Managed;
use crate::error::{ApiError, ErrorResponses};
use crate::extract::{ApiJson, ApiQuery};
use crate::pagination::{page, Page, PageParams, Position};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_ticket_type, list_ticket_types))
        .routes(routes!(create_addon, list_addons))
}

/// A ticket type to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketType {
    /// Unique within the conference: a-z, 0-9 and '-'.
    #[schema(example = "individual")]
    pub slug: String,
    /// Display name.
    #[schema(example = "Individual")]
    pub name: String,
    /// Price as a decimal string, at most 2 decimals.
    #[schema(example = "100.00")]
    pub price: String,
    /// Hidden unless a voucher unlocks it.
    #[serde(default)]
    pub requires_voucher: bool,
}

/// An add-on to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAddOn {
    /// Unique within the conference: a-z, 0-9 and '-'.
    #[schema(example = "tshirt")]
    pub slug: String,
    /// Display name.
    #[schema(example = "T-shirt")]
    pub name: String,
    /// Price as a decimal string, at most 2 decimals.
    #[schema(example = "25.00")]
    pub price: String,
}

/// The part of a list after the cursor's slug, with one extra item (see [`page`]).
fn after_slug<T>(items: Vec<T>, after: Option<&str>, limit: i64, slug: impl Fn(&T) -> &str) -> Vec<T> {
    let take = usize::try_from(limit).unwrap_or(usize::MAX).saturating_add(1);
    items.into_iter().filter(|item| after.is_none_or(|after| slug(item) > after)).take(take).collect()
}

/// Creates a ticket type.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/ticket-types",
    tag = "catalogue",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = CreateTicketType,
    responses((status = 201, description = "Created", body = TicketType), ErrorResponses),
    security(("bearer" = []))
)]
async fn create_ticket_type(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiJson(body): ApiJson<CreateTicketType>,
) -> Result<(StatusCode, Json<TicketType>), ApiError> {
    let new =
        NewTicketType::parse(&body.slug, &body.name, &body.price, body.requires_voucher).map_err(VoucherError::from)?;
    let created = catalog::create_ticket_type(principal.store(&state).as_ref(), &conference.slug, &new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The conference's ticket types, by slug.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/ticket-types",
    tag = "catalogue",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), PageParams),
    responses((status = 200, description = "A page of ticket types", body = Page<TicketType>), ErrorResponses),
    security(("bearer" = []))
)]
async fn list_ticket_types(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<TicketType>>, ApiError> {
    let (limit, after) = (params.limit()?, params.after_slug()?);
    let all = catalog::list_ticket_types(principal.store(&state).as_ref(), &conference.slug).await?;
    let items = after_slug(all, after.as_deref(), limit, |t| &t.slug);
    Ok(Json(page(items, limit, |t| Position::Slug(t.slug.clone()))))
}

/// Creates an add-on.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/addons",
    tag = "catalogue",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = CreateAddOn,
    responses((status = 201, description = "Created", body = AddOn), ErrorResponses),
    security(("bearer" = []))
)]
async fn create_addon(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiJson(body): ApiJson<CreateAddOn>,
) -> Result<(StatusCode, Json<AddOn>), ApiError> {
    let new = NewAddOn::parse(&body.slug, &body.name, &body.price).map_err(VoucherError::from)?;
    let created = catalog::create_addon(principal.store(&state).as_ref(), &conference.slug, &new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The conference's add-ons, by slug.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/addons",
    tag = "catalogue",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), PageParams),
    responses((status = 200, description = "A page of add-ons", body = Page<AddOn>), ErrorResponses),
    security(("bearer" = []))
)]
async fn list_addons(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<AddOn>>, ApiError> {
    let (limit, after) = (params.limit()?, params.after_slug()?);
    let all = catalog::list_addons(principal.store(&state).as_ref(), &conference.slug).await?;
    let items = after_slug(all, after.as_deref(), limit, |a| &a.slug);
    Ok(Json(page(items, limit, |a| Position::Slug(a.slug.clone()))))
}
