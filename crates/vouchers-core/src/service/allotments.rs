//! Sponsor allotments: an organizer gives a sponsor a number of passes with a deadline; the
//! sponsor, on its own page (a secret link, no account), names an attendee per pass, and each
//! attendee gets a personal code of the allotment's terms by email. At the deadline the passes
//! nobody was given go back to the organizer by themselves.
//!
//! The rules, each once:
//! - the passes: every add, removal, resize and close is one conditional UPDATE of the
//!   allotment's row (`StoreTx::take_seats`, ...), so twenty adds racing for five passes give five,
//!   and a close racing a late add gives the pass to one of them;
//! - an allotment's codes are a batch of its own, minted one per attendee when the attendee is
//!   named (no code exists for a pass nobody holds), once per customer;
//! - a change of attendee deactivates the old code and mints a new one, so a forwarded email
//!   stops working; a redeemed code stays;
//! - every change is audited, by the organizer or by the sponsor (`Actor::Sponsor`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::generate::{self, VoucherBulkConfig};
use super::sign_in::{guarded_lookup, Guarded, SignInGuard};
use super::tokens::token_hash;
use super::Limits;
use crate::domain::{
    quoted, reminder_days, sponsor_name, Allotment, Attendee, Conference, Email, EventType, InvalidInput,
    MessageContext, MessageTemplate, Recipient, RenderedMessage, RowError, SessionSecret, SponsorSecret,
    SponsorSession, When, DEFAULT_REMINDER_DAYS, MAX_PASTE, MAX_REMINDER_DAYS,
};
use crate::store::{NewAllotment, NewMessage, Store, StoreTx};
use crate::VoucherError;

/// How long a sponsor's browser session lasts (the link opens a new one at any time).
pub const SPONSOR_SESSION_DAYS: i64 = 7;

/// The most open allotments one round of [`close_due`] or [`send_reminders`] looks at.
const ROUND: i64 = 1_000;

/// The attendee's email when the organizer gives no template of their own.
pub const DEFAULT_SUBJECT: &str = "Your pass for {{ conference }}, from {{ sponsor }}";

/// See [`DEFAULT_SUBJECT`].
pub const DEFAULT_TEMPLATE: &str = "Hello {{ name }},

{{ sponsor }} has given you a pass for {{ conference }}.

Your personal code: {{ code }} ({{ discount }})

Enter it when you register for {{ conference }}: it is yours alone, and it works once.
{% if valid_until %}It is valid until {{ valid_until }}.
{% endif %}
See you there!
";

/// A new allotment as a face hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct AllotmentRequest {
    /// The sponsor's name.
    pub sponsor: String,
    /// The sponsor's contact email (reminders go there).
    pub contact: String,
    /// Passes, 1 to the deployment's largest batch.
    pub seats: i64,
    /// When unassigned passes are returned; a local time is read in the conference's time zone.
    pub deadline: When,
    /// Days before the deadline the contact is reminded (`None`: 7 and 1).
    pub reminder_days: Option<Vec<i64>>,
    /// The attendee email's subject (`None`: [`DEFAULT_SUBJECT`]).
    pub subject: Option<String>,
    /// Its text (`None`: [`DEFAULT_TEMPLATE`]).
    pub template: Option<String>,
    /// Its HTML, if any.
    pub html_template: Option<String>,
    /// The conference, the code format and the terms of every pass's code (as `generate` takes
    /// them; `count` is the seats, and once per customer is implied).
    pub codes: VoucherBulkConfig,
}

/// An allotment just made, or whose link was just replaced, with its link's secret (shown once).
#[derive(Debug, Clone)]
pub struct Created {
    /// The allotment.
    pub allotment: Allotment,
    /// The sponsor link's secret.
    pub secret: SponsorSecret,
}

/// The answer of a create: `{"allotment": {...}, "link": "http://HOST/sponsor/SECRET"}`.
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllotmentWithLink {
    /// The allotment.
    pub allotment: Allotment,
    /// The sponsor's link, shown this once (the path alone when no public URL is set).
    pub link: String,
}

impl std::fmt::Debug for AllotmentWithLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllotmentWithLink").field("allotment", &self.allotment).field("link", &"***").finish()
    }
}

impl Created {
    /// The answer, with the link under `origin` (the path alone without one).
    pub fn with_link(&self, origin: Option<&str>) -> AllotmentWithLink {
        AllotmentWithLink { allotment: self.allotment.clone(), link: self.secret.link(origin) }
    }
}

fn check_seats(limits: &Limits, seats: i64) -> Result<(), VoucherError> {
    if !(1..=limits.max_batch).contains(&seats) {
        let message = format!("seats must be from 1 to {} (the largest batch), got {seats}", limits.max_batch);
        return Err(InvalidInput::new("seats", message).into());
    }
    Ok(())
}

