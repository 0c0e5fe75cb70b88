//! The conference's reports: each batch's funnel (issued → assigned → emailed → held → redeemed
//! → released, and the discount given), redemptions per day (or per hour, for the last 48
//! hours) in the conference's time zone as a chart drawn on the server and as a table, and the
//! redemptions one by one (search, filters, pages by cursor, a CSV download). The figures are the
//! core's `reports` use cases, the same as the API's and the CLI's.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vouchers_core::domain::{format_rfc3339, BatchFunnel, Interval, RedemptionEntry, Timeline, When};
use vouchers_core::service::reports::{self, RedemptionQuery};

use crate::error::ConsoleError;
use crate::session::Signed;
use crate::view::{local, page, Nav};
use crate::ConsoleState;

/// The chart's geometry, in SVG user units.
const CHART_WIDTH: i64 = 720;
const CHART_HEIGHT: i64 = 220;
const AXIS: i64 = 56;

/// One bar of the timeline chart.
struct Column {
    x: i64,
    y: i64,
    width: i64,
    height: i64,
    title: String,
}

/// A tick on the chart's axes.
struct Tick {
    x: i64,
    y: i64,
    text: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    nav: Option<Nav>,
    slug: String,
    funnels: Vec<(String, BatchFunnel)>,
    timeline: Timeline,
    by_hour: bool,
    columns: Vec<Column>,
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    summary: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReportParams {
    interval: Option<String>,
}

fn chart(timeline: &Timeline) -> (Vec<Column>, Vec<Tick>, Vec<Tick>) {
    let most = timeline.points.iter().map(|p| p.redemptions).max().unwrap_or(0).max(1);
    let n = i64::try_from(timeline.points.len()).unwrap_or(1).max(1);
    let slot = (CHART_WIDTH - AXIS) / n;
    let plot = CHART_HEIGHT - 50;
    let columns = timeline
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let height = p.redemptions * plot / most;
            Column {
                x: AXIS + i64::try_from(i).unwrap_or(0) * slot + 1,
                y: 20 + plot - height,
                width: (slot - 2).max(1),
                height,
                title: format!("{}: {} redemptions, {} discount", p.label, p.redemptions, p.discount),
            }
        })
        .collect();
    // A label every few steps, so they never overlap.
    let every = usize::try_from((n / 6).max(1)).unwrap_or(1);
    let x_ticks = timeline
        .points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, p)| Tick {
            x: AXIS + i64::try_from(i).unwrap_or(0) * slot,
            y: CHART_HEIGHT - 4,
            text: p
                .label
                .rsplit(' ')
                .next()
                .filter(|_| p.label.contains(' '))
                .map_or_else(|| p.label.get(5..).unwrap_or(&p.label).to_owned(), str::to_owned),
        })
        .collect();
    let mut values = vec![0, most / 2, most];
    values.dedup();
    let y_ticks = values
        .into_iter()
        .map(|v| Tick { x: AXIS - 6, y: 20 + plot - v * plot / most + 4, text: v.to_string() })
        .collect();
    (columns, x_ticks, y_ticks)
}

fn batch_label(f: &BatchFunnel) -> String {
    match (f.batch_id, f.prefix.as_deref()) {
        (Some(id), _) if f.name.as_deref().is_some_and(|n| !n.is_empty()) => {
            format!("{} (batch {id})", f.name.as_deref().unwrap_or_default())
        }
        (Some(id), Some(prefix)) if !prefix.is_empty() => format!("Batch {id} ({prefix})"),
        (Some(id), _) => format!("Batch {id}"),
        (None, _) => "Added by hand".to_owned(),
    }
}

/// The reports page.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
    Query(params): Query<ReportParams>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let store = state.store.as_ref();
    let by_hour = params.interval.as_deref() == Some("hour");
    let interval = if by_hour { Interval::Hour } else { Interval::Day };
    let funnels = reports::batches(store, &conference.slug).await?;
    let timeline = reports::timeline(store, &conference.slug, None, None, interval, vouchers_core::now()).await?;
    let (columns, x_ticks, y_ticks) = chart(&timeline);
    let summary = format!(
        "{} redemptions and {} discount in the last {} {}, in {}",
        timeline.total_redemptions,
        timeline.total_discount,
        timeline.points.len(),
        if by_hour { "hours" } else { "days" },
        timeline.timezone
    );
    let view = ReportsPage {
        nav: Some(Nav::new(&signed, Some(&conference))),
        slug: conference.slug.clone(),
        funnels: funnels.into_iter().map(|f| (batch_label(&f), f)).collect(),
        timeline,
        by_hour,
        columns,
        x_ticks,
        y_ticks,
        summary,
    };
    page(StatusCode::OK, &view)
}

