//! `vouchers-bench pages`: how long each console page takes on the server, with a conference of
//! 100,000 vouchers and 50,000 redemptions (by default), on each database. The console's router
//! runs in this process (no network, no browser): each figure is the handler's time, from the
//! request to the last byte of the page. Every page must answer 200; the table prints the median
//! and the slowest of `--reps` timed requests after one warm-up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vouchers_console::{ConsoleSettings, ConsoleState};
use vouchers_core::domain::{
    Email, LineItem, NewConference, NewTicketType, OrderRef, Password, Quantity, Role, VoucherType,
};
use vouchers_core::service::checkout::{self, CartLine, UseOptions};
use vouchers_core::service::{accounts, catalog};
use vouchers_core::{generate_voucher_codes, Limits, VoucherBulkConfig};

use crate::db::BenchDb;

/// The conference's slug.
const CONF: &str = "bench";

/// Vouchers per generated batch.
const BATCH: i64 = 10_000;

/// The pages timed (the conference's, with data in every list).
const PAGES: [&str; 26] = [
    "/console",
    "/console/c/bench",
    "/console/c/bench/vouchers",
    "/console/c/bench/vouchers?status=used_up",
    "/console/c/bench/vouchers?q=B3-",
    "/console/c/bench/vouchers?order=newest",
    "/console/c/bench/vouchers?order=code",
    "/console/c/bench/vouchers?order=code&batch=7",
    "/console/c/bench/batches",
    "/console/c/bench/batches/1",
    "/console/c/bench/reports",
    "/console/c/bench/reports?interval=hour",
    "/console/c/bench/redemptions",
    "/console/c/bench/redemptions?search=order-4",
    "/console/c/bench/outbox",
    "/console/c/bench/allotments",
    "/console/c/bench/webhooks",
    "/console/c/bench/catalog",
    "/console/c/bench/generate",
    "/console/c/bench/tokens",
    "/console/c/bench/try",
    "/console/c/bench/audit",
    "/console/c/bench/settings",
    "/console/c/bench/import",
    "/console/accounts",
    "/console/c/bench/vouchers?batch=3",
];

/// The arguments of `pages`.
#[derive(Debug, clap::Args)]
pub struct PagesArgs {
    /// Databases: sqlite, postgres or both.
    #[arg(long, value_delimiter = ',', default_values_t = ["sqlite".to_owned(), "postgres".to_owned()])]
    dbs: Vec<String>,
    /// Vouchers in the conference (in batches of 10,000).
    #[arg(long, default_value_t = 100_000)]
    vouchers: i64,
    /// Of those, redeemed (one use each, a cart of one ticket).
    #[arg(long, default_value_t = 50_000)]
    redemptions: usize,
    /// Timed requests per page, after one warm-up.
    #[arg(long, default_value_t = 15)]
    reps: usize,
    /// PostgreSQL server; the run gets its own database there, dropped after.
    #[arg(long, env = "VOUCHERS_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
}

/// Runs the benchmark and prints its table.
pub fn run(args: &PagesArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut columns = Vec::new();
    for db in &args.dbs {
        eprintln!("{db}: {} vouchers, {} redemptions ...", args.vouchers, args.redemptions);
        columns.push((db.clone(), runtime.block_on(measure(db, args))?));
    }
    println!(
        "| page | {} |",
        columns.iter().map(|(db, _)| format!("{db} median ms | {db} max ms")).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|{}", "---:|---:|".repeat(columns.len()));
    for (i, page) in PAGES.iter().enumerate() {
        let cells: Vec<String> =
            columns.iter().map(|(_, times)| format!("{:.1} | {:.1}", times[i].0, times[i].1)).collect();
        println!("| `{page}` | {} |", cells.join(" | "));
    }
    Ok(())
}

/// The conference, its vouchers and redemptions, an admin account: then each page's times
/// `(median, max)` in milliseconds.
async fn measure(db: &str, args: &PagesArgs) -> Result<Vec<(f64, f64)>> {
    let bench = BenchDb::open(db, &args.postgres_url).await?;
    let store = bench.shared();
    let new = NewConference::parse(CONF, "Bench Conf", "2027-05-14", "2027-05-22", "America/New_York")?;
    catalog::create_conference(store.as_ref(), &new).await?;
    let tt = NewTicketType::parse("individual", "Individual", "400.00", false)?;
    catalog::create_ticket_type(store.as_ref(), CONF, &tt).await?;
    let limits = Limits { max_batch: BATCH, ..Limits::default() };
    let started = Instant::now();
    let mut codes = Vec::new();
    let mut made = 0;
    while made < args.vouchers {
        let count = BATCH.min(args.vouchers - made);
        let prefix = format!("B{}-", made / BATCH);
        let config = VoucherBulkConfig::new(CONF, prefix, count, VoucherType::Percentage, 25.into());
        let batch = generate_voucher_codes(store.as_ref(), &limits, &config).await?;
        codes.extend(batch.vouchers.into_iter().map(|v| v.code));
        made += count;
    }
    codes.truncate(args.redemptions);
    let codes = Arc::new(codes);
    let workers = 8;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (store, codes) = (Arc::clone(&store), Arc::clone(&codes));
        tasks.push(tokio::spawn(async move {
            let lines = vec![CartLine { item: LineItem::TicketType("individual".into()), quantity: Quantity::new(1)? }];
            for (i, code) in codes.iter().enumerate().filter(|(i, _)| i % workers == w) {
                let order = OrderRef::parse(&format!("order-{i}"))?;
                let now = vouchers_core::now();
                checkout::redeem_voucher(store.as_ref(), CONF, code, &order, Some(&lines), &UseOptions::default(), now)
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    bench.analyze().await?;
    eprintln!("{db}: data ready in {:.1?}", started.elapsed());

    let (email, password) = ("bench@example.org", "bench password 12345");
    accounts::create_account(
        store.as_ref(),
        &Email::parse("email", email)?,
        Role::Admin,
        &Password::new(password)?,
        &[],
    )
    .await?;
    let settings = ConsoleSettings { sign_ins_per_minute: 0, ..ConsoleSettings::default() };
    let router = vouchers_console::router(ConsoleState::new(Arc::clone(&store), limits, settings));
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .append_pair("password", password)
        .finish();
    let login = Request::builder()
        .method(Method::POST)
        .uri("/console/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))?;
    let answer = router.clone().oneshot(login).await?;
    let cookie = answer
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("vouchers_session="))
        .and_then(|v| v.split(';').next())
        .context("signing in gave no session cookie")?
        .to_owned();

    let mut times = Vec::new();
    for page in PAGES {
        let mut taken = Vec::with_capacity(args.reps);
        for rep in 0..=args.reps {
            let request = Request::builder().uri(page).header(header::COOKIE, &cookie).body(Body::empty())?;
            let start = Instant::now();
            let response = router.clone().oneshot(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            let elapsed = start.elapsed();
            if status != StatusCode::OK {
                bail!(
                    "{db} {page}: {status}: {}",
                    String::from_utf8_lossy(&body).chars().take(300).collect::<String>()
                );
            }
            if rep > 0 {
                taken.push(elapsed);
            }
        }
        taken.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        times.push((ms(taken[taken.len() / 2]), ms(taken[taken.len() - 1])));
    }
    drop(router);
    drop(store);
    bench.close().await?;
    Ok(times)
}