fn future_deadline(deadline: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, VoucherError> {
    if deadline <= now {
        let message = format!("deadline must be in the future, got {}", crate::domain::format_rfc3339(&deadline));
        return Err(InvalidInput::new("deadline", message).into());
    }
    Ok(deadline)
}

/// The attendee template: the organizer's parts, the built-in ones for those not given.
fn attendee_template(
    subject: Option<&str>,
    text: Option<&str>,
    html: Option<&str>,
) -> Result<MessageTemplate, VoucherError> {
    Ok(MessageTemplate::parse_for_allotment(
        subject.unwrap_or(DEFAULT_SUBJECT),
        text.unwrap_or(DEFAULT_TEMPLATE),
        html,
    )?)
}

/// A new random secret for a sponsor link.
fn new_secret() -> Result<(SponsorSecret, String), VoucherError> {
    let secret = SponsorSecret::new(super::accounts::random_secret()?);
    let hash = token_hash(secret.expose());
    Ok((secret, hash))
}

/// Creates an allotment: its batch (no code yet), its row, its link; audited.
///
/// # Errors
/// [`VoucherError::Invalid`] naming `sponsor`, `contact`, `seats`, `deadline`, `reminder_days`,
/// `subject`, `template`, `html_template` or a term of the codes; those of `generate` for the
/// terms ([`VoucherError::ConferenceNotFound`], [`VoucherError::UnknownTicketType`], ...).
/// Nothing is written in any error case.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %request.codes.conference))]
pub async fn create(store: &dyn Store, limits: &Limits, request: &AllotmentRequest) -> Result<Created, VoucherError> {
    let sponsor = sponsor_name(&request.sponsor)?;
    let contact = Email::parse("contact", &request.contact)?;
    check_seats(limits, request.seats)?;
    let days = reminder_days(request.reminder_days.as_deref().unwrap_or(&DEFAULT_REMINDER_DAYS))?;
    attendee_template(request.subject.as_deref(), request.template.as_deref(), request.html_template.as_deref())?;
    let mut codes = request.codes.clone();
    codes.count = request.seats;
    codes.terms.once_per_customer = true;
    // The batch is known by its sponsor unless the organizer named it.
    if codes.name.trim().is_empty() {
        codes.name = sponsor.chars().take(crate::domain::BatchLabel::NAME_MAX - 9).collect::<String>() + " (sponsor)";
    }
    let (secret, hash) = new_secret()?;
    let now = super::now();

    let mut tx = store.begin().await?;
    let (conference, batch) = generate::insert_empty_batch(tx.as_mut(), limits, &codes).await?;
    let deadline = future_deadline(request.deadline.resolve("deadline", conference.timezone)?, now)?;
    let new = NewAllotment {
        conference_id: conference.id,
        batch_id: batch.id,
        sponsor: &sponsor,
        contact: contact.as_str(),
        seats: request.seats,
        deadline,
        link_hash: &hash,
        subject: request.subject.as_deref(),
        template: request.template.as_deref(),
        html_template: request.html_template.as_deref(),
        reminder_days: &days,
        now,
    };
    let id = tx.insert_allotment(&new).await?;
    let changes = serde_json::json!({
        "sponsor": sponsor, "contact": contact.as_str(), "seats": request.seats,
        "deadline": crate::domain::format_rfc3339(&deadline), "batch_id": batch.id, "reminder_days": days,
    });
    super::audit(tx.as_mut(), Some(conference.id), "allotment.create", &target(id), changes).await?;
    let allotment = in_tx(tx.as_mut(), &conference, id).await?;
    tx.commit().await?;
    Ok(Created { allotment, secret })
}

fn target(id: i64) -> String {
    format!("allotment {id}")
}

async fn in_tx(tx: &mut dyn StoreTx, conference: &Conference, id: i64) -> Result<Allotment, VoucherError> {
    tx.allotment(conference.id, id).await?.ok_or(VoucherError::AllotmentNotFound(id))
}

/// The conference (slug) of allotment `id`, for the faces that name an allotment by id alone.
///
/// # Errors
/// [`VoucherError::AllotmentNotFound`].
pub async fn conference_of(store: &dyn Store, id: i64) -> Result<String, VoucherError> {
    Ok(store.allotment_by_id(id).await?.ok_or(VoucherError::AllotmentNotFound(id))?.1.conference)
}

/// The conference's allotments, by id.
pub async fn list(store: &dyn Store, conference: &str) -> Result<Vec<Allotment>, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    Ok(store.allotments(conference.id, None).await?)
}

