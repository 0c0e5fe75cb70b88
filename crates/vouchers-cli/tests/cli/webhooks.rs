//! Webhooks across processes: the `webhook` commands' answers; two `serve` instances on one
//! database deliver each event exactly once; a sender killed with SIGKILL mid-delivery loses no
//! event (the next one sends the delivery it held, with the same event id).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::Value;

use crate::support::*;

/// A receiver on loopback, in a thread of its own: records each POST's event id and type;
/// holds its first answer back for `first_delay`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(String, String)>>>,
    _thread: std::thread::JoinHandle<()>,
}

impl Receiver {
    fn start(first_delay: Duration) -> Receiver {
        let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let shared = Arc::clone(&got);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new().route(
                    "/hook",
                    axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                        let shared = Arc::clone(&shared);
                        async move {
                            let body: Value = serde_json::from_slice(&body).unwrap();
                            let id = headers["vouchers-event-id"].to_str().unwrap().to_owned();
                            let first = {
                                let mut got = shared.lock().unwrap();
                                got.push((id, body["type"].as_str().unwrap().to_owned()));
                                got.len() == 1
                            };
                            if first {
                                tokio::time::sleep(first_delay).await;
                            }
                            "ok"
                        }
                    }),
                );
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Receiver { url, got, _thread: thread }
    }

    fn got(&self) -> Vec<(String, String)> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` distinct events arrived (at most 60 s).
    fn wait_for(&self, n: usize) -> Vec<(String, String)> {
        let start = Instant::now();
        loop {
            let got = self.got();
            let distinct: std::collections::HashSet<&String> = got.iter().map(|(id, _)| id).collect();
            if distinct.len() >= n || start.elapsed() > Duration::from_secs(60) {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `vouchers` with the webhook operator settings the tests need (loopback, plain http, 1 s
/// retries, 2 s leases).
fn hooked(dir: &Path, database: &str, args: &[&str]) -> std::process::Output {
    run(command(dir, Some(database))
        .env("VOUCHERS_WEBHOOK_ALLOW_HTTP", "1")
        .env("VOUCHERS_WEBHOOK_ALLOW_PRIVATE", "1")
        .env("VOUCHERS_WEBHOOK_RETRY_SECONDS", "1")
        .env("VOUCHERS_WEBHOOK_LEASE_SECONDS", "2")
        .args(args))
}

/// `vouchers serve` with the same settings, as global flags.
fn serve(dir: &Path, database: &str, log: &str) -> Server {
    let flags = [
        "--webhook-allow-http",
        "--webhook-allow-private",
        "--webhook-retry-seconds",
        "1",
        "--webhook-lease-seconds",
        "2",
    ];
    Server::start_with(dir, database, log, &flags)
}

/// A conference, a webhook to `receiver` for every event, and `n` events: `n` redemptions of
/// one code.
fn events(dir: &Path, database: &str, receiver: &Receiver, n: usize) {
    create_conference(dir, Some(database), "pycon", "PyCon");
    let created = ok(hooked(
        dir,
        database,
        &["webhook", "create", "--conference", "pycon", "--url", &receiver.url, "--format", "json"],
    ));
    let created: Value = serde_json::from_str(&created).unwrap();
    let mut keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["secret", "webhook"]);
    let max = n.to_string();
    ok(vouchers(
        dir,
        Some(database),
        &["add", "--conference", "pycon", "--code", "HOOK-1", "--type", "comp", "--max-uses", &max],
    ));
    for i in 0..n {
        ok(vouchers(
            dir,
            Some(database),
            &["redeem", "--conference", "pycon", "HOOK-1", "--order-ref", &format!("o-{i}")],
        ));
    }
}

/// The webhook commands: list, disable, enable, rotate-secret, deliveries, redeliver; a
/// refused target names `--url` and writes nothing.
fn webhook_commands(backend: Backend) {
    let database = backend.database();
    let database = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    create_conference(dir, Some(database), "pycon", "PyCon");
    let refused = input_error(vouchers(
        dir,
        Some(database),
        &["webhook", "create", "--conference", "pycon", "--url", "http://127.0.0.1/hook"],
    ));
    assert!(refused.contains("--url") && refused.contains("https://"), "{refused}");
    let refused = input_error(vouchers(
        dir,
        Some(database),
        &["webhook", "create", "--conference", "pycon", "--url", "https://169.254.169.254/"],
    ));
    assert!(refused.contains("link-local"), "{refused}");
    let listed: Value =
        serde_json::from_str(&ok(vouchers(dir, Some(database), &["webhook", "list", "--format", "json"]))).unwrap();
    assert_eq!(listed, serde_json::json!([]));

    let receiver = Receiver::start(Duration::ZERO);
    let out = ok(hooked(
        dir,
        database,
        &["webhook", "create", "--conference", "pycon", "--url", &receiver.url, "--event", "voucher.redeemed"],
    ));
    assert!(out.trim().starts_with("whsec_"), "the secret alone on stdout: {out}");
    let listed: Value =
        serde_json::from_str(&ok(vouchers(dir, Some(database), &["webhook", "list", "--format", "json"]))).unwrap();
    assert_eq!(listed[0]["events"], serde_json::json!(["voucher.redeemed"]));
    let id = listed[0]["id"].to_string();
    let disabled: Value =
        serde_json::from_str(&ok(vouchers(dir, Some(database), &["webhook", "disable", &id, "--format", "json"])))
            .unwrap();
    assert_eq!(disabled[0]["enabled"], false);
    ok(vouchers(dir, Some(database), &["webhook", "enable", &id]));
    let rotated = ok(vouchers(dir, Some(database), &["webhook", "rotate-secret", &id]));
    assert!(rotated.trim().starts_with("whsec_") && rotated.trim() != out.trim());
    assert!(not_found(vouchers(dir, Some(database), &["webhook", "disable", "999"])).contains("no webhook with id 999"));

    ok(vouchers(dir, Some(database), &["add", "--conference", "pycon", "--code", "HOOK-1", "--type", "comp"]));
    ok(vouchers(dir, Some(database), &["redeem", "--conference", "pycon", "HOOK-1", "--order-ref", "o-1"]));
    let pending: Value = serde_json::from_str(&ok(vouchers(
        dir,
        Some(database),
        &["webhook", "deliveries", "--conference", "pycon", "--status", "pending", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 1);
    let sent = hooked(dir, database, &["send-outbox"]);
    assert!(String::from_utf8_lossy(&sent.stderr).contains("webhooks: 1 delivered"), "{sent:?}");
    assert_eq!(receiver.wait_for(1).len(), 1);
    let delivery = pending[0]["id"].to_string();
    ok(vouchers(dir, Some(database), &["webhook", "redeliver", &delivery]));
    ok(hooked(dir, database, &["send-outbox"]));
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, got[1].0, "a redelivery is the same event");
}

/// Two `serve` instances on one database, each with its sender: every event arrives exactly
/// once.
fn two_servers_deliver_each_event_once(backend: Backend) {
    const N: usize = 30;
    let database = backend.database();
    let database = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let receiver = Receiver::start(Duration::ZERO);
    // The events are written before the servers start, so both find them due at once.
    events(dir, database, &receiver, N);
    let a = serve(dir, database, "a.log");
    let b = serve(dir, database, "b.log");
    let got = receiver.wait_for(N);
    std::thread::sleep(Duration::from_millis(500));
    let got_after = receiver.got();
    drop((a, b));
    assert_eq!(got.len(), N, "{got:?}");
    assert_eq!(got_after.len(), N, "nothing arrived twice afterwards");
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for (id, kind) in &got_after {
        assert_eq!(kind, "voucher.redeemed");
        *counts.entry(id).or_default() += 1;
    }
    assert!(counts.values().all(|n| *n == 1), "each event once: {counts:?}");
}

/// `kill -9` of the sender while a delivery is in flight: the next sender, once the lease ends,
/// sends that delivery again (the same event id) and the rest; no event is lost.
fn a_killed_sender_loses_no_event(backend: Backend) {
    const N: usize = 5;
    let database = backend.database();
    let database = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The first answer takes 30 s: the sender is killed while it waits for it.
    let receiver = Receiver::start(Duration::from_secs(30));
    events(dir, database, &receiver, N);
    let mut first = serve(dir, database, "first.log");
    let start = Instant::now();
    while receiver.got().is_empty() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(receiver.got().len(), 1, "the first delivery is in flight");
    first.child.kill().unwrap();
    drop(first);
    // The next sender takes the subscription over when the 2 s lease ends.
    let _second = serve(dir, database, "second.log");
    let got = receiver.wait_for(N);
    let ids: std::collections::HashSet<&String> = got.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), N, "every event arrived: {got:?}");
    assert_eq!(got.len(), N + 1, "the one in flight at the kill arrived twice, with its id");
    assert_eq!(got[0].0, got[1].0);
}

both_backends!(webhook_commands, two_servers_deliver_each_event_once, a_killed_sender_loses_no_event);
