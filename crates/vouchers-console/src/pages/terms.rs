//! The voucher terms the generate and add forms share (type, discount, uses, window, what it
//! unlocks and applies to, the cart's minimums, the budget, once per customer): parsed from the form with a message per field, the same messages as
//! the CLI and the API (the rules are the core's).

use vouchers_core::domain::{parse_decimal, AddOn, Applies, TicketType, VoucherType, When};
use vouchers_core::VoucherTerms;

use crate::form::FormData;

/// Whether the form's voucher type is `kind` (a new form starts at `percentage`), for the type
/// radio buttons of `terms_fields.html`.
pub(crate) fn type_selected(form: &FormData, kind: &str) -> bool {
    form.get("voucher_type").unwrap_or("percentage") == kind
}

/// Whether the form applies the voucher to `all`, `none` or `these` of a kind (`ticket_types`,
/// `addons`): its radio button, else `these` when a box of the kind is ticked, else `all`.
pub(crate) fn scope(form: &FormData, kind: &str) -> &'static str {
    match form.get(&format!("{kind}_scope")) {
        Some("none") => "none",
        Some("these") => "these",
        Some("all") => "all",
        _ if !form.all(&format!("applicable_{kind}")).is_empty() => "these",
        _ => "all",
    }
}

/// Parses the terms into the core's [`VoucherTerms`] (its defaults for empty fields); every field that breaks its rule adds `(field, message)` to `errors`.
pub(crate) fn parse(form: &FormData, errors: &mut Vec<(String, String)>) -> VoucherTerms {
    let mut fail = |field: &str, message: String| errors.push((field.to_owned(), message));
    let voucher_type = match form.text("voucher_type").parse::<VoucherType>() {
        Ok(kind) => kind,
        Err(e) => {
            fail("voucher_type", crate::view::told(&e));
            VoucherType::Comp
        }
    };
    let mut whole = |field: &str, default: i64| match form.get(field).filter(|v| !v.is_empty()) {
        None => default,
        Some(text) => text.parse::<i64>().unwrap_or_else(|_| {
            fail(field, format!("{field} must be a whole number, got {}", vouchers_core::domain::quoted(text)));
            default
        }),
    };
    let max_uses = whole("max_uses", VoucherTerms::DEFAULT_MAX_USES);
    let min_quantity = whole("min_quantity", VoucherTerms::DEFAULT_MIN_QUANTITY);
    let mut decimal = |field: &'static str| match form.get(field).filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => match parse_decimal(field, text) {
            Ok(value) => Some(value),
            Err(e) => {
                fail(field, crate::view::told(&e));
                None
            }
        },
    };
    let discount_value = decimal("discount_value");
    let min_subtotal = decimal("min_subtotal");
    let budget = decimal("budget");
    let mut when = |field: &'static str| match form.get(field).filter(|v| !v.is_empty()) {
        None => None,
        Some(text) => match When::parse(field, text) {
            Ok(when) => Some(when),
            Err(e) => {
                fail(field, crate::view::told(&e));
                None
            }
        },
    };
    let valid_from = when("valid_from");
    let valid_until = when("valid_until");
    let mut applies = |kind: &str, noun: &str| {
        let field = format!("applicable_{kind}");
        match scope(form, kind) {
            "none" => Applies::Nothing,
            "these" => {
                let ticked = form.all(&field);
                if ticked.is_empty() {
                    fail(&field, format!("{field}: tick at least one {noun}, or choose all or none"));
                }
                Applies::these(ticked)
            }
            _ => Applies::All,
        }
    };
    let applicable_ticket_types = applies("ticket_types", "ticket type");
    let applicable_addons = applies("addons", "add-on");
    VoucherTerms {
        voucher_type,
        discount_value,
        max_uses,
        valid_from,
        valid_until,
        unlocks_hidden_tickets: form.checked("unlocks_hidden_tickets"),
        applicable_ticket_types,
        applicable_addons,
        min_quantity,
        min_subtotal,
        budget,
        once_per_customer: form.checked("once_per_customer"),
    }
}

/// A catalog checkbox: its slug (its value, and shown as a hint), its name (its label), its price
/// (beside it), and whether it is ticked.
pub(crate) struct Choice {
    pub slug: String,
    pub name: String,
    pub label: String,
    pub checked: bool,
}

/// The ticket types as checkboxes, ticked as the form had them.
pub(crate) fn ticket_type_choices(catalog: &[TicketType], form: &FormData) -> Vec<Choice> {
    let ticked = form.all("applicable_ticket_types");
    catalog
        .iter()
        .map(|t| Choice {
            slug: t.slug.clone(),
            name: t.name.clone(),
            label: if t.requires_voucher {
                format!("{}, {} (hidden)", t.slug, t.price)
            } else {
                format!("{}, {}", t.slug, t.price)
            },
            checked: ticked.contains(&t.slug),
        })
        .collect()
}

/// The add-ons as checkboxes, ticked as the form had them.
pub(crate) fn addon_choices(catalog: &[AddOn], form: &FormData) -> Vec<Choice> {
    let ticked = form.all("applicable_addons");
    catalog
        .iter()
        .map(|a| Choice {
            slug: a.slug.clone(),
            name: a.name.clone(),
            label: format!("{}, {}", a.slug, a.price),
            checked: ticked.contains(&a.slug),
        })
        .collect()
}