/// One allotment of the conference.
///
/// # Errors
/// [`VoucherError::ConferenceNotFound`], [`VoucherError::AllotmentNotFound`].
pub async fn show(store: &dyn Store, conference: &str, id: i64) -> Result<Allotment, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    store.allotments(conference.id, Some(id)).await?.pop().ok_or(VoucherError::AllotmentNotFound(id))
}

/// One allotment of the conference with its attendees (for the organizer: with nothing the
/// sponsor's page does not show either).
pub async fn show_with_attendees(
    store: &dyn Store,
    conference: &str,
    id: i64,
) -> Result<(Allotment, Vec<Attendee>), VoucherError> {
    let allotment = show(store, conference, id).await?;
    let attendees = store.attendees(allotment.batch_id).await?;
    Ok((allotment, attendees))
}

/// Opens a transaction on the conference's allotment `id`.
async fn begin_on(
    store: &dyn Store,
    conference: &str,
    id: i64,
) -> Result<(Box<dyn StoreTx>, Conference, Allotment), VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    let mut tx = store.begin().await?;
    let allotment = in_tx(tx.as_mut(), &conference, id).await?;
    Ok((tx, conference, allotment))
}

/// Sets a new deadline, in the future; an allotment closed already opens again (the passes it
/// returned are back, as many as its seats still leave).
///
/// # Errors
/// [`VoucherError::Invalid`] naming `deadline`; [`VoucherError::AllotmentNotFound`].
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, allotment = id))]
pub async fn extend(store: &dyn Store, conference: &str, id: i64, deadline: When) -> Result<Allotment, VoucherError> {
    let now = super::now();
    let (mut tx, conference, before) = begin_on(store, conference, id).await?;
    let deadline = future_deadline(deadline.resolve("deadline", conference.timezone)?, now)?;
    tx.set_allotment_deadline(conference.id, id, deadline, now).await?;
    let changes = serde_json::json!({
        "deadline": {"old": crate::domain::format_rfc3339(&before.deadline),
                     "new": crate::domain::format_rfc3339(&deadline)},
        "reopened": before.closed,
    });
    super::audit(tx.as_mut(), Some(conference.id), "allotment.extend", &target(id), changes).await?;
    let after = in_tx(tx.as_mut(), &conference, id).await?;
    tx.commit().await?;
    Ok(after)
}

/// Sets the seats; never below the passes assigned.
///
/// # Errors
/// [`VoucherError::Invalid`] or [`VoucherError::SeatsBelowAssigned`] naming `seats`;
/// [`VoucherError::AllotmentNotFound`].
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, allotment = id))]
pub async fn resize(
    store: &dyn Store,
    limits: &Limits,
    conference: &str,
    id: i64,
    seats: i64,
) -> Result<Allotment, VoucherError> {
    check_seats(limits, seats)?;
    let (mut tx, conference, before) = begin_on(store, conference, id).await?;
    if !tx.resize_allotment(conference.id, id, seats, super::now()).await? {
        let assigned = in_tx(tx.as_mut(), &conference, id).await?.assigned;
        return Err(VoucherError::SeatsBelowAssigned { assigned, seats });
    }
    let changes = serde_json::json!({ "seats": {"old": before.seats, "new": seats} });
    super::audit(tx.as_mut(), Some(conference.id), "allotment.resize", &target(id), changes).await?;
    let after = in_tx(tx.as_mut(), &conference, id).await?;
    tx.commit().await?;
    Ok(after)
}

/// Revokes the sponsor's link: it opens nothing any more, and every sponsor session it opened
/// ends.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, allotment = id))]
pub async fn revoke_link(store: &dyn Store, conference: &str, id: i64) -> Result<Allotment, VoucherError> {
    let (mut tx, conference, _) = begin_on(store, conference, id).await?;
    tx.set_allotment_link(conference.id, id, None, super::now()).await?;
    let changes = serde_json::json!({});
    super::audit(tx.as_mut(), Some(conference.id), "allotment.revoke_link", &target(id), changes).await?;
    let after = in_tx(tx.as_mut(), &conference, id).await?;
    tx.commit().await?;
    Ok(after)
}

/// Gives the sponsor a new link (shown once); the old one stops at once, with its sessions.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, allotment = id))]
pub async fn new_link(store: &dyn Store, conference: &str, id: i64) -> Result<Created, VoucherError> {
    let (secret, hash) = new_secret()?;
    let (mut tx, conference, _) = begin_on(store, conference, id).await?;
    tx.set_allotment_link(conference.id, id, Some(&hash), super::now()).await?;
    let changes = serde_json::json!({});
    super::audit(tx.as_mut(), Some(conference.id), "allotment.new_link", &target(id), changes).await?;
    let allotment = in_tx(tx.as_mut(), &conference, id).await?;
    tx.commit().await?;
    Ok(Created { allotment, secret })
}

