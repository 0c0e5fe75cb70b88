//! The sponsor's page, `/sponsor`: opened through the secret link the organizer sent
//! (`/sponsor/SECRET` starts a sponsor session and redirects, so the secret leaves the address
//! bar at once), scoped to that one allotment, no account. The sponsor names attendees (one, or
//! several pasted as CSV), changes or removes one who has not redeemed; each attendee gets a
//! personal code by email, which the sponsor never sees. After the deadline the page is
//! read-only. Every form works without JavaScript.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouchers_core::domain::{Attendee, AttendeeStatus, Recipient, SponsorSecret};
use vouchers_core::service::allotments::{self, SponsorView};
use vouchers_core::service::sign_in::Guarded;
use vouchers_core::VoucherError;

use super::id_of;
use crate::error::ConsoleError;
use crate::session::{set_cookie, sponsor_cookie, ClientAddress, Sponsor, SponsorPosted};
use crate::view::page;
use crate::ConsoleState;

#[derive(Template)]
#[template(path = "sponsor.html")]
struct SponsorPage {
    csrf: String,
    sponsor: String,
    conference: String,
    deadline: String,
    seats: i64,
    assigned: i64,
    redeemed: i64,
    left: i64,
    open: bool,
    returned: i64,
    attendees: Vec<AttendeeRow>,
    done: Option<String>,
    error: Option<String>,
    name: String,
    email: String,
    pasted: String,
}

struct AttendeeRow {
    id: i64,
    name: String,
    email: String,
    status: &'static str,
    status_class: &'static str,
    changeable: bool,
}

impl AttendeeRow {
    fn new(attendee: &Attendee, open: bool) -> Self {
        Self {
            id: attendee.id,
            name: attendee.name.clone(),
            email: attendee.email.clone(),
            status: attendee.status.label(),
            status_class: match attendee.status {
                AttendeeStatus::Assigned => "status-assigned",
                AttendeeStatus::EmailSent => "status-sent",
                AttendeeStatus::Redeemed => "status-redeemed",
            },
            changeable: open && attendee.status != AttendeeStatus::Redeemed,
        }
    }
}

#[derive(Template)]
#[template(path = "sponsor_change.html")]
struct ChangePage {
    csrf: String,
    sponsor: String,
    conference: String,
    id: i64,
    name: String,
    email: String,
    error: Option<String>,
}

/// What the page says after a change (`?done=...`): a fixed sentence, never the query's text.
#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
    n: Option<u32>,
}

fn done_sentence(done: &Done) -> Option<String> {
    let n = done.n.unwrap_or(1);
    match done.done.as_deref()? {
        "added" if n == 1 => Some("1 attendee added: they get their personal code by email.".to_owned()),
        "added" => Some(format!("{n} attendees added: each gets a personal code by email.")),
        "changed" => Some("Attendee changed: the old code no longer works, and a new one is on its way.".to_owned()),
        "removed" => Some("Attendee removed: their code no longer works, and the pass is free again.".to_owned()),
        _ => None,
    }
}

/// Sponsor pages are never cached, and never send their address on (it once held the secret).
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// `/sponsor/SECRET`: starts a sponsor session and sends the browser to `/sponsor`; an unknown
/// or revoked link is a 404 (counted against the address, like a failed sign-in).
pub(crate) async fn open(
    State(state): State<ConsoleState>,
    ClientAddress(address): ClientAddress,
    Path(secret): Path<String>,
) -> Result<Response, ConsoleError> {
    let secret = SponsorSecret::new(secret);
    let now = vouchers_core::now();
    match allotments::open_link(state.store.as_ref(), &state.sign_ins, &secret, address, now).await? {
        Guarded::Found((cookie, _)) => {
            let mut response = Redirect::to("/sponsor").into_response();
            *response.status_mut() = StatusCode::SEE_OTHER;
            set_cookie(response.headers_mut(), sponsor_cookie(Some(&cookie), state.settings.secure_cookies));
            Ok(private(response))
        }
        Guarded::NotFound => Err(ConsoleError::NotFound),
        Guarded::TooMany(refused) => Err(ConsoleError::TooMany(refused.retry_after.as_secs().max(1))),
    }
}

async fn render(
    state: &ConsoleState,
    sponsor: &Sponsor,
    status: StatusCode,
    done: Option<String>,
    error: Option<String>,
    (name, email, pasted): (String, String, String),
) -> Result<Response, ConsoleError> {
    let SponsorView { allotment, conference, attendees } =
        allotments::sponsor_view(state.store.as_ref(), &sponsor.session).await?;
    let open = !allotment.closed && allotment.deadline > vouchers_core::now();
    let tz = conference.timezone;
    let view = SponsorPage {
        csrf: sponsor.session.csrf_token.clone(),
        sponsor: allotment.sponsor.clone(),
        conference: conference.name.clone(),
        deadline: format!("{} ({})", crate::view::local(&allotment.deadline, tz), tz.name()),
        seats: allotment.seats,
        assigned: allotment.assigned,
        redeemed: allotment.redeemed,
        left: if open { allotment.left } else { 0 },
        open,
        returned: allotment.returned,
        attendees: attendees.iter().map(|a| AttendeeRow::new(a, open)).collect(),
        done,
        error,
        name,
        email,
        pasted,
    };
    Ok(private(page(status, &view)?))
}

/// The sponsor's page.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    sponsor: Sponsor,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    render(&state, &sponsor, StatusCode::OK, done_sentence(&done), None, Default::default()).await
}

fn back(done: &str, n: usize) -> Response {
    let mut response = Redirect::to(&format!("/sponsor?done={done}&n={n}")).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    private(response)
}

