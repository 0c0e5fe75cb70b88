//! The bulk generation form: the fields of `VoucherBulkConfig`, times in the conference's time
//! zone. Invalid input comes back with every value kept and the rule's message beside its
//! field; nothing is written. Each rendering of the form carries its own idempotency key, so a
//! double submit (double click, reload, back and submit) makes one batch, not two.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use vouchers_core::domain::{Alphabet, CodeFormat, Conference};
use vouchers_core::service::catalog;
use vouchers_core::service::idempotent::IdempotencyKey;
use vouchers_core::{generate_voucher_codes_with, GenerateOptions, VoucherBulkConfig, VoucherTerms};

use super::terms::{self, addon_choices, ticket_type_choices, Choice};
use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::{Posted, Signed};
use crate::view::{cacheable_form, field_error, page, Nav};
use crate::ConsoleState;

#[derive(Template)]
#[template(path = "generate.html")]
struct GeneratePage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    max_batch: i64,
    values: FormData,
    key: String,
    ticket_types: Vec<Choice>,
    addons: Vec<Choice>,
    errors: Vec<(String, String)>,
}

impl GeneratePage {
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

    fn alphabet_is(&self, alphabet: &str) -> bool {
        self.values.text("alphabet") == alphabet
    }
}

/// The alphabet and the length fields (left out or empty: the alnum format); a broken rule goes
/// to `errors`.
fn code_format(form: &FormData, errors: &mut Vec<(String, String)>) -> (Alphabet, i64) {
    let alphabet_text = form.text("alphabet");
    let alphabet = if alphabet_text.trim().is_empty() {
        Alphabet::Alnum
    } else {
        Alphabet::parse(&alphabet_text).unwrap_or_else(|e| {
            errors.push(("alphabet".to_owned(), crate::view::told(&e)));
            Alphabet::Alnum
        })
    };
    let length_text = form.text("length");
    if length_text.trim().is_empty() {
        return (alphabet, i64::from(CodeFormat::DEFAULT_LENGTH));
    }
    let length = length_text.trim().parse::<i64>().unwrap_or_else(|_| {
        errors.push((
            "length".to_owned(),
            format!("length must be a whole number, got {}", vouchers_core::domain::quoted(&length_text)),
        ));
        0
    });
    (alphabet, length)
}

/// A fresh idempotency key for one rendering of the form.
fn new_key() -> String {
    format!("console-{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>()))
}

async fn render(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    values: FormData,
    key: String,
    errors: Vec<(String, String)>,
) -> Result<Response, ConsoleError> {
    let store = state.store.as_ref();
    let ticket_types = ticket_type_choices(&catalog::list_ticket_types(store, &conference.slug).await?, &values);
    let addons = addon_choices(&catalog::list_addons(store, &conference.slug).await?, &values);
    let invalid = !errors.is_empty();
    let form = GeneratePage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        timezone: conference.timezone.name().to_owned(),
        max_batch: state.limits.max_batch,
        values,
        key,
        ticket_types,
        addons,
        errors,
    };
    if invalid {
        page(StatusCode::UNPROCESSABLE_ENTITY, &form)
    } else {
        cacheable_form(&form)
    }
}

/// The empty form.
pub(crate) async fn form(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut defaults = FormData::default();
    defaults.set("max_uses", &VoucherTerms::DEFAULT_MAX_USES.to_string());
    defaults.set("alphabet", Alphabet::default().as_str());
    defaults.set("length", &CodeFormat::DEFAULT_LENGTH.to_string());
    render(&state, &signed, &conference, defaults, new_key(), Vec::new()).await
}

/// Generates the batch and shows it, or the form again with the rule each field broke.
pub(crate) async fn submit(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut errors = Vec::new();
    let count_text = form.text("count");
    let count = count_text.parse::<i64>().unwrap_or_else(|_| {
        errors.push((
            "count".to_owned(),
            format!("count must be a whole number, got {}", vouchers_core::domain::quoted(&count_text)),
        ));
        0
    });
    // Every field's rule at once (the use case checks them again), so that one submit shows
    // every mistake, the prefix's and the label's with the terms'.
    if let Err(e) = vouchers_core::domain::Prefix::parse(&form.text("prefix")) {
        errors.push((e.field.to_owned(), crate::view::told(&e)));
    }
    if let Err(e) = vouchers_core::domain::BatchLabel::parse(&form.text("name"), form.secret("note")) {
        errors.push((e.field.to_owned(), crate::view::told(&e)));
    }
    let terms = terms::parse(&form, &mut errors);
    let format = code_format(&form, &mut errors);
    let key = IdempotencyKey::parse(&form.text("idempotency_key")).ok();
    let resubmit_key = key.as_ref().map_or_else(new_key, |k| k.as_str().to_owned());
    if !errors.is_empty() {
        return render(&state, &signed, &conference, form, resubmit_key, errors).await;
    }
    let config = VoucherBulkConfig {
        conference: conference.slug.clone(),
        prefix: form.text("prefix"),
        count,
        terms,
        alphabet: format.0,
        length: format.1,
        check_char: form.checked("check_char"),
        allow_weak_codes: form.checked("allow_weak_codes"),
        name: form.text("name"),
        note: form.secret("note").to_owned(),
    };
    let options = GenerateOptions { idempotency_key: key.as_ref(), ..GenerateOptions::default() };
    match generate_voucher_codes_with(signed.store(&state).as_ref(), &state.limits, &config, options).await {
        Ok(answer) => {
            let id = answer.generated.batch.id;
            Ok(Redirect::to(&format!("/console/c/{}/batches/{id}", conference.slug)).into_response())
        }
        Err(e) if e.is_input_error() => {
            let field = e.field().unwrap_or("prefix").to_owned();
            // A key reused with other values: the form gets a fresh key with the new values.
            let key = if field == "Idempotency-Key" { new_key() } else { resubmit_key };
            let field = if field == "Idempotency-Key" { "form".to_owned() } else { field };
            let message = if field == "form" {
                "This form was already used to generate a batch with other values; check the values and generate again."
                    .to_owned()
            } else {
                crate::view::said(&e)
            };
            render(&state, &signed, &conference, form, key, vec![(field, message)]).await
        }
        Err(e) => Err(e.into()),
    }
}