/// One allotment closed by [`close_due`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Closed {
    /// The conference (slug).
    pub conference: String,
    /// The allotment.
    pub id: i64,
    /// The sponsor.
    pub sponsor: String,
    /// Passes returned.
    pub returned: i64,
}

/// The `data` of an `allotment.returned` event.
#[derive(Serialize)]
struct ReturnedData<'a> {
    allotment: &'a Allotment,
    returned: i64,
}

/// Closes every open allotment whose deadline is at or before `now` (every conference): its
/// unassigned passes are returned, audited, and the `allotment.returned` event written, each in
/// its own transaction. Two servers closing at once close each allotment once.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn close_due(store: &dyn Store, now: DateTime<Utc>) -> Result<Vec<Closed>, VoucherError> {
    let mut closed = Vec::new();
    for (conference_id, due) in store.open_allotments(now, ROUND).await? {
        let mut tx = store.begin().await?;
        let Some(returned) = tx.close_allotment(due.id, now).await? else { continue };
        let changes = serde_json::json!({ "returned": returned, "assigned": due.assigned, "seats": due.seats });
        super::audit(tx.as_mut(), Some(conference_id), "allotment.close", &target(due.id), changes).await?;
        let after = tx.allotment(conference_id, due.id).await?.ok_or(VoucherError::AllotmentNotFound(due.id))?;
        let data = ReturnedData { allotment: &after, returned };
        let conference = (conference_id, due.conference.as_str());
        super::webhooks::emit(tx.as_mut(), conference, EventType::AllotmentReturned, &data, now).await?;
        tx.commit().await?;
        closed.push(Closed { conference: due.conference, id: due.id, sponsor: due.sponsor, returned });
    }
    Ok(closed)
}

/// The reminder due now for an open allotment with passes left: the days (nearest first) whose
/// time has come, or none.
fn due_reminders(allotment: &Allotment, now: DateTime<Utc>) -> Vec<i64> {
    if allotment.closed || allotment.left == 0 || allotment.deadline <= now {
        return Vec::new();
    }
    let mut due: Vec<i64> =
        allotment.reminder_days.iter().copied().filter(|d| now >= allotment.deadline - Duration::days(*d)).collect();
    due.sort_unstable();
    due
}

/// The reminder to a sponsor's contact.
fn reminder(allotment: &Allotment, conference: &Conference, now: DateTime<Utc>) -> RenderedMessage {
    let local = allotment.deadline.with_timezone(&conference.timezone).format("%Y-%m-%d %H:%M %Z");
    let hours = (allotment.deadline - now).num_hours();
    let when = if hours >= 48 { format!("{} days", hours / 24) } else { format!("{} hours", hours.max(1)) };
    RenderedMessage {
        subject: format!(
            "{}: {} of {} passes for {} are not assigned yet",
            allotment.sponsor, allotment.left, allotment.seats, conference.name
        )
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(crate::domain::MAX_SUBJECT_CHARS)
        .collect(),
        text: format!(
            "Hello,\n\n{sponsor} has {left} of its {seats} passes for {conference} still to assign.\n\n\
             Name your attendees on your sponsor page (the link the organizer sent you) by {local}, in {when}. \
             Each attendee gets a personal code by email.\n\n\
             At the deadline, the passes nobody was given go back to the organizer.\n",
            sponsor = allotment.sponsor,
            left = allotment.left,
            seats = allotment.seats,
            conference = conference.name,
        ),
        html: None,
    }
}

/// Queues, through the outbox, every reminder due at `now` to the contacts of open allotments
/// with passes left (7 and 1 days before the deadline unless the allotment says otherwise),
/// each once per deadline; returns how many were queued.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn send_reminders(store: &dyn Store, now: DateTime<Utc>) -> Result<u64, VoucherError> {
    let mut queued = 0;
    let horizon = now + Duration::days(MAX_REMINDER_DAYS);
    for (conference_id, allotment) in store.open_allotments(horizon, ROUND).await? {
        let due = due_reminders(&allotment, now);
        if due.is_empty() {
            continue;
        }
        let Some(conference) = store.conference(&allotment.conference).await? else { continue };
        let mut tx = store.begin().await?;
        if !tx.record_reminder(allotment.id, &due, allotment.deadline, now).await? {
            continue;
        }
        let contact = Recipient::parse(&allotment.contact, &allotment.sponsor, Default::default())?;
        let rendered = reminder(&allotment, &conference, now);
        let message = NewMessage {
            conference_id,
            batch_id: allotment.batch_id,
            voucher_id: None,
            recipient: &contact,
            rendered: &rendered,
            message_key: super::send::message_key()?,
            attempt_limit: super::send::ATTEMPT_LIMIT,
        };
        tx.queue_messages(&[message], now).await?;
        let changes = serde_json::json!({ "days": due[0], "left": allotment.left });
        super::audit(tx.as_mut(), Some(conference_id), "allotment.remind", &target(allotment.id), changes).await?;
        tx.commit().await?;
        queued += 1;
    }
    Ok(queued)
}

