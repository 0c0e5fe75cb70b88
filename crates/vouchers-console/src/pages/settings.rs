//! A conference's settings: its name, first and last day, and hold time, in one form (the slug
//! and the time zone are shown, not changeable). The hold time is typed in minutes
//! ([`HoldSeconds::parse_minutes`] is the one conversion); a rule broken comes back beside its
//! field, named by its label, with every value kept (422).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use vouchers_core::domain::{Conference, ConferenceChange, HoldSeconds};
use vouchers_core::service::catalog;

use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::{Posted, Signed};
use crate::view::{field_error, labelled, page, Nav};
use crate::ConsoleState;

/// Each field of the form and its label, as messages name it.
const LABELS: [(&str, &str); 4] =
    [("name", "Name"), ("start_date", "First day"), ("end_date", "Last day"), ("hold_minutes", "Hold time (minutes)")];

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    values: FormData,
    errors: Vec<(String, String)>,
}

impl SettingsPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }
}

fn render(
    signed: &Signed,
    conference: &Conference,
    values: FormData,
    errors: Vec<(String, String)>,
) -> Result<Response, ConsoleError> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let view = SettingsPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        timezone: conference.timezone.name().to_owned(),
        values,
        errors,
    };
    page(status, &view)
}

/// The form, filled with the conference's settings.
pub(crate) async fn form(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut values = FormData::default();
    values.set("name", &conference.name);
    values.set("start_date", &conference.start_date.to_string());
    values.set("end_date", &conference.end_date.to_string());
    let hold = HoldSeconds::new("hold_seconds", conference.hold_seconds).map(HoldSeconds::minutes_text);
    values.set("hold_minutes", &hold.unwrap_or_else(|_| conference.hold_seconds.to_string()));
    render(&signed, &conference, values, Vec::new())
}

/// Saves the settings and comes back to the form with "Settings saved", or shows the form again
/// with the field at fault (nothing written).
pub(crate) async fn save(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut errors = Vec::new();
    let mut fail = |e: vouchers_core::domain::InvalidInput| {
        errors.push((e.field.to_owned(), labelled(&e.message, &LABELS)));
    };
    let hold = HoldSeconds::parse_minutes("hold_minutes", &form.text("hold_minutes")).map_err(&mut fail).ok();
    let (name, start, end) = (form.text("name"), form.text("start_date"), form.text("end_date"));
    let change = ConferenceChange::parse(Some(&name), Some(&start), Some(&end), None).map_err(&mut fail).ok();
    let (Some(hold), Some(mut change)) = (hold, change) else {
        return render(&signed, &conference, form, errors);
    };
    change.hold_seconds = Some(hold);
    match catalog::update_conference(signed.store(&state).as_ref(), &conference.slug, &change).await {
        Ok(updated) => {
            let said =
                if updated.is_changed() { "Settings saved" } else { "No change: the settings were already these" };
            let to = format!("/console/c/{}/settings", updated.value.slug);
            Ok(crate::flash::redirect(&state, &to, said))
        }
        Err(vouchers_core::VoucherError::Invalid(e)) => {
            fail(e);
            render(&signed, &conference, form, errors)
        }
        Err(e) => Err(e.into()),
    }
}
