//! `vouchers report`: the funnel, the timeline and the redemptions list on the command line, as
//! JSON and as a table; bad parameters exit 2 naming the flag's field.

use serde_json::Value;

use crate::support::*;

fn json(output: std::process::Output) -> Value {
    serde_json::from_str(&ok(output)).unwrap()
}

fn report_commands(backend: Backend) {
    let database = backend.database();
    let database = Some(database.url());
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    create_conference(dir, database, "pycon", "PyCon");
    let tt = ["ticket-type", "create", "--conference", "pycon", "--slug", "individual", "--name", "Individual"];
    ok(vouchers(dir, database, &[&tt[..], &["--price", "400"]].concat()));
    let generated = json(vouchers(
        dir,
        database,
        &[
            "generate",
            "--conference",
            "pycon",
            "--prefix",
            "REP-",
            "--count",
            "2",
            "--type",
            "percentage",
            "--discount",
            "25",
            "--name",
            "Reporters",
            "--format",
            "json",
        ],
    ));
    let code = generated[0]["code"].as_str().unwrap().to_owned();
    let redeem = ["redeem", "--conference", "pycon", "--order-ref", "o-1", &code, "--ticket-type", "individual"];
    ok(vouchers(dir, database, &redeem));

    let batches = json(vouchers(dir, database, &["report", "batches", "--conference", "pycon", "--format", "json"]));
    assert_eq!((batches[0]["issued"].clone(), batches[0]["redeemed"].clone()), (Value::from(2), Value::from(1)));
    assert_eq!(batches[0]["discount_given"], "100.00");
    assert_eq!(batches[0]["name"], "Reporters", "the name given with --name");
    let table = ok(vouchers(dir, database, &["report", "batches", "--conference", "pycon"]));
    assert!(table.starts_with("batch") && table.contains("REP-") && table.contains("Reporters"), "{table}");

    let timeline = json(vouchers(
        dir,
        database,
        &["report", "timeline", "--conference", "pycon", "--interval", "hour", "--format", "json"],
    ));
    assert_eq!(timeline["points"].as_array().unwrap().len(), 48);
    assert_eq!(
        (timeline["total_redemptions"].clone(), timeline["timezone"].clone()),
        (Value::from(1), Value::from("UTC"))
    );
    let csv = ok(vouchers(dir, database, &["report", "timeline", "--conference", "pycon", "--format", "csv"]));
    assert!(csv.starts_with("day,redemptions,discount\n") && csv.lines().count() == 31, "{csv}");

    let listed = json(vouchers(dir, database, &["report", "redemptions", "--conference", "pycon", "--format", "json"]));
    assert_eq!(listed[0]["order_ref"], "o-1");
    assert_eq!(listed[0]["code"], code.as_str());

    let e =
        input_error(vouchers(dir, database, &["report", "timeline", "--conference", "pycon", "--interval", "week"]));
    assert!(e.contains("interval"), "{e}");
    let e = input_error(vouchers(dir, database, &["report", "redemptions", "--conference", "pycon", "--limit", "0"]));
    assert!(e.contains("limit"), "{e}");
    let missing = not_found(vouchers(dir, database, &["report", "batches", "--conference", "nope"]));
    assert!(missing.contains("nope"), "{missing}");
}

both_backends!(report_commands);
