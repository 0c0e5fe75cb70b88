//! One `wrk` run of a workload (`wrk.lua`), and what it measured.

use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::server::{Deployment, Server};

const SCRIPT: &str = include_str!("wrk.lua");

/// What a run measured. Latencies in microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Measured {
    pub requests: u64,
    pub duration_us: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub s2xx: u64,
    pub s409: u64,
    pub s429: u64,
    pub s4xx: u64,
    pub s5xx: u64,
    /// Redemptions answered 200.
    pub redeemed: u64,
    /// Redeems that had to reuse a code because the run outlasted its supply.
    pub reused: u64,
    pub socket_errors: u64,
}

impl Measured {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / (self.duration_us.max(1) as f64 / 1e6)
    }

    /// Reads pgbench's summary: its tps, and its average latency as p50 (pgbench gives no
    /// percentiles without per-transaction logs).
    pub fn from_pgbench(out: &str) -> Result<Self> {
        let number = |prefix: &str| -> Result<f64> {
            let line =
                out.lines().find(|l| l.starts_with(prefix)).with_context(|| format!("no {prefix:?} in {out}"))?;
            let value = line.trim_start_matches(prefix).split_whitespace().next().unwrap_or_default();
            value.parse().with_context(|| format!("{prefix:?} {value:?}"))
        };
        let tps = number("tps = ")?;
        let latency_ms = number("latency average = ")?;
        let processed = number("number of transactions actually processed: ")?;
        Ok(Self {
            requests: processed as u64,
            duration_us: (processed / tps * 1e6) as u64,
            p50_us: (latency_ms * 1000.0) as u64,
            s2xx: processed as u64,
            ..Self::default()
        })
    }
}

/// What to send.
pub struct Workload {
    env: Vec<(&'static str, String)>,
    _files: Vec<tempfile::NamedTempFile>,
}

impl Workload {
    pub fn get(path: &str) -> Self {
        Self { env: vec![("LOAD_MODE", "get".to_owned()), ("LOAD_PATH", path.to_owned())], _files: Vec::new() }
    }

    pub fn check(deployment: &Deployment, codes: &[String]) -> Self {
        Self::with_codes(deployment, "check", codes, &[], "check")
    }

    pub fn redeem(deployment: &Deployment, check: &[String], redeem: &[String], run: &str, conns: u32) -> Self {
        Self::with_codes(deployment, "redeem", check, redeem, &format!("{run}-c{conns}"))
    }

    pub fn mix(deployment: &Deployment, check: &[String], redeem: &[String], conns: u32) -> Self {
        Self::with_codes(deployment, "mix", check, redeem, &format!("mix-c{conns}"))
    }

    /// Unknown codes sent with `token` from `addresses` distinct client addresses in turn.
    pub fn flood(token: &str, addresses: u32) -> Self {
        let env = vec![
            ("LOAD_MODE", "flood".to_owned()),
            ("LOAD_TOKEN", token.to_owned()),
            ("LOAD_CONF", "load".to_owned()),
            ("LOAD_ADDRESSES", addresses.to_string()),
            ("LOAD_RUN", "flood".to_owned()),
        ];
        Self { env, _files: Vec::new() }
    }

    fn with_codes(deployment: &Deployment, mode: &str, check: &[String], redeem: &[String], run: &str) -> Self {
        let write = |codes: &[String]| {
            let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
            std::io::Write::write_all(&mut file, codes.join("\n").as_bytes()).expect("writing codes");
            file
        };
        let (check, redeem) = (write(check), write(redeem));
        let env = vec![
            ("LOAD_MODE", mode.to_owned()),
            ("LOAD_TOKEN", deployment.token.clone()),
            ("LOAD_CONF", "load".to_owned()),
            ("LOAD_CHECK", check.path().display().to_string()),
            ("LOAD_REDEEM", redeem.path().display().to_string()),
            ("LOAD_RUN", run.to_owned()),
        ];
        Self { env, _files: vec![check, redeem] }
    }
}

/// Runs `wrk` against `server` for `duration` seconds with `conns` connections.
pub fn run(server: &Server, workload: &Workload, conns: u32, duration: u64) -> Result<Measured> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("load.lua");
    std::fs::write(&script, SCRIPT)?;
    let threads = conns.clamp(1, 2);
    let output = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{conns}"))
        .arg(format!("-d{duration}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{}", server.addr))
        .envs(workload.env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("LOAD_THREADS", threads.to_string())
        .output()
        .context("running wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed: {}{}", stdout, String::from_utf8_lossy(&output.stderr));
    }
    let line =
        stdout.lines().rev().find(|l| l.starts_with('{')).with_context(|| format!("no result from wrk: {stdout}"))?;
    Ok(serde_json::from_str(line)?)
}
