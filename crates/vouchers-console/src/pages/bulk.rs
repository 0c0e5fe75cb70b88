//! Bulk actions on the voucher list: the ticked rows, or every voucher matching the list's
//! filter (at most [`MAX_BULK`]), deactivated (after a confirmation page that lists exactly the
//! codes it will change), reactivated, or exported as CSV. Each ends with a flash message that
//! says what happened; a refusal (nothing selected, too many) shows the list again with the
//! reason and changes nothing.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use vouchers_core::domain::Conference;
use vouchers_core::service::manage::{self, BulkChange, Selection, MAX_BULK};
use vouchers_core::service::{export, query};
use vouchers_core::VoucherError;

use super::vouchers::{filter_of, render_list, ListQuery};
use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::Posted;
use crate::view::{ok, Nav};
use crate::ConsoleState;

/// The codes a confirmation page lists by name (it carries them all).
const LISTED: usize = 20;

#[derive(Template)]
#[template(path = "bulk_confirm.html")]
struct ConfirmPage {
    nav: Option<Nav>,
    slug: String,
    codes: Vec<String>,
    listed: Vec<String>,
    filter: ListQuery,
    back: String,
}

/// What the form asks for: the ticked codes, or every voucher the filter matches.
fn selection(form: &FormData, filter: &ListQuery) -> Result<Selection, String> {
    if form.get("scope") == Some("matching") {
        filter_of(filter, vouchers_core::now()).map(Selection::Matching)
    } else {
        Ok(Selection::Codes(form.all("code")))
    }
}

/// "1 voucher" or "25 vouchers".
fn vouchers(n: u64) -> String {
    if n == 1 {
        "1 voucher".to_owned()
    } else {
        format!("{n} vouchers")
    }
}

/// The sentence after a change: "25 vouchers deactivated (2 already were)".
fn said(change: BulkChange, done: &str, state: &str) -> String {
    match change.unchanged {
        0 => format!("{} {done}", vouchers(change.changed)),
        n => format!("{} {done} ({} already {state})", vouchers(change.changed), vouchers(n)),
    }
}

/// The list's bulk form: deactivate asks first, reactivate and export act at once.
pub(crate) async fn submit(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let filter = ListQuery::from_form(&form);
    let refuse = |message: String| render_list(&state, &signed, &conference, &filter, Some(message));
    let selection = match selection(&form, &filter) {
        Ok(selection) => selection,
        Err(message) => return refuse(message).await,
    };
    match form.get("action").unwrap_or_default() {
        "export" => export_csv(&state, &conference, selection).await,
        "reactivate" => {
            match manage::set_active_many(signed.store(&state).as_ref(), &conference.slug, &selection, true).await {
                Ok(change) => Ok(crate::flash::redirect(
                    &state,
                    &filter.url(&conference.slug),
                    &said(change, "reactivated", "active"),
                )),
                Err(e) if e.is_input_error() => refuse(crate::view::said(&e)).await,
                Err(e) => Err(e.into()),
            }
        }
        "deactivate" => match manage::selected_codes(state.store.as_ref(), &conference.slug, &selection).await {
            Ok(codes) => ok(&ConfirmPage {
                nav: Some(Nav::new(&signed, Some(&conference))),
                slug: conference.slug.clone(),
                listed: codes.iter().take(LISTED).cloned().collect(),
                codes,
                back: filter.url(&conference.slug),
                filter,
            }),
            Err(e) if e.is_input_error() => refuse(crate::view::said(&e)).await,
            Err(e) => Err(e.into()),
        },
        other => {
            refuse(format!("Choose Deactivate, Reactivate or Export CSV, got {}", vouchers_core::domain::quoted(other)))
                .await
        }
    }
}

/// The confirmation page's form: deactivates exactly the codes it listed.
pub(crate) async fn deactivate(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let filter = ListQuery::from_form(&form);
    let selection = Selection::Codes(form.all("code"));
    match manage::set_active_many(signed.store(&state).as_ref(), &conference.slug, &selection, false).await {
        Ok(change) => {
            tracing::info!(account = %signed.session.account.email, deactivated = change.changed, "vouchers deactivated");
            Ok(crate::flash::redirect(&state, &filter.url(&conference.slug), &said(change, "deactivated", "inactive")))
        }
        Err(e) if e.is_input_error() => {
            render_list(&state, &signed, &conference, &filter, Some(crate::view::said(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The selection as a CSV download: ticked codes in one piece, a filter streamed (any size).
async fn export_csv(
    state: &ConsoleState,
    conference: &Conference,
    selection: Selection,
) -> Result<Response, ConsoleError> {
    let codes = match selection {
        Selection::Matching(filter) => {
            return Ok(vouchers_web::csv_download_matching(state.store.clone(), conference.slug.clone(), filter));
        }
        Selection::Codes(codes) => codes,
    };
    if codes.is_empty() || codes.len() > MAX_BULK {
        let message = format!("select 1 to {MAX_BULK} vouchers to export, or choose all that match the filter");
        return Err(ConsoleError::Invalid(message));
    }
    let mut vouchers = Vec::with_capacity(codes.len());
    for code in &codes {
        match query::show_voucher(state.store.as_ref(), &conference.slug, code).await {
            Ok(voucher) => vouchers.push(voucher),
            Err(VoucherError::VoucherNotFound { .. }) => return Err(ConsoleError::NotFound),
            Err(e) => return Err(e.into()),
        }
    }
    let body = export::csv_of(&vouchers)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}-selected.csv\"", conference.slug)) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

impl ConfirmPage {
    /// "25 vouchers", for the heading and the button.
    fn count(&self) -> String {
        vouchers(u64::try_from(self.codes.len()).unwrap_or(u64::MAX))
    }
}
