//! What a careless operator or an attacker tries on the command line: database URLs that name no
//! database or carry a password in the query, output paths that would fail after the commit,
//! spreadsheet formulas in CSV output.

use std::path::Path;

use crate::support::*;

fn conference(dir: &Path, name: &str) {
    create_conference(dir, None, "pycon", name);
}

fn batches(dir: &Path) -> usize {
    let usage: serde_json::Value =
        serde_json::from_str(&ok(vouchers(dir, None, &["usage", "--conference", "pycon", "--format", "json"])))
            .unwrap();
    usage["batches"].as_array().unwrap().len()
}

mod sqlite {
    use super::*;

    /// A `--database` that names no database is invalid input naming the flag: it used to fall
    /// back to libpq's defaults, fail later with "no such table", or write to memory and lose it.
    #[test]
    fn database_urls_that_name_no_database_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for url in ["postgres://", "postgres://127.0.0.1", "sqlite://", "sqlite:", "sqlite://:memory:", "mysql://h/db"]
        {
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
        let left: Vec<_> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert!(!left.iter().any(|f| f.contains(".partial-")), "{left:?}");
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
}