/// How often `serve` looks for allotments to close and reminders to send.
pub const DEADLINE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Closes due allotments and sends due reminders every `every`, until its task is dropped
/// (`serve`). A failed round is logged and tried again at the next.
pub async fn run_deadlines(store: std::sync::Arc<dyn Store>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match close_due(store.as_ref(), super::now()).await {
            Ok(closed) => {
                for c in closed {
                    tracing::info!(conference = %c.conference, allotment = c.id, returned = c.returned, "allotment closed at its deadline");
                }
            }
            Err(error) => tracing::warn!(error = %crate::cause_chain(&error), "due allotments could not be closed"),
        }
        if let Err(error) = send_reminders(store.as_ref(), super::now()).await {
            tracing::warn!(error = %crate::cause_chain(&error), "allotment reminders could not be queued");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sponsor's side.

/// Opens a sponsor's link under the sign-in limit of its address: a new sponsor session (its
/// secret for the cookie) for the allotment the link names; [`Guarded::NotFound`] for an unknown
/// or revoked link, counted as a failure.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn open_link(
    store: &dyn Store,
    guard: &SignInGuard,
    secret: &SponsorSecret,
    address: std::net::IpAddr,
    now: DateTime<Utc>,
) -> Result<Guarded<(SessionSecret, SponsorSession)>, VoucherError> {
    let hash = token_hash(secret.expose());
    let lookup = async { Ok(store.allotment_by_link(&hash).await?) };
    let allotment_id = match guarded_lookup(store, guard, address, now, lookup).await? {
        Guarded::Found(id) => id,
        Guarded::NotFound => return Ok(Guarded::NotFound),
        Guarded::TooMany(refused) => return Ok(Guarded::TooMany(refused)),
    };
    let Some((_, allotment)) = store.allotment_by_id(allotment_id).await? else { return Ok(Guarded::NotFound) };
    let session_secret = SessionSecret::new(super::accounts::random_secret()?);
    let csrf_token = super::accounts::random_secret()?;
    let mut tx = store.begin().await?;
    let id = tx.insert_sponsor_session(&token_hash(session_secret.expose()), allotment_id, &csrf_token, now).await?;
    tx.commit().await?;
    let session = SponsorSession {
        id,
        allotment_id,
        conference: allotment.conference,
        sponsor: allotment.sponsor,
        batch_id: allotment.batch_id,
        csrf_token,
    };
    Ok(Guarded::Found((session_secret, session)))
}

/// The sponsor session a cookie holds, while it is younger than [`SPONSOR_SESSION_DAYS`] and its
/// allotment's link stands; an ended one is deleted.
pub async fn sponsor_session(
    store: &dyn Store,
    secret: &SessionSecret,
    now: DateTime<Utc>,
) -> Result<Option<SponsorSession>, VoucherError> {
    let hash = token_hash(secret.expose());
    let Some(stored) = store.sponsor_session(&hash).await? else { return Ok(None) };
    if now >= stored.created_at + Duration::days(SPONSOR_SESSION_DAYS) {
        end_session(store, secret).await?;
        return Ok(None);
    }
    Ok(Some(SponsorSession {
        id: stored.id,
        allotment_id: stored.allotment_id,
        conference: stored.conference,
        sponsor: stored.sponsor,
        batch_id: stored.batch_id,
        csrf_token: stored.csrf_token,
    }))
}

/// Ends a sponsor session (the page's "Leave").
pub async fn end_session(store: &dyn Store, secret: &SessionSecret) -> Result<(), VoucherError> {
    let mut tx = store.begin().await?;
    tx.delete_sponsor_session(&token_hash(secret.expose())).await?;
    tx.commit().await?;
    Ok(())
}

/// What the sponsor's page shows.
#[derive(Debug, Clone)]
pub struct SponsorView {
    /// The allotment.
    pub allotment: Allotment,
    /// Its conference.
    pub conference: Conference,
    /// Its attendees, by name (never their codes).
    pub attendees: Vec<Attendee>,
}

/// The sponsor's page: its allotment, conference and attendees.
pub async fn sponsor_view(store: &dyn Store, session: &SponsorSession) -> Result<SponsorView, VoucherError> {
    let (_, allotment) = store
        .allotment_by_id(session.allotment_id)
        .await?
        .ok_or(VoucherError::AllotmentNotFound(session.allotment_id))?;
    let conference = super::catalog::conference(store, &allotment.conference).await?;
    let attendees = store.attendees(allotment.batch_id).await?;
    Ok(SponsorView { allotment, conference, attendees })
}

/// Reads a pasted list of attendees, one `name,email` per line (a first line `name,email` is a
/// header and skipped; blank lines are skipped). At most [`MAX_PASTE`] rows: a longer list is
/// refused unread past that. Every bad row is named by its line; no email twice.
pub fn parse_attendees(text: &str) -> Result<Vec<Recipient>, VoucherError> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let (mut found, mut errors, mut total) = (Vec::new(), Vec::new(), 0usize);
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut reject = |error: RowError, errors: &mut Vec<RowError>| {
        total += 1;
        if errors.len() < VoucherError::ROWS_SHOWN {
            errors.push(error);
        }
    };
    let mut rows = 0usize;
    for (index, record) in reader.records().enumerate() {
        let line = record.as_ref().ok().and_then(|r| r.position()).map_or(index as u64 + 1, |p| p.line());
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                reject(RowError::new(line, "attendees", format!("not CSV: {e}")), &mut errors);
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        if index == 0
            && record.len() == 2
            && record[0].eq_ignore_ascii_case("name")
            && record[1].eq_ignore_ascii_case("email")
        {
            continue;
        }
        rows += 1;
        if rows > MAX_PASTE {
            let message = format!("attendees: at most {MAX_PASTE} attendees at once");
            return Err(InvalidInput::new("attendees", message).into());
        }
        if record.len() != 2 {
            let message = format!("each line must be name,email (2 columns), got {} columns", record.len());
            reject(RowError::new(line, "attendees", message), &mut errors);
            continue;
        }
        match Recipient::parse(&record[1], &record[0], Default::default()) {
            Ok(recipient) => {
                if let Some(first) = seen.get(&recipient.email) {
                    let message = format!("{} appears again (first at line {first})", quoted(&recipient.email));
                    reject(RowError::new(line, "email", message), &mut errors);
                } else {
                    seen.insert(recipient.email.clone(), line);
                    found.push(recipient);
                }
            }
            Err(e) => reject(RowError::new(line, e.field, e.message), &mut errors),
        }
    }
    if total > 0 {
        return Err(VoucherError::InvalidRows { field: "attendees", rows: errors, total });
    }
    if found.is_empty() {
        return Err(
            InvalidInput::new("attendees", "attendees: the list has no attendee (one name,email per line)").into()
        );
    }
    Ok(found)
}

