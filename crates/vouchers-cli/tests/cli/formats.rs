//! Code formats from the command line: `--alphabet`, `--length`, `--check-char`, folded lookups,
//! `mistyped`, the guessing note and refusal, `usage`'s format and figure, `add --alphabet`.

use std::path::Path;

use serde_json::Value;

use crate::support::{create_conference, input_error, not_found, ok, refused, vouchers, Backend, Database};

fn formats_flow(d: &Path, db: Option<&str>) {
    create_conference(d, db, "pycon", "PyCon US");
    let generate = |extra: &[&str]| {
        let mut args = vec!["generate", "--conference", "pycon", "--type", "comp"];
        args.extend_from_slice(extra);
        vouchers(d, db, &args)
    };

    // A readable batch with a check character; the note on stderr gives its guessing figure.
    let out =
        generate(&["--prefix", "SPONSOR-", "--count", "5", "--alphabet", "readable", "--length", "10", "--check-char"]);
    let table = ok(out.clone());
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("guessing: one guesser would need about "), "{note}");
    assert!(note.contains("to find one of the 5 active codes, at the limit of 100 failed lookups a minute"), "{note}");
    let code = table.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert!(code.starts_with("SPONSOR-") && code.len() == 8 + 11, "{code}");

    // Typed however: found. A wrong check character: mistyped (exit 3 at redeem).
    let typed = code.to_lowercase().replace('0', "o").replace('1', "l").replacen('-', " ", 1);
    let check: Value =
        serde_json::from_str(&ok(vouchers(d, db, &["check", "--conference", "pycon", &typed, "--format", "json"])))
            .unwrap();
    assert_eq!(
        (check["valid"].clone(), check["voucher"]["code"].clone()),
        (Value::Bool(true), Value::from(code.clone()))
    );
    let typo = format!("{}{}", &code[..code.len() - 1], if code.ends_with('7') { '8' } else { '7' });
    let check: Value =
        serde_json::from_str(&ok(vouchers(d, db, &["check", "--conference", "pycon", &typo, "--format", "json"])))
            .unwrap();
    assert_eq!(check["reason"], "mistyped");
    let err = not_found(vouchers(d, db, &["redeem", "--conference", "pycon", "--order-ref", "o-1", &typo]));
    assert!(err.contains("check the code for a typo"), "{err}");

    // Too guessable: refused with what helps, naming the flags; allowed when asked.
    let err = input_error(generate(&["--prefix", "W-", "--count", "500", "--alphabet", "readable", "--length", "6"]));
    assert!(
        err.contains("--length") && err.contains("length 7 or more") && err.contains("--allow-weak-codes"),
        "{err}"
    );
    ok(generate(&[
        "--prefix",
        "W-",
        "--count",
        "500",
        "--alphabet",
        "readable",
        "--length",
        "6",
        "--allow-weak-codes",
    ]));
    // The floor and the limit are settings.
    ok(generate(&[
        "--prefix",
        "F-",
        "--count",
        "500",
        "--alphabet",
        "readable",
        "--length",
        "6",
        "--guessing-floor-days",
        "0",
    ]));
    let err = input_error(vouchers(
        d,
        db,
        &[
            "--token-failed-lookups-per-minute",
            "1000000",
            "generate",
            "--conference",
            "pycon",
            "--type",
            "comp",
            "--count",
            "500",
        ],
    ));
    assert!(err.contains("token-wide ceiling of 1000000 failed lookups per minute"), "{err}");
    let err = input_error(generate(&["--count", "1", "--length", "33"]));
    assert!(err.contains("--length") && err.contains("length must be between 6 and 32, got 33"), "{err}");
    let err = input_error(generate(&["--count", "1", "--alphabet", "base32"]));
    assert!(err.contains("--alphabet"), "{err}");

    // usage: each batch's format and figure.
    let usage = ok(vouchers(d, db, &["usage", "--conference", "pycon"]));
    assert!(usage.contains("readable, 10 characters + check"), "{usage}");
    assert!(usage.contains("WEAK: 1 in"), "{usage}");
    let json: Value =
        serde_json::from_str(&ok(vouchers(d, db, &["usage", "--conference", "pycon", "--format", "json"]))).unwrap();
    assert_eq!(json["batches"][0]["format"]["alphabet"], "readable");
    assert_eq!(json["batches"][0]["guessing"]["active_codes"], 5);

    // add --alphabet readable: a look-alike is a duplicate (exit 4).
    let add = |code: &str, alphabet: &str| {
        vouchers(d, db, &["add", "--conference", "pycon", "--type", "comp", "--code", code, "--alphabet", alphabet])
    };
    ok(add("KEYNOTE-1", "readable"));
    let err = refused(add("KEYN0TE-l", "alnum"));
    assert!(err.contains("already exists") && err.contains("O/0 and I/L/1"), "{err}");
    let shown = ok(vouchers(d, db, &["show", "--conference", "pycon", "keyn0te l", "--format", "json"]));
    assert!(shown.contains("\"KEYNOTE-1\""), "{shown}");
    // Alnum codes stay exact: two look-alikes may both exist (`seed`, the alphabet's old name,
    // is still accepted).
    ok(add("STAFF-O", "alnum"));
    ok(add("STAFF-0", "seed"));
    let listed = ok(vouchers(d, db, &["list", "--conference", "pycon", "--format", "json"]));
    assert!(!listed.contains("\"seed\""), "only the new name is shown: {listed}");
}

/// [`formats_flow`] on the backend's default database (on SQLite, `./vouchers.db`).
fn formats(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = backend.default_database();
    formats_flow(dir.path(), db.as_ref().map(Database::url));
}

both_backends!(formats);
