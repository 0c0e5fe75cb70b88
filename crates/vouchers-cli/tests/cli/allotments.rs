//! Sponsor allotments on the command line: the `allotment` commands' answers (the JSON contract,
//! the link with and without `--public-url`), refusals with their exit status, and `serve`
//! closing a due allotment by itself.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

fn json(output: std::process::Output) -> Value {
    serde_json::from_str(&ok(output)).unwrap()
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

const CREATE: [&str; 14] = [
    "allotment",
    "create",
    "--conference",
    "pycon",
    "--sponsor",
    "ACME Corp",
    "--contact",
    "sponsors@acme.example",
    "--seats",
    "5",
    "--type",
    "comp",
    "--deadline",
    "2030-04-30T18:00",
];

fn allotment_commands(backend: Backend) {
    let database = backend.database();
    let database = Some(database.url());
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    create_conference(dir, database, "pycon", "PyCon");

    // Create: the contract's keys; the link is the path alone without a public URL.
    let created = json(vouchers(dir, database, &[&CREATE[..], &["--prefix", "ACME-", "--format", "json"]].concat()));
    assert_eq!(keys(&created), ["allotment", "link"]);
    assert_eq!(
        keys(&created["allotment"]),
        ["assigned", "closed", "contact", "deadline", "id", "left", "redeemed", "returned", "seats", "sponsor"]
    );
    assert_eq!(created["allotment"]["deadline"], "2030-04-30T18:00:00Z", "read in the conference's zone (UTC)");
    assert!(created["link"].as_str().unwrap().starts_with("/sponsor/"));
    let id = created["allotment"]["id"].to_string();

    // With a public URL (flag or environment), the whole link; the table prints it alone.
    let with_url = json(vouchers(
        dir,
        database,
        &[&CREATE[..], &["--public-url", "https://tickets.example.org/", "--format", "json"]].concat(),
    ));
    assert!(with_url["link"].as_str().unwrap().starts_with("https://tickets.example.org/sponsor/"));
    let table = run(command(dir, database).args(CREATE).env("VOUCHERS_PUBLIC_URL", "http://127.0.0.1:8000"));
    let printed = ok(table);
    assert!(printed.trim().starts_with("http://127.0.0.1:8000/sponsor/") && printed.lines().count() == 1, "{printed}");
    let bad = input_error(vouchers(dir, database, &[&CREATE[..], &["--public-url", "tickets.example.org"]].concat()));
    assert!(bad.contains("--public-url"), "{bad}");

    // Show, list, extend, resize, new-link, revoke-link.
    let shown = json(vouchers(dir, database, &["allotment", "show", &id, "--format", "json"]));
    assert_eq!(shown, created["allotment"]);
    let listed = json(vouchers(dir, database, &["allotment", "list", "--conference", "pycon", "--format", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 3);
    let extended = json(vouchers(
        dir,
        database,
        &["allotment", "extend", &id, "--deadline", "2030-05-07T12:00", "--format", "json"],
    ));
    assert_eq!(extended["deadline"], "2030-05-07T12:00:00Z");
    let resized = json(vouchers(dir, database, &["allotment", "resize", &id, "--seats", "8", "--format", "json"]));
    assert_eq!((resized["seats"].clone(), resized["left"].clone()), (Value::from(8), Value::from(8)));
    let renewed = json(vouchers(dir, database, &["allotment", "new-link", &id, "--format", "json"]));
    assert_eq!(keys(&renewed), ["link"]);
    assert_ne!(renewed["link"], created["link"]);
    ok(vouchers(dir, database, &["allotment", "revoke-link", &id]));
    assert_eq!(json(vouchers(dir, database, &["allotment", "close-due", "--format", "json"])), serde_json::json!([]));

    // Refusals: exit 2 naming the flag's field, 3 for a missing allotment; nothing written.
    let e = input_error(vouchers(dir, database, &["allotment", "resize", &id, "--seats", "0"]));
    assert!(e.contains("seats"), "{e}");
    let e = input_error(vouchers(dir, database, &["allotment", "extend", &id, "--deadline", "2001-01-01T00:00:00Z"]));
    assert!(e.contains("deadline must be in the future"), "{e}");
    let e = input_error(vouchers(
        dir,
        database,
        &[
            &CREATE[..4],
            &[
                "--sponsor",
                "X",
                "--contact",
                "nobody",
                "--seats",
                "1",
                "--type",
                "comp",
                "--deadline",
                "2030-01-01T00:00",
            ],
        ]
        .concat(),
    ));
    assert!(e.contains("contact"), "{e}");
    let e = input_error(vouchers(dir, database, &[&CREATE[..], &["--reminder-days", "0"]].concat()));
    assert!(e.contains("reminder_days"), "{e}");
    let missing = not_found(vouchers(dir, database, &["allotment", "show", "999"]));
    assert!(missing.contains("no allotment with id 999"), "{missing}");
    let listed = json(vouchers(dir, database, &["allotment", "list", "--conference", "pycon", "--format", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 3, "no refused create wrote anything");
}

/// `serve` closes an allotment whose deadline has passed by itself (its first round runs at
/// start), returning the passes nobody was given.
fn serve_closes_due_allotments(backend: Backend) {
    let database = backend.database();
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    create_conference(dir, Some(url), "pycon", "PyCon");
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let args = [&CREATE[..12], &["--deadline", &soon, "--format", "json"]].concat();
    let created = json(vouchers(dir, Some(url), &args));
    let id = created["allotment"]["id"].to_string();
    std::thread::sleep(Duration::from_millis(2500));
    let server = Server::start(dir, url, "serve.log");
    let started = Instant::now();
    let closed = loop {
        let shown = json(vouchers(dir, Some(url), &["allotment", "show", &id, "--format", "json"]));
        if shown["closed"] == true || started.elapsed() > Duration::from_secs(15) {
            break shown;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!((closed["closed"].clone(), closed["returned"].clone()), (Value::from(true), Value::from(5)));
    assert!(server.logs().contains("allotment closed at its deadline"), "{}", server.logs());

    // The link still opens the (now read-only) page; the request's log line never shows its secret.
    let link = created["link"].as_str().unwrap();
    let secret = link.trim_start_matches("/sponsor/");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let request = client.get(format!("{}{link}", server.base));
    let status = runtime.block_on(async { request.send().await.unwrap().status().as_u16() });
    assert_eq!(status, 303);
    let logs = server.logs();
    assert!(logs.contains("/sponsor/{secret}"), "the request is logged: {logs}");
    assert!(!logs.contains(secret), "the link's secret is never logged: {logs}");
}

both_backends!(allotment_commands, serve_closes_due_allotments);
