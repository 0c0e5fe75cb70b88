//! The organizer's and the checkout's commands, run as a user runs them: flags in, text out,
//! exit status.

use std::path::Path;

use serde_json::Value;

use crate::support::{command, input_error, not_found, ok, refused, run, vouchers, Backend, Database};

/// A conference with two ticket types (one hidden) and an add-on.
fn catalogue(dir: &Path, db: Option<&str>) {
    ok(vouchers(
        dir,
        db,
        &[
            "conference",
            "create",
            "--slug",
            "pycon",
            "--name",
            "PyCon US",
            "--start-date",
            "2027-05-14",
            "--end-date",
            "2027-05-22",
            "--timezone",
            "America/New_York",
        ],
    ));
    ok(vouchers(
        dir,
        db,
        &[
            "ticket-type",
            "create",
            "--conference",
            "pycon",
            "--slug",
            "individual",
            "--name",
            "Individual",
            "--price",
            "400",
        ],
    ));
    ok(vouchers(
        dir,
        db,
        &[
            "ticket-type",
            "create",
            "--conference",
            "pycon",
            "--slug",
            "student",
            "--name",
            "Student",
            "--price",
            "100.00",
            "--requires-voucher",
        ],
    ));
    ok(vouchers(
        dir,
        db,
        &["addon", "create", "--conference", "pycon", "--slug", "tshirt", "--name", "T-shirt", "--price", "25"],
    ));
}

const VOUCHER_KEYS: [&str; 22] = [
    "id",
    "conference",
    "code",
    "voucher_type",
    "discount_value",
    "max_uses",
    "times_used",
    "valid_from",
    "valid_until",
    "unlocks_hidden_tickets",
    "is_active",
    "applicable_ticket_types",
    "applicable_addons",
    "batch_id",
    "created_at",
    "recipient",
    "min_quantity",
    "min_subtotal",
    "uses_held",
    "budget",
    "budget_used",
    "once_per_customer",
];

/// The CSV header: the JSON's keys, the recipient spelled out in three columns (the cart
/// minimums aside).
const CSV_HEADER: &str = "id,conference,code,voucher_type,discount_value,max_uses,times_used,valid_from,valid_until,\
unlocks_hidden_tickets,is_active,applicable_ticket_types,applicable_addons,batch_id,created_at,recipient_email,\
recipient_name,recipient_tags";

