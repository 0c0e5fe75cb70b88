//! Handing codes to people over HTTP: assign a batch's codes to recipients, queue their emails
//! (with a preview of the first), follow the outbox and retry a failed message, import codes
//! chosen elsewhere. Each handler calls the same use case as the CLI and the console.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{MessageStatus, MessageTemplate, OutboxMessage, Recipient, RenderedMessage};
use vouchers_core::service::assign::{self, Assigned, RecipientInput, RecipientList};
use vouchers_core::service::import::{self, Imported};
use vouchers_core::service::outbox;
use vouchers_core::service::send::{self, Queued};

use crate::auth::Managed;
use crate::error::{ApiError, ErrorResponses};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CsvBody};
use crate::pagination::{page, Page, PageParams, Position};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(assign_batch))
        .routes(routes!(send_batch))
        .routes(routes!(preview_batch))
        .routes(routes!(list_outbox))
        .routes(routes!(retry_message))
        .routes(routes!(import_vouchers))
}

/// A message template: subject and bodies with placeholders.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// The subject, e.g. `Your code for {{ conference }}`.
    pub subject: String,
    /// The plain-text body. Placeholders: `{{ code }}`, `{{ name }}`, `{{ email }}`,
    /// `{{ tags.KEY }}`, `{{ conference }}`, `{{ discount }}`, `{{ valid_until }}`.
    pub template: String,
    /// An HTML body beside the text one (values are HTML-escaped).
    pub html_template: Option<String>,
}

impl TemplateBody {
    fn checked(&self) -> Result<MessageTemplate, ApiError> {
        Ok(MessageTemplate::parse(&self.subject, &self.template, self.html_template.as_deref())
            .map_err(vouchers_core::VoucherError::from)?)
    }
}

/// The recipients of an assignment, and optionally the message to queue for them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// One entry per recipient; each gets one unassigned code of the batch.
    pub recipients: Vec<RecipientInput>,
    /// Queue each recipient's message in the same transaction.
    pub send: Option<TemplateBody>,
}

fn batch_id(conference: &str, id: &str) -> Result<i64, ApiError> {
    super::batches::batch_id(conference, id)
}

/// Gives each recipient one unassigned code of the batch, in one transaction (and queues their
/// messages with `send`). Not enough codes: 409 `not_enough_codes`; a bad row: 422 naming it.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/batches/{id}/assign",
    tag = "recipients",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The batch id", example = 1),
    ),
    request_body = AssignBody,
    responses((status = 200, description = "Who got which code", body = Assigned), ErrorResponses),
    security(("bearer" = []))
)]
async fn assign_batch(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Json<Assigned>, ApiError> {
    let (_, id) = path;
    let id = batch_id(&conference.slug, &id)?;
    let recipients = RecipientList::from_inputs(&body.recipients)?;
    let template = body.send.as_ref().map(TemplateBody::checked).transpose()?;
    let store = principal.store(&state);
    Ok(Json(assign::assign_recipients(store.as_ref(), &conference.slug, id, &recipients, template.as_ref()).await?))
}

/// Queues one message per assigned voucher of the batch that has none yet.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/batches/{id}/send",
    tag = "recipients",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The batch id", example = 1),
    ),
    request_body = TemplateBody,
    responses((status = 200, description = "How many messages were queued", body = Queued), ErrorResponses),
    security(("bearer" = []))
)]
async fn send_batch(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<TemplateBody>,
) -> Result<Json<Queued>, ApiError> {
    let (_, id) = path;
    let id = batch_id(&conference.slug, &id)?;
    let template = body.checked()?;
    Ok(Json(send::queue_messages(principal.store(&state).as_ref(), &conference.slug, id, &template).await?))
}

/// The message the first recipient still waiting for one would get.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// That recipient (`null` when every assigned voucher has a message).
    pub recipient: Option<Recipient>,
    /// Their message.
    pub message: Option<RenderedMessage>,
}