/// Redemptions shown per page.
const PAGE: i64 = 50;

/// The most rows one CSV download holds.
pub const CSV_ROWS: i64 = reports::MAX_PAGE;

#[derive(Template)]
#[template(path = "redemptions.html")]
struct RedemptionsPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    rows: Vec<(RedemptionEntry, String, String)>,
    search: String,
    batch: String,
    released: String,
    next: Option<String>,
    csv: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    search: Option<String>,
    batch: Option<String>,
    released: Option<String>,
    before: Option<String>,
}

impl ListParams {
    /// The query, or the message of the field at fault.
    fn query(&self, limit: i64) -> Result<RedemptionQuery, String> {
        let batch = super::batch_filter(self.batch.as_deref().unwrap_or_default())?;
        let released = match self.released.as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        };
        let before_id = self.before.as_deref().and_then(|b| b.parse::<i64>().ok());
        Ok(RedemptionQuery {
            batch_id: batch,
            released,
            from: None::<When>,
            to: None,
            search: self.search.clone(),
            before_id,
            limit,
        })
    }

    fn link(&self, before: Option<i64>, csv: bool) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("search", &self.search), ("batch", &self.batch), ("released", &self.released)] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        if let Some(before) = before {
            query.append_pair("before", &before.to_string());
        }
        let path = if csv { "redemptions.csv" } else { "redemptions" };
        format!("{path}?{}", query.finish())
    }
}

/// The redemptions list.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let tz = conference.timezone;
    let (rows, next, error) = match params.query(PAGE + 1) {
        Ok(query) => match reports::redemptions(state.store.as_ref(), &conference.slug, &query).await {
            Ok(mut found) => {
                let more = found.len() > usize::try_from(PAGE).unwrap_or(50);
                found.truncate(usize::try_from(PAGE).unwrap_or(50));
                let next = if more { found.last().map(|r| params.link(Some(r.id), false)) } else { None };
                let rows = found
                    .into_iter()
                    .map(|r| {
                        let at = local(&r.redeemed_at, tz);
                        let released = r.released_at.as_ref().map(|t| local(t, tz)).unwrap_or_default();
                        (r, at, released)
                    })
                    .collect();
                (rows, next, None)
            }
            Err(e) if e.is_input_error() => (Vec::new(), None, Some(crate::view::said(&e))),
            Err(e) => return Err(e.into()),
        },
        Err(message) => (Vec::new(), None, Some(message)),
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let view = RedemptionsPage {
        nav: Some(Nav::new(&signed, Some(&conference))),
        slug: conference.slug.clone(),
        timezone: tz.name().to_owned(),
        rows,
        search: params.search.clone().unwrap_or_default(),
        batch: params.batch.clone().unwrap_or_default(),
        released: params.released.clone().unwrap_or_default(),
        next,
        csv: params.link(None, true),
        error,
    };
    page(status, &view)
}

/// The redemptions matching the filters as CSV (at most [`CSV_ROWS`], newest first), cells
/// safe for spreadsheets.
pub(crate) async fn download(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let query = params.query(CSV_ROWS).map_err(ConsoleError::Invalid)?;
    let found = reports::redemptions(state.store.as_ref(), &conference.slug, &query).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = ["id", "redeemed_at", "code", "batch_id", "order_ref", "customer_email", "discount", "released_at"];
    let fail = |_| ConsoleError::Invalid("the CSV could not be written".into());
    writer.write_record(header).map_err(fail)?;
    for r in &found {
        let safe = vouchers_core::domain::spreadsheet_safe;
        writer
            .write_record([
                r.id.to_string(),
                format_rfc3339(&r.redeemed_at),
                safe(r.code.clone()),
                r.batch_id.map(|b| b.to_string()).unwrap_or_default(),
                safe(r.order_ref.clone()),
                safe(r.customer_email.clone().unwrap_or_default()),
                r.discount.to_string(),
                r.released_at.as_ref().map(format_rfc3339).unwrap_or_default(),
            ])
            .map_err(fail)?;
    }
    let body = writer.into_inner().map_err(|_| ConsoleError::Invalid("the CSV could not be written".into()))?;
    let disposition = format!("attachment; filename=\"{}-redemptions.csv\"", conference.slug);
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
