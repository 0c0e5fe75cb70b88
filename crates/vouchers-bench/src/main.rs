//! `vouchers-bench`: times `generate_voucher_codes` in process, on SQLite and PostgreSQL, next to
//! a hand-written floor and (with `--compare-django RUN_SH`) the Django `voucher_service` module
//! whose rules it implements, timed by that module's own harness.
//!
//! Each (database, case) runs in a fresh child process of this binary, so its peak RSS belongs to
//! that case alone. The parent prints a table (or JSON with `--json`).

mod cases;
mod db;
mod django;
mod load;
mod pages;
mod report;

use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Parser;

use cases::{CaseResult, CASES};

/// Benchmark of bulk voucher generation (and, with `load`, of checkout under load).
#[derive(Debug, Parser)]
#[command(name = "vouchers-bench")]
struct Args {
    #[command(subcommand)]
    command: Option<Mode>,
    /// A few repetitions of the small cases only (CI runs this so the benchmark cannot rot).
    #[arg(long)]
    quick: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also run the Django `voucher_service` harness at this path (its `run.sh`) in the same run
    /// and print the ratio Django/ours per case.
    #[arg(long, value_name = "RUN_SH")]
    compare_django: Option<String>,
    /// Databases: sqlite, postgres or both.
    #[arg(long, value_delimiter = ',', default_values_t = ["sqlite".to_owned(), "postgres".to_owned()])]
    dbs: Vec<String>,
    /// Cases to run (default: all, or the small ones with --quick).
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Timed repetitions per case, after one untimed warm-up (large cases: 3).
    #[arg(long, default_value_t = 15)]
    reps: usize,
    /// PostgreSQL server; each case gets its own database there, dropped after.
    #[arg(long, env = "VOUCHERS_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// Internal: run one case in this process and print its result as JSON.
    #[arg(long, hide = true)]
    child: Option<String>,
}

/// The other benchmark.
#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// Checkout under load: `serve` driven by wrk on each database, next to its floors.
    Load(load::LoadArgs),
    /// Each console page's time on the server, with 100,000 vouchers and 50,000 redemptions.
    Pages(pages::PagesArgs),
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(Mode::Load(load_args)) = &args.command {
        return load::run(load_args);
    }
    if let Some(Mode::Pages(pages_args)) = &args.command {
        return pages::run(pages_args);
    }
    if let Some(spec) = &args.child {
        let (db, case) = spec.split_once(':').context("--child DB:CASE")?;
        let reps = if args.quick { args.reps.min(3) } else { args.reps };
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let result = runtime.block_on(cases::run_case(db, case, reps, &args.postgres_url))?;
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }

    let selected: Vec<&'static str> = if args.cases.is_empty() {
        CASES.iter().filter(|c| !args.quick || c.small).map(|c| c.name).collect()
    } else {
        args.cases
            .iter()
            .map(|name| CASES.iter().find(|c| c.name == name).map(|c| c.name).context(format!("unknown case {name}")))
            .collect::<Result<_>>()?
    };
    for db in &args.dbs {
        if db != "sqlite" && db != "postgres" {
            bail!("unknown database {db}: use sqlite or postgres");
        }
    }

    let mut results: Vec<CaseResult> = Vec::new();
    let exe = std::env::current_exe()?;
    for db in &args.dbs {
        for case in &selected {
            eprintln!("[bench] {db} {case} ...");
            let mut child = Command::new(&exe);
            child.arg("--child").arg(format!("{db}:{case}")).arg("--reps").arg(args.reps.to_string());
            child.arg("--postgres-url").arg(&args.postgres_url);
            if args.quick {
                child.arg("--quick");
            }
            let output = child.output().context("running a benchmark case")?;
            if !output.status.success() {
                bail!("{db} {case} failed: {}", String::from_utf8_lossy(&output.stderr));
            }
            results.push(serde_json::from_slice(&output.stdout).context("reading a case's result")?);
        }
    }

    let django = match &args.compare_django {
        Some(harness) => {
            let dbs: Vec<&str> = args.dbs.iter().map(String::as_str).collect();
            Some(django::run(harness, &dbs, args.reps)?)
        }
        None => None,
    };

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report::json(&results, django.as_ref()))?);
    } else {
        print!("{}", report::table(&results, django.as_ref()));
    }
    Ok(())
}
