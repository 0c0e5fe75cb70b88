//! `vouchers-bench load`: checkout under load, through the real `vouchers serve` binary.
//!
//! For each database it builds the release binary, prepares a conference, a checkout token and
//! fresh single-use codes with the CLI, starts `serve`, and drives it with `wrk` (installed by
//! `scripts/load-deps.sh` when missing; the workload is `wrk.lua`): `check` (one code, one cart
//! line), `redeem` (distinct single-use codes, distinct orders) and a 90/10 mix, at several
//! connection counts. The floors are measured in the same run at the same connection counts:
//! `GET /healthz` (the HTTP stack alone), `GET /readyz` (one `SELECT 1` through it) and, on
//! PostgreSQL, `pgbench -S` and `pgbench -b simple-update`. Afterwards it checks that every
//! voucher's `times_used` equals its unreleased redemptions and that every redemption answered
//! 200 is stored, and reads `serve`'s peak RSS. On PostgreSQL a last run races two `serve`
//! instances over the same codes: each code is redeemed once, and nothing but 200/409/429 comes back.

mod pg;
mod report;
mod server;
mod webhooks;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;

pub use report::Run;
use server::{Deployment, Server};
use wrk::Workload;

/// Options of `vouchers-bench load`.
#[derive(Debug, ClapArgs)]
pub struct LoadArgs {
    /// A seconds-long smoke: one second per run, 16 connections only (CI runs this).
    #[arg(long)]
    quick: bool,
    /// Seconds per run.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Databases: sqlite, postgres or both.
    #[arg(long, value_delimiter = ',', default_values_t = ["sqlite".to_owned(), "postgres".to_owned()])]
    dbs: Vec<String>,
    /// Connection counts (default 1, 16, 32, 64; 16 with --quick).
    #[arg(long, value_delimiter = ',')]
    connections: Vec<u32>,
    /// PostgreSQL server; the run gets its own database there, dropped after.
    #[arg(long, env = "VOUCHERS_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Drive this `vouchers` binary instead of building this checkout's (e.g. an older release,
    /// to compare before and after on the same machine).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// A soak instead of the runs above: this many minutes of the 90/10 check/redeem mix at 16
    /// connections (or the first of --connections), printing the throughput of every minute and
    /// the SQLite write-ahead log's largest size; fails when the log passes 64 MiB or the last
    /// minute's throughput is under 80% of the first's.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=120))]
    soak_minutes: Option<u64>,
    /// A flood instead of the runs above: a legitimate client's checks (8 connections) before,
    /// during and after another token sends unknown codes from 50,000 distinct addresses (4
    /// connections, `serve --trust-forwarded-for`); fails when the legitimate throughput during
    /// or after falls under half of before. With --quick, one second per phase.
    #[arg(long)]
    flood: bool,
    /// An A/B instead of the runs above: redeem throughput at 16 connections (or the first of
    /// --connections) with one webhook subscription on every event against none, in turn, three
    /// rounds (one with --quick); fails when the median with it is under 90% of the median
    /// without, or when a redemption's event was not delivered exactly once.
    #[arg(long)]
    webhooks: bool,
}

/// The workspace's root (this crate lives in `crates/vouchers-bench`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the release `vouchers` binary next to this one and returns its path.
fn build_server_binary() -> Result<PathBuf> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--release", "--locked", "-q", "-p", "vouchers-cli"])
        .current_dir(workspace_root())
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p vouchers-cli failed");
    }
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("no directory")?.join("vouchers");
    if !bin.exists() {
        bail!("{} was not built", bin.display());
    }
    Ok(bin)
}

/// Installs `wrk` when it is missing (scripts/load-deps.sh).
fn ensure_wrk() -> Result<()> {
    let status = Command::new("bash")
        .arg(workspace_root().join("scripts/load-deps.sh"))
        .status()
        .context("running load-deps.sh")?;
    if !status.success() {
        bail!("wrk is not installed and scripts/load-deps.sh could not install it");
    }
    Ok(())
}

