//! A conference's catalog: ticket types and add-ons with their prices, forms to create them,
//! and a page per ticket type and add-on to change its name, price and flags (its slug never
//! changes). Another conference's slug is a 404.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::domain::{AddOn, AddOnChange, Conference, NewAddOn, NewTicketType, TicketType, TicketTypeChange};
use vouchers_core::service::catalog;
use vouchers_core::VoucherError;

use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::{Posted, Signed};
use crate::view::{field_error, labelled, page, Nav};
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

/// The fields of a change form that a rule can refuse, and their labels, as messages name them.
const ITEM_LABELS: [(&str, &str); 2] = [("name", "Name"), ("price", "Price")];

/// What an edit page changes: a ticket type or an add-on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    TicketType,
    AddOn,
}

impl Kind {
    /// How the page and its flash name it.
    fn noun(self) -> &'static str {
        match self {
            Kind::TicketType => "Ticket type",
            Kind::AddOn => "Add-on",
        }
    }

    /// Its part of the page's path.
    fn path(self) -> &'static str {
        match self {
            Kind::TicketType => "ticket-types",
            Kind::AddOn => "addons",
        }
    }
}

#[derive(Template)]
#[template(path = "catalog_item.html")]
struct ItemPage {
    nav: Option<Nav>,
    slug: String,
    kind: Kind,
    item_slug: String,
    item_name: String,
    values: FormData,
    errors: Vec<(String, String)>,
}

impl ItemPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }

    fn checked(&self, field: &str) -> bool {
        self.values.checked(field)
    }
}

/// The conference's ticket type or add-on with this slug, as `(name, form values)`; a slug the
/// conference does not have is a 404.
async fn item(
    state: &ConsoleState,
    conference: &Conference,
    kind: Kind,
    slug: &str,
) -> Result<(String, FormData), ConsoleError> {
    let store = state.store.as_ref();
    let mut values = FormData::default();
    let (name, price, is_active) = match kind {
        Kind::TicketType => {
            let all = catalog::list_ticket_types(store, &conference.slug).await?;
            let t = all.into_iter().find(|t| t.slug == slug).ok_or(ConsoleError::NotFound)?;
            if t.requires_voucher {
                values.set("requires_voucher", "on");
            }
            (t.name, t.price, t.is_active)
        }
        Kind::AddOn => {
            let all = catalog::list_addons(store, &conference.slug).await?;
            let a = all.into_iter().find(|a| a.slug == slug).ok_or(ConsoleError::NotFound)?;
            (a.name, a.price, a.is_active)
        }
    };
    values.set("name", &name);
    values.set("price", &price.to_string());
    if is_active {
        values.set("is_active", "on");
    }
    Ok((name, values))
}

fn render_item(
    signed: &Signed,
    conference: &Conference,
    kind: Kind,
    (item_slug, item_name): (&str, String),
    values: FormData,
    errors: Vec<(String, String)>,
) -> Result<Response, ConsoleError> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let view = ItemPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        kind,
        item_slug: item_slug.to_owned(),
        item_name,
        values,
        errors,
    };
    page(status, &view)
}

async fn edit_form(
    state: ConsoleState,
    signed: Signed,
    conf: String,
    slug: String,
    kind: Kind,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let (name, values) = item(&state, &conference, kind, &slug).await?;
    render_item(&signed, &conference, kind, (&slug, name), values, Vec::new())
}

/// Saves a change form: back to the catalog with "Ticket type Student saved", or the form again
/// with the field at fault, named by its label (nothing written).
async fn save(
    state: ConsoleState,
    signed: Signed,
    form: FormData,
    conf: String,
    slug: String,
    kind: Kind,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let (stored_name, _) = item(&state, &conference, kind, &slug).await?;
    let (name, price) = (form.text("name"), form.text("price"));
    let is_active = Some(form.checked("is_active"));
    let store = signed.store(&state);
    let result = match kind {
        Kind::TicketType => {
            match TicketTypeChange::parse(Some(&name), Some(&price), Some(form.checked("requires_voucher")), is_active)
            {
                Ok(change) => catalog::update_ticket_type(store.as_ref(), &conference.slug, &slug, &change)
                    .await
                    .map(|u| (u.value.name.clone(), u.is_changed())),
                Err(e) => Err(e.into()),
            }
        }
        Kind::AddOn => match AddOnChange::parse(Some(&name), Some(&price), is_active) {
            Ok(change) => catalog::update_addon(store.as_ref(), &conference.slug, &slug, &change)
                .await
                .map(|u| (u.value.name.clone(), u.is_changed())),
            Err(e) => Err(e.into()),
        },
    };
    match result {
        Ok((saved_name, changed)) => {
            let said = if changed {
                format!("{} {saved_name} saved", kind.noun())
            } else {
                format!("{} {saved_name}: nothing changed", kind.noun())
            };
            Ok(crate::flash::redirect(&state, &format!("/console/c/{}/catalog", conference.slug), &said))
        }
        Err(VoucherError::Invalid(e)) => {
            let errors = vec![(e.field.to_owned(), labelled(&e.message, &ITEM_LABELS))];
            render_item(&signed, &conference, kind, (&slug, stored_name), form, errors)
        }
        Err(VoucherError::CatalogItemNotFound { .. }) => Err(ConsoleError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// A ticket type's change form.
pub(crate) async fn ticket_type_form(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, slug)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    edit_form(state, signed, conf, slug, Kind::TicketType).await
}

/// Saves a ticket type's change form.
pub(crate) async fn update_ticket_type(
    State(state): State<ConsoleState>,
    Path((conf, slug)): Path<(String, String)>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    save(state, signed, form, conf, slug, Kind::TicketType).await
}

/// An add-on's change form.
pub(crate) async fn addon_form(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, slug)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    edit_form(state, signed, conf, slug, Kind::AddOn).await
}

/// Saves an add-on's change form.
pub(crate) async fn update_addon(
    State(state): State<ConsoleState>,
    Path((conf, slug)): Path<(String, String)>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    save(state, signed, form, conf, slug, Kind::AddOn).await
}
