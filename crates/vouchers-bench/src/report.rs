//! The table and the JSON the benchmark prints.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::cases::CaseResult;
use crate::django::Django;

fn db_name(db: &str) -> &str {
    if db == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    }
}

/// A Markdown table: ours (min / median / max), peak RSS and how much the calls added to it
/// (over the peak after setup and seeding), the floor, the Django module.
pub fn table(results: &[CaseResult], django: Option<&Django>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| db | case | reps | min ms | median ms | max ms | peak RSS MiB | RSS growth MiB | floor median ms | ours/floor | Django median ms | Django/ours |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let orig = django.and_then(|o| o.get(&(r.db.clone(), r.case.clone())));
        let (orig_median, ratio) = match orig {
            Some(o) => (format!("{:.1}", o.median_ms), format!("{:.1}x", o.median_ms / r.ms.median)),
            None => ("-".to_owned(), "-".to_owned()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.2} | {:.2} | {} | {} |",
            db_name(&r.db),
            r.case,
            r.reps,
            r.ms.min,
            r.ms.median,
            r.ms.max,
            r.peak_rss_mib,
            r.peak_rss_mib - r.rss_before_mib,
            r.floor_ms.median,
            r.ms.median / r.floor_ms.median,
            orig_median,
            ratio
        );
    }
    // The cost of a readable format with a check character, next to the alnum format's, measured side by
    // side in this run.
    for r in results.iter().filter(|r| r.case == "m2m_500_readable_check") {
        if let Some(seed) = results.iter().find(|s| s.db == r.db && s.case == "m2m_500") {
            let _ = writeln!(
                out,
                "\n{}: m2m_500_readable_check / m2m_500 median = {:.3}",
                db_name(&r.db),
                r.ms.median / seed.ms.median
            );
        }
    }
    out
}

/// The same as JSON: one object per result, with the Django module's figures where measured.
pub fn json(results: &[CaseResult], django: Option<&Django>) -> Value {
    let rows: Vec<Value> = results
        .iter()
        .map(|r| {
            let orig = django.and_then(|o| o.get(&(r.db.clone(), r.case.clone())));
            json!({
                "db": r.db,
                "case": r.case,
                "count": r.count,
                "existing": r.existing,
                "reps": r.reps,
                "ms": r.ms,
                "floor_ms": r.floor_ms,
                "ours_over_floor": r.ms.median / r.floor_ms.median,
                "rss_before_mib": r.rss_before_mib,
                "peak_rss_mib": r.peak_rss_mib,
                "django": orig,
                "django_over_ours": orig.map(|o| o.median_ms / r.ms.median),
            })
        })
        .collect();
    json!({ "results": rows })
}
