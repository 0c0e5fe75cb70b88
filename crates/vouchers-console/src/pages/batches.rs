//! A batch's page: its configuration, usage, codes (with their recipients) and emails (the
//! outbox, with a Retry button on each failed message); its CSV (the API's export, safe for
//! spreadsheets); and deactivating it, after a confirmation page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vouchers_core::domain::{Batch, BatchSource, Conference, Guessing, MessageStatus, OutboxMessage};
use vouchers_core::service::checkout::{self, UsageCounts};
use vouchers_core::service::{manage, outbox, query};
use vouchers_core::store::VoucherFilter;

use crate::error::ConsoleError;
use crate::session::{Posted, Signed};
use crate::view::{discount, local, ok, page, Nav, VoucherRow};
use crate::ConsoleState;

/// The most codes (and emails) the page lists; the CSV has every code.
const SHOWN: i64 = 1000;

/// One outbox message as the Emails table shows it.
struct MessageRow {
    id: i64,
    name: String,
    email: String,
    code: String,
    status: &'static str,
    attempts: i64,
    sent_at: String,
    last_error: String,
    failed: bool,
}

impl MessageRow {
    fn new(message: &OutboxMessage, tz: chrono_tz::Tz) -> Self {
        Self {
            id: message.id,
            name: message.recipient_name.clone(),
            email: message.recipient_email.clone(),
            code: message.code.clone(),
            status: message.status.as_str(),
            attempts: message.attempts,
            sent_at: message.sent_at.as_ref().map(|t| local(t, tz)).unwrap_or_default(),
            last_error: message.last_error.clone().unwrap_or_default(),
            failed: message.status == MessageStatus::Failed,
        }
    }
}

#[derive(Template)]
#[template(path = "batch.html")]
struct BatchPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    batch: Batch,
    discount: String,
    window: String,
    format: String,
    guessing: Option<String>,
    counts: UsageCounts,
    rows: Vec<VoucherRow>,
    more: bool,
    messages: Vec<MessageRow>,
    more_messages: bool,
    notice: Option<String>,
    /// The name form's refusal.
    label_error: Option<String>,
}

#[derive(Template)]
#[template(path = "deactivate.html")]
struct ConfirmPage {
    nav: Option<Nav>,
    slug: String,
    batch: Batch,
    active: i64,
}

/// A batch id from the path; anything else names no batch.
fn batch_id(id: &str) -> Result<i64, ConsoleError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(ConsoleError::NotFound)
}

/// The batch `id` of the conference; another conference's batch is the same 404 as none.
pub(super) async fn find(state: &ConsoleState, conference: &Conference, id: &str) -> Result<Batch, ConsoleError> {
    query::batch(state.store.as_ref(), &conference.slug, batch_id(id)?).await?.ok_or(ConsoleError::NotFound)
}

/// The batch's counts and its guessing figure now.
async fn usage(
    state: &ConsoleState,
    conference: &Conference,
    id: i64,
) -> Result<(UsageCounts, Option<Guessing>), ConsoleError> {
    let report = checkout::usage_report(state.store.as_ref(), &conference.slug, &state.limits.guessing).await?;
    let batch = report.batches.into_iter().find(|b| b.batch_id == Some(id));
    Ok(batch.map(|b| (b.counts, b.guessing)).unwrap_or_default())
}

/// A guessing figure as the batch page says it.
fn guessing_text(g: &Guessing) -> String {
    let sentence = g.sentence();
    if g.weak {
        return format!("Weak: {sentence}.");
    }
    let mut chars = sentence.chars();
    chars.next().map_or_else(String::new, |first| format!("{}{}.", first.to_uppercase(), chars.as_str()))
}

/// The page of batch `id`, where a change leads back to.
pub(super) fn batch_url(conference: &Conference, id: i64) -> String {
    format!("/console/c/{}/batches/{id}", conference.slug)
}

/// Who delivers queued emails.
const SENT_BY: &str =
    "Queued emails are sent by `vouchers serve` when it has an SMTP URL, else by `vouchers send-outbox`.";

