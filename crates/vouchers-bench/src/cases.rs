//! The cases, the fixtures they need, and the floor they are compared with.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use rand::Rng;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use vouchers_core::domain::{Applies, Conference, NewAddOn, NewConference, NewTicketType, Voucher, VoucherType};
use vouchers_core::service::catalog;
use vouchers_core::{
    generate_voucher_codes, generate_voucher_codes_with, GenerateOptions, Limits, Store, VoucherBulkConfig,
};

use crate::db::BenchDb;

/// One benchmark case.
pub struct CaseSpec {
    pub name: &'static str,
    /// Codes per call.
    pub count: usize,
    /// 3 ticket types + 2 add-ons, or no restrictions.
    pub m2m: bool,
    /// `SPEAKER-` vouchers already in the conference.
    pub existing: usize,
    /// Part of `--quick`.
    pub small: bool,
    /// Readable alphabet with a check character (else the alnum format); same length, 8.
    pub readable_check: bool,
}

impl CaseSpec {
    fn large(&self) -> bool {
        self.count > 10_000
    }
}

pub const CASES: &[CaseSpec] = &[
    CaseSpec { name: "m2m_500", count: 500, m2m: true, existing: 0, small: true, readable_check: false },
    CaseSpec { name: "m2m_500_readable_check", count: 500, m2m: true, existing: 0, small: true, readable_check: true },
    CaseSpec { name: "m2m_1", count: 1, m2m: true, existing: 0, small: true, readable_check: false },
    CaseSpec { name: "nom2m_500", count: 500, m2m: false, existing: 0, small: true, readable_check: false },
    CaseSpec {
        name: "m2m_500_existing100k",
        count: 500,
        m2m: true,
        existing: 100_000,
        small: false,
        readable_check: false,
    },
    CaseSpec {
        name: "m2m_500_existing1m",
        count: 500,
        m2m: true,
        existing: 1_000_000,
        small: false,
        readable_check: false,
    },
    CaseSpec { name: "large_100k", count: 100_000, m2m: true, existing: 0, small: false, readable_check: false },
    CaseSpec { name: "large_1m", count: 1_000_000, m2m: true, existing: 0, small: false, readable_check: false },
];

const PREFIX: &str = "SPEAKER-";
const TICKET_TYPES: [&str; 3] = ["individual", "corporate", "student"];
const ADDONS: [&str; 2] = ["tutorial", "tshirt"];
/// Large cases are long; three timed runs, no warm-up, are enough to see their spread.
const LARGE_REPS: usize = 3;

/// Milliseconds over the timed repetitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Stats {
    fn of(times: &[Duration]) -> Self {
        let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let median = if ms.len() % 2 == 1 { ms[ms.len() / 2] } else { (ms[ms.len() / 2 - 1] + ms[ms.len() / 2]) / 2.0 };
        Self { min: ms[0], median, max: ms[ms.len() - 1] }
    }
}

/// What one (database, case) measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub db: String,
    pub case: String,
    pub count: usize,
    pub existing: usize,
    pub reps: usize,
    /// `generate_voucher_codes`, in process.
    pub ms: Stats,
    /// The same rows written by plain multi-row INSERTs of pre-made codes, one transaction.
    pub floor_ms: Stats,
    /// Peak RSS of the process before the first call (after setup and seeding).
    pub rss_before_mib: f64,
    /// Peak RSS after the product's calls (before the floor runs).
    pub peak_rss_mib: f64,
}

/// The process's peak resident set size (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A conference with 3 ticket types and 2 add-ons, created through the product (untimed).
async fn fixture(store: &dyn Store, slug: &str) -> Result<Conference> {
    let new = NewConference::parse(slug, "Bench Conf", "2027-05-14", "2027-05-22", "America/New_York")?;
    let conference = catalog::create_conference(store, &new).await?;
    for t in TICKET_TYPES {
        catalog::create_ticket_type(store, slug, &NewTicketType::parse(t, t, "100.00", false)?).await?;
    }
    for a in ADDONS {
        catalog::create_addon(store, slug, &NewAddOn::parse(a, a, "25.00")?).await?;
    }
    Ok(conference)
}

