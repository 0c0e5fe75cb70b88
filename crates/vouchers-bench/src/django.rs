//! Runs the Django `voucher_service` harness (its `run.sh`, given by `--compare-django`) in the
//! same run, for side-by-side medians.

use std::collections::HashMap;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// The cases the Django harness knows.
const DJANGO_CASES: &str = "m2m_500,m2m_1,nom2m_500,m2m_500_existing100k";

/// One row of the harness's `table`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct DjangoRow {
    pub db: String,
    pub case: String,
    pub min_ms: f64,
    pub median_ms: f64,
    pub max_ms: f64,
    pub maxrss_mib: f64,
}

#[derive(Debug, Deserialize)]
struct HarnessOutput {
    table: Vec<DjangoRow>,
}

/// The Django harness's rows, by (db, case).
pub type Django = HashMap<(String, String), DjangoRow>;

pub fn run(harness: &str, dbs: &[&str], reps: usize) -> Result<Django> {
    eprintln!("[bench] running the Django harness {harness} (builds its venv on first use) ...");
    let output = Command::new("bash")
        .arg(harness)
        .args(["--reps", &reps.to_string(), "--dbs", &dbs.join(","), "--cases", DJANGO_CASES])
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {harness}"))?;
    if !output.status.success() {
        bail!("the Django harness failed ({})", output.status);
    }
    let parsed: HarnessOutput = serde_json::from_slice(&output.stdout).context("reading the harness's JSON")?;
    Ok(parsed.table.into_iter().map(|row| ((row.db.clone(), row.case.clone()), row)).collect())
}