/// Query of the batch page: what the form that led here did (`assigned=N`, `queued=N`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct BatchQuery {
    #[serde(default)]
    assigned: Option<String>,
    #[serde(default)]
    queued: Option<String>,
}

impl BatchQuery {
    fn notice(&self) -> Option<String> {
        let count = |text: &Option<String>| text.as_deref().and_then(|t| t.parse::<u64>().ok());
        if let Some(n) = count(&self.assigned) {
            return Some(if n == 1 {
                "1 recipient got a code.".to_owned()
            } else {
                format!("{n} recipients got a code.")
            });
        }
        count(&self.queued).map(|n| match n {
            0 => "No emails were queued: every code with a recipient has its email already, or no code has a \
                  recipient yet."
                .to_owned(),
            1 => format!("1 email was queued. {SENT_BY}"),
            n => format!("{n} emails were queued. {SENT_BY}"),
        })
    }
}

/// The batch's page.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
    Query(params): Query<BatchQuery>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    render(&state, &signed, &conference, batch, params.notice(), None).await
}

/// The batch's page, with a notice of what led here, or (422) the name form's refusal.
async fn render(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    batch: Batch,
    notice: Option<String>,
    label_error: Option<String>,
) -> Result<Response, ConsoleError> {
    let filter = VoucherFilter { batch_id: Some(batch.id), limit: Some(SHOWN + 1), ..VoucherFilter::default() };
    let mut vouchers = query::list_vouchers(state.store.as_ref(), &conference.slug, &filter).await?;
    let more = vouchers.len() > usize::try_from(SHOWN).unwrap_or(usize::MAX);
    vouchers.truncate(usize::try_from(SHOWN).unwrap_or(usize::MAX));
    let tz = conference.timezone;
    let now = vouchers_core::now();
    let window = match (&batch.valid_from, &batch.valid_until) {
        (None, None) => "always".to_owned(),
        (Some(f), None) => format!("from {}", local(f, tz)),
        (None, Some(u)) => format!("until {}", local(u, tz)),
        (Some(f), Some(u)) => format!("{} to {}", local(f, tz), local(u, tz)),
    };
    let (counts, guessing) = usage(state, conference, batch.id).await?;
    let mut messages =
        outbox::list_outbox(state.store.as_ref(), &conference.slug, Some(batch.id), None, 0, SHOWN + 1).await?;
    let more_messages = messages.len() > usize::try_from(SHOWN).unwrap_or(usize::MAX);
    messages.truncate(usize::try_from(SHOWN).unwrap_or(usize::MAX));
    let status = if label_error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    page(
        status,
        &BatchPage {
            nav: Some(Nav::new(signed, Some(conference))),
            slug: conference.slug.clone(),
            timezone: tz.name().to_owned(),
            discount: discount(batch.voucher_type, &batch.discount_value),
            window,
            format: if batch.source == BatchSource::Import {
                "chosen codes (imported)".to_owned()
            } else {
                batch.format().describe()
            },
            guessing: guessing.as_ref().map(guessing_text),
            counts,
            rows: vouchers.iter().map(|v| VoucherRow::new(v, tz, now)).collect(),
            more,
            messages: messages.iter().map(|m| MessageRow::new(m, tz)).collect(),
            more_messages,
            notice,
            label_error,
            batch,
        },
    )
}