fn config(conference: &str, spec: &CaseSpec) -> VoucherBulkConfig {
    let mut config = VoucherBulkConfig::new(
        conference,
        PREFIX,
        i64::try_from(spec.count).unwrap_or(i64::MAX),
        VoucherType::Percentage,
        Decimal::new(2500, 2),
    );
    // The benchmark measures speed: a million codes behind one prefix would be refused as too
    // guessable at the default limit (about 196 days), so the figure is computed but not enforced.
    config.allow_weak_codes = true;
    if spec.readable_check {
        config.alphabet = vouchers_core::domain::Alphabet::Readable;
        config.check_char = true;
    }
    if spec.m2m {
        config.terms.applicable_ticket_types = Applies::these(TICKET_TYPES.iter().map(|s| s.to_string()).collect());
        config.terms.applicable_addons = Applies::these(ADDONS.iter().map(|s| s.to_string()).collect());
    }
    config
}

/// Runs one case in this process.
pub async fn run_case(db: &str, case: &str, reps: usize, postgres_url: &str) -> Result<CaseResult> {
    let spec = CASES.iter().find(|c| c.name == case).context("unknown case")?;
    let bench = BenchDb::open(db, postgres_url).await?;
    let store = bench.store();
    let limits = Limits { max_batch: Limits::DEFAULT_MAX_BATCH.max(spec.count as i64), ..Limits::default() };
    let (reps, warmups) = if spec.large() { (reps.min(LARGE_REPS), 0) } else { (reps, 1) };
    let out_dir = tempfile::tempdir()?;

    let shared = if spec.existing > 0 {
        let conference = fixture(store, "existing").await?;
        bench.seed(conference.id, spec.existing).await?;
        Some(conference)
    } else {
        None
    };

    let rss_before = peak_rss_mib();
    let mut times = Vec::with_capacity(reps);
    for rep in 0..reps + warmups {
        let conference = match &shared {
            Some(c) => c.clone(),
            None => fixture(store, &format!("bench-{rep}")).await?,
        };
        let config = config(&conference.slug, spec);
        let start = Instant::now();
        let (batch_id, created) = if spec.large() {
            // A caller who asks for a million codes wants them in a file: stream them there.
            let file = std::fs::File::create(out_dir.path().join("codes.csv"))?;
            let mut out = std::io::BufWriter::new(file);
            let mut created = 0usize;
            let mut sink = |chunk: &[Voucher]| {
                created += chunk.len();
                for v in chunk {
                    writeln!(out, "{}", v.code)?;
                }
                Ok(())
            };
            let options = GenerateOptions { sink: Some(&mut sink), ..GenerateOptions::default() };
            let batch = generate_voucher_codes_with(store, &limits, &config, options).await?.generated.batch;
            out.flush()?;
            (batch.id, created)
        } else {
            let generated = generate_voucher_codes(store, &limits, &config).await?;
            (generated.batch.id, generated.vouchers.len())
        };
        let elapsed = start.elapsed();
        ensure!(created == spec.count, "created {created} of {}", spec.count);
        if rep >= warmups {
            times.push(elapsed);
        }
        if shared.is_some() || spec.large() {
            bench.delete_batch(batch_id).await?;
        }
    }
    let peak = peak_rss_mib();

    let mut floor_times = Vec::with_capacity(reps);
    for rep in 0..reps + warmups {
        let conference = match &shared {
            Some(c) => c.clone(),
            None => fixture(store, &format!("floor-{rep}")).await?,
        };
        let codes = random_codes(spec.count);
        let start = Instant::now();
        let batch_id = bench.floor_insert(&conference, spec, &codes).await?;
        let elapsed = start.elapsed();
        if rep >= warmups {
            floor_times.push(elapsed);
        }
        if shared.is_some() || spec.large() {
            bench.delete_batch(batch_id).await?;
        }
    }

    let result = CaseResult {
        db: db.to_owned(),
        case: case.to_owned(),
        count: spec.count,
        existing: spec.existing,
        reps,
        ms: Stats::of(&times),
        floor_ms: Stats::of(&floor_times),
        rss_before_mib: rss_before,
        peak_rss_mib: peak,
    };
    bench.close().await?;
    Ok(result)
}

/// Pre-made codes for the floor (not the product's generator: the floor does no generation).
fn random_codes(n: usize) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let mut seen = std::collections::HashSet::with_capacity(n);
    while seen.len() < n {
        let suffix: String = (0..8).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect();
        seen.insert(format!("FLOOR-{suffix}"));
    }
    seen.into_iter().collect()
}
