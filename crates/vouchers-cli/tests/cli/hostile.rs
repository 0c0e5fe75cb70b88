//! What a careless operator or an attacker tries on the command line: database URLs that name no
//! database or carry a password in the query, output paths that would fail after the commit,
//! spreadsheet formulas in CSV output.

use std::path::Path;

use crate::support::*;

fn conference(dir: &Path, name: &str) {
    create_conference(dir, None, "pycon", name);
}

fn batches(dir: &Path) -> usize {
    batches_in(dir, None)
}

fn batches_in(dir: &Path, db: Option<&str>) -> usize {
    let usage: serde_json::Value =
        serde_json::from_str(&ok(vouchers(dir, db, &["usage", "--conference", "pycon", "--format", "json"]))).unwrap();
    usage["batches"].as_array().unwrap().len()
}

/// `--output` onto a symbolic link, dangling or not, is refused before the batch is written: a
/// dangling one used to commit the batch and then fail to move the file ("File exists"), and a
/// retry made a second batch. On the backend's default database (on SQLite, `./vouchers.db`).
fn output_onto_a_symlink_is_refused(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = backend.default_database();
    let db = db.as_ref().map(Database::url);
    create_conference(d, db, "pycon", "PyCon");
    std::os::unix::fs::symlink(d.join("nowhere/codes.csv"), d.join("dangling.csv")).unwrap();
    std::fs::write(d.join("real.csv"), "keep me").unwrap();
    std::os::unix::fs::symlink(d.join("real.csv"), d.join("link.csv")).unwrap();
    for (target, force) in [("dangling.csv", false), ("dangling.csv", true), ("link.csv", true)] {
        let mut args = vec!["generate", "--conference", "pycon", "--type", "comp", "--count", "3", "--output", target];
        if force {
            args.push("--force");
        }
        let err = input_error(vouchers(d, db, &args));
        assert!(err.contains("--output") && err.contains("symbolic link"), "{target}: {err}");
    }
    assert_eq!(batches_in(d, db), 0, "no batch was committed");
    assert_eq!(std::fs::read_to_string(d.join("real.csv")).unwrap(), "keep me");
    assert!(std::fs::symlink_metadata(d.join("dangling.csv")).unwrap().file_type().is_symlink());
    let left: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(!left.iter().any(|f| f.contains(".partial-")), "{left:?}");
}

both_backends!(output_onto_a_symlink_is_refused);

/// A `--database` that names no database is invalid input naming the flag: it used to fall
/// back to libpq's defaults, fail later with "no such table", or write to memory and lose it.
#[test]
fn database_urls_that_name_no_database_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["postgres://", "postgres://127.0.0.1", "sqlite://", "sqlite:", "sqlite://:memory:", "mysql://h/db"] {
        let err = input_error(vouchers(dir.path(), Some(url), &["conference", "list"]));
        assert!(err.contains("--database"), "{url}: {err}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing was created");
}

/// A password given as a query parameter is never printed.
#[test]
fn query_passwords_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://app@127.0.0.1:1/v?password=hunter2secret";
    let out = vouchers(dir.path(), Some(url), &["conference", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("hunter2secret") && err.contains("password=***"), "{err}");
    // The driver would log an sslpassword it does not understand, value and all: refused.
    let url = "postgres://app@127.0.0.1:1/v?sslmode=disable&sslpassword=hunter2secret";
    let err = input_error(vouchers(dir.path(), Some(url), &["conference", "list"]));
    assert!(!err.contains("hunter2secret") && err.contains("--database"), "{err}");
}