/// Opens a transaction on the session's allotment, refusing a closed one (or one whose deadline
/// has passed) with [`VoucherError::AllotmentClosed`].
async fn begin_open(
    store: &dyn Store,
    session: &SponsorSession,
) -> Result<(Box<dyn StoreTx>, Conference, Allotment), VoucherError> {
    let (tx, conference, allotment) = begin_on(store, &session.conference, session.allotment_id).await?;
    if allotment.closed || allotment.deadline <= super::now() {
        return Err(VoucherError::AllotmentClosed);
    }
    Ok((tx, conference, allotment))
}

/// Mints one code per attendee in the allotment's batch, assigns it and queues its email, in `tx`.
async fn mint_and_send(
    store: &dyn Store,
    tx: &mut dyn StoreTx,
    conference: &Conference,
    allotment: &Allotment,
    attendees: &[Recipient],
) -> Result<(), VoucherError> {
    let batch = tx
        .batch(conference, allotment.batch_id)
        .await?
        .ok_or_else(|| VoucherError::BatchNotFound { conference: conference.slug.clone(), id: allotment.batch_id })?;
    let (subject, text, html) = tx.allotment_template(allotment.id).await?;
    let template = attendee_template(subject.as_deref(), text.as_deref(), html.as_deref())?;
    let mut minted = Vec::with_capacity(attendees.len());
    for _ in attendees {
        minted.push(generate::mint_one(&mut *tx, &batch).await?);
    }
    let pairs: Vec<(i64, &Recipient)> = minted.iter().map(|v| v.id).zip(attendees).collect();
    super::assign::write_assignments(store, &mut *tx, conference, batch.id, &pairs).await?;
    let mut rendered = Vec::with_capacity(minted.len());
    for (voucher, attendee) in minted.iter().zip(attendees) {
        let context = MessageContext::new(
            &voucher.code,
            attendee,
            &conference.name,
            conference.timezone,
            voucher.voucher_type,
            voucher.discount_value,
            voucher.valid_until,
        )
        .with_sponsor(&allotment.sponsor);
        rendered.push(template.render(&context)?);
    }
    let mut messages = Vec::with_capacity(minted.len());
    for ((voucher, attendee), rendered) in minted.iter().zip(attendees).zip(&rendered) {
        messages.push(NewMessage {
            conference_id: conference.id,
            batch_id: batch.id,
            voucher_id: Some(voucher.id),
            recipient: attendee,
            rendered,
            message_key: super::send::message_key()?,
            attempt_limit: super::send::ATTEMPT_LIMIT,
        });
    }
    tx.queue_messages(&messages, super::now()).await?;
    Ok(())
}

