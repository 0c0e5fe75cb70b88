//! The application under test: a fresh SQLite database prepared with the `vouchers` CLI, and
//! `vouchers serve` on a free port, killed when dropped. Each process is held by a
//! [`KillOnDrop`]; a wait for one polls with the runtime's timer, so that the test's time limit
//! ([`crate::browser::bounded`]) can end it (the guard then kills the process).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::child::KillOnDrop;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vouchers");

/// Settings `vouchers` reads from the environment that the test must not inherit.
const NOT_INHERITED: [&str; 3] = ["VOUCHERS_DATABASE_URL", "VOUCHERS_MAX_BATCH", "VOUCHERS_LISTEN"];

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery";
pub const CONFERENCE: &str = "PyCon US 2027";

/// How long `vouchers serve` may take to print its address.
const SERVE_START: Duration = Duration::from_secs(20);
/// How often a wait for a process looks again.
const POLL: Duration = Duration::from_millis(50);

fn command(dir: &Path, database: &str) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for name in NOT_INHERITED {
        command.env_remove(name);
    }
    command.env("VOUCHERS_DATABASE_URL", database);
    command
}

/// Waits until `child` exits, looking every [`POLL`] without blocking the runtime.
async fn exited(child: &mut KillOnDrop) -> ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Runs `vouchers ARGS` to its end with `stdin` as its input; it must succeed. Its output goes
/// to files in `dir`, read once it exited (so no pipe fills up while nothing reads it).
async fn vouchers(dir: &Path, database: &str, args: &[&str], stdin: &str) -> String {
    let (stdout, stderr) = (dir.join("vouchers.stdout"), dir.join("vouchers.stderr"));
    let mut child = KillOnDrop::spawn(
        command(dir, database)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap()),
    )
    .unwrap();
    // A few bytes: the pipe takes them without waiting for the reader.
    child.take_stdin().unwrap().write_all(stdin.as_bytes()).unwrap();
    let status = exited(&mut child).await;
    let stderr = std::fs::read_to_string(&stderr).unwrap();
    assert!(status.success(), "vouchers {args:?} failed ({status}): {stderr}");
    std::fs::read_to_string(&stdout).unwrap()
}

/// `vouchers serve` on a fresh database holding the conference PyCon US 2027 (slug `pycon`)
/// and one admin account. Dropping it kills the server.
pub struct Console {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _child: KillOnDrop,
    log: PathBuf,
    database: String,
    dir: tempfile::TempDir,
}

impl Console {
    pub async fn start() -> Console {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let database = format!("sqlite://{}", d.join("vouchers.db").display());
        vouchers(
            d,
            &database,
            &[
                "conference",
                "create",
                "--slug",
                "pycon",
                "--name",
                CONFERENCE,
                "--start-date",
                "2027-05-14",
                "--end-date",
                "2027-05-22",
                "--timezone",
                "America/New_York",
            ],
            "",
        )
        .await;
        // The password on stdin, one line (stdin is not a terminal).
        vouchers(
            d,
            &database,
            &["user", "create", "--email", ADMIN_EMAIL, "--role", "admin"],
            &format!("{ADMIN_PASSWORD}\n"),
        )
        .await;

        let (log, stdout) = (d.join("serve.log"), d.join("serve.stdout"));
        let mut child = KillOnDrop::spawn(
            command(d, &database)
                .args(["serve", "--listen", "127.0.0.1:0"])
                .env("VOUCHERS_LOG", "info")
                .stdin(Stdio::null())
                .stdout(File::create(&stdout).unwrap())
                .stderr(File::create(&log).unwrap()),
        )
        .unwrap();
        let logs = || std::fs::read_to_string(&log).unwrap_or_default();
        // Its first line, once written whole.
        let deadline = Instant::now() + SERVE_START;
        let line = loop {
            if let Some((line, _)) = std::fs::read_to_string(&stdout).unwrap().split_once('\n') {
                break line.to_owned();
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("vouchers serve exited ({status}) before printing its address\n{}", logs());
            }
            assert!(Instant::now() < deadline, "vouchers serve printed no address within {SERVE_START:?}\n{}", logs());
            tokio::time::sleep(POLL).await;
        };
        let base = match line.trim().strip_prefix("listening on ") {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => panic!("vouchers serve's first line is not `listening on ADDR`: {line:?}\n{}", logs()),
        };
        Console { base, _child: child, log, database, dir }
    }

    /// Runs `vouchers ARGS` against the server's database (it must succeed), and returns its
    /// standard output.
    pub async fn vouchers(&self, args: &[&str]) -> String {
        vouchers(self.dir.path(), &self.database, args, "").await
    }

    /// Writes `contents` into the file `name` of the server's folder (an input for the CLI or
    /// for a file field), and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// What the server logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
