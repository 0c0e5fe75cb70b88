//! Try a code: what `check` answers for a code and a cart (valid or why not, what it unlocks,
//! the priced lines), so an organizer can verify a batch before sending it out. It writes
//! nothing, so it is a plain GET form; it does not count against the guessing limit (that limit
//! guards the API's checkout tokens, and this page needs a signed-in organizer).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vouchers_core::domain::{LineItem, PricedLine, Quantity};
use vouchers_core::service::catalog;
use vouchers_core::service::checkout::{self, CartLine, CheckResult};

use crate::error::ConsoleError;
use crate::session::Signed;
use crate::view::{page, Nav};
use crate::ConsoleState;

/// The form, as the query string gives it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TryQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    ticket_type: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    addon: String,
    #[serde(default)]
    addon_quantity: String,
}

/// A priced line as the page shows it.
struct LineRow {
    item: String,
    quantity: u32,
    unit_price: String,
    line_total: String,
    discount: String,
    total: String,
}

#[derive(Template)]
#[template(path = "try.html")]
struct TryPage {
    nav: Option<Nav>,
    slug: String,
    form: TryQuery,
    ticket_types: Vec<(String, String)>,
    addons: Vec<(String, String)>,
    result: Option<CheckResult>,
    verdict: String,
    lines: Vec<LineRow>,
    error: Option<String>,
}

fn row(line: &PricedLine) -> LineRow {
    let item = match &line.item {
        LineItem::TicketType(slug) => format!("ticket type {slug}"),
        LineItem::AddOn(slug) => format!("add-on {slug}"),
    };
    LineRow {
        item,
        quantity: line.quantity,
        unit_price: line.unit_price.to_string(),
        line_total: line.line_total.to_string(),
        discount: line.discount.to_string(),
        total: line.total.to_string(),
    }
}

/// A cart line from a select and a quantity field (empty: no line).
fn line(slug: &str, quantity: &str, item: fn(String) -> LineItem) -> Result<Option<CartLine>, String> {
    if slug.trim().is_empty() {
        return Ok(None);
    }
    let quantity = match quantity.trim() {
        "" => Quantity::ONE,
        text => {
            let n = text
                .parse::<i64>()
                .map_err(|_| format!("quantity must be a whole number, got {}", vouchers_core::domain::quoted(text)))?;
            Quantity::new(n).map_err(|e| crate::view::told(&e))?
        }
    };
    Ok(Some(CartLine { item: item(slug.trim().to_owned()), quantity }))
}

/// The form, and the answer when a code was given.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
    Query(form): Query<TryQuery>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let store = state.store.as_ref();
    let ticket_types =
        catalog::list_ticket_types(store, &conference.slug).await?.into_iter().map(|t| (t.slug, t.name)).collect();
    let addons = catalog::list_addons(store, &conference.slug).await?.into_iter().map(|a| (a.slug, a.name)).collect();
    let mut error = None;
    let mut result = None;
    if !form.code.trim().is_empty() {
        let cart = [
            line(&form.ticket_type, &form.quantity, LineItem::TicketType),
            line(&form.addon, &form.addon_quantity, LineItem::AddOn),
        ];
        match cart.into_iter().collect::<Result<Vec<_>, _>>() {
            Err(message) => error = Some(message),
            Ok(lines) => {
                let lines: Vec<CartLine> = lines.into_iter().flatten().collect();
                let now = vouchers_core::now();
                match checkout::check_voucher(store, &conference.slug, &form.code, &lines, now).await {
                    Ok(answer) => result = Some(answer),
                    Err(e) if e.is_input_error() => error = Some(crate::view::said(&e)),
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    let verdict = match &result {
        Some(r) if r.valid => "valid: this code can be used now".to_owned(),
        Some(r) => format!("not usable: {}", r.reason.map(|reason| reason.message()).unwrap_or_default()),
        None => String::new(),
    };
    let lines = result.as_ref().map(|r| r.pricing.lines.iter().map(row).collect()).unwrap_or_default();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    page(
        status,
        &TryPage {
            nav: Some(Nav::new(&signed, Some(&conference))),
            slug: conference.slug.clone(),
            form,
            ticket_types,
            addons,
            result,
            verdict,
            lines,
            error,
        },
    )
}
