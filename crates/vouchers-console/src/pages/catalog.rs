//! A conference's catalog: ticket types and add-ons with their prices, and forms to create them.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::domain::{AddOn, Conference, NewAddOn, NewTicketType, TicketType};
use vouchers_core::service::catalog;
use vouchers_core::VoucherError;

use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::{Posted, Signed};
use crate::view::{page, Nav};
use crate::ConsoleState;

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    nav: Option<Nav>,
    slug: String,
    ticket_types: Vec<TicketType>,
    addons: Vec<AddOn>,
    /// Which form the values and the error belong to: `ticket_type` or `addon`.
    form: &'static str,
    values: FormData,
    error: Option<(String, String)>,
}

impl CatalogPage {
    fn error_for(&self, form: &str, field: &str) -> Option<&str> {
        match &self.error {
            Some((f, message)) if self.form == form && f == field => Some(message.as_str()),
            _ => None,
        }
    }

    fn value(&self, form: &str, field: &str) -> String {
        if self.form == form {
            self.values.text(field)
        } else {
            String::new()
        }
    }
}

async fn render(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    form: &'static str,
    values: FormData,
    error: Option<(String, String)>,
) -> Result<Response, ConsoleError> {
    let store = state.store.as_ref();
    let ticket_types = catalog::list_ticket_types(store, &conference.slug).await?;
    let addons = catalog::list_addons(store, &conference.slug).await?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page_data = CatalogPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        ticket_types,
        addons,
        form,
        values,
        error,
    };
    page(status, &page_data)
}

/// The catalog.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    render(&state, &signed, &conference, "", FormData::default(), None).await
}

/// The answer to a create form: back to the catalog, or the form again with its error.
async fn answer(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    form_name: &'static str,
    form: FormData,
    result: Result<(), VoucherError>,
) -> Result<Response, ConsoleError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/console/c/{}/catalog", conference.slug)).into_response()),
        Err(e) if e.is_input_error() => {
            let field = e.field().unwrap_or("slug").to_owned();
            let message = crate::view::said(&e);
            render(state, signed, conference, form_name, form, Some((field, message))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates a ticket type.
pub(crate) async fn create_ticket_type(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let parsed = NewTicketType::parse(
        &form.text("slug"),
        &form.text("name"),
        &form.text("price"),
        form.checked("requires_voucher"),
    );
    let result = match parsed {
        Ok(new) => catalog::create_ticket_type(signed.store(&state).as_ref(), &conference.slug, &new).await.map(drop),
        Err(e) => Err(e.into()),
    };
    answer(&state, &signed, &conference, "ticket_type", form, result).await
}

/// Creates an add-on.
pub(crate) async fn create_addon(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let parsed = NewAddOn::parse(&form.text("slug"), &form.text("name"), &form.text("price"));
    let result = match parsed {
        Ok(new) => catalog::create_addon(signed.store(&state).as_ref(), &conference.slug, &new).await.map(drop),
        Err(e) => Err(e.into()),
    };
    answer(&state, &signed, &conference, "addon", form, result).await
}