/// Names the batch and sets its note.
pub(crate) async fn label(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    let store = signed.store(&state);
    match manage::label_batch(store.as_ref(), &conference.slug, batch.id, &form.text("name"), form.secret("note")).await
    {
        Ok(batch) => {
            Ok(crate::flash::redirect(&state, &batch_url(&conference, batch.id), &format!("{} saved", batch.title())))
        }
        Err(e) if e.is_input_error() => {
            let message = crate::view::said(&e);
            render(&state, &signed, &conference, batch, None, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The batch's codes as CSV.
pub(crate) async fn download(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    Ok(vouchers_web::csv_download(state.store.clone(), conference.slug, Some(batch.id)))
}

/// Asks before deactivating.
pub(crate) async fn confirm(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    let active = usage(&state, &conference, batch.id).await?.0.active;
    ok(&ConfirmPage { nav: Some(Nav::new(&signed, Some(&conference))), slug: conference.slug.clone(), batch, active })
}

/// Deactivates every voucher of the batch, in one transaction.
pub(crate) async fn deactivate(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    let (_, count) = manage::deactivate_batch(signed.store(&state).as_ref(), &conference.slug, batch.id).await?;
    tracing::info!(account = %signed.session.account.email, batch = batch.id, deactivated = count, "batch deactivated");
    let said = match count {
        1 => format!("Batch {} deactivated: 1 voucher", batch.id),
        n => format!("Batch {} deactivated: {n} vouchers", batch.id),
    };
    Ok(crate::flash::redirect(&state, &batch_url(&conference, batch.id), &said))
}

/// One row of the batches list.
struct ListRow {
    id: i64,
    name: String,
    prefix: String,
    source: &'static str,
    discount: String,
    applies: String,
    created: String,
    issued: i64,
    active: i64,
    uses_consumed: i64,
}

#[derive(Template)]
#[template(path = "batches.html")]
struct ListPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    rows: Vec<ListRow>,
    /// More batches than the list shows.
    more: bool,
    max: i64,
    headers: Vec<crate::view::SortHeader>,
}

/// The batches list's sortable columns: key and header.
const COLUMNS: [(&str, &str); 6] = [
    ("batch", "Batch"),
    ("name", "Name"),
    ("codes", "Codes"),
    ("active", "Active"),
    ("uses", "Uses consumed"),
    ("created", "Created"),
];

/// The most batches the list shows (the first ones; a conference rarely has more).
const LIST_MAX: i64 = 1000;

/// The batches list: each batch's terms in words and its usage, oldest first unless a column
/// header sorts it, at most [`LIST_MAX`].
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let store = state.store.as_ref();
    let mut batches = query::list_batches(store, &conference.slug, 0, LIST_MAX + 1).await?;
    let more = batches.len() > usize::try_from(LIST_MAX).unwrap_or(1000);
    batches.truncate(usize::try_from(LIST_MAX).unwrap_or(1000));
    let report = checkout::usage_report(store, &conference.slug, &state.limits.guessing).await?;
    let tz = conference.timezone;
    let mut rows: Vec<ListRow> = batches
        .iter()
        .map(|b| {
            let counts =
                report.batches.iter().find(|u| u.batch_id == Some(b.id)).map(|u| u.counts.clone()).unwrap_or_default();
            ListRow {
                id: b.id,
                name: b.name.clone(),
                prefix: b.prefix.clone(),
                source: b.source.as_str(),
                discount: discount(b.voucher_type, &b.discount_value),
                applies: b.applies(),
                created: local(&b.created_at, tz),
                issued: counts.issued,
                active: counts.active,
                uses_consumed: counts.uses_consumed,
            }
        })
        .collect();
    let sort = crate::view::Sort::of(&params, &COLUMNS, "batch");
    // By the column's number, or by name (unnamed last), then by batch.
    sort.apply(&mut rows, |r, column| match column {
        "name" => (0, (r.name.is_empty(), r.name.to_lowercase()), r.id),
        "codes" => (r.issued, (false, String::new()), r.id),
        "active" => (r.active, (false, String::new()), r.id),
        "uses" => (r.uses_consumed, (false, String::new()), r.id),
        _ => (0, (false, String::new()), r.id),
    });
    ok(&ListPage {
        nav: Some(Nav::new(&signed, Some(&conference))),
        slug: conference.slug.clone(),
        timezone: tz.name().to_owned(),
        rows,
        more,
        max: LIST_MAX,
        headers: sort.headers(&format!("/console/c/{}/batches", conference.slug), &COLUMNS),
    })
}
