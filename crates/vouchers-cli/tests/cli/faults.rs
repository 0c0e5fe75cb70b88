//! Faults a deployment meets: processes starting together on one new database, the database
//! going away under a running server (a PostgreSQL cluster the test owns, on its own port; the
//! shared server is never touched), processes killed with SIGKILL mid-write, SIGTERM under load.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cluster::Cluster;
use crate::support::*;

/// A conference `pycon`, a checkout token (returned) and one code (returned).
fn checkout_fixture(dir: &Path, database: &str) -> (String, String) {
    create_conference(dir, Some(database), "pycon", "PyCon");
    let token: Value = serde_json::from_str(&ok(vouchers(
        dir,
        Some(database),
        &["token", "create", "--scope", "checkout", "--conference", "pycon", "--format", "json"],
    )))
    .unwrap();
    let codes: Value = serde_json::from_str(&ok(vouchers(
        dir,
        Some(database),
        &[
            "generate",
            "--conference",
            "pycon",
            "--type",
            "comp",
            "--count",
            "1",
            "--max-uses",
            "1000",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    (token["token"].as_str().unwrap().to_owned(), codes[0]["code"].as_str().unwrap().to_owned())
}

/// The median and the largest of `times`.
fn median_max(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

/// Runs `vouchers conference list` in `n` processes at once against `database`; returns how
/// many failed, with the first failure's stderr.
fn racing_starts(dir: &Path, database: &str, n: usize) -> (usize, Option<String>) {
    let children: Vec<Child> = (0..n)
        .map(|_| {
            command(dir, Some(database))
                .args(["conference", "list", "--format", "json"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut failed = 0;
    let mut first = None;
    for child in children {
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            failed += 1;
            first.get_or_insert_with(|| String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    (failed, first)
}

/// Starts racing in groups of 8, each new database raced at once and then again when set up: no
/// failure. On SQLite, 200 starts on new files and on files already set up (they used to fail
/// with "table conference already exists" or "database is locked"); on PostgreSQL, whose
/// migrations take an advisory lock, 48 starts on 3 new databases.
fn racing_first_starts_all_succeed(backend: Backend) {
    let rounds = match backend {
        Backend::Sqlite => 25,
        Backend::Postgres => 6,
    };
    let dir = tempfile::tempdir().unwrap();
    let mut failures = 0;
    let mut first_failure = None;
    let mut database = None;
    for round in 0..rounds {
        // Odd rounds reuse the previous round's database: an old database opened at once.
        if round % 2 == 0 {
            database = Some(backend.database());
        }
        let url = database.as_ref().unwrap().url();
        let (failed, first) = racing_starts(dir.path(), url, 8);
        failures += failed;
        if first_failure.is_none() {
            first_failure = first;
        }
    }
    assert_eq!(failures, 0, "{failures} of {} starts failed; first: {first_failure:?}", rounds * 8);
}

/// Two instances behind a balancer (requests alternate between them) allow the configured
/// limit of unknown codes once, not once each: the window lives in the database.
fn two_instances_share_one_guessing_limit() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = Backend::Postgres.database();
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let (token, _) = checkout_fixture(dir.path(), url);
    let a = Server::start(dir.path(), url, "a.log");
    let b = Server::start(dir.path(), url, "b.log");
    let client = runtime.block_on(async { reqwest::Client::new() });
    let (mut answered, mut limited) = (0, 0);
    for i in 0..14 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let response = runtime
            .block_on(
                client
                    .post(format!("{base}/api/v1/conferences/pycon/vouchers/check"))
                    .bearer_auth(&token)
                    .json(&json!({"code": format!("NOPE-{i}")}))
                    .send(),
            )
            .unwrap();
        match response.status().as_u16() {
            200 => answered += 1,
            429 => limited += 1,
            other => panic!("status {other}"),
        }
    }
    assert_eq!((answered, limited), (10, 4), "a limit of 10 across two instances");
}

/// The database stops under a running server: requests answer 503 `database_unavailable`
/// with Retry-After within the configured bound (they hung 30 s and answered 500), `/readyz`
/// answers 503 within 2 s, `/healthz` 200, the CLI says the database cannot be reached; when
/// the database is back, service resumes by itself.
fn an_outage_answers_fast_and_service_resumes() {
    let cluster = Cluster::start(&[]);
    cluster.create_database("vouchers");
    let url = cluster.url("vouchers");
    let dir = tempfile::tempdir().unwrap();
    let (token, code) = checkout_fixture(dir.path(), &url);
    let server = Server::start_with(dir.path(), &url, "serve.log", &["--db-timeout", "2"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _inside = runtime.enter();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let check = |code: &str| {
        let started = Instant::now();
        let response = runtime
            .block_on(
                client
                    .post(format!("{}/api/v1/conferences/pycon/vouchers/check", server.base))
                    .bearer_auth(&token)
                    .json(&json!({"code": code}))
                    .send(),
            )
            .unwrap();
        let status = response.status().as_u16();
        let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        let body: Value = runtime.block_on(response.json()).unwrap();
        (status, started.elapsed(), body, retry)
    };
    let get = |path: &str| {
        let started = Instant::now();
        let status = runtime.block_on(client.get(format!("{}{path}", server.base)).send()).unwrap().status().as_u16();
        (status, started.elapsed())
    };
    assert_eq!(check(&code).0, 200);
    assert_eq!(get("/readyz").0, 200);

    cluster.halt();
    let mut times = Vec::new();
    for _ in 0..6 {
        let (status, took, body, retry) = check(&code);
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
        assert!(retry.is_some(), "Retry-After");
        times.push(took);
    }
    let (median, max) = median_max(&mut times);
    eprintln!("outage: check answered 503 in median {median:?}, max {max:?} (--db-timeout 2)");
    assert!(max < Duration::from_secs(4), "max {max:?} with a 2 s bound");
    let (ready, took) = get("/readyz");
    assert_eq!(ready, 503);
    assert!(took < Duration::from_secs(2), "/readyz took {took:?}");
    eprintln!("outage: /readyz answered 503 in {took:?}");
    assert_eq!(get("/healthz").0, 200);
    let started = Instant::now();
    let out = vouchers(dir.path(), Some(&url), &["--db-timeout", "2", "conference", "list"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be reached"), "{err}");
    assert!(took < Duration::from_secs(5), "the CLI took {took:?}");
    eprintln!("outage: the CLI gave up in {took:?}");

    cluster.resume();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body, _) = check(&code);
        if status == 200 {
            assert_eq!(body["valid"], true);
            break;
        }
        assert!(Instant::now() < deadline, "service did not resume: {status} {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get("/readyz").0, 200);
    assert!(!server.logs().contains("panicked"));
}

/// Violations of what a crash must never leave: (batches whose vouchers are not all there,
/// vouchers of a batch that does not exist, vouchers whose `times_used` differs from their
/// unreleased redemptions), and how many vouchers and redemptions there are.
async fn violations(url: &str) -> ([i64; 3], i64, i64) {
    const CHECKS: [&str; 3] = [
        "SELECT count(*) FROM voucher_batch b WHERE b.count <> (SELECT count(*) FROM voucher v WHERE v.batch_id = b.id)",
        "SELECT count(*) FROM voucher v WHERE v.batch_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM voucher_batch b WHERE b.id = v.batch_id)",
        "SELECT count(*) FROM voucher v WHERE v.times_used <>
           (SELECT count(*) FROM redemption r WHERE r.voucher_id = v.id AND r.released_at IS NULL)",
    ];
    let mut found = [0i64; 3];
    if url.starts_with("sqlite") {
        let pool =
            vouchers_core::store::no_maintenance(sqlx::sqlite::SqlitePoolOptions::new()).connect(url).await.unwrap();
        for (slot, sql) in found.iter_mut().zip(CHECKS) {
            *slot = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        }
        let vouchers = sqlx::query_scalar("SELECT count(*) FROM voucher").fetch_one(&pool).await.unwrap();
        let redemptions = sqlx::query_scalar("SELECT count(*) FROM redemption").fetch_one(&pool).await.unwrap();
        pool.close().await;
        (found, vouchers, redemptions)
    } else {
        let pool =
            vouchers_core::store::no_maintenance(sqlx::postgres::PgPoolOptions::new()).connect(url).await.unwrap();
        for (slot, sql) in found.iter_mut().zip(CHECKS) {
            *slot = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        }
        let vouchers = sqlx::query_scalar("SELECT count(*) FROM voucher").fetch_one(&pool).await.unwrap();
        let redemptions = sqlx::query_scalar("SELECT count(*) FROM redemption").fetch_one(&pool).await.unwrap();
        pool.close().await;
        (found, vouchers, redemptions)
    }
}

/// The partial output files in `dir`.
fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.contains(".partial-"))
        .collect()
}

/// `generate --output` killed with SIGKILL at different points, five times: no batch is ever
/// half there; the killed run's partial file is named after its target, and the next run to
/// that target removes it and says so.
fn killed_generates_leave_no_partial_batch(backend: Backend) {
    let database = backend.database();
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    checkout_fixture(d, url);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for run in 0..5u64 {
        let mut child = KillOnDrop::spawn(
            command(d, Some(url))
                .args(["--max-batch", "400000", "generate", "--conference", "pycon", "--type", "comp"])
                // A finished run leaves 300,000 codes with the same prefix; the next one would be
                // refused as too guessable (300,000 codes: about 65 days at the token-wide 100
                // lookups a minute).
                .args(["--count", "300000", "--output", "codes.csv", "--force", "--allow-weak-codes"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap();
        // Kill once the partial file has grown to a point that differs per run: in the first
        // chunk, then in later ones (300,000 rows are well over 8 MB; a chunk is 10,000 rows).
        // The last run is killed early, so that its partial file is still there at the end.
        let target = [8_000_000, 4_000_000, 2_000_000, 500_000, 100_000][usize::try_from(run).unwrap()];
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let grown = std::fs::read_dir(d).unwrap().flatten().any(|e| {
                e.file_name().to_string_lossy().contains(".partial-") && e.metadata().is_ok_and(|m| m.len() >= target)
            });
            if grown || matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // A run that finished before its kill would prove nothing about a crash.
        assert!(matches!(child.try_wait(), Ok(None)), "run {run}: generate ended before it was killed");
        child.kill().unwrap();
        let (found, vouchers, _) = runtime.block_on(violations(url));
        assert_eq!(found, [0, 0, 0], "run {run}: a crash left a partial batch ({vouchers} vouchers)");
    }
    let left = partials(d);
    assert!(!left.is_empty() && left.iter().all(|f| f.starts_with(".codes.csv.partial-")), "{left:?}");
    let out = vouchers(
        d,
        Some(url),
        &[
            "generate",
            "--conference",
            "pycon",
            "--type",
            "comp",
            "--count",
            "10",
            "--output",
            "codes.csv",
            "--force",
            "--allow-weak-codes",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("removed") && said.contains(".codes.csv.partial-"), "{said}");
    assert!(partials(d).is_empty(), "{:?}", partials(d));
    assert_eq!(std::fs::read_to_string(d.join("codes.csv")).unwrap().lines().count(), 11);
    eprintln!("kill -9 mid-generate: 5 runs, 0 violations, {} stale partial files removed", left.len());
}

/// `serve` killed with SIGKILL three times while 12 clients redeem and release, restarted each
/// time: every voucher's `times_used` equals its unreleased redemptions (no use lost or doubled).
fn killed_servers_lose_and_double_no_use(backend: Backend) {
    let database = backend.database();
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (token, _) = checkout_fixture(d, url);
    let codes: Value = serde_json::from_str(&ok(vouchers(
        d,
        Some(url),
        &[
            "generate",
            "--conference",
            "pycon",
            "--prefix",
            "LOAD-",
            "--type",
            "comp",
            "--count",
            "10",
            "--max-uses",
            "100000",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    let codes: Vec<String> = codes.as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap().to_owned()).collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut answered = 0usize;
    for round in 0..3u64 {
        let mut server = Server::start(d, url, &format!("serve-{round}.log"));
        let base = server.base.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks: Vec<_> = (0..12)
            .map(|client| {
                let (base, token, codes, stop) = (base.clone(), token.clone(), codes.clone(), stop.clone());
                runtime.spawn(async move {
                    let http = reqwest::Client::new();
                    let mut ok = 0usize;
                    let mut i = 0usize;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let code = &codes[(client + i) % codes.len()];
                        let order = format!("r{round}-c{client}-{i}");
                        let url = format!("{base}/api/v1/conferences/pycon/vouchers/redeem");
                        let body = json!({"code": code, "order_ref": order});
                        let Ok(response) = http.post(&url).bearer_auth(&token).json(&body).send().await else { break };
                        ok += usize::from(response.status().is_success());
                        if i.is_multiple_of(3) {
                            let url = format!("{base}/api/v1/conferences/pycon/vouchers/release");
                            if http.post(&url).bearer_auth(&token).json(&body).send().await.is_err() {
                                break;
                            }
                        }
                        i += 1;
                    }
                    ok
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400 + 200 * round));
        server.child.kill().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in tasks {
            answered += runtime.block_on(task).unwrap();
        }
    }
    // A restart serves again, and the database holds the invariant.
    let server = Server::start(d, url, "serve-after.log");
    let health = runtime.block_on(reqwest::get(format!("{}/readyz", server.base))).unwrap();
    assert_eq!(health.status(), 200);
    let (found, _, redemptions) = runtime.block_on(violations(url));
    assert_eq!(found, [0, 0, 0], "violations after 3 kills under load");
    assert!(answered > 0);
    // Each order is redeemed at most once, so every acknowledged redemption has its own row.
    assert!(redemptions >= answered as i64, "{answered} acknowledged, {redemptions} stored");
    eprintln!("kill -9 under load: 3 kills, {answered} redemptions answered, {redemptions} stored, 0 violations");
}

/// SIGTERM while 12 clients hammer check and redeem: every response the server finished
/// reached its client whole, nothing was cut off, and the process exits 0 well within the drain
/// timeout.
fn sigterm_under_load_loses_no_answer(backend: Backend) {
    let database = backend.database();
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (token, code) = checkout_fixture(d, url);
    let server = Server::start_with(d, url, "serve.log", &["--drain-timeout", "10"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = server.base.clone();
    let tasks: Vec<_> = (0..12)
        .map(|client| {
            let (base, token, code) = (base.clone(), token.clone(), code.clone());
            runtime.spawn(async move {
                // A connection per request: a kept-alive connection closed by the shutdown
                // would blur "not accepted" and "lost".
                let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
                let (mut whole, mut truncated, mut refused) = (0usize, 0usize, 0usize);
                for i in 0..100_000usize {
                    let (path, body) = if i % 2 == 0 {
                        ("check", json!({"code": code}))
                    } else {
                        ("redeem", json!({"code": code, "order_ref": format!("t-{client}-{i}")}))
                    };
                    let url = format!("{base}/api/v1/conferences/pycon/vouchers/{path}");
                    match http.post(&url).bearer_auth(&token).json(&body).send().await {
                        Ok(response) => match response.json::<Value>().await {
                            Ok(_) => whole += 1,
                            Err(_) => truncated += 1,
                        },
                        Err(_) => {
                            refused += 1;
                            if refused > 20 {
                                break;
                            }
                        }
                    }
                }
                (whole, truncated)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let signalled = Instant::now();
    let status = server.stop();
    let exit_after = signalled.elapsed();
    let (mut whole, mut truncated) = (0, 0);
    for task in tasks {
        let (w, t) = runtime.block_on(task).unwrap();
        whole += w;
        truncated += t;
    }
    assert!(status.success(), "{status:?}");
    assert!(exit_after < Duration::from_secs(10), "exit took {exit_after:?}");
    assert_eq!(truncated, 0, "responses cut off");
    let logs = std::fs::read_to_string(d.join("serve.log")).unwrap();
    let finished = logs.matches("finished processing request").count();
    assert_eq!(finished, whole, "every response the server finished reached its client");
    assert!(!logs.contains("cut off"));
    eprintln!("SIGTERM under load: {whole} answers, 0 lost, exit after {exit_after:?}");
}

/// Certificates for a TLS test, made with `openssl` in a folder the `postgres` user can read:
/// a CA, a server certificate it signed for `localhost` and 127.0.0.1, and an unrelated CA.
struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    fn make() -> Certificates {
        let dir = tempfile::Builder::new().prefix("vouchers-tls-").tempdir().unwrap();
        let d = dir.path();
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl").args(args).current_dir(d).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        for ca in ["ca", "wrong"] {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.crt"),
                "-subj",
                &format!("/CN=vouchers test {ca}"),
                "-days",
                "2",
            ]);
        }
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(d.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        let status = std::process::Command::new("chown").args(["-R", "postgres:postgres"]).arg(d).status().unwrap();
        assert!(status.success());
        std::fs::set_permissions(d.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        Certificates { dir }
    }

    fn path(&self, file: &str) -> String {
        self.dir.path().join(file).display().to_string()
    }
}

/// A cluster that takes TLS connections only: `sslmode` is honoured (disable refused by
/// the server, require and prefer encrypted, verify-ca and verify-full checking the
/// certificate against `sslrootcert`, a wrong CA refused).
fn tls_to_postgres_honours_sslmode() {
    let certs = Certificates::make();
    let settings = [
        "ssl = on".to_owned(),
        format!("ssl_cert_file = '{}'", certs.path("server.crt")),
        format!("ssl_key_file = '{}'", certs.path("server.key")),
    ];
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 reject\n";
    let cluster = Cluster::start_with(&settings, Some(hba));
    let dir = tempfile::tempdir().unwrap();
    let list = |query: &str| {
        let url = format!("{}?{query}", cluster.url("postgres"));
        vouchers(dir.path(), Some(&url), &["--db-timeout", "5", "conference", "list", "--format", "json"])
    };
    for query in [
        "sslmode=require".to_owned(),
        "sslmode=prefer".to_owned(),
        format!("sslmode=verify-ca&sslrootcert={}", certs.path("ca.crt")),
        format!("sslmode=verify-full&sslrootcert={}", certs.path("ca.crt")),
    ] {
        let out = list(&query);
        assert!(out.status.success(), "{query}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for query in ["sslmode=disable".to_owned(), format!("sslmode=verify-full&sslrootcert={}", certs.path("wrong.crt"))]
    {
        let out = list(&query);
        assert_eq!(out.status.code(), Some(1), "{query} must fail");
    }
    // Over TLS, a server answers checkout like any other.
    let url = format!("{}?sslmode=verify-full&sslrootcert={}", cluster.url("postgres"), certs.path("ca.crt"));
    let (token, code) = checkout_fixture(dir.path(), &url);
    let server = Server::start(dir.path(), &url, "tls.log");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/api/v1/conferences/pycon/vouchers/check", server.base))
            .bearer_auth(&token)
            .json(&json!({"code": code}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
}

/// `vouchers backup` while `serve` takes redemptions: the copy opens, holds a consistent
/// state (no violation), and works as a database; an existing file is refused; the audit log
/// names the command line's user for CLI writes.
#[test]
fn online_backup_and_audit_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("sqlite://{}", d.join("live.db").display());
    let (token, code) = checkout_fixture(d, &url);
    let server = Server::start(d, &url, "serve.log");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (base, token, code, stop) = (server.base.clone(), token.clone(), code.clone(), stop.clone());
        runtime.spawn(async move {
            let http = reqwest::Client::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = json!({"code": code, "order_ref": format!("b-{i}")});
                let url = format!("{base}/api/v1/conferences/pycon/vouchers/redeem");
                let answer = http.post(url).bearer_auth(&token).json(&body).send().await.unwrap();
                let status = answer.status();
                assert_eq!(status, 200, "{}", answer.text().await.unwrap());
                i += 1;
            }
            i
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let out = vouchers(d, Some(&url), &["backup", "copy.db"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = runtime.block_on(writer).unwrap();
    assert!(written > 0);
    let copy = format!("sqlite://{}", d.join("copy.db").display());
    let (found, vouchers_in_copy, redemptions) = runtime.block_on(violations(&copy));
    assert_eq!(found, [0, 0, 0]);
    assert_eq!(vouchers_in_copy, 1);
    assert!(redemptions > 0 && redemptions <= written as i64, "a snapshot taken mid-run: {redemptions} of {written}");
    let usage: Value =
        serde_json::from_str(&ok(vouchers(d, Some(&copy), &["usage", "--conference", "pycon", "--format", "json"])))
            .unwrap();
    assert_eq!(usage["total"]["uses_consumed"], redemptions);
    let err = input_error(vouchers(d, Some(&url), &["backup", "copy.db"]));
    assert!(err.contains("exists"), "{err}");

    // The audit log: the redemptions name the token, the CLI's writes the user.
    let out = command(d, Some(&url))
        .env("USER", "ada")
        .args(["add", "--conference", "pycon", "--code", "PYCON-KEYNOTE", "--type", "comp"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let log: Value = serde_json::from_str(&ok(vouchers(
        d,
        Some(&url),
        &["audit", "--conference", "pycon", "--format", "json", "--limit", "1000"],
    )))
    .unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log[0]["action"], "voucher.add");
    assert_eq!(log[0]["actor"], json!({"kind": "cli", "id": null, "name": "ada"}));
    let redeems: Vec<&Value> = log.iter().filter(|r| r["action"] == "voucher.redeem").collect();
    assert_eq!(redeems.len() as i64, written as i64);
    // Every acknowledged redemption is still in the live database after the backup process
    // came and went (a setup lock on the database file itself once lost them).
    let (_, _, live) = runtime.block_on(violations(&url));
    assert_eq!(live, written as i64);
    assert_eq!(redeems[0]["actor"]["kind"], "token");
    let only: Value = serde_json::from_str(&ok(vouchers(
        d,
        Some(&url),
        &["audit", "--conference", "pycon", "--action", "voucher.add", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(only.as_array().unwrap().len(), 1);
    let table = ok(vouchers(d, Some(&url), &["audit", "--conference", "pycon", "--limit", "3"]));
    assert!(table.contains("voucher.add") && table.contains("cli (ada)"), "{table}");
    drop(server);
}

/// On PostgreSQL, `backup` says to use pg_dump.
fn backup_of_postgres_points_to_pg_dump() {
    let db = Backend::Postgres.database();
    let dir = tempfile::tempdir().unwrap();
    let out = vouchers(dir.path(), Some(db.url()), &["backup", "x.db"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
    assert!(!dir.path().join("x.db").exists());
}

both_backends!(
    racing_first_starts_all_succeed,
    killed_generates_leave_no_partial_batch,
    killed_servers_lose_and_double_no_use,
    sigterm_under_load_loses_no_answer;
    postgres only:
        two_instances_share_one_guessing_limit,
        an_outage_answers_fast_and_service_resumes,
        tls_to_postgres_honours_sslmode,
        backup_of_postgres_points_to_pg_dump,
);
