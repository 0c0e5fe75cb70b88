//! The application under test: a fresh SQLite database prepared with the `vouchers` CLI, and
//! `vouchers serve` on a free port, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vouchers");

/// Settings `vouchers` reads from the environment that the test must not inherit.
const NOT_INHERITED: [&str; 3] = ["VOUCHERS_DATABASE_URL", "VOUCHERS_MAX_BATCH", "VOUCHERS_LISTEN"];

pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PASSWORD: &str = "correct horse battery";
pub const CONFERENCE: &str = "PyCon US 2027";

fn command(dir: &Path, database: &str) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).kill_on_drop(true);
    for name in NOT_INHERITED {
        command.env_remove(name);
    }
    command.env("VOUCHERS_DATABASE_URL", database);
    command
}

/// Runs `vouchers ARGS` to its end with `stdin` as its input; it must succeed.
async fn vouchers(dir: &Path, database: &str, args: &[&str], stdin: &str) -> String {
    let mut child = command(dir, database)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "vouchers {args:?} failed ({}): {stderr}", output.status);
    String::from_utf8(output.stdout).unwrap()
}

/// `vouchers serve` on a fresh database holding the conference PyCon US 2027 (slug `pycon`)
/// and one admin account. Dropping it kills the server.
pub struct Console {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
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

        let log = d.join("serve.log");
        let mut child = command(d, &database)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("VOUCHERS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let read = tokio::time::timeout(Duration::from_secs(20), stdout.read_line(&mut line)).await;
        let logs = || std::fs::read_to_string(&log).unwrap_or_default();
        assert!(matches!(read, Ok(Ok(_))), "vouchers serve printed no address within 20 s: {read:?}\n{}", logs());
        let base = match line.trim().strip_prefix("listening on ") {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => panic!("vouchers serve's first line is not `listening on ADDR`: {line:?}\n{}", logs()),
        };
        Console { base, child, log, _dir: dir }
    }

    /// What the server logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
