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

/// One bar of the chart: a batch's label, and under it its uses consumed (dark) and left
/// (light), scaled to the widest.
struct Bar {
    label: String,
    height: u32,
    y: u32,
    text_y: u32,
    used_width: u32,
    left_width: u32,
    counts: UsageCounts,
}

/// The chart's geometry, in SVG user units: 400 wide, shown at most 400 pixels wide, so that
/// its labels (above their bars, never beside them) read at the page's size on a laptop and
/// barely smaller on a phone.
const BAR_SPACE: u32 = 400;
const ROW: u32 = 46;
const LABEL_HEIGHT: u32 = 16;
const BAR_HEIGHT: u32 = 20;

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
            let top = u32::try_from(i).unwrap_or(0) * ROW;
            Bar {
                label: label(b.batch_id, b.prefix.as_deref()),
                height: BAR_HEIGHT,
                y: top + LABEL_HEIGHT + 2,
                text_y: top + LABEL_HEIGHT - 3,
                used_width: scale(b.counts.uses_consumed),
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
    let chart_height = u32::try_from(bars.len()).unwrap_or(0) * ROW;
    ok(&DashboardPage {
        nav: Some(Nav::new(&signed, Some(&conference))),
        name: conference.name.clone(),
        report,
        bars,
        chart_height,
        summary,
    })
}
