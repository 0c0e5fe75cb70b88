//! A conference's dashboard: the usage report per batch and per prefix, and a chart of uses
//! consumed against uses left per batch, drawn on the server as SVG.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use vouchers_core::service::checkout::{self, UsageCounts, UsageReport};

use crate::error::ConsoleError;
use crate::session::Signed;
use crate::view::{ok, Nav};
use crate::ConsoleState;

/// One bar of the chart: a batch's uses consumed (dark) and left (light), scaled to the widest.
struct Bar {
    label: String,
    x: u32,
    height: u32,
    y: u32,
    text_y: u32,
    used_width: u32,
    left_x: u32,
    left_width: u32,
    counts: UsageCounts,
}

/// The chart's geometry, in SVG user units.
const LABEL_WIDTH: u32 = 170;
const BAR_SPACE: u32 = 400;
const ROW: u32 = 34;
const BAR_HEIGHT: u32 = 22;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Option<Nav>,
    name: String,
    report: UsageReport,
    bars: Vec<Bar>,
    chart_height: u32,
    summary: String,
}

fn label(batch_id: Option<i64>, prefix: Option<&str>) -> String {
    match (batch_id, prefix) {
        (Some(id), Some("")) => format!("Batch {id}"),
        (Some(id), Some(prefix)) => format!("Batch {id} ({prefix})"),
        (Some(id), None) => format!("Batch {id}"),
        (None, _) => "Added by hand".to_owned(),
    }
}

fn bars(report: &UsageReport) -> Vec<Bar> {
    let widest =
        report.batches.iter().map(|b| b.counts.uses_consumed.saturating_add(b.counts.uses_left)).max().unwrap_or(0);
    let scale = |n: i64| -> u32 {
        if widest <= 0 {
            return 0;
        }
        let share = (n as f64 / widest as f64 * f64::from(BAR_SPACE)).round();
        share.clamp(0.0, f64::from(BAR_SPACE)) as u32
    };
    report
        .batches
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let y = u32::try_from(i).unwrap_or(0) * ROW + 8;
            let used_width = scale(b.counts.uses_consumed);
            Bar {
                label: label(b.batch_id, b.prefix.as_deref()),
                x: LABEL_WIDTH,
                height: BAR_HEIGHT,
                y,
                text_y: y + 15,
                used_width,
                left_x: LABEL_WIDTH + used_width,
                left_width: scale(b.counts.uses_left),
                counts: b.counts.clone(),
            }
        })
        .collect()
}

/// The dashboard.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let report = checkout::usage_report(state.store.as_ref(), &conference.slug, &state.limits.guessing).await?;
    let bars = bars(&report);
    let summary = report
        .batches
        .iter()
        .map(|b| {
            let c = &b.counts;
            format!(
                "{}: {} issued, {} active, {} uses consumed, {} uses left.",
                label(b.batch_id, b.prefix.as_deref()),
                c.issued,
                c.active,
                c.uses_consumed,
                c.uses_left
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let chart_height = u32::try_from(bars.len()).unwrap_or(0) * ROW + 16;
    ok(&DashboardPage {
        nav: Some(Nav::new(&signed, Some(&conference))),
        name: conference.name.clone(),
        report,
        bars,
        chart_height,
        summary,
    })
}
