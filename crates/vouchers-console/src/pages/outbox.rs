//! The conference's outbox across batches: every email with where it stands (queued, sending,
//! sent, failed), filtered by status and batch, 100 a page, with `Retry` on a failed one; and
//! whether this server sends email at all.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vouchers_core::domain::{MessageStatus, OutboxMessage};
use vouchers_core::service::outbox;

use crate::error::ConsoleError;
use crate::session::Signed;
use crate::view::{local, page, Nav};
use crate::ConsoleState;

/// Emails shown per page.
const PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    nav: Option<Nav>,
    slug: String,
    mail: bool,
    timezone: String,
    rows: Vec<(OutboxMessage, String, String)>,
    status: String,
    batch: String,
    statuses: [&'static str; 4],
    next: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Params {
    status: Option<String>,
    batch: Option<String>,
    after: Option<String>,
}

/// The outbox page.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let tz = conference.timezone;
    let status_text = params.status.clone().unwrap_or_default();
    let batch_text = params.batch.clone().unwrap_or_default();
    let mut error = None;
    let status = match status_text.as_str() {
        "" => None,
        text => match text.parse::<MessageStatus>() {
            Ok(status) => Some(status),
            Err(_) => {
                error = Some(format!("status must be queued, sending, sent or failed, got {text:?}"));
                None
            }
        },
    };
    let batch = super::batch_filter(&batch_text).unwrap_or_else(|message| {
        error = Some(message);
        None
    });
    let after = params.after.as_deref().and_then(|a| a.parse::<i64>().ok()).unwrap_or(0);
    let (rows, next) = if error.is_some() {
        (Vec::new(), None)
    } else {
        let mut found =
            outbox::list_outbox(state.store.as_ref(), &conference.slug, batch, status, after, PAGE + 1).await?;
        let more = found.len() > usize::try_from(PAGE).unwrap_or(100);
        found.truncate(usize::try_from(PAGE).unwrap_or(100));
        let next = if more {
            found.last().map(|m| {
                let mut query = form_urlencoded::Serializer::new(String::new());
                query.append_pair("status", &status_text).append_pair("batch", &batch_text);
                query.append_pair("after", &m.id.to_string());
                format!("outbox?{}", query.finish())
            })
        } else {
            None
        };
        let rows = found
            .into_iter()
            .map(|m| {
                let when = match m.sent_at.as_ref() {
                    Some(sent) => format!("sent {}", local(sent, tz)),
                    None if m.status == MessageStatus::Failed => "will not be tried again".to_owned(),
                    None => format!("next try {}", local(&m.next_attempt_at, tz)),
                };
                let status_class = match m.status {
                    MessageStatus::Sent => "status-active",
                    MessageStatus::Failed => "status-expired",
                    _ => "status-used-up",
                };
                (m, when, status_class.to_owned())
            })
            .collect();
        (rows, next)
    };
    let status_code = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let view = OutboxPage {
        nav: Some(Nav::new(&signed, Some(&conference))),
        slug: conference.slug.clone(),
        mail: state.settings.mail_configured,
        timezone: tz.name().to_owned(),
        rows,
        status: status_text,
        batch: batch_text,
        statuses: ["queued", "sending", "sent", "failed"],
        next,
        error,
    };
    page(status_code, &view)
}
