//! The load run's report: one row per run, the ratios the targets are written in, and the checks.

use std::fmt::Write;

use serde::Serialize;

use super::wrk::Measured;

/// One workload at one connection count.
#[derive(Debug, Serialize)]
pub struct Run {
    pub database: String,
    pub workload: String,
    pub connections: u32,
    pub result: Measured,
}

/// A correctness check made after the runs.
#[derive(Debug, Serialize)]
pub struct Check {
    pub database: String,
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn new(database: &str, what: String, ok: bool, detail: String) -> Self {
        Self { database: database.to_owned(), what, ok, detail }
    }

    pub fn failed(database: &str, what: String) -> Self {
        Self::new(database, what, false, String::new())
    }

    /// `serve`'s peak RSS stays under 100 MiB.
    pub fn peak_rss(database: &str, kib: Option<u64>) -> Self {
        match kib {
            Some(kib) => Self::new(
                database,
                "serve's peak RSS under 100 MiB".to_owned(),
                kib < 100 * 1024,
                format!("{:.1} MiB", kib as f64 / 1024.0),
            ),
            None => Self::failed(database, "serve's peak RSS could not be read".to_owned()),
        }
    }
}

fn find<'a>(runs: &'a [Run], db: &str, workload: &str, conns: u32) -> Option<&'a Measured> {
    runs.iter().find(|r| r.database == db && r.workload == workload && r.connections == conns).map(|r| &r.result)
}

/// `(label, value, target)` for every ratio the targets name that this run measured.
fn ratios(runs: &[Run]) -> Vec<(String, f64, &'static str)> {
    let mut out = Vec::new();
    let mut ratio = |label: String, a: Option<&Measured>, b: Option<&Measured>, target: &'static str| {
        if let (Some(a), Some(b)) = (a, b) {
            out.push((label, a.throughput() / b.throughput(), target));
        }
    };
    let conns_of = |db: &str, workload: &str, preferred: u32| {
        let has = |c: u32| find(runs, db, workload, c).is_some();
        if has(preferred) {
            Some(preferred)
        } else {
            runs.iter().find(|r| r.database == db && r.workload == workload).map(|r| r.connections)
        }
    };
    if let Some(c) = conns_of("postgres", "check", 32) {
        ratio(
            format!("postgres check / readyz, c={c}"),
            find(runs, "postgres", "check", c),
            find(runs, "postgres", "readyz", c),
            ">= 0.6",
        );
    }
    if let Some(c) = conns_of("postgres", "check", 32) {
        ratio(
            format!("postgres check / pgbench check query, c={c}"),
            find(runs, "postgres", "check", c),
            find(runs, "postgres", "pgbench check query", c),
            "(context)",
        );
    }
    if let Some(c) = conns_of("postgres", "redeem", 16) {
        ratio(
            format!("postgres redeem / pgbench simple-update, c={c}"),
            find(runs, "postgres", "redeem", c),
            find(runs, "postgres", "pgbench simple-update", c),
            ">= 0.5",
        );
    }
    if let Some(c) = conns_of("sqlite", "check", 32) {
        ratio(
            format!("sqlite check / healthz, c={c}"),
            find(runs, "sqlite", "check", c),
            find(runs, "sqlite", "healthz", c),
            ">= 0.4",
        );
    }
    if let Some(c) = conns_of("sqlite", "redeem", 16) {
        ratio(
            format!("sqlite redeem / healthz, c={c}"),
            find(runs, "sqlite", "redeem", c),
            find(runs, "sqlite", "healthz", c),
            ">= 0.12",
        );
    }
    out
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

pub fn table(runs: &[Run], checks: &[Check]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<9} {:<26} {:>5} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9}",
        "database", "workload", "conns", "req/s", "p50 ms", "p99 ms", "max ms", "p99/p50", "non-2xx"
    );
    for run in runs {
        let m = &run.result;
        let tail =
            if m.p99_us > 0 { format!("{:.1}", m.p99_us as f64 / m.p50_us.max(1) as f64) } else { "-".to_owned() };
        let (p99, max) = if m.p99_us > 0 {
            (format!("{:.2}", ms(m.p99_us)), format!("{:.1}", ms(m.max_us)))
        } else {
            ("-".into(), "-".into())
        };
        let non_2xx = m.s409 + m.s429 + m.s4xx + m.s5xx + m.socket_errors;
        let _ = writeln!(
            out,
            "{:<9} {:<26} {:>5} {:>9.0} {:>8.2} {:>8} {:>8} {:>7} {:>9}",
            run.database,
            run.workload,
            run.connections,
            m.throughput(),
            ms(m.p50_us),
            p99,
            max,
            tail,
            non_2xx
        );
    }
    let ratios = ratios(runs);
    if !ratios.is_empty() {
        let _ = writeln!(out, "\nratios (same run)");
        for (label, value, target) in ratios {
            let _ = writeln!(out, "  {label:<48} {value:>6.2}   target {target}");
        }
    }
    let _ = writeln!(out, "\nchecks");
    for check in checks {
        let _ = writeln!(
            out,
            "  [{}] {} {}: {}",
            if check.ok { "ok" } else { "FAIL" },
            check.database,
            check.what,
            check.detail
        );
    }
    let _ = writeln!(out, "\npgbench rows: p50 is pgbench's average latency (it reports no percentiles).");
    out
}

pub fn json(runs: &[Run], checks: &[Check]) -> serde_json::Value {
    let ratios: Vec<_> = ratios(runs)
        .into_iter()
        .map(|(label, value, target)| serde_json::json!({"ratio": label, "value": value, "target": target}))
        .collect();
    serde_json::json!({"runs": runs, "ratios": ratios, "checks": checks})
}