/// The refusal of an add that found too few passes (or the deadline come).
async fn no_seats(
    tx: &mut dyn StoreTx,
    conference: &Conference,
    id: i64,
    asked: usize,
) -> Result<VoucherError, VoucherError> {
    let now = in_tx(tx, conference, id).await?;
    if now.closed || now.deadline <= super::now() {
        return Ok(VoucherError::AllotmentClosed);
    }
    Ok(VoucherError::NoSeatsLeft { asked, left: now.left, seats: now.seats })
}

/// The attendees of the session's allotment, as committed.
async fn holders(store: &dyn Store, session: &SponsorSession) -> Result<Vec<Attendee>, VoucherError> {
    Ok(store.attendees(session.batch_id).await?)
}

fn duplicate(email: &str) -> VoucherError {
    VoucherError::Duplicate {
        what: "attendee email",
        field: "email",
        value: email.to_owned(),
        scope: " among this sponsor's attendees (each person gets one pass)".to_owned(),
    }
}

/// Names attendees: each takes one pass and gets a personal code by email, all in one
/// transaction (all or none).
///
/// # Errors
/// [`VoucherError::NoSeatsLeft`] when fewer passes are left than attendees;
/// [`VoucherError::AllotmentClosed`] after the deadline; [`VoucherError::Duplicate`] naming an
/// email that holds a pass of the allotment already. Nothing is written in any error case.
#[tracing::instrument(level = "debug", skip_all, fields(allotment = session.allotment_id, count = attendees.len()))]
pub async fn add_attendees(
    store: &dyn Store,
    session: &SponsorSession,
    attendees: &[Recipient],
) -> Result<usize, VoucherError> {
    if attendees.is_empty() {
        return Err(InvalidInput::new("attendees", "attendees: the list has no attendee").into());
    }
    // Read before the transaction starts (a reader held inside it could wait on the pool its
    // own transaction holds); the unique index decides a race.
    let holders = holders(store, session).await?;
    if let Some(taken) = attendees.iter().find(|a| holders.iter().any(|h| h.email == a.email)) {
        return Err(duplicate(&taken.email));
    }
    let (mut tx, conference, allotment) = begin_open(store, session).await?;
    let asked = i64::try_from(attendees.len()).unwrap_or(i64::MAX);
    if !tx.take_seats(allotment.id, asked, super::now()).await? {
        return Err(no_seats(tx.as_mut(), &conference, allotment.id, attendees.len()).await?);
    }
    mint_and_send(store, tx.as_mut(), &conference, &allotment, attendees).await?;
    let emails: Vec<&str> = attendees.iter().map(|a| a.email.as_str()).collect();
    let changes = serde_json::json!({ "added": attendees.len(), "emails": emails });
    super::audit(tx.as_mut(), Some(conference.id), "allotment.attendee_add", &target(allotment.id), changes).await?;
    tx.commit().await?;
    Ok(attendees.len())
}