/// The whole organizer flow against one database.
fn organizer_flow_in(dir: &Path, db: Option<&str>) {
    catalogue(dir, db);
    let out = ok(vouchers(
        dir,
        db,
        &[
            "generate",
            "--conference",
            "pycon",
            "--prefix",
            "SPONSOR-",
            "--count",
            "20",
            "--type",
            "percentage",
            "--discount",
            "25",
            "--ticket-type",
            "individual",
            "--addon",
            "tshirt",
            "--valid-until",
            "2027-05-22T18:00",
            "--format",
            "json",
        ],
    ));
    let generated: Vec<Value> = serde_json::from_str(&out).expect("stdout is JSON alone");
    assert_eq!(generated.len(), 20);
    let mut codes = std::collections::HashSet::new();
    for v in &generated {
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = VOUCHER_KEYS.to_vec();
        expected.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, expected);
        let code = v["code"].as_str().unwrap();
        let suffix = code.strip_prefix("SPONSOR-").unwrap();
        assert_eq!(suffix.len(), 8);
        assert!(suffix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{code}");
        assert!(codes.insert(code.to_owned()));
        assert_eq!(v["discount_value"], "25.00");
        assert_eq!(v["voucher_type"], "percentage");
        // 18:00 in New York in May is 22:00 UTC.
        assert_eq!(v["valid_until"], "2027-05-22T22:00:00Z");
        assert_eq!(v["valid_from"], Value::Null);
        assert_eq!(v["applicable_ticket_types"], serde_json::json!(["individual"]));
        assert_eq!(v["applicable_addons"], serde_json::json!(["tshirt"]));
        assert_eq!(v["batch_id"], generated[0]["batch_id"]);
        assert!(v["batch_id"].is_i64());
    }

    // A chosen code, then the same code in another case: refused, exit 2.
    let added: Value = serde_json::from_str(&ok(vouchers(
        dir,
        db,
        &[
            "add",
            "--conference",
            "pycon",
            "--code",
            "PYCON-KEYNOTE",
            "--type",
            "comp",
            "--discount",
            "50",
            "--unlocks-hidden-tickets",
            "--ticket-type",
            "student",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    assert_eq!(added["discount_value"], "0.00", "comp ignores the discount");
    assert_eq!(added["batch_id"], Value::Null);
    assert_eq!(added["unlocks_hidden_tickets"], true);
    let err =
        refused(vouchers(dir, db, &["add", "--conference", "pycon", "--code", "pycon-keynote", "--type", "comp"]));
    assert!(err.contains("already exists"), "{err}");

    // list: JSON array, CSV with the JSON keys as header, prefix ignoring case.
    let listed: Vec<Value> =
        serde_json::from_str(&ok(vouchers(dir, db, &["list", "--conference", "pycon", "--format", "json"]))).unwrap();
    assert_eq!(listed.len(), 21);
    assert_eq!(listed[..20], generated[..], "list returns the batch in generation order");
    let by_prefix: Vec<Value> = serde_json::from_str(&ok(vouchers(
        dir,
        db,
        &["list", "--conference", "pycon", "--prefix", "sponsor-", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(by_prefix.len(), 20);
    let batch = generated[0]["batch_id"].to_string();
    let csv = ok(vouchers(dir, db, &["list", "--conference", "pycon", "--batch", &batch, "--format", "csv"]));
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), CSV_HEADER);
    assert_eq!(lines.count(), 20);

    // show: ignoring case and surrounding spaces; table by default.
    let shown: Value = serde_json::from_str(&ok(vouchers(
        dir,
        db,
        &["show", "--conference", "pycon", "  pycon-keynote ", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(shown, added);
    let table = ok(vouchers(dir, db, &["show", "--conference", "pycon", "PYCON-KEYNOTE"]));
    assert!(table.starts_with("code") && table.contains("PYCON-KEYNOTE"), "{table}");

    let err = not_found(vouchers(dir, db, &["show", "--conference", "pycon", "NOPE"]));
    assert!(err.contains("not found"), "{err}");
}

/// The organizer flow on the backend's default database: `./vouchers.db` in the working folder
/// on SQLite (no database given), a fresh database on PostgreSQL.
fn organizer_flow(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = backend.default_database();
    organizer_flow_in(dir.path(), db.as_ref().map(Database::url));
    if backend == Backend::Sqlite {
        assert!(dir.path().join("vouchers.db").exists(), "default database is ./vouchers.db");
    }
}

both_backends!(organizer_flow);

#[test]
fn invalid_input_exits_2_names_the_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    catalogue(d, None);
    let generate = |extra: &[&str]| {
        let mut args = vec!["generate", "--conference", "pycon", "--type", "percentage"];
        if !extra.contains(&"--discount") {
            args.extend(["--discount", "10"]);
        }
        args.extend_from_slice(extra);
        input_error(vouchers(d, None, &args))
    };
    let cases: [(&[&str], &str); 14] = [
        (&["--count", "1", "--name", "two\nlines"], "--name: name must be one line"),
        (&["--count", "1", "--note", "bell\u{7}"], "--note: note must not contain control characters"),
        (&["--count", "501"], "count must be between 1 and 500, got 501"),
        (&["--count", "0"], "count must be between 1 and 500, got 0"),
        (&["--count", "-3"], "count must be between 1 and 500, got -3"),
        (&["--count", "1", "--prefix=-BAD"], "--prefix: prefix must start with a letter or a digit"),
        (&["--count", "1", "--prefix", "ABCDEFGHIJKLMNOPQRSTU"], "prefix must be at most 20 characters, got 21"),
        (&["--count", "1", "--discount", "100.5"], "--discount"),
        (&["--count", "1", "--discount", "1.234"], "at most 2 decimals"),
        (&["--count", "1", "--max-uses", "0"], "max_uses must be at least 1, got 0"),
        (
            &["--count", "1", "--valid-from", "2027-05-02T00:00:00Z", "--valid-until", "2027-05-01T00:00:00+00:00"],
            "--valid-until",
        ),
        (&["--count", "1", "--valid-from", "next week"], "--valid-from"),
        (&["--count", "1", "--ticket-type", "nope"], "ticket type \"nope\" does not exist"),
        (&["--count", "1", "--addon", "nope"], "--addon"),
    ];
    for (extra, expected) in cases {
        let err = generate(extra);
        assert!(err.contains(expected), "{extra:?}: expected {expected:?} in {err:?}");
    }
    let err = not_found(vouchers(d, None, &["generate", "--conference", "nope", "--count", "1", "--type", "comp"]));
    assert!(err.contains("conference \"nope\" not found"), "{err}");
    let err = input_error(vouchers(d, None, &["generate", "--conference", "pycon", "--count", "1", "--type", "free"]));
    assert!(err.contains("--type"), "{err}");
    let err =
        input_error(vouchers(d, None, &["generate", "--conference", "pycon", "--count", "lots", "--type", "comp"]));
    assert!(err.contains("--count"), "{err}");
    let err = input_error(vouchers(
        d,
        None,
        &["ticket-type", "create", "--conference", "pycon", "--slug", "x", "--name", "X", "--price", "-1"],
    ));
    assert!(err.contains("--price") && err.contains("at least 0"), "{err}");
    let err = input_error(vouchers(
        d,
        None,
        &[
            "conference",
            "create",
            "--slug",
            "c",
            "--name",
            "C",
            "--start-date",
            "2027-01-01",
            "--end-date",
            "2027-01-02",
            "--timezone",
            "Mars/Base",
        ],
    ));
    assert!(err.contains("--timezone"), "{err}");

    let listed = ok(vouchers(d, None, &["list", "--conference", "pycon", "--format", "json"]));
    assert_eq!(serde_json::from_str::<Vec<Value>>(&listed).unwrap(), Vec::<Value>::new(), "nothing was written");
}

#[test]
fn max_batch_is_a_setting() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    catalogue(d, None);
    let out = ok(vouchers(
        d,
        None,
        &[
            "--max-batch",
            "600",
            "generate",
            "--conference",
            "pycon",
            "--count",
            "600",
            "--type",
            "comp",
            "--format",
            "json",
        ],
    ));
    assert_eq!(serde_json::from_str::<Vec<Value>>(&out).unwrap().len(), 600);
    let output = run(command(d, None).env("VOUCHERS_MAX_BATCH", "700").args([
        "generate",
        "--conference",
        "pycon",
        "--count",
        "701",
        "--type",
        "comp",
    ]));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("count must be between 1 and 700, got 701"));
}

#[test]
fn output_file_streams_csv_or_json_and_appears_only_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    catalogue(d, None);
    let gen = |extra: &[&str]| {
        let mut args = vec!["--max-batch", "30000", "generate", "--conference", "pycon", "--type", "comp"];
        args.extend_from_slice(extra);
        vouchers(d, None, &args)
    };
    // CSV by extension, across several chunks.
    let out = gen(&["--prefix", "BIG-", "--count", "25000", "--output", "codes.csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "vouchers go to the file, not stdout");
    let csv = std::fs::read_to_string(d.join("codes.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), CSV_HEADER);
    let codes: std::collections::HashSet<&str> = lines.map(|l| l.split(',').nth(2).unwrap()).collect();
    assert_eq!(codes.len(), 25_000);
    assert!(codes.iter().all(|c| c.starts_with("BIG-") && c.len() == 12));
    // JSON by extension: the same array `--format json` prints.
    assert!(gen(&["--prefix", "J-", "--count", "3", "--output", "codes.json"]).status.success());
    let json: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(d.join("codes.json")).unwrap()).unwrap();
    assert_eq!(json.len(), 3);
    assert_eq!(json[0]["voucher_type"], "comp");
    // An explicit --format wins over an unknown extension; no way to tell is an input error.
    assert!(gen(&["--count", "2", "--output", "codes.txt", "--format", "json"]).status.success());
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&std::fs::read_to_string(d.join("codes.txt")).unwrap()).unwrap().len(),
        2
    );
    let err = input_error(gen(&["--count", "2", "--output", "codes.dat"]));
    assert!(err.contains("--output"), "{err}");
    // A failed batch leaves no file behind.
    let err = input_error(gen(&["--count", "2", "--addon", "nope", "--output", "failed.csv"]));
    assert!(err.contains("--addon"), "{err}");
    let left: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(!left.iter().any(|f| f == "failed.csv" || f.starts_with(".tmp") || f.contains(".partial-")), "{left:?}");
    assert!(!d.join("codes.dat").exists());
}

#[test]
fn checkout_check_redeem_release_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    catalogue(d, None);
    let run = |args: &[&str]| vouchers(d, None, args);
    ok(run(&[
        "add",
        "--conference",
        "pycon",
        "--code",
        "STUDENT-1",
        "--type",
        "percentage",
        "--discount",
        "50",
        "--unlocks-hidden-tickets",
        "--ticket-type",
        "student",
    ]));
    let check: Value = serde_json::from_str(&ok(run(&[
        "check",
        "--conference",
        "pycon",
        " student-1 ",
        "--ticket-type",
        "student=2",
        "--addon",
        "tshirt",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(check["valid"], true);
    assert_eq!(check["reason"], Value::Null);
    assert_eq!(check["unlocked_ticket_types"], serde_json::json!(["student"]));
    assert_eq!(check["pricing"]["subtotal"], "225.00");
    // Its add-on set is empty, so it applies to every add-on too: 100.00 + 12.50.
    assert_eq!(check["pricing"]["discount"], "112.50");
    assert_eq!(check["pricing"]["lines"][1]["addon"], "tshirt");
    let missing: Value =
        serde_json::from_str(&ok(run(&["check", "--conference", "pycon", "NOPE", "--format", "json"]))).unwrap();
    assert_eq!((missing["valid"].as_bool(), missing["reason"].as_str()), (Some(false), Some("not_found")));

    let redeem =
        |order: &str| run(&["redeem", "--conference", "pycon", "--order-ref", order, "STUDENT-1", "--format", "json"]);
    let first: Value = serde_json::from_str(&ok(redeem("A-1"))).unwrap();
    assert_eq!((first["redeemed"].as_bool(), first["order_ref"].as_str()), (Some(true), Some("A-1")));
    assert_eq!(first["voucher"]["times_used"], 1);
    let retry: Value = serde_json::from_str(&ok(redeem("A-1"))).unwrap();
    assert_eq!(retry, first, "a retry replays the first answer");
    // Refused: exit 4, the API's JSON error on stdout (--format json), the message on stderr.
    let refused = redeem("A-2");
    assert_eq!(refused.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no uses left"));
    let body: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(body["error"]["code"], "used_up", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no uses left"), "{body}");

    let release = |order: &str| -> Value {
        serde_json::from_str(&ok(run(&[
            "release",
            "--conference",
            "pycon",
            "--order-ref",
            order,
            "student-1",
            "--format",
            "json",
        ])))
        .unwrap()
    };
    let released = release("A-1");
    assert_eq!((released["released"].as_bool(), released["voucher"]["times_used"].as_i64()), (Some(true), Some(0)));
    assert_eq!(release("A-1")["released"], false);
    assert!(redeem("A-2").status.success(), "the use is back");

    let usage: Value = serde_json::from_str(&ok(run(&["usage", "--conference", "pycon", "--format", "json"]))).unwrap();
    assert_eq!(usage["total"]["issued"], 1);
    assert_eq!(usage["total"]["uses_consumed"], 1);
    assert_eq!(usage["total"]["fully_used"], 1);
    let table = ok(run(&["usage", "--conference", "pycon"]));
    assert!(table.starts_with("batch") && table.contains("total"), "{table}");
    let err = input_error(run(&["check", "--conference", "pycon", "X", "--ticket-type", "student=0"]));
    assert!(err.contains("--ticket-type/--addon"), "{err}");
}

/// The cart minimums, set with flags like the other terms: a cart below one is refused with
/// exit 4 and a message that says what is missing; a bad minimum names its flag.
#[test]
fn minimums_are_set_with_flags_and_refuse_small_carts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    catalogue(d, None);
    let run = |args: &[&str]| vouchers(d, None, args);
    let added: Value = serde_json::from_str(&ok(run(&[
        "add",
        "--conference",
        "pycon",
        "--code",
        "GROUP-1",
        "--type",
        "comp",
        "--ticket-type",
        "individual",
        "--min-quantity",
        "3",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!((added["min_quantity"].as_i64(), added["min_subtotal"].clone()), (Some(3), Value::Null));
    let check: Value = serde_json::from_str(&ok(run(&[
        "check",
        "--conference",
        "pycon",
        "GROUP-1",
        "--ticket-type",
        "individual=2",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!((check["valid"].as_bool(), check["reason"].as_str()), (Some(false), Some("below_minimum")));
    let refused =
        run(&["redeem", "--conference", "pycon", "--order-ref", "G-1", "GROUP-1", "--ticket-type", "individual=2"]);
    assert_eq!(refused.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("add 1 more qualifying item"), "{refused:?}");
    let err =
        input_error(run(&["add", "--conference", "pycon", "--code", "BAD-1", "--type", "comp", "--min-subtotal", "0"]));
    assert!(err.contains("min-subtotal") || err.contains("min_subtotal"), "{err}");
}

#[test]
fn unreachable_database_exits_1_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = vouchers(dir.path(), Some("postgres://app:hunter2secret@127.0.0.1:1/vouchers"), &["conference", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("postgres://app:***@127.0.0.1:1/vouchers"), "{err}");
    assert!(!err.contains("hunter2secret"), "{err}");
    // A URL that names no database is invalid input naming the setting, and still hides its
    // password.
    let out = vouchers(dir.path(), Some("mysql://app:hunter2secret@h/db"), &["conference", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--database") && !err.contains("hunter2secret"), "{err}");
}

/// Holds, `--no-addons`, a budget and once per customer from the command line: the note says
/// what the batch applies to; a held use refuses another cart with exit 4; the hold is
/// extended, then released by cart.
#[test]
fn holds_and_the_new_terms_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    catalogue(d, None);
    let run = |args: &[&str]| vouchers(d, None, args);
    let generated = run(&[
        "generate",
        "--conference",
        "pycon",
        "--prefix",
        "SPEAKER-",
        "--count",
        "1",
        "--type",
        "comp",
        "--ticket-type",
        "individual",
        "--no-addons",
        "--budget",
        "500.00",
        "--once-per-customer",
        "--format",
        "json",
    ]);
    let note = String::from_utf8_lossy(&generated.stderr).to_string();
    let vouchers_json: Value = serde_json::from_str(&ok(generated)).unwrap();
    let v = &vouchers_json[0];
    assert_eq!((v["applicable_addons"].clone(), v["budget"].clone()), (Value::from("none"), Value::from("500.00")));
    assert_eq!(v["once_per_customer"], true);
    assert!(note.is_empty(), "JSON output alone: {note}");
    let table = run(&[
        "generate",
        "--conference",
        "pycon",
        "--prefix",
        "COMP-",
        "--count",
        "1",
        "--type",
        "comp",
        "--no-addons",
    ]);
    let note = String::from_utf8_lossy(&table.stderr).to_string();
    assert!(note.contains("applies to: every ticket type; no add-on"), "{note}");
    let code = v["code"].as_str().unwrap().to_owned();

    let hold = |cart: &str, email: &str| {
        run(&[
            "hold",
            "--conference",
            "pycon",
            "--cart-ref",
            cart,
            &code,
            "--ticket-type",
            "individual",
            "--customer-email",
            email,
            "--format",
            "json",
        ])
    };
    let held: Value = serde_json::from_str(&ok(hold("CART-1", "ana@example.org"))).unwrap();
    assert_eq!(
        (held["voucher"]["uses_held"].as_i64(), held["pricing"]["discount"].as_str()),
        (Some(1), Some("400.00"))
    );
    let refused = hold("CART-2", "bea@example.org");
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("held"), "{refused:?}");
    let missing = run(&["hold", "--conference", "pycon", "--cart-ref", "CART-3", &code]);
    assert!(input_error(missing).contains("customer_email"));
    let extend = ["hold-extend", "--conference", "pycon", "--cart-ref", "CART-1", &code, "--ttl", "60"];
    let extended: Value = serde_json::from_str(&ok(run(&[&extend[..], &["--format", "json"]].concat()))).unwrap();
    assert_ne!(extended["expires_at"], held["expires_at"]);
    let released = ok(run(&["release", "--conference", "pycon", "--cart-ref", "CART-1", &code]));
    assert!(released.starts_with("released"), "{released}");
    let again = ok(run(&["release", "--conference", "pycon", "--cart-ref", "CART-1", &code]));
    assert!(again.contains("nothing to release: cart CART-1"), "{again}");
}
