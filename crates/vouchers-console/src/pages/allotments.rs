//! Sponsor allotments of a conference, for the organizer: an overview of every sponsor with a
//! bar of its passes (redeemed, assigned, left; drawn on the server, no script), a create form
//! (the sponsor, its passes and deadline, the attendee email, and the terms of `generate`), and
//! a page per allotment with its attendees and the actions: extend, resize, new link, revoke
//! link. The sponsor's link is shown once, when made.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::domain::{parse_reminder_days, Allotment, Alphabet, CodeFormat, Conference, When};
use vouchers_core::service::allotments::{self, AllotmentRequest};
use vouchers_core::service::catalog;
use vouchers_core::{VoucherBulkConfig, VoucherTerms};

use super::id_of;
use super::terms::{self, addon_choices, ticket_type_choices, Choice};
use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::{Posted, Signed};
use crate::view::{field_error, local, page, Nav};
use crate::ConsoleState;

/// The width of a sponsor's bar, in SVG units.
const BAR: i64 = 300;

/// One sponsor's bar: the widths of its redeemed, assigned (not redeemed) and left parts.
pub(crate) struct Bar {
    pub redeemed: i64,
    pub waiting: i64,
    pub left: i64,
    pub waiting_x: i64,
    pub left_x: i64,
    pub label: String,
}

impl Bar {
    fn of(a: &Allotment) -> Self {
        let seats = a.seats.max(1);
        let scale = |n: i64| n.max(0) * BAR / seats;
        let (redeemed, waiting) = (scale(a.redeemed), scale(a.waiting()));
        let left = if a.closed { 0 } else { (BAR - redeemed - waiting).max(0).min(scale(a.left)) };
        let label = format!(
            "{}: {} redeemed, {} assigned not yet redeemed, {} left{} of {} passes",
            a.sponsor,
            a.redeemed,
            a.waiting(),
            a.left,
            if a.closed { format!(", {} returned", a.returned) } else { String::new() },
            a.seats
        );
        Self { redeemed, waiting, left, waiting_x: redeemed, left_x: redeemed + waiting, label }
    }
}

pub(crate) struct Row {
    pub id: i64,
    pub sponsor: String,
    pub contact: String,
    pub seats: i64,
    pub assigned: i64,
    pub redeemed: i64,
    pub left: i64,
    pub deadline: String,
    pub state: String,
    pub bar: Bar,
}

fn row(a: &Allotment, conference: &Conference) -> Row {
    Row {
        id: a.id,
        sponsor: a.sponsor.clone(),
        contact: a.contact.clone(),
        seats: a.seats,
        assigned: a.assigned,
        redeemed: a.redeemed,
        left: a.left,
        deadline: format!("{} {}", local(&a.deadline, conference.timezone), conference.timezone.name()),
        state: if a.closed {
            format!("closed, {} returned", a.returned)
        } else if !a.has_link {
            "open, link revoked".to_owned()
        } else {
            "open".to_owned()
        },
        bar: Bar::of(a),
    }
}

#[derive(Template)]
#[template(path = "allotments.html")]
struct OverviewPage {
    nav: Option<Nav>,
    slug: String,
    rows: Vec<Row>,
    headers: Vec<crate::view::SortHeader>,
}

/// The sponsors list's sortable columns: key and header.
const COLUMNS: [(&str, &str); 6] = [
    ("sponsor", "Sponsor"),
    ("seats", "Seats"),
    ("assigned", "Assigned"),
    ("redeemed", "Redeemed"),
    ("left", "Left"),
    ("deadline", "Deadline"),
];

/// Every allotment of the conference.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut all = allotments::list(state.store.as_ref(), &conference.slug).await?;
    let sort = crate::view::Sort::of(&params, &COLUMNS, "sponsor");
    sort.apply(&mut all, |a, column| match column {
        "seats" => (a.seats, String::new(), a.id),
        "assigned" => (a.assigned, String::new(), a.id),
        "redeemed" => (a.redeemed, String::new(), a.id),
        "left" => (a.left, String::new(), a.id),
        "deadline" => (a.deadline.timestamp(), String::new(), a.id),
        _ => (0, a.sponsor.to_lowercase(), a.id),
    });
    let rows = all.iter().map(|a| row(a, &conference)).collect();
    let headers = sort.headers(&format!("/console/c/{}/allotments", conference.slug), &COLUMNS);
    page(
        StatusCode::OK,
        &OverviewPage { nav: Some(Nav::new(&signed, Some(&conference))), slug: conference.slug.clone(), rows, headers },
    )
}

#[derive(Template)]
#[template(path = "allotment_new.html")]
struct NewPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    max_batch: i64,
    values: FormData,
    ticket_types: Vec<Choice>,
    addons: Vec<Choice>,
    errors: Vec<(String, String)>,
    /// This server sends email (an SMTP URL is set).
    mail: bool,
}

impl NewPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }

    fn selected(&self, kind: &str) -> bool {
        super::terms::type_selected(&self.values, kind)
    }

    fn scope_is(&self, kind: &str, scope: &str) -> bool {
        super::terms::scope(&self.values, kind) == scope
    }
}

async fn render_new(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    values: FormData,
    errors: Vec<(String, String)>,
) -> Result<Response, ConsoleError> {
    let store = state.store.as_ref();
    let ticket_types = ticket_type_choices(&catalog::list_ticket_types(store, &conference.slug).await?, &values);
    let addons = addon_choices(&catalog::list_addons(store, &conference.slug).await?, &values);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = NewPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        timezone: conference.timezone.name().to_owned(),
        max_batch: state.limits.max_batch,
        values,
        ticket_types,
        addons,
        errors,
        mail: state.settings.mail_configured,
    };
    page(status, &form)
}