/// Runs the load benchmark and prints its report.
pub fn run(args: &LoadArgs) -> Result<()> {
    for db in &args.dbs {
        if db != "sqlite" && db != "postgres" {
            bail!("unknown database {db}: use sqlite or postgres");
        }
    }
    let duration = if args.quick { 1 } else { args.duration.max(1) };
    let connections = match (&args.connections[..], args.quick) {
        ([], true) => vec![16],
        ([], false) => vec![1, 16, 32, 64],
        (given, _) => given.to_vec(),
    };
    ensure_wrk()?;
    let bin = match &args.server_bin {
        Some(bin) => bin.clone(),
        None => build_server_binary()?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if let Some(minutes) = args.soak_minutes {
        return soak(&runtime, args, &bin, minutes, connections[0]);
    }
    if args.webhooks {
        let conns = args.connections.first().copied().unwrap_or(16);
        return webhooks_ab(&runtime, args, &bin, duration, conns);
    }
    if args.flood {
        return flood(&runtime, args, &bin, if args.quick { 1 } else { args.duration.max(1) });
    }

    let mut runs = Vec::new();
    let mut checks = Vec::new();
    for db in &args.dbs {
        eprintln!("[load] {db}: preparing");
        let deployment = runtime.block_on(Deployment::create(db, &bin, &args.postgres_url))?;
        let result = bench_database(&runtime, &deployment, &connections, duration, &mut runs, &mut checks);
        runtime.block_on(deployment.destroy())?;
        result?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report::json(&runs, &checks))?);
    } else {
        print!("{}", report::table(&runs, &checks));
    }
    let failed: Vec<_> = checks.iter().filter(|c| !c.ok).collect();
    if !failed.is_empty() {
        bail!("{} invariant check(s) failed", failed.len());
    }
    Ok(())
}

fn bench_database(
    runtime: &tokio::runtime::Runtime,
    deployment: &Deployment,
    connections: &[u32],
    duration: u64,
    runs: &mut Vec<Run>,
    checks: &mut Vec<report::Check>,
) -> Result<()> {
    let db = deployment.name();
    let check_codes = deployment.codes("CHK", 1_000, 1_000_000_000)?;
    let server = Server::start(deployment, "info")?;
    let mut record = |workload: &str, conns: u32, result: wrk::Measured| {
        eprintln!("[load] {db} {workload} c={conns}: {:.0}/s", result.throughput());
        runs.push(Run { database: db.to_owned(), workload: workload.to_owned(), connections: conns, result });
    };
    let (mut redeem_acknowledged, mut in_flight) = (0u64, 0u64);
    for &conns in connections {
        record("healthz", conns, wrk::run(&server, &Workload::get("/healthz"), conns, duration)?);
        record("readyz", conns, wrk::run(&server, &Workload::get("/readyz"), conns, duration)?);
        if let Some(floor) = deployment.pgbench_floors(conns, duration)? {
            for (name, measured) in floor {
                record(name, conns, measured);
            }
        }
        record("check", conns, wrk::run(&server, &Workload::check(deployment, &check_codes), conns, duration)?);
        if let Some(measured) = deployment.pgbench_check_query(&check_codes[0], conns, duration)? {
            record("pgbench check query", conns, measured);
        }
    }
    // Per-request logging, measured: the same check with the request log off.
    if let Some(&conns) = connections.iter().find(|&&c| c == 32).or(connections.last()) {
        let quiet = Server::start(deployment, "warn")?;
        record("check, log off", conns, wrk::run(&quiet, &Workload::check(deployment, &check_codes), conns, duration)?);
        quiet.stop()?;
    }
    for &conns in connections.iter().filter(|&&c| c != 32 || connections.len() == 1) {
        let codes = deployment.codes(&format!("R{conns}"), redeem_supply(duration), 1)?;
        let measured =
            wrk::run(&server, &Workload::redeem(deployment, &check_codes, &codes, "redeem", conns), conns, duration)?;
        redeem_acknowledged += measured.redeemed;
        in_flight += u64::from(conns);
        record("redeem", conns, measured);
        let codes = deployment.codes(&format!("M{conns}"), redeem_supply(duration) / 4, 1)?;
        let measured = wrk::run(&server, &Workload::mix(deployment, &check_codes, &codes, conns), conns, duration)?;
        redeem_acknowledged += measured.redeemed;
        in_flight += u64::from(conns);
        record("mix 90/10", conns, measured);
    }
    let peak_rss = server.peak_rss_kib();
    server.stop()?;
    checks.push(report::Check::peak_rss(db, peak_rss));
    checks.extend(runtime.block_on(deployment.invariants(redeem_acknowledged, in_flight))?);
    if deployment.is_postgres() {
        let conns = connections.iter().copied().find(|&c| c >= 16).unwrap_or(16);
        eprintln!("[load] {db}: two instances racing for the same codes");
        let (measured, race_checks) = two_instances(runtime, deployment, &check_codes, conns, duration)?;
        for (i, m) in measured.into_iter().enumerate() {
            record(&format!("redeem, 2 instances (#{})", i + 1), conns, m);
        }
        checks.extend(race_checks);
    }
    for run in runs.iter().filter(|r| r.database == db) {
        if run.result.s5xx > 0 || run.result.s4xx > 0 || run.result.socket_errors > 0 {
            checks
                .push(report::Check::failed(db, format!("{} c={}: unexpected errors", run.workload, run.connections)));
        }
    }
    Ok(())
}