/// A refusal the sponsor can act on is shown on the page with what was typed; others are errors.
async fn refused(
    state: &ConsoleState,
    sponsor: &Sponsor,
    error: VoucherError,
    typed: (String, String, String),
) -> Result<Response, ConsoleError> {
    if error.is_input_error() || error.kind() == vouchers_core::ErrorKind::Refused {
        let status = vouchers_web::status(&error);
        return render(state, sponsor, status, None, Some(error.to_string()), typed).await;
    }
    Err(error.into())
}

/// The "Add attendee" form: one name and email.
pub(crate) async fn add(
    State(state): State<ConsoleState>,
    SponsorPosted { sponsor, form }: SponsorPosted,
) -> Result<Response, ConsoleError> {
    let (name, email) = (form.text("name"), form.text("email"));
    let typed = (name.clone(), email.clone(), String::new());
    let attendee = match Recipient::parse(&email, &name, Default::default()) {
        Ok(attendee) => attendee,
        Err(e) => return refused(&state, &sponsor, e.into(), typed).await,
    };
    let store = sponsor.store(&state);
    match allotments::add_attendees(store.as_ref(), &sponsor.session, &[attendee]).await {
        Ok(n) => Ok(back("added", n)),
        Err(e) => refused(&state, &sponsor, e, typed).await,
    }
}

/// The "Add all" form: several attendees pasted as CSV (`name,email` per line).
pub(crate) async fn paste(
    State(state): State<ConsoleState>,
    SponsorPosted { sponsor, form }: SponsorPosted,
) -> Result<Response, ConsoleError> {
    let pasted = form.secret("attendees").to_owned();
    // Shown again after a refusal only when it is short enough to be worth correcting in place.
    let kept = if pasted.len() <= 64 * 1024 { pasted.clone() } else { String::new() };
    let typed = (String::new(), String::new(), kept);
    let list = match allotments::parse_attendees(&pasted) {
        Ok(list) => list,
        Err(e) => return refused(&state, &sponsor, e, typed).await,
    };
    let store = sponsor.store(&state);
    match allotments::add_attendees(store.as_ref(), &sponsor.session, &list).await {
        Ok(n) => Ok(back("added", n)),
        Err(e) => refused(&state, &sponsor, e, typed).await,
    }
}

/// The attendee `id` of the sponsor's allotment, while it can be changed.
async fn changeable(state: &ConsoleState, sponsor: &Sponsor, id: i64) -> Result<(SponsorView, Attendee), ConsoleError> {
    let view = allotments::sponsor_view(state.store.as_ref(), &sponsor.session).await?;
    let attendee = view
        .attendees
        .iter()
        .find(|a| a.id == id && a.status != AttendeeStatus::Redeemed)
        .cloned()
        .ok_or(ConsoleError::Voucher(VoucherError::AttendeeNotFound(id)))?;
    Ok((view, attendee))
}

fn change_page(
    view: &SponsorView,
    sponsor: &Sponsor,
    id: i64,
    name: String,
    email: String,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let form = ChangePage {
        csrf: sponsor.session.csrf_token.clone(),
        sponsor: view.allotment.sponsor.clone(),
        conference: view.conference.name.clone(),
        id,
        name,
        email,
        error,
    };
    Ok(private(page(status, &form)?))
}

/// The change form of one attendee.
pub(crate) async fn change_form(
    State(state): State<ConsoleState>,
    sponsor: Sponsor,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let (view, attendee) = changeable(&state, &sponsor, id_of(&id)?).await?;
    change_page(&view, &sponsor, attendee.id, attendee.name, attendee.email, None)
}

/// Changes an attendee: the old code stops, a new one goes to the attendee as now named.
pub(crate) async fn change(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    SponsorPosted { sponsor, form }: SponsorPosted,
) -> Result<Response, ConsoleError> {
    let id = id_of(&id)?;
    let (name, email) = (form.text("name"), form.text("email"));
    let (view, _) = changeable(&state, &sponsor, id).await?;
    let attendee = match Recipient::parse(&email, &name, Default::default()) {
        Ok(attendee) => attendee,
        Err(e) => return change_page(&view, &sponsor, id, name, email, Some(crate::view::told(&e))),
    };
    let store = sponsor.store(&state);
    match allotments::change_attendee(store.as_ref(), &sponsor.session, id, &attendee).await {
        Ok(()) => Ok(back("changed", 1)),
        Err(e) if e.is_input_error() => change_page(&view, &sponsor, id, name, email, Some(crate::view::said(&e))),
        Err(e) => Err(e.into()),
    }
}

/// Removes an attendee who has not redeemed: the code stops and the pass is free again.
pub(crate) async fn remove(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    SponsorPosted { sponsor, .. }: SponsorPosted,
) -> Result<Response, ConsoleError> {
    let store = sponsor.store(&state);
    allotments::remove_attendee(store.as_ref(), &sponsor.session, id_of(&id)?).await?;
    Ok(back("removed", 1))
}

/// Leaves: ends the sponsor session (the link opens a new one).
pub(crate) async fn leave(
    State(state): State<ConsoleState>,
    SponsorPosted { sponsor, .. }: SponsorPosted,
) -> Result<Response, ConsoleError> {
    allotments::end_session(state.store.as_ref(), &sponsor.secret).await?;
    let mut response = (StatusCode::OK, axum::response::Html(LEFT)).into_response();
    set_cookie(response.headers_mut(), sponsor_cookie(None, state.settings.secure_cookies));
    Ok(private(response))
}

const LEFT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Signed out · vouchers</title>\
<link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head><body><main id=\"main\"><h1>You have left your sponsor page</h1>\
<p>Open the link the organizer sent you to come back.</p></main></body></html>";
