//! `vouchers user`: organizer accounts of the console, the password read from stdin.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::support::*;

/// `vouchers ARGS` with `stdin` written to its standard input (not a terminal).
fn with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = command(dir, None)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    output
}

#[test]
fn accounts_are_created_listed_granted_and_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for slug in ["pycon", "djangocon"] {
        create_conference(d, None, slug, slug);
    }
    let secret = "correct horse battery";
    let created = with_stdin(
        d,
        &["user", "create", "--email", "Admin@Example.org", "--role", "admin", "--format", "json"],
        &format!("{secret}\n"),
    );
    let stdout = ok(created);
    let admin: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((admin["email"].as_str(), admin["role"].as_str()), (Some("admin@example.org"), Some("admin")));
    assert!(!stdout.contains(secret) && admin.get("password").is_none() && admin.get("password_hash").is_none());

    let err =
        input_error(with_stdin(d, &["user", "create", "--email", "m@example.org", "--role", "manage"], "short\n"));
    assert!(err.contains("password must be at least 12 characters"), "{err}");
    let err = refused(with_stdin(
        d,
        &["user", "create", "--email", "ADMIN@example.org", "--role", "manage"],
        &format!("{secret}\n"),
    ));
    assert!(err.contains("already exists"), "{err}");
    let err = input_error(with_stdin(
        d,
        &["user", "create", "--email", "not-an-email", "--role", "manage"],
        &format!("{secret}\n"),
    ));
    assert!(err.contains("--email"), "{err}");
    let err = input_error(with_stdin(
        d,
        &["user", "create", "--email", "m@example.org", "--role", "manage", "--conference", "nope"],
        &format!("{secret}\n"),
    ));
    assert!(err.contains("nope"), "{err}");

    let made = with_stdin(
        d,
        &[
            "user",
            "create",
            "--email",
            "m@example.org",
            "--role",
            "manage",
            "--conference",
            "pycon",
            "--format",
            "json",
        ],
        &format!("{secret}\n"),
    );
    let manager: Value = serde_json::from_str(&ok(made)).unwrap();
    assert_eq!(manager["conferences"], serde_json::json!(["pycon"]));
    let granted: Value = serde_json::from_str(&ok(vouchers(
        d,
        None,
        &["user", "grant", "m@example.org", "--conference", "djangocon", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(granted["conferences"], serde_json::json!(["djangocon", "pycon"]));
    ok(with_stdin(d, &["user", "set-password", "m@example.org"], "another long password\n"));
    let disabled: Value =
        serde_json::from_str(&ok(vouchers(d, None, &["user", "disable", "m@example.org", "--format", "json"])))
            .unwrap();
    assert!(disabled["disabled_at"].is_string());
    let listed = ok(vouchers(d, None, &["user", "list"]));
    assert!(listed.contains("admin@example.org") && listed.contains("m@example.org"));
    assert!(!listed.contains(secret) && !listed.contains("argon2"));
    let missing = vouchers(d, None, &["user", "disable", "nobody@example.org"]);
    assert_ne!(missing.status.code(), Some(0));
}
