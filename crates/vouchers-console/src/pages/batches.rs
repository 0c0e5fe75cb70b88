//! A batch's page: its configuration, usage and codes; its CSV (the API's export, safe for
//! spreadsheets); and deactivating it, after a confirmation page.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::domain::{Batch, Conference};
use vouchers_core::service::checkout::{self, UsageCounts};
use vouchers_core::service::{manage, query};
use vouchers_core::store::VoucherFilter;

use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::Signed;
use crate::view::{discount, local, ok, Nav, VoucherRow};
use crate::ConsoleState;

/// The most codes the page lists; the CSV has them all.
const SHOWN: i64 = 1000;

#[derive(Template)]
#[template(path = "batch.html")]
struct BatchPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    batch: Batch,
    discount: String,
    window: String,
    counts: UsageCounts,
    rows: Vec<VoucherRow>,
    more: bool,
}

#[derive(Template)]
#[template(path = "deactivate.html")]
struct ConfirmPage {
    nav: Option<Nav>,
    slug: String,
    batch: Batch,
    active: i64,
}

/// A batch id from the path; anything else names no batch.
fn batch_id(id: &str) -> Result<i64, ConsoleError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(ConsoleError::NotFound)
}

async fn find(state: &ConsoleState, conference: &Conference, id: &str) -> Result<Batch, ConsoleError> {
    query::batch(state.store.as_ref(), &conference.slug, batch_id(id)?).await?.ok_or(ConsoleError::NotFound)
}

async fn counts(state: &ConsoleState, conference: &Conference, id: i64) -> Result<UsageCounts, ConsoleError> {
    let report = checkout::usage_report(state.store.as_ref(), &conference.slug).await?;
    Ok(report.batches.into_iter().find(|b| b.batch_id == Some(id)).map(|b| b.counts).unwrap_or_default())
}

/// The batch's page.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    let filter = VoucherFilter { batch_id: Some(batch.id), limit: Some(SHOWN + 1), ..VoucherFilter::default() };
    let mut vouchers = query::list_vouchers(state.store.as_ref(), &conference.slug, &filter).await?;
    let more = vouchers.len() > usize::try_from(SHOWN).unwrap_or(usize::MAX);
    vouchers.truncate(usize::try_from(SHOWN).unwrap_or(usize::MAX));
    let tz = conference.timezone;
    let now = vouchers_core::now();
    let window = match (&batch.valid_from, &batch.valid_until) {
        (None, None) => "always".to_owned(),
        (Some(f), None) => format!("from {}", local(f, tz)),
        (None, Some(u)) => format!("until {}", local(u, tz)),
        (Some(f), Some(u)) => format!("{} to {}", local(f, tz), local(u, tz)),
    };
    let counts = counts(&state, &conference, batch.id).await?;
    ok(&BatchPage {
        nav: Some(Nav::new(&signed, Some(&conference))),
        slug: conference.slug.clone(),
        timezone: tz.name().to_owned(),
        discount: discount(batch.voucher_type, &batch.discount_value),
        window,
        counts,
        rows: vouchers.iter().map(|v| VoucherRow::new(v, tz, now)).collect(),
        more,
        batch,
    })
}

/// The batch's codes as CSV.
pub(crate) async fn download(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    Ok(vouchers_http::csv_download(state.store.clone(), conference.slug, Some(batch.id)))
}

/// Asks before deactivating.
pub(crate) async fn confirm(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    let active = counts(&state, &conference, batch.id).await?.active;
    ok(&ConfirmPage { nav: Some(Nav::new(&signed, Some(&conference))), slug: conference.slug.clone(), batch, active })
}

/// Deactivates every voucher of the batch, in one transaction.
pub(crate) async fn deactivate(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
    form: FormData,
) -> Result<Response, ConsoleError> {
    signed.check_csrf(&form)?;
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    let (_, count) = manage::deactivate_batch(signed.store(&state).as_ref(), &conference.slug, batch.id).await?;
    tracing::info!(account = %signed.session.account.email, batch = batch.id, deactivated = count, "batch deactivated");
    Ok(Redirect::to(&format!("/console/c/{}/batches/{}", conference.slug, batch.id)).into_response())
}
