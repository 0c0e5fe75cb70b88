//! `vouchers-bench load --webhooks`: redeem throughput on one `serve` with one webhook
//! subscription on every event against none, in turn (none, one, none, one, ...), so both are
//! measured side by side in one run. The subscription's receiver answers 200 at once, in this
//! process; `serve`'s own sender delivers while the load runs. Afterwards every redemption made
//! with the subscription enabled must have been delivered exactly once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::report::Check;
use super::server::{Deployment, Server};
use super::wrk::{self, Workload};

/// The operator flags that let the sender reach the receiver on loopback.
const FLAGS: [&str; 2] = ["--webhook-allow-http", "--webhook-allow-private"];

/// A receiver answering 200 to every POST, counting them and the distinct event ids.
struct Receiver {
    url: String,
    count: Arc<AtomicU64>,
    ids: Arc<Mutex<HashSet<String>>>,
}

impl Receiver {
    fn start() -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let count = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&count);
        let ids: Arc<Mutex<HashSet<String>>> = Arc::default();
        let seen = Arc::clone(&ids);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async move {
                let app = axum::Router::new().route(
                    "/hook",
                    axum::routing::post(move |headers: axum::http::HeaderMap| {
                        counted.fetch_add(1, Ordering::Relaxed);
                        if let Some(id) = headers.get("vouchers-event-id").and_then(|v| v.to_str().ok()) {
                            seen.lock().expect("the ids").insert(id.to_owned());
                        }
                        async { "ok" }
                    }),
                );
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                let _ = axum::serve(listener, app).await;
            });
        });
        Ok(Self { url, count, ids })
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs the A/B on `deployment`: `rounds` pairs of redeem runs of `duration` seconds at `conns`
/// connections; returns the rows to print and the checks.
pub fn ab(
    deployment: &Deployment,
    rounds: usize,
    conns: u32,
    duration: u64,
    runs: &mut Vec<super::Run>,
) -> Result<Vec<Check>> {
    let db = deployment.name();
    let receiver = Receiver::start()?;
    let check_codes = deployment.codes("WCHK", 10, 1_000_000_000)?;
    let mut args = FLAGS.to_vec();
    args.extend(["webhook", "create", "--conference", "load", "--url", &receiver.url, "--format", "json"]);
    let created: serde_json::Value = serde_json::from_str(&deployment.cli(&args)?)?;
    let id = created["webhook"]["id"].as_i64().context("no webhook id")?.to_string();
    let server = Server::start_with(deployment, "info", &FLAGS)?;
    let (mut none, mut one, mut lags) = (Vec::new(), Vec::new(), Vec::new());
    let mut redeemed_with = 0;
    for round in 1..=rounds {
        for with in [false, true] {
            deployment.cli(&["webhook", if with { "enable" } else { "disable" }, &id])?;
            let label = if with { "one webhook" } else { "no webhook" };
            let codes = deployment.codes(&format!("W{round}{}", u8::from(with)), super::redeem_supply(duration), 1)?;
            let workload = Workload::redeem(deployment, &check_codes, &codes, &format!("w{round}-{with}"), conns);
            let measured = wrk::run(&server, &workload, conns, duration)?;
            eprintln!("[webhooks] {db} round {round} {label}: {:.0}/s", measured.throughput());
            if with {
                redeemed_with += measured.redeemed;
                one.push(measured.throughput());
                // The next round starts once the sender has caught up, so it never pays for this
                // one's deliveries; how long that took is reported.
                let start = Instant::now();
                while receiver.count.load(Ordering::Relaxed) < redeemed_with
                    && start.elapsed() < Duration::from_secs(120)
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                lags.push(start.elapsed().as_secs_f64());
            } else {
                none.push(measured.throughput());
            }
            runs.push(super::Run {
                database: db.to_owned(),
                workload: format!("redeem, {label} (round {round})"),
                connections: conns,
                result: measured,
            });
        }
    }
    // Anything delivered twice would show up here.
    std::thread::sleep(Duration::from_millis(500));
    let delivered = receiver.count.load(Ordering::Relaxed);
    let distinct = receiver.ids.lock().expect("the ids").len() as u64;
    // wrk counts the answers it read: a redemption in flight when a run ends is made (and its
    // event sent) uncounted, at most one per connection per run.
    let in_flight = u64::from(conns) * rounds as u64;
    server.stop()?;
    let ratio = median(one.clone()) / median(none.clone());
    println!(
        "{db}: redeem c={conns}, median of {rounds}: no webhook {:.0}/s, one webhook on every event {:.0}/s, ratio {ratio:.2}; \
         {delivered} deliveries for {redeemed_with} redemptions, the last of each round {} s after it",
        median(none),
        median(one),
        lags.iter().map(|l| format!("{l:.1}")).collect::<Vec<_>>().join(", ")
    );
    Ok(vec![
        Check::new(
            db,
            "redeem with one webhook within 10% of none".to_owned(),
            ratio >= 0.9,
            format!("ratio {ratio:.2}"),
        ),
        Check::new(
            db,
            "every redemption with the webhook on delivered exactly once".to_owned(),
            delivered == distinct && (redeemed_with..=redeemed_with + in_flight).contains(&distinct),
            format!("{delivered} deliveries of {distinct} events for {redeemed_with} redemptions answered"),
        ),
    ])
}
