//! The conferences an account may see; an admin account may create one.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::domain::{Conference, NewConference};
use vouchers_core::service::catalog;

use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::{Posted, Signed};
use crate::view::{field_error, page, Nav};
use crate::ConsoleState;

#[derive(Template)]
#[template(path = "conferences.html")]
struct ConferencesPage {
    nav: Option<Nav>,
    conferences: Vec<Conference>,
    timezones: Vec<&'static str>,
    values: FormData,
    errors: Vec<(String, String)>,
}

impl ConferencesPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }

    fn tz_selected(&self, tz: &str) -> bool {
        self.values.get("timezone").unwrap_or("America/New_York") == tz
    }
}

async fn render(
    state: &ConsoleState,
    signed: &Signed,
    values: FormData,
    errors: Vec<(String, String)>,
) -> Result<Response, ConsoleError> {
    let access = signed.access();
    let conferences: Vec<Conference> =
        catalog::list_conferences(state.store.as_ref()).await?.into_iter().filter(|c| access.reaches(c)).collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let timezones = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    page(status, &ConferencesPage { nav: Some(Nav::new(signed, None)), conferences, timezones, values, errors })
}

/// The list (and, for an admin, the form to create one).
pub(crate) async fn list(State(state): State<ConsoleState>, signed: Signed) -> Result<Response, ConsoleError> {
    render(&state, &signed, FormData::default(), Vec::new()).await
}

/// Creates a conference (admin only).
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    signed.require_admin()?;
    let parsed = NewConference::parse(
        &form.text("slug"),
        &form.text("name"),
        &form.text("start_date"),
        &form.text("end_date"),
        &form.text("timezone"),
    );
    let result = match parsed {
        Ok(new) => catalog::create_conference(signed.store(&state).as_ref(), &new).await.map_err(ConsoleError::from),
        Err(e) => Err(ConsoleError::Voucher(e.into())),
    };
    match result {
        Ok(created) => Ok(Redirect::to(&format!("/console/c/{}", created.slug)).into_response()),
        Err(ConsoleError::Voucher(e)) if e.is_input_error() => {
            let field = e.field().unwrap_or("slug").to_owned();
            render(&state, &signed, form, vec![(field, crate::view::said(&e))]).await
        }
        Err(e) => Err(e),
    }
}