/// Fills the template in for the first recipient still waiting for a message; queues nothing.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/batches/{id}/send/preview",
    tag = "recipients",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The batch id", example = 1),
    ),
    request_body = TemplateBody,
    responses((status = 200, description = "The first message", body = Preview), ErrorResponses),
    security(("bearer" = []))
)]
async fn preview_batch(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<TemplateBody>,
) -> Result<Json<Preview>, ApiError> {
    let (_, id) = path;
    let id = batch_id(&conference.slug, &id)?;
    let template = body.checked()?;
    let first = send::preview_first_message(principal.store(&state).as_ref(), &conference.slug, id, &template).await?;
    let (recipient, message) = first.unzip();
    Ok(Json(Preview { recipient, message }))
}

/// Which outbox messages to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxParams {
    /// Only messages with this status: `queued`, `sending`, `sent`, `failed`.
    pub status: Option<String>,
    /// Only this batch's messages.
    pub batch: Option<i64>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The conference's outbox: each message's status, attempts, the server's last answer.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/outbox",
    tag = "recipients",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), OutboxParams),
    responses((status = 200, description = "A page of messages", body = Page<OutboxMessage>), ErrorResponses),
    security(("bearer" = []))
)]
async fn list_outbox(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiQuery(params): ApiQuery<OutboxParams>,
) -> Result<Json<Page<OutboxMessage>>, ApiError> {
    let paging = PageParams { limit: params.limit, cursor: params.cursor };
    let limit = paging.limit()?;
    let status: Option<MessageStatus> =
        params.status.as_deref().map(str::parse).transpose().map_err(vouchers_core::VoucherError::from)?;
    let store = principal.store(&state);
    let messages =
        outbox::list_outbox(store.as_ref(), &conference.slug, params.batch, status, paging.after_id()?, limit + 1)
            .await?;
    Ok(Json(page(messages, limit, |m| Position::Id(m.id))))
}

/// The answer to a retry.
#[derive(Debug, Serialize, ToSchema)]
pub struct Retried {
    /// The message, queued again.
    pub id: i64,
    /// Always `queued`.
    pub status: MessageStatus,
}

/// Queues a failed message again (404 when the conference has no failed message with this id).
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/outbox/{id}/retry",
    tag = "recipients",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("id" = i64, Path, description = "The message id", example = 1),
    ),
    responses((status = 200, description = "Queued again", body = Retried), ErrorResponses),
    security(("bearer" = []))
)]
async fn retry_message(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<Retried>, ApiError> {
    let (_, id) = path;
    let id = match id.parse::<i64>() {
        Ok(n) if n > 0 => n,
        _ => {
            return Err(ApiError::PathNotFound {
                parameter: "id",
                message: format!(
                    "no message {} in this conference's outbox: a message id is a whole number from 1",
                    vouchers_core::domain::quoted(&id)
                ),
            })
        }
    };
    outbox::retry_message(principal.store(&state).as_ref(), &conference.slug, id).await?;
    Ok(Json(Retried { id, status: MessageStatus::Queued }))
}

/// Imports codes chosen elsewhere from a CSV body (`Content-Type: text/csv`) with the export's
/// columns, as one batch in one transaction; any bad row fails the whole import (422 listing the
/// lines). Larger files than the body limit: `vouchers import`.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/vouchers/import",
    tag = "recipients",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body(content = String, content_type = "text/csv", description = "The export's columns; code and voucher_type required"),
    responses((status = 201, description = "The new batch", body = Imported), ErrorResponses),
    security(("bearer" = []))
)]
async fn import_vouchers(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    CsvBody(body): CsvBody,
) -> Result<(StatusCode, Json<Imported>), ApiError> {
    let imported = import::import_vouchers(principal.store(&state).as_ref(), &conference.slug, &body[..]).await?;
    Ok((StatusCode::CREATED, Json(imported)))
}