/// Prints `checks`, one a line; fails when any failed.
fn print_checks(checks: &[report::Check], what: &str) -> Result<()> {
    for check in checks {
        println!("  [{}] {} {}: {}", if check.ok { "ok" } else { "FAIL" }, check.database, check.what, check.detail);
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        bail!("{failed} {what} check(s) failed");
    }
    Ok(())
}

/// The distinct client addresses of `--flood`.
const FLOOD_ADDRESSES: u32 = 50_000;

/// `--flood`: a legitimate client's checks before, during and after a flood of unknown codes from
/// [`FLOOD_ADDRESSES`] addresses under another token.
fn flood(runtime: &tokio::runtime::Runtime, args: &LoadArgs, bin: &Path, duration: u64) -> Result<()> {
    let mut checks = Vec::new();
    for db in &args.dbs {
        eprintln!("[flood] {db}: preparing");
        let deployment = runtime.block_on(Deployment::create(db, bin, &args.postgres_url))?;
        let result = (|| -> Result<()> {
            let check_codes = deployment.codes("CHK", 1_000, 1_000_000_000)?;
            let attacker = deployment.cli(&[
                "token",
                "create",
                "--scope",
                "checkout",
                "--conference",
                "load",
                "--format",
                "json",
            ])?;
            let attacker: serde_json::Value = serde_json::from_str(&attacker)?;
            let attacker = attacker["token"].as_str().context("no token in the answer")?.to_owned();
            let server = Server::start_with(&deployment, "warn", &["--trust-forwarded-for"])?;
            let legit = || wrk::run(&server, &Workload::check(&deployment, &check_codes), 8, duration);
            let before = legit()?;
            // The flood runs a little longer than the legitimate run inside it.
            let (flood, during) = std::thread::scope(|scope| {
                let flood =
                    scope.spawn(|| wrk::run(&server, &Workload::flood(&attacker, FLOOD_ADDRESSES), 4, duration + 2));
                std::thread::sleep(std::time::Duration::from_secs(1));
                let during = legit();
                (flood.join().expect("flood thread"), during)
            });
            let (flood, during) = (flood?, during?);
            let after = legit()?;
            let peak_rss = server.peak_rss_kib();
            server.stop()?;
            for (phase, m) in [("before", &before), ("during", &during), ("after", &after)] {
                println!(
                    "{db} legitimate checks {phase}: {:.0}/s, p99 {:.2} ms ({} 2xx, {} 429, {} 5xx)",
                    m.throughput(),
                    m.p99_us as f64 / 1000.0,
                    m.s2xx,
                    m.s429,
                    m.s5xx
                );
            }
            println!(
                "{db} flood: {:.0}/s from {FLOOD_ADDRESSES} addresses, {} answered 200, {} refused 429, {} 5xx",
                flood.throughput(),
                flood.s2xx,
                flood.s429,
                flood.s5xx
            );
            checks.push(report::Check::peak_rss(db, peak_rss));
            for (phase, m) in [("during", &during), ("after", &after)] {
                let ratio = m.throughput() / before.throughput();
                checks.push(report::Check::new(
                    db,
                    format!("legitimate throughput {phase} the flood at least half of before"),
                    ratio >= 0.5,
                    format!("{:.0}/s against {:.0}/s: {ratio:.2}", m.throughput(), before.throughput()),
                ));
            }
            let legit_refused: u64 = [&before, &during, &after].iter().map(|m| m.s429 + m.s4xx + m.s5xx).sum();
            checks.push(report::Check::new(
                db,
                "the legitimate client is never refused".to_owned(),
                legit_refused == 0,
                format!("{legit_refused} refused"),
            ));
            checks.push(report::Check::new(
                db,
                "the flood gets no 5xx".to_owned(),
                flood.s5xx == 0,
                flood.s5xx.to_string(),
            ));
            Ok(())
        })();
        runtime.block_on(deployment.destroy())?;
        result?;
    }
    print_checks(&checks, "flood")
}