/// Changes an attendee who has not redeemed: the old code is deactivated (a forwarded email stops
/// working) and a new one is minted and sent to the attendee as now named.
///
/// # Errors
/// [`VoucherError::AttendeeNotFound`] for an id that is not an unredeemed attendee of this
/// allotment; [`VoucherError::AllotmentClosed`]; [`VoucherError::Duplicate`].
#[tracing::instrument(level = "debug", skip_all, fields(allotment = session.allotment_id, attendee = attendee_id))]
pub async fn change_attendee(
    store: &dyn Store,
    session: &SponsorSession,
    attendee_id: i64,
    attendee: &Recipient,
) -> Result<(), VoucherError> {
    let holders = holders(store, session).await?;
    if holders.iter().any(|h| h.email == attendee.email && h.id != attendee_id) {
        return Err(duplicate(&attendee.email));
    }
    let (mut tx, conference, allotment) = begin_open(store, session).await?;
    // Takes no pass; holds the allotment's row, so the deadline's close waits for this change.
    if !tx.take_seats(allotment.id, 0, super::now()).await? {
        return Err(VoucherError::AllotmentClosed);
    }
    let (old_name, old_email) =
        tx.end_attendee(allotment.batch_id, attendee_id).await?.ok_or(VoucherError::AttendeeNotFound(attendee_id))?;
    mint_and_send(store, tx.as_mut(), &conference, &allotment, std::slice::from_ref(attendee)).await?;
    let changes = serde_json::json!({
        "attendee": attendee_id,
        "name": {"old": old_name, "new": attendee.name},
        "email": {"old": old_email, "new": attendee.email},
    });
    super::audit(tx.as_mut(), Some(conference.id), "allotment.attendee_change", &target(allotment.id), changes).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes an attendee who has not redeemed: the code is deactivated and the pass comes back.
///
/// # Errors
/// [`VoucherError::AttendeeNotFound`], [`VoucherError::AllotmentClosed`].
#[tracing::instrument(level = "debug", skip_all, fields(allotment = session.allotment_id, attendee = attendee_id))]
pub async fn remove_attendee(
    store: &dyn Store,
    session: &SponsorSession,
    attendee_id: i64,
) -> Result<(), VoucherError> {
    let (mut tx, conference, allotment) = begin_open(store, session).await?;
    // The allotment's row first, as every other change of it takes it (then the voucher's): two
    // changes of one attendee at once wait for each other instead of deadlocking.
    if !tx.take_seats(allotment.id, 0, super::now()).await? {
        return Err(VoucherError::AllotmentClosed);
    }
    let (name, email) =
        tx.end_attendee(allotment.batch_id, attendee_id).await?.ok_or(VoucherError::AttendeeNotFound(attendee_id))?;
    if !tx.give_back_seat(allotment.id, super::now()).await? {
        return Err(VoucherError::AllotmentClosed);
    }
    let changes = serde_json::json!({ "attendee": attendee_id, "name": name, "email": email });
    super::audit(tx.as_mut(), Some(conference.id), "allotment.attendee_remove", &target(allotment.id), changes).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_lists_are_checked_whole() {
        let list = parse_attendees("name,email\nAna Lima, ana@example.org\n\nBo,bo@example.org\n").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "Ana Lima");
        let VoucherError::InvalidRows { rows, total, .. } =
            parse_attendees("Ana,ana@example.org\nBo,not-an-email\nAna,ANA@example.org\nx\n").unwrap_err()
        else {
            panic!()
        };
        assert_eq!(total, 3);
        assert_eq!(rows[0].line, 2);
        let huge: String = (0..=MAX_PASTE).map(|i| format!("P{i},p{i}@example.org\n")).collect();
        assert_eq!(parse_attendees(&huge).unwrap_err().field(), Some("attendees"));
        assert!(parse_attendees("\n\n").is_err());
    }

    #[test]
    fn the_built_in_template_names_the_sponsor_and_the_code() {
        let template = attendee_template(None, None, None).unwrap();
        let recipient = Recipient::parse("ana@example.org", "Ana", Default::default()).unwrap();
        let context = MessageContext::new(
            "ACME-123",
            &recipient,
            "PyCon",
            chrono_tz::UTC,
            crate::domain::VoucherType::Comp,
            crate::domain::Money::ZERO,
            None,
        )
        .with_sponsor("ACME");
        let message = template.render(&context).unwrap();
        assert_eq!(message.subject, "Your pass for PyCon, from ACME");
        assert!(message.text.contains("ACME has given you a pass for PyCon"));
        assert!(message.text.contains("ACME-123 (free)"));
        assert!(attendee_template(Some("{{ nope }}"), None, None).is_err());
        assert!(MessageTemplate::parse("{{ sponsor }}", "x", None).is_err(), "send's templates know no sponsor");
    }

    #[test]
    fn reminders_fire_once_their_day_has_come() {
        let deadline: DateTime<Utc> = "2027-05-10T12:00:00Z".parse().unwrap();
        let allotment = Allotment {
            id: 1,
            sponsor: "ACME".into(),
            contact: "x@example.org".into(),
            seats: 5,
            assigned: 1,
            redeemed: 0,
            left: 4,
            deadline,
            closed: false,
            returned: 0,
            conference: "c".into(),
            batch_id: 1,
            reminder_days: vec![7, 1],
            has_link: true,
            closed_at: None,
            created_at: deadline,
        };
        assert!(due_reminders(&allotment, deadline - Duration::days(8)).is_empty());
        assert_eq!(due_reminders(&allotment, deadline - Duration::days(3)), vec![7]);
        assert_eq!(due_reminders(&allotment, deadline - Duration::hours(2)), vec![1, 7]);
        assert!(due_reminders(&allotment, deadline).is_empty());
        let full = Allotment { left: 0, ..allotment };
        assert!(due_reminders(&full, deadline - Duration::hours(2)).is_empty());
    }
}
