//! What the tests share: one way to run `vouchers` (in a folder, against a database, without
//! the caller's settings) and the checks on its answer; the backends and a fresh database on
//! each ([`Backend`], [`Database`], for [`crate::both_backends!`]); `vouchers serve` as a guarded
//! process ([`Server`]).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};

use vouchers_core::store::testing::PgDatabase;

pub use crate::child::KillOnDrop;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vouchers");

/// Settings `vouchers` reads from the environment that no test may inherit from its caller.
const NOT_INHERITED: [&str; 3] = ["VOUCHERS_DATABASE_URL", "VOUCHERS_MAX_BATCH", "VOUCHERS_LISTEN"];

/// `vouchers` run in `dir` against `database` (none: the default, `./vouchers.db` in `dir`),
/// with none of [`NOT_INHERITED`] taken from the caller. Add arguments and environment, then
/// [`run`] it or spawn it.
pub fn command(dir: &Path, database: Option<&str>) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for name in NOT_INHERITED {
        command.env_remove(name);
    }
    if let Some(url) = database {
        command.env("VOUCHERS_DATABASE_URL", url);
    }
    command
}

/// Runs `command` to its end; a panic in `vouchers` fails the test.
#[track_caller]
pub fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "panic: {stderr}");
    output
}

/// Runs `vouchers ARGS` in `dir` against `database` (see [`command`]).
#[track_caller]
pub fn vouchers(dir: &Path, database: Option<&str>, args: &[&str]) -> Output {
    run(command(dir, database).args(args))
}

/// Creates the conference `slug` named `name` (2027-05-14 to 2027-05-22, UTC).
#[track_caller]
pub fn create_conference(dir: &Path, database: Option<&str>, slug: &str, name: &str) {
    let args = ["conference", "create", "--slug", slug, "--name", name, "--start-date", "2027-05-14"];
    ok(vouchers(dir, database, &[&args[..], &["--end-date", "2027-05-22", "--timezone", "UTC"]].concat()));
}

/// A success: its stdout.
#[track_caller]
pub fn ok(output: Output) -> String {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Invalid input (exit status 2, nothing on stdout): its stderr.
#[track_caller]
pub fn input_error(output: Output) -> String {
    failure(output, 2)
}

/// The stderr of a command that must exit 3: its target (conference, code, ...) was not found.
#[track_caller]
pub fn not_found(output: Output) -> String {
    failure(output, 3)
}

/// The stderr of a command that must exit 4: refused by a rule or a conflict.
#[track_caller]
pub fn refused(output: Output) -> String {
    failure(output, 4)
}

/// The stderr of a command that must exit with `code`, printing nothing on stdout (no
/// `--format json`).
#[track_caller]
fn failure(output: Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout.is_empty(), "nothing on stdout for an error");
    String::from_utf8(output.stderr).unwrap()
}

/// The databases `vouchers` runs on. [`crate::both_backends!`] runs a test once with each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// A fresh database on this backend (see [`Database`]).
    #[track_caller]
    pub fn database(self) -> Database {
        match self {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("v.db").display());
                Database { url, _place: Place::Dir(dir) }
            }
            Backend::Postgres => {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let database = runtime.block_on(PgDatabase::create());
                Database { url: database.url.expose().to_owned(), _place: Place::Postgres(database) }
            }
        }
    }

    /// The database a test names to get this backend's default: none on SQLite, so that
    /// `vouchers` opens `./vouchers.db` in its working folder; a fresh database on PostgreSQL.
    /// Pass `db.as_ref().map(Database::url)` as the `database` of [`vouchers`].
    #[track_caller]
    pub fn default_database(self) -> Option<Database> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(self.database()),
        }
    }
}

/// A fresh database for one test, nothing migrated (the processes under test do it): the file
/// `v.db` in a temporary folder of its own, or a PostgreSQL database created on the server named
/// by `VOUCHERS_TEST_POSTGRES_URL` (its absence fails the test). Removed when dropped, also when
/// the test panics.
pub struct Database {
    url: String,
    _place: Place,
}

enum Place {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] PgDatabase),
}

impl Database {
    /// Its URL, as `VOUCHERS_DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A `vouchers serve` process on a free port, killed when dropped; its logs go to a file.
pub struct Server {
    pub child: KillOnDrop,
    pub base: String,
    pub log: std::path::PathBuf,
}

impl Server {
    /// Starts `vouchers serve` in `dir` against `database`, logging to `dir/log`, and waits for
    /// the address it prints once it listens.
    #[track_caller]
    pub fn start(dir: &Path, database: &str, log: &str) -> Server {
        Self::start_with(dir, database, log, &[])
    }

    /// [`Server::start`] with more `serve` flags.
    #[track_caller]
    pub fn start_with(dir: &Path, database: &str, log: &str, flags: &[&str]) -> Server {
        Self::start_logging(dir, database, log, "info", flags)
    }

    /// [`Server::start_with`] logging what `filter` (`VOUCHERS_LOG`) lets through.
    #[track_caller]
    pub fn start_logging(dir: &Path, database: &str, log: &str, filter: &str, flags: &[&str]) -> Server {
        let log = dir.join(log);
        let mut child = KillOnDrop::spawn(
            command(dir, Some(database))
                .args(["serve", "--listen", "127.0.0.1:0"])
                .args(flags)
                .env("VOUCHERS_LOG", filter)
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&log).unwrap()),
        )
        .unwrap();
        let mut line = String::new();
        BufReader::new(child.take_stdout().unwrap()).read_line(&mut line).unwrap();
        let base =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("no address: {line:?}")).to_owned();
        Server { child, base, log }
    }

    /// SIGTERM, then the exit status.
    #[track_caller]
    pub fn stop(mut self) -> ExitStatus {
        self.child.terminate().unwrap()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}
