//! What people expect of a command-line tool: exit statuses by kind, the API's JSON error with
//! `--format json`, a plain file path as `--database`, completions, a man page, `--version` with
//! the commit, help that shows no environment values, tables that read well.

use serde_json::Value;

use crate::support::{command, create_conference, input_error, not_found, ok, refused, run, vouchers};

/// A conference `pycon` with one voucher added by hand and one batch, in `dir`'s default
/// database.
fn seeded(dir: &std::path::Path) {
    create_conference(dir, None, "pycon", "PyCon");
    ok(vouchers(dir, None, &["add", "--conference", "pycon", "--code", "KEYNOTE", "--type", "comp"]));
    ok(vouchers(
        dir,
        None,
        &["generate", "--conference", "pycon", "--prefix", "SP-", "--count", "2", "--type", "comp"],
    ));
}

/// Exit statuses by kind, and with `--format json` the API's error object on stdout (the
/// message still on stderr): 2 invalid input, 3 not found, 4 refused.
#[test]
fn failures_exit_by_kind_and_print_the_api_error_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    seeded(d);
    let cases: [(&[&str], i32, &str, Option<&str>); 6] = [
        (&["generate", "--conference", "pycon", "--count", "501", "--type", "comp"], 2, "invalid_count", Some("count")),
        (
            &["generate", "--conference", "pycon", "--count", "1", "--type", "comp", "--ticket-type", "nope"],
            2,
            "unknown_ticket_type",
            Some("applicable_ticket_types"),
        ),
        (
            &["check", "--conference", "pycon", "KEYNOTE", "--ticket-type", "nope"],
            2,
            "unknown_ticket_type",
            Some("lines"),
        ),
        (&["show", "--conference", "pycon", "NOPE"], 3, "not_found", None),
        (&["list", "--conference", "nope"], 3, "not_found", None),
        (&["add", "--conference", "pycon", "--code", "keynote", "--type", "comp"], 4, "duplicate", Some("code")),
    ];
    for (args, status, code, field) in cases {
        let mut with_json = args.to_vec();
        with_json.extend(["--format", "json"]);
        let out = vouchers(d, None, &with_json);
        assert_eq!(out.status.code(), Some(status), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let body: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(body["error"]["code"], code, "{args:?}: {body}");
        assert_eq!(body["error"]["field"].as_str(), field, "{args:?}: {body}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty() && stderr.contains(message), "{args:?}: {stderr} / {message}");
        // Without --format json: the same status, nothing on stdout.
        let plain = vouchers(d, None, args);
        match status {
            2 => input_error(plain),
            3 => not_found(plain),
            _ => refused(plain),
        };
    }
}

/// `--database` takes a plain file path as a SQLite file.
#[test]
fn a_plain_path_is_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    for path in ["plain.db", "./data/v.db"] {
        ok(vouchers(dir.path(), Some(path), &["conference", "list"]));
    }
    let absolute = dir.path().join("abs.db");
    ok(vouchers(dir.path(), Some(absolute.to_str().unwrap()), &["conference", "list"]));
    for file in ["plain.db", "data/v.db", "abs.db"] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
}

/// Completions, the man page and the version come from the same definitions, need no database,
/// and `--help` shows no environment variable's value (the database URL may hold a password).
#[test]
fn completions_man_page_version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(vouchers(d, None, &["completions", shell]));
        assert!(
            script.contains("generate") && script.contains("conference") && script.contains("max-batch"),
            "{shell}"
        );
    }
    let man = ok(vouchers(d, None, &["man"]));
    assert!(man.starts_with(".ie") || man.contains(".TH vouchers"), "{}", &man[..200.min(man.len())]);
    assert!(man.contains("vouchers-generate") && man.contains("conference"));
    assert!(std::fs::read_dir(d).unwrap().next().is_none(), "no database was opened");

    let version = ok(vouchers(d, None, &["--version"]));
    let inner = version.trim().strip_prefix("vouchers ").unwrap();
    let (number, commit) = inner.split_once(" (").unwrap();
    assert_eq!(number, env!("CARGO_PKG_VERSION"));
    let commit = commit.strip_suffix(')').unwrap();
    assert!(commit == "unknown" || commit.chars().all(|c| c.is_ascii_hexdigit()), "{version}");

    let help = run(command(d, None)
        .env("VOUCHERS_DATABASE_URL", "postgres://app:s3cret@db.example/v")
        .env("NO_COLOR", "1")
        .args(["generate", "--help"]));
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("[env: VOUCHERS_DATABASE_URL]") && help.contains("[env: VOUCHERS_MAX_BATCH]"), "{help}");
    assert!(!help.contains("s3cret") && !help.contains("_URL=") && !help.contains("_BATCH="), "{help}");
    assert!(!help.contains('\u{1b}'), "NO_COLOR: no escape codes");
}

/// The usage table: a prefix total only for a prefix of several batches, counted in words that
/// agree, and the vouchers added by hand once.
#[test]
fn usage_table_reads_well() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    seeded(d);
    let table = ok(vouchers(d, None, &["usage", "--conference", "pycon"]));
    assert!(!table.contains("1 batches") && !table.contains("by hand total"), "{table}");
    assert_eq!(table.matches("by hand").count(), 1, "{table}");
    ok(vouchers(d, None, &["generate", "--conference", "pycon", "--prefix", "SP-", "--count", "1", "--type", "comp"]));
    let table = ok(vouchers(d, None, &["usage", "--conference", "pycon"]));
    assert!(table.contains("prefix total (2 batches)"), "{table}");
}