/// The write-ahead log's bound the soak checks (the store truncates it past 16 MiB).
const SOAK_WAL_BOUND: u64 = 64 * 1024 * 1024;

/// `--soak-minutes`: minute after minute of the 90/10 mix on one `serve`, the write-ahead log's
/// size sampled every 100 ms.
fn soak(runtime: &tokio::runtime::Runtime, args: &LoadArgs, bin: &Path, minutes: u64, conns: u32) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let mut checks = Vec::new();
    for db in &args.dbs {
        eprintln!("[soak] {db}: preparing");
        let deployment = runtime.block_on(Deployment::create(db, bin, &args.postgres_url))?;
        let result = (|| -> Result<()> {
            let check_codes = deployment.codes("CHK", 1_000, 1_000_000_000)?;
            // At most about 1,000 redemptions a second are seen here; enough for each minute.
            let redeem_codes = deployment.codes("SOAK", 70_000 * minutes as usize, 1)?;
            let server = Server::start(&deployment, "warn")?;
            let wal = deployment.dir().join("load.db-wal");
            let (sampling, largest) = (AtomicBool::new(true), AtomicU64::new(0));
            let mut per_minute = Vec::new();
            let mut acknowledged = 0;
            std::thread::scope(|scope| -> Result<()> {
                scope.spawn(|| {
                    while sampling.load(Ordering::Relaxed) {
                        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                        largest.fetch_max(size, Ordering::Relaxed);
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                });
                let per = redeem_codes.len() / minutes as usize;
                for minute in 0..minutes as usize {
                    let codes = &redeem_codes[minute * per..(minute + 1) * per];
                    let workload = Workload::mix(&deployment, &check_codes, codes, conns);
                    let measured = wrk::run(&server, &workload, conns, 60);
                    let measured = match measured {
                        Ok(m) => m,
                        Err(e) => {
                            sampling.store(false, Ordering::Relaxed);
                            return Err(e);
                        }
                    };
                    acknowledged += measured.redeemed;
                    let wal_now = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                    println!(
                        "{db} minute {}: {:.0} requests/s, {} redeemed, {} 5xx; WAL now {:.1} MiB, largest so far {:.1} MiB",
                        minute + 1,
                        measured.throughput(),
                        measured.redeemed,
                        measured.s5xx,
                        wal_now as f64 / 1048576.0,
                        largest.load(Ordering::Relaxed) as f64 / 1048576.0
                    );
                    per_minute.push(measured);
                }
                sampling.store(false, Ordering::Relaxed);
                Ok(())
            })?;
            let peak_rss = server.peak_rss_kib();
            server.stop()?;
            checks.push(report::Check::peak_rss(db, peak_rss));
            if !deployment.is_postgres() {
                let largest = largest.load(Ordering::Relaxed);
                checks.push(report::Check::new(
                    db,
                    "the write-ahead log stays under 64 MiB".to_owned(),
                    largest < SOAK_WAL_BOUND,
                    format!("largest {:.1} MiB", largest as f64 / 1048576.0),
                ));
            }
            if let (Some(first), Some(last)) = (per_minute.first(), per_minute.last()) {
                let ratio = last.throughput() / first.throughput();
                checks.push(report::Check::new(
                    db,
                    "the last minute's throughput is at least 80% of the first's".to_owned(),
                    ratio >= 0.8,
                    format!("{:.0}/s then {:.0}/s: {ratio:.2}", first.throughput(), last.throughput()),
                ));
            }
            let errors: u64 = per_minute.iter().map(|m| m.s5xx + m.socket_errors).sum();
            checks.push(report::Check::new(db, "no 5xx, no socket error".to_owned(), errors == 0, errors.to_string()));
            checks.extend(runtime.block_on(deployment.invariants(acknowledged, u64::from(conns) * minutes))?);
            Ok(())
        })();
        runtime.block_on(deployment.destroy())?;
        result?;
    }
    print_checks(&checks, "soak")
}