/// The empty create form: a comp pass, one use, reminders 7 and 1 days before.
pub(crate) async fn new_form(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut defaults = FormData::default();
    defaults.set("voucher_type", "comp");
    defaults.set("max_uses", &VoucherTerms::DEFAULT_MAX_USES.to_string());
    defaults.set("reminder_days", "7,1");
    render_new(&state, &signed, &conference, defaults, Vec::new()).await
}

fn optional(form: &FormData, field: &str) -> Option<String> {
    Some(form.secret(field).to_owned()).filter(|t| !t.trim().is_empty())
}

/// Creates the allotment and shows its page with the sponsor's link, once.
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut errors = Vec::new();
    let seats = form.text("seats").parse::<i64>().unwrap_or_else(|_| {
        let message =
            format!("seats must be a whole number, got {}", vouchers_core::domain::quoted(&form.text("seats")));
        errors.push(("seats".to_owned(), message));
        0
    });
    let deadline = When::parse("deadline", &form.text("deadline"))
        .map_err(|e| errors.push(("deadline".into(), crate::view::told(&e))));
    let reminder_days = parse_reminder_days(&form.text("reminder_days"))
        .map_err(|e| errors.push(("reminder_days".into(), crate::view::told(&e))));
    let terms = terms::parse(&form, &mut errors);
    let (Ok(deadline), Ok(reminder_days), true) = (deadline, reminder_days, errors.is_empty()) else {
        return render_new(&state, &signed, &conference, form, errors).await;
    };
    let request = AllotmentRequest {
        sponsor: form.text("sponsor"),
        contact: form.text("contact"),
        seats,
        deadline,
        reminder_days: Some(reminder_days),
        subject: optional(&form, "subject"),
        template: optional(&form, "template"),
        html_template: optional(&form, "html_template"),
        codes: VoucherBulkConfig {
            conference: conference.slug.clone(),
            prefix: form.text("prefix"),
            count: seats,
            terms,
            alphabet: Alphabet::default(),
            length: i64::from(CodeFormat::DEFAULT_LENGTH),
            check_char: false,
            allow_weak_codes: false,
            name: String::new(),
            note: String::new(),
        },
    };
    match allotments::create(signed.store(&state).as_ref(), &state.limits, &request).await {
        Ok(created) => {
            let link = created.secret.link(state.public_url.as_deref());
            render_one(&state, &signed, &conference, created.allotment.id, Some(link), None).await
        }
        Err(e) if e.is_input_error() => {
            let field = e.field().unwrap_or("sponsor").to_owned();
            render_new(&state, &signed, &conference, form, vec![(field, crate::view::said(&e))]).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "allotment.html")]
struct AllotmentPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    a: Row,
    closed: bool,
    link: Option<String>,
    error: Option<String>,
    deadline_value: String,
    attendees: Vec<(String, String, &'static str)>,
    reminders: String,
}

async fn render_one(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    id: i64,
    link: Option<String>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let (allotment, attendees) = allotments::show_with_attendees(state.store.as_ref(), &conference.slug, id).await?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let view = AllotmentPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        timezone: conference.timezone.name().to_owned(),
        closed: allotment.closed,
        deadline_value: crate::view::input_value(&Some(allotment.deadline), conference.timezone),
        reminders: if allotment.reminder_days.is_empty() {
            "none".to_owned()
        } else {
            let days: Vec<String> =
                allotment.reminder_days.iter().map(|d| format!("{d} day{}", if *d == 1 { "" } else { "s" })).collect();
            days.join(" and ") + " before"
        },
        a: row(&allotment, conference),
        link,
        error,
        attendees: attendees.into_iter().map(|a| (a.name, a.email, a.status.label())).collect(),
    };
    let mut response = page(status, &view)?;
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// One allotment: its counts, attendees and actions.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    render_one(&state, &signed, &conference, id_of(&id)?, None, None).await
}

fn back(conference: &Conference, id: i64) -> Response {
    Redirect::to(&format!("/console/c/{}/allotments/{id}", conference.slug)).into_response()
}

/// A new deadline (opens a closed allotment again).
pub(crate) async fn extend(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let id = id_of(&id)?;
    let result = match When::parse("deadline", &form.text("deadline")) {
        Ok(deadline) => allotments::extend(signed.store(&state).as_ref(), &conference.slug, id, deadline).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => Ok(back(&conference, id)),
        Err(e) if e.is_input_error() => {
            render_one(&state, &signed, &conference, id, None, Some(crate::view::said(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A new number of passes.
pub(crate) async fn resize(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let id = id_of(&id)?;
    let seats = form.text("seats").parse::<i64>().unwrap_or(0);
    match allotments::resize(signed.store(&state).as_ref(), &state.limits, &conference.slug, id, seats).await {
        Ok(_) => Ok(back(&conference, id)),
        Err(e) if e.is_input_error() => {
            render_one(&state, &signed, &conference, id, None, Some(crate::view::said(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A new sponsor link, shown once; the old one stops.
pub(crate) async fn new_link(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let id = id_of(&id)?;
    let created = allotments::new_link(signed.store(&state).as_ref(), &conference.slug, id).await?;
    let link = created.secret.link(state.public_url.as_deref());
    render_one(&state, &signed, &conference, id, Some(link), None).await
}

/// Revokes the sponsor link.
pub(crate) async fn revoke_link(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let id = id_of(&id)?;
    allotments::revoke_link(signed.store(&state).as_ref(), &conference.slug, id).await?;
    Ok(back(&conference, id))
}
