//! `conference update`, `ticket-type update`, `addon update` and the audit log's new filters
//! (`--actor`, `--until`): what changed on stdout and stderr, the audit record, bad flags named,
//! another conference's slug not found.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

fn json(output: std::process::Output) -> Value {
    serde_json::from_str(&ok(output)).unwrap()
}

/// `vouchers ARGS` as the operating system's user `user` (the audit log's actor).
fn as_user(dir: &Path, database: Option<&str>, user: &str, args: &[&str]) -> std::process::Output {
    run(command(dir, database).env("USER", user).args(args))
}

fn update_commands(backend: Backend) {
    let database = backend.database();
    let database = Some(database.url());
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    create_conference(dir, database, "pycon", "PyCon");
    create_conference(dir, database, "djangocon", "DjangoCon");
    let tt = ["ticket-type", "create", "--conference", "pycon", "--slug", "student", "--name", "student"];
    ok(vouchers(dir, database, &[&tt[..], &["--price", "100", "--requires-voucher"]].concat()));
    let addon = ["addon", "create", "--conference", "pycon", "--slug", "tshirt", "--name", "T-shirt", "--price", "25"];
    ok(vouchers(dir, database, &addon));

    // The conference: name, last day, hold time; what changed on stderr.
    let update = ["conference", "update", "pycon", "--name", "PyCon US", "--end-date", "2027-05-23"];
    let args = [&update[..], &["--hold-seconds", "600", "--format", "json"]].concat();
    let out = as_user(dir, database, "ada", &args);
    assert!(String::from_utf8_lossy(&out.stderr).contains("conference pycon: changed name, end_date, hold_seconds"));
    let changed = json(out);
    assert_eq!(
        (&changed[0]["name"], &changed[0]["end_date"], &changed[0]["hold_seconds"], &changed[0]["timezone"]),
        (&Value::from("PyCon US"), &Value::from("2027-05-23"), &Value::from(600), &Value::from("UTC"))
    );
    let table = ok(vouchers(dir, database, &["conference", "list"]));
    assert!(table.contains("hold_seconds") && table.contains("PyCon US") && table.contains("600"), "{table}");
    let again = as_user(dir, database, "ada", &args);
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing changed"), "{again:?}");
    ok(again);
    let e = input_error(vouchers(dir, database, &["conference", "update", "pycon", "--start-date", "2027-06-01"]));
    assert!(e.contains("--start-date") && e.contains("start_date must not be after end_date"), "{e}");
    let e = input_error(vouchers(dir, database, &["conference", "update", "pycon", "--hold-seconds", "0"]));
    assert!(e.contains("--hold-seconds"), "{e}");
    let e = input_error(vouchers(dir, database, &["conference", "update", "pycon", "--timezone", "UTC"]));
    assert!(e.contains("--timezone"), "the time zone is not changeable: {e}");
    let e = not_found(vouchers(dir, database, &["conference", "update", "nope", "--name", "X"]));
    assert!(e.contains("nope"), "{e}");

    // A ticket type: shown to everyone, off sale, repriced.
    let update = ["ticket-type", "update", "--conference", "pycon", "student", "--name", "Student", "--price", "120"];
    let args = [&update[..], &["--hidden", "false", "--on-sale", "false", "--format", "json"]].concat();
    let t = json(vouchers(dir, database, &args));
    assert_eq!(
        (&t[0]["slug"], &t[0]["name"], &t[0]["price"], &t[0]["requires_voucher"], &t[0]["is_active"]),
        (
            &Value::from("student"),
            &Value::from("Student"),
            &Value::from("120.00"),
            &Value::Bool(false),
            &Value::Bool(false)
        )
    );
    let e = input_error(vouchers(
        dir,
        database,
        &["ticket-type", "update", "--conference", "pycon", "student", "--price", "-1"],
    ));
    assert!(e.contains("--price"), "{e}");
    let e = input_error(vouchers(
        dir,
        database,
        &["ticket-type", "update", "--conference", "pycon", "student", "--hidden", "maybe"],
    ));
    assert!(e.contains("--hidden"), "{e}");
    let e = not_found(vouchers(
        dir,
        database,
        &["ticket-type", "update", "--conference", "djangocon", "student", "--name", "X"],
    ));
    assert!(e.contains("ticket type \"student\" not found in conference \"djangocon\""), "{e}");

    // An add-on: off sale.
    let args = ["addon", "update", "--conference", "pycon", "tshirt", "--on-sale", "false", "--format", "json"];
    let a = json(vouchers(dir, database, &args));
    assert_eq!((&a[0]["name"], &a[0]["is_active"]), (&Value::from("T-shirt"), &Value::Bool(false)));
    let e = not_found(vouchers(dir, database, &["addon", "update", "--conference", "pycon", "dinner", "--price", "1"]));
    assert!(e.contains("add-on \"dinner\" not found"), "{e}");

    // The audit log: by actor (contains, any case) and until (exclusive).
    let audit = ["audit", "--conference", "pycon", "--format", "json"];
    let by_ada = json(vouchers(dir, database, &[&audit[..], &["--actor", "ADA"]].concat()));
    let actions: Vec<&str> = by_ada.as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["conference.update"], "the second update changed nothing");
    assert_eq!(by_ada[0]["changes"]["hold_seconds"], serde_json::json!({"old": 1800, "new": 600}));
    let updates = json(vouchers(dir, database, &[&audit[..], &["--action", "ticket_type.update"]].concat()));
    assert_eq!(updates[0]["changes"]["price"], serde_json::json!({"old": "100.00", "new": "120.00"}));
    let old = json(vouchers(dir, database, &[&audit[..], &["--until", "2000-01-01T00:00"]].concat()));
    assert_eq!(old, Value::Array(Vec::new()));
    let recent = json(vouchers(
        dir,
        database,
        &[&audit[..], &["--since", "2000-01-01T00:00", "--until", "2999-01-01T00:00:00Z"]].concat(),
    ));
    assert!(recent.as_array().unwrap().len() >= 4);
    let long = "x".repeat(201);
    let e = input_error(vouchers(dir, database, &["audit", "--conference", "pycon", "--actor", &long]));
    assert!(e.contains("--actor") && e.contains("at most 200 characters"), "{e}");
    let e = input_error(vouchers(dir, database, &["audit", "--conference", "pycon", "--until", "yesterday"]));
    assert!(e.contains("--until"), "{e}");
    let e = input_error(vouchers(
        dir,
        database,
        &["audit", "--conference", "pycon", "--since", "2027-01-02T00:00", "--until", "2027-01-01T00:00"],
    ));
    assert!(e.contains("--until") && e.contains("until must not be before since"), "{e}");
}

both_backends!(update_commands);