/// `--webhooks`: see [`webhooks::ab`].
fn webhooks_ab(
    runtime: &tokio::runtime::Runtime,
    args: &LoadArgs,
    bin: &Path,
    duration: u64,
    conns: u32,
) -> Result<()> {
    let mut checks = Vec::new();
    let mut runs = Vec::new();
    for db in &args.dbs {
        eprintln!("[webhooks] {db}: preparing");
        let deployment = runtime.block_on(Deployment::create(db, bin, &args.postgres_url))?;
        let result = webhooks::ab(&deployment, if args.quick { 1 } else { 3 }, conns, duration, &mut runs);
        runtime.block_on(deployment.destroy())?;
        checks.extend(result?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    }
    print_checks(&checks, "webhooks")
}

/// Enough single-use codes for a redeem run of `duration` seconds (no run gets near 20,000/s).
fn redeem_supply(duration: u64) -> usize {
    (duration as usize * 20_000).max(5_000)
}

/// Two `serve` instances on one database, each sent every code of one list (with its own
/// orders): each code must be redeemed exactly once, and every other answer be 409 (used up).
fn two_instances(
    runtime: &tokio::runtime::Runtime,
    deployment: &Deployment,
    check_codes: &[String],
    conns: u32,
    duration: u64,
) -> Result<(Vec<wrk::Measured>, Vec<report::Check>)> {
    let codes = deployment.codes("TWO", redeem_supply(duration) / 2, 1)?;
    let servers = [Server::start(deployment, "info")?, Server::start(deployment, "info")?];
    let measured = std::thread::scope(|scope| {
        let handles: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(i, server)| {
                let workload = Workload::redeem(deployment, check_codes, &codes, &format!("two{i}"), conns / 2);
                scope.spawn(move || wrk::run(server, &workload, conns / 2, duration))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("wrk thread")).collect::<Result<Vec<_>>>()
    })?;
    let mut checks = Vec::new();
    for (i, server) in servers.into_iter().enumerate() {
        checks
            .push(report::Check::peak_rss(&format!("{} instance {}", deployment.name(), i + 1), server.peak_rss_kib()));
        server.stop()?;
    }
    let acknowledged: u64 = measured.iter().map(|m| m.redeemed).sum();
    checks.extend(runtime.block_on(deployment.race_invariants(acknowledged, u64::from(conns)))?);
    for m in &measured {
        let other = m.s4xx + m.s5xx + m.socket_errors;
        checks.push(report::Check::new(
            deployment.name(),
            "two instances: nothing but 200, 409 and 429".to_owned(),
            other == 0,
            format!("{} other answers", other),
        ));
    }
    Ok((measured, checks))
}
