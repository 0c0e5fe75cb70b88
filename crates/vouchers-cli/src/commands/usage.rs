//! `vouchers usage`: an organizer's report of uses per batch, per prefix and in total. JSON
//! output is the same JSON the HTTP API answers.

use clap::Args;
use vouchers_core::domain::{Guessing, GuessingPolicy};
use vouchers_core::service::checkout::{self, UsageCounts};
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `usage`.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
}

/// Prints the report: one row per batch, one per prefix of several batches, then the total.
pub async fn run(store: &dyn Store, args: UsageArgs, policy: &GuessingPolicy, format: Format) -> Result<(), CliError> {
    let report = checkout::usage_report(store, &args.conference, policy).await?;
    if format == Format::Json {
        return output::json(&report);
    }
    let counts = |c: &UsageCounts| {
        vec![
            c.issued.to_string(),
            c.active.to_string(),
            c.fully_used.to_string(),
            c.uses_consumed.to_string(),
            c.uses_left.to_string(),
            c.uses_held.to_string(),
        ]
    };
    let header = [
        "batch",
        "prefix",
        "format",
        "issued",
        "active",
        "fully_used",
        "uses_consumed",
        "uses_left",
        "uses_held",
        "guessing",
    ];
    let mut rows: Vec<Vec<String>> = report
        .batches
        .iter()
        .map(|b| {
            let mut row = vec![
                b.batch_id.map_or_else(|| "by hand".to_owned(), |id| id.to_string()),
                b.prefix.clone().unwrap_or_else(|| "-".to_owned()),
                b.format.map_or_else(|| "chosen codes".to_owned(), |f| f.describe()),
            ];
            row.extend(counts(&b.counts));
            row.push(b.guessing.as_ref().map_or_else(String::new, guessing_cell));
            row
        })
        .collect();
    // A prefix's total only where it adds something: over two or more batches (the vouchers
    // added by hand are one row already, and a prefix of one batch is that batch's row).
    for p in report.prefixes.iter().filter(|p| p.batches > 1) {
        let label = format!("prefix total ({} batches)", p.batches);
        let mut row = vec![label, p.prefix.clone().unwrap_or_else(|| "-".to_owned()), String::new()];
        row.extend(counts(&p.counts));
        row.push(String::new());
        rows.push(row);
    }
    let mut total = vec!["total".to_owned(), String::new(), String::new()];
    total.extend(counts(&report.total));
    total.push(String::new());
    rows.push(total);
    if format == Format::Csv {
        return output::csv(&header, &rows);
    }
    Ok(output::table(&header, &rows)?)
}

/// A batch's guessing figure in a cell: `1 in 5.6e9 per guess; about 107 years` (`WEAK` in
/// front when it is under the floor).
fn guessing_cell(g: &Guessing) -> String {
    let odds = if g.chance_per_guess > 0.0 { format!("1 in {:.1e}", 1.0 / g.chance_per_guess) } else { "none".into() };
    let weak = if g.weak { "WEAK: " } else { "" };
    format!("{weak}{odds} per guess; {}", g.expected)
}