/// Everything about `--output` that can fail is checked before the batch's transaction: a
/// folder used to commit the batch and then fail to write it.
#[test]
fn output_is_checked_before_the_batch_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    conference(d, "PyCon");
    let gen = |extra: &[&str]| {
        let mut args = vec!["generate", "--conference", "pycon", "--type", "comp", "--count", "3"];
        args.extend_from_slice(extra);
        vouchers(d, None, &args)
    };
    std::fs::create_dir(d.join("codes.csv")).unwrap();
    let err = input_error(gen(&["--output", "codes.csv"]));
    assert!(err.contains("--output") && err.contains("folder"), "{err}");
    let err = input_error(gen(&["--output", "missing/codes.csv"]));
    assert!(err.contains("--output"), "{err}");
    assert_eq!(batches(d), 0, "no batch was committed");

    // An existing file is kept unless --force; the new file is readable by its owner only.
    std::fs::write(d.join("old.csv"), "keep me").unwrap();
    let err = input_error(gen(&["--output", "old.csv"]));
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(d.join("old.csv")).unwrap(), "keep me");
    assert_eq!(batches(d), 0);
    ok(gen(&["--output", "old.csv", "--force"]));
    assert!(std::fs::read_to_string(d.join("old.csv")).unwrap().starts_with("id,conference,code"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("old.csv")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let left: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(!left.iter().any(|f| f.contains(".partial-")), "{left:?}");
}

/// The database file, its write-ahead log and shared memory, and a backup are created readable
/// by their owner only, whatever the umask (they hold every code and the hashes). PostgreSQL
/// keeps no file of ours.
#[test]
fn the_database_and_its_backup_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A shell sets the umask most systems have, then becomes `vouchers`.
    let shell = |args: &[&str]| {
        let mut c = std::process::Command::new("sh");
        c.current_dir(d).env_remove("VOUCHERS_DATABASE_URL");
        c.arg("-c").arg("umask 022 && exec \"$0\" \"$@\"").arg(BIN).args(args);
        ok(run(&mut c))
    };
    shell(&[
        "conference",
        "create",
        "--slug",
        "pycon",
        "--name",
        "PyCon",
        "--start-date",
        "2027-05-14",
        "--end-date",
        "2027-05-22",
        "--timezone",
        "UTC",
    ]);
    let mode = |name: &str| std::fs::metadata(d.join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("vouchers.db"), 0o600, "{:o}", mode("vouchers.db"));
    // A server keeps the log files open: both take the database file's mode.
    let server = Server::start(d, "vouchers.db", "log");
    for name in ["vouchers.db-wal", "vouchers.db-shm"] {
        assert_eq!(mode(name), 0o600, "{name}: {:o}", mode(name));
    }
    shell(&["backup", "copy.db"]);
    assert_eq!(mode("copy.db"), 0o600, "{:o}", mode("copy.db"));
    // A dangling symbolic link is a path that exists: refused, and nothing is written there.
    std::os::unix::fs::symlink(d.join("elsewhere.db"), d.join("link.db")).unwrap();
    let err = input_error(vouchers(d, None, &["backup", "link.db"]));
    assert!(err.contains("exists"), "{err}");
    assert!(!d.join("elsewhere.db").exists());
    assert_eq!(server.stop().code(), Some(0));
}

/// `--format csv` defuses cells a spreadsheet would run as formulas, as the API's export does.
#[test]
fn csv_output_is_safe_for_spreadsheets() {
    let dir = tempfile::tempdir().unwrap();
    conference(dir.path(), "=HYPERLINK(\"http://evil.example\",\"PyCon\")");
    let csv = ok(vouchers(dir.path(), None, &["conference", "list", "--format", "csv"]));
    assert!(csv.contains("'=HYPERLINK("), "{csv}");
    assert!(!csv.lines().any(|l| l.split(',').any(|cell| cell.trim_start_matches('"').starts_with('='))), "{csv}");
}

/// Names refuse text-direction tricks.
#[test]
fn names_refuse_direction_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let err = input_error(vouchers(
        dir.path(),
        None,
        &[
            "conference",
            "create",
            "--slug",
            "pycon",
            "--name",
            "PyCon \u{202E}SU",
            "--start-date",
            "2027-05-14",
            "--end-date",
            "2027-05-22",
            "--timezone",
            "UTC",
        ],
    ));
    assert!(err.contains("--name") && err.contains("U+202E"), "{err}");
}
