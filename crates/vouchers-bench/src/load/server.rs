//! The database under test and the `serve` processes in front of it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

// The guard the vouchers-cli tests use for their processes: one file, shared.
#[path = "../../../vouchers-cli/tests/common/child.rs"]
mod child;

use child::KillOnDrop;

/// One database prepared for the load: a conference `load` with a ticket type `standard`, and a
/// checkout token. SQLite lives in a temporary folder; PostgreSQL in a database of its own on the
/// given server, dropped by [`Deployment::destroy`].
pub struct Deployment {
    name: &'static str,
    bin: PathBuf,
    url: String,
    /// The server URL and the database created there (PostgreSQL only).
    pg: Option<(String, String)>,
    dir: tempfile::TempDir,
    pub(super) token: String,
}

impl Deployment {
    pub async fn create(db: &str, bin: &Path, postgres_url: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let (name, url, pg) = if db == "postgres" {
            let database = format!("vouchers_load_{}", std::process::id());
            super::pg::create_database(postgres_url, &database).await?;
            let url = super::pg::with_database(postgres_url, &database)?;
            ("postgres", url, Some((postgres_url.to_owned(), database)))
        } else {
            ("sqlite", format!("sqlite://{}", dir.path().join("load.db").display()), None)
        };
        let mut deployment = Self { name, bin: bin.to_owned(), url, pg, dir, token: String::new() };
        deployment.cli(&[
            "conference",
            "create",
            "--slug",
            "load",
            "--name",
            "Load test",
            "--start-date",
            "2030-01-01",
            "--end-date",
            "2030-01-03",
            "--timezone",
            "UTC",
        ])?;
        deployment.cli(&[
            "ticket-type",
            "create",
            "--conference",
            "load",
            "--slug",
            "standard",
            "--name",
            "Standard",
            "--price",
            "100",
        ])?;
        let token =
            deployment.cli(&["token", "create", "--scope", "checkout", "--conference", "load", "--format", "json"])?;
        let token: serde_json::Value = serde_json::from_str(&token)?;
        deployment.token = token["token"].as_str().context("no token in the answer")?.to_owned();
        Ok(deployment)
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the CLI on this database and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let output = Command::new(&self.bin)
            .args(args)
            .env("VOUCHERS_DATABASE_URL", &self.url)
            .env("VOUCHERS_MAX_BATCH", "1000000")
            .output()
            .context("running vouchers")?;
        if !output.status.success() {
            bail!("vouchers {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?)
    }

    /// Generates `count` codes with prefix `prefix` (25% off, `max_uses` uses each).
    pub fn codes(&self, prefix: &str, count: usize, max_uses: u32) -> Result<Vec<String>> {
        let csv = self.cli(&[
            "generate",
            "--conference",
            "load",
            "--prefix",
            prefix,
            "--count",
            &count.to_string(),
            "--type",
            "percentage",
            "--discount",
            "25",
            "--max-uses",
            &max_uses.to_string(),
            "--format",
            "csv",
            // Load data, not codes to hand out: a large batch is as guessable as it must be.
            "--allow-weak-codes",
        ])?;
        let codes: Vec<String> =
            csv.lines().skip(1).filter_map(|line| line.split(',').nth(2)).map(str::to_owned).collect();
        if codes.len() != count {
            bail!("asked for {count} codes, got {}", codes.len());
        }
        Ok(codes)
    }

    /// `pgbench` running the checkout's own query for `code` at `clients` (PostgreSQL only).
    pub fn pgbench_check_query(&self, code: &str, clients: u32, duration: u64) -> Result<Option<super::wrk::Measured>> {
        if self.pg.is_none() {
            return Ok(None);
        }
        let hash = vouchers_core::service::tokens::token_hash(&self.token);
        Ok(Some(super::pg::pgbench_check_query(&self.url, &hash, code, clients, duration)?))
    }

    /// `pgbench -S` and `pgbench -b simple-update` at `clients` (PostgreSQL only).
    pub fn pgbench_floors(
        &self,
        clients: u32,
        duration: u64,
    ) -> Result<Option<Vec<(&'static str, super::wrk::Measured)>>> {
        match &self.pg {
            Some((server, database)) => Ok(Some(super::pg::pgbench_floors(server, database, clients, duration)?)),
            None => Ok(None),
        }
    }

    /// Every voucher's `times_used` equals its unreleased redemptions; every redemption answered
    /// 200 is stored (see [`super::pg::invariants`]).
    pub async fn invariants(&self, acknowledged: u64, in_flight: u64) -> Result<Vec<super::report::Check>> {
        super::pg::invariants(self, acknowledged, in_flight, false).await
    }

    /// The same for the two-instance race over codes `TWO…`.
    pub async fn race_invariants(&self, acknowledged: u64, in_flight: u64) -> Result<Vec<super::report::Check>> {
        super::pg::invariants(self, acknowledged, in_flight, true).await
    }

    pub async fn destroy(self) -> Result<()> {
        if let Some((server, database)) = &self.pg {
            super::pg::drop_database(server, database).await?;
        }
        Ok(())
    }
}

/// A running `vouchers serve`: stopped (SIGTERM, then waited for) by [`Server::stop`], killed
/// when dropped without it (a run that failed half-way).
pub struct Server {
    child: KillOnDrop,
    pub(super) addr: SocketAddr,
}

impl Server {
    /// Starts `serve` on a free port with the request log at `log` (`info`: one line per
    /// request, as in production; `warn`: off), written to a file as a deployment would.
    pub fn start(deployment: &Deployment, log: &str) -> Result<Self> {
        Self::start_with(deployment, log, &[])
    }

    /// [`Server::start`] with more `serve` flags.
    pub fn start_with(deployment: &Deployment, log: &str, flags: &[&str]) -> Result<Self> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(deployment.dir().join(format!("serve-{log}.log")))?;
        let mut child = KillOnDrop::spawn(
            Command::new(&deployment.bin)
                .args(["serve", "--listen", "127.0.0.1:0"])
                .args(flags)
                .env("VOUCHERS_DATABASE_URL", deployment.url())
                .env("VOUCHERS_LOG", log)
                .stdout(Stdio::piped())
                .stderr(log_file),
        )
        .context("starting vouchers serve")?;
        let stdout = child.take_stdout().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line.trim().rsplit(' ').next().unwrap_or_default();
        let addr: SocketAddr = addr
            .trim_start_matches("http://")
            .parse()
            .with_context(|| format!("serve printed {line:?} instead of its address"))?;
        Ok(Self { child, addr })
    }

    /// Peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    pub fn stop(mut self) -> Result<()> {
        self.child.terminate().context("stopping vouchers serve")?;
        Ok(())
    }
}
