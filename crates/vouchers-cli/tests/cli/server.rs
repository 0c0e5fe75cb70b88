//! `vouchers serve` and `vouchers token`, run as an operator runs them: real processes, real
//! sockets, a plain HTTP client.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::support::{create_conference, ok, vouchers, Backend, Server};

#[test]
fn tokens_are_created_once_listed_without_secrets_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = format!("sqlite://{}", d.join("v.db").display());
    create_conference(d, Some(&db), "pycon", "PyCon");
    let admin: Value =
        serde_json::from_str(&ok(vouchers(d, Some(&db), &["token", "create", "--scope", "admin", "--format", "json"])))
            .unwrap();
    let keys: Vec<&String> = admin.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["conference", "name", "scope", "token"]);
    assert_eq!(
        (admin["scope"].as_str(), &admin["conference"], &admin["name"]),
        (Some("admin"), &json!(null), &json!(null))
    );
    let secret = admin["token"].as_str().unwrap();
    assert!(secret.starts_with("vch_") && secret.len() == 4 + 43, "{secret}");

    let manage: Value = serde_json::from_str(&ok(vouchers(
        d,
        Some(&db),
        &["token", "create", "--conference", "pycon", "--scope", "manage", "--name", "desk", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(manage, json!({"token": manage["token"], "scope": "manage", "conference": "pycon", "name": "desk"}));
    let manage_secret = manage["token"].as_str().unwrap().to_owned();

    let refused = vouchers(d, Some(&db), &["token", "create", "--scope", "manage"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--conference"));
    let refused = vouchers(d, Some(&db), &["token", "create", "--scope", "admin", "--conference", "pycon"]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        vouchers(d, Some(&db), &["token", "create", "--scope", "checkout", "--conference", "nope"]).status.code(),
        Some(3),
        "an unknown conference is not found"
    );

    let list = ok(vouchers(d, Some(&db), &["token", "list", "--format", "json"]));
    let listed: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!list.contains(secret) && !list.contains(&manage_secret), "token list never shows a secret");
    let table = ok(vouchers(d, Some(&db), &["token", "list"]));
    assert!(table.starts_with("id") && table.contains("desk") && !table.contains(&manage_secret), "{table}");

    // The server accepts the token until it is revoked; its logs never show it.
    let server = Server::start(d, &db, "serve.log");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let get = |token: String| {
        let request = client.get(format!("{}/api/v1/conferences/pycon", server.base)).bearer_auth(token);
        runtime.block_on(async { request.send().await.unwrap().status().as_u16() })
    };
    assert_eq!(get(manage_secret.clone()), 200);
    let id = listed[1]["id"].to_string();
    ok(vouchers(d, Some(&db), &["token", "revoke", &id]));
    assert_eq!(get(manage_secret.clone()), 401, "a revoked token stops working at once");
    assert_eq!(vouchers(d, Some(&db), &["token", "revoke", &id]).status.code(), Some(3), "revoking twice is not found");

    let logs = server.logs();
    let status = server.stop();
    assert!(status.success(), "SIGTERM is a clean shutdown: {status:?}");
    assert!(logs.contains("request_id"), "{logs}");
    assert!(!logs.contains(&manage_secret) && !logs.contains(secret), "a token in the logs: {logs}");
}

/// At `VOUCHERS_LOG=vouchers=debug` a request's log shows its use case as a span named after it,
/// with the conference and the count, its time, and the request id; never a code or a token.
#[test]
fn a_use_case_runs_in_a_span_named_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = format!("sqlite://{}", d.join("v.db").display());
    create_conference(d, Some(&db), "pycon", "PyCon");
    let admin: Value =
        serde_json::from_str(&ok(vouchers(d, Some(&db), &["token", "create", "--scope", "admin", "--format", "json"])))
            .unwrap();
    let secret = admin["token"].as_str().unwrap().to_owned();
    let server = Server::start_logging(d, &db, "serve.log", "info,vouchers=debug", &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let request = reqwest::Client::new()
        .post(format!("{}/api/v1/conferences/pycon/vouchers/bulk", server.base))
        .bearer_auth(&secret)
        .header("x-request-id", "req-span-test-1")
        .json(&json!({"prefix": "SPAN-", "count": 3, "voucher_type": "comp"}));
    let (status, body) = runtime.block_on(async {
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    });
    assert_eq!(status, 201, "{body}");
    // The use case's span may close a moment after the response went out (its task ends after
    // handing over the answer): wait for its line, at most 5 s.
    let start = std::time::Instant::now();
    while !server.logs().lines().any(|l| l.contains("generate_voucher_codes_with") && l.contains("close"))
        && start.elapsed() < std::time::Duration::from_secs(5)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let logs = server.logs();
    assert!(server.stop().success());
    let line = logs
        .lines()
        .find(|l| l.contains("generate_voucher_codes_with") && l.contains("close"))
        .unwrap_or_else(|| panic!("no span of the use case: {logs}"));
    for expected in ["conference=pycon", "count=3", "time.busy", "time.idle", "req-span-test-1"] {
        assert!(line.contains(expected), "{expected} missing from {line}");
    }
    for voucher in body["vouchers"].as_array().unwrap() {
        assert!(!logs.contains(voucher["code"].as_str().unwrap()), "a code in the logs: {logs}");
    }
    assert!(!logs.contains(&secret), "a token in the logs");
}

/// Two instances on one database have both answered with a checkout token; the token is revoked
/// (by a third process, as an operator does) and the very next request to either instance is
/// refused: no instance answers from a stale copy of the token.
fn revoked_token_is_refused_at_once_by_every_instance(backend: Backend) {
    let database = backend.database();
    let db = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    create_conference(dir, Some(db), "pycon", "PyCon");
    ok(vouchers(
        dir,
        Some(db),
        &["ticket-type", "create", "--conference", "pycon", "--slug", "std", "--name", "Standard", "--price", "100"],
    ));
    ok(vouchers(
        dir,
        Some(db),
        &["add", "--conference", "pycon", "--code", "SPEAKER-1", "--type", "comp", "--max-uses", "10"],
    ));
    let created: Value = serde_json::from_str(&ok(vouchers(
        dir,
        Some(db),
        &["token", "create", "--scope", "checkout", "--conference", "pycon", "--format", "json"],
    )))
    .unwrap();
    let secret = created["token"].as_str().unwrap().to_owned();
    let listed: Value =
        serde_json::from_str(&ok(vouchers(dir, Some(db), &["token", "list", "--format", "json"]))).unwrap();
    let id = listed[0]["id"].to_string();

    let (a, b) = (Server::start(dir, db, "a.log"), Server::start(dir, db, "b.log"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let call = |base: &str, action: &str, n: usize| {
        let order = format!("ORDER-{n}");
        let body = match action {
            "check" => json!({"code": "speaker-1", "lines": [{"ticket_type": "std"}]}),
            "redeem" => json!({"code": "speaker-1", "order_ref": order, "lines": [{"ticket_type": "std"}]}),
            _ => json!({"code": "speaker-1", "order_ref": order}),
        };
        let request =
            client.post(format!("{base}/api/v1/conferences/pycon/vouchers/{action}")).bearer_auth(&secret).json(&body);
        runtime.block_on(async { request.send().await.unwrap().status().as_u16() })
    };
    for n in 0..20 {
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        assert_eq!(call(base, "check", n), 200, "before the revocation");
    }
    assert_eq!(call(&a.base, "redeem", 1), 200);
    assert_eq!(call(&b.base, "redeem", 2), 200);

    ok(vouchers(dir, Some(db), &["token", "revoke", &id]));
    for (name, base) in [("second", &b.base), ("first", &a.base)] {
        assert_eq!(call(base, "check", 3), 401, "check on the {name} instance right after the revocation");
        assert_eq!(call(base, "redeem", 3), 401, "redeem on the {name} instance right after the revocation");
        assert_eq!(call(base, "release", 1), 401, "release on the {name} instance right after the revocation");
    }
    let shown: Value = serde_json::from_str(&ok(vouchers(
        dir,
        Some(db),
        &["show", "--conference", "pycon", "SPEAKER-1", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(shown["times_used"], 2, "nothing was redeemed with the revoked token");
    assert!(a.stop().success());
    assert!(b.stop().success());
}

both_backends!(
    revoked_token_is_refused_at_once_by_every_instance;
    postgres only: two_servers_share_one_database, two_servers_race_redemptions,
);

/// Two instances started at once on one new database (both migrate), then 8 concurrent bulk
/// requests each with the same prefix: all succeed and no code repeats.
fn two_servers_share_one_database() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = Backend::Postgres.database();
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Server::start(dir.path(), url, "a.log"));
        let b = s.spawn(|| Server::start(dir.path(), url, "b.log"));
        (a.join().unwrap(), b.join().unwrap())
    });
    create_conference(dir.path(), Some(url), "pycon", "PyCon");
    let token: Value = serde_json::from_str(&ok(vouchers(
        dir.path(),
        Some(url),
        &["token", "create", "--scope", "manage", "--conference", "pycon", "--format", "json"],
    )))
    .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    let client = reqwest::Client::new();
    let body = json!({"prefix": "DUO-", "count": 500, "voucher_type": "percentage", "discount_value": "10"});
    let codes: Vec<String> = runtime.block_on(async {
        let requests = (0..16).map(|i| {
            let base = if i % 2 == 0 { &a.base } else { &b.base };
            client.post(format!("{base}/api/v1/conferences/pycon/vouchers/bulk")).bearer_auth(&token).json(&body).send()
        });
        let mut codes = Vec::new();
        for response in futures::future::join_all(requests).await {
            let response = response.unwrap();
            let status = response.status().as_u16();
            let out: Value = response.json().await.unwrap();
            assert_eq!(status, 201, "{out}");
            codes.extend(out["vouchers"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap().to_owned()));
        }
        codes
    });
    assert_eq!(codes.len(), 8_000);
    let distinct: HashSet<String> = codes.iter().map(|c| c.to_ascii_uppercase()).collect();
    assert_eq!(distinct.len(), 8_000, "no duplicate code across both instances");

    // The same idempotency key sent to both instances at once makes one batch.
    let replies: Vec<Value> = runtime.block_on(async {
        let requests = [&a.base, &b.base].map(|base| {
            client
                .post(format!("{base}/api/v1/conferences/pycon/vouchers/bulk"))
                .bearer_auth(&token)
                .header("Idempotency-Key", "both-instances")
                .json(&json!({"prefix": "ONCE-", "count": 50, "voucher_type": "comp"}))
                .send()
        });
        let mut replies = Vec::new();
        for response in futures::future::join_all(requests).await {
            let response = response.unwrap();
            assert_eq!(response.status().as_u16(), 201);
            replies.push(response.json().await.unwrap());
        }
        replies
    });
    assert_eq!(replies[0], replies[1]);
    let batches: Value = runtime.block_on(async {
        let url = format!("{}/api/v1/conferences/pycon/batches?limit=1000", b.base);
        client.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap()
    });
    assert_eq!(batches["items"].as_array().unwrap().len(), 17);

    assert!(a.stop().success());
    assert!(b.stop().success());
}

/// Redemption races through HTTP with two instances on one database: the same figures as the
/// contract suite's in-process races.
fn two_servers_race_redemptions() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = Backend::Postgres.database();
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let a = Server::start(dir.path(), url, "a.log");
    let b = Server::start(dir.path(), url, "b.log");
    let create = [
        "conference",
        "create",
        "--slug",
        "pycon",
        "--name",
        "PyCon",
        "--start-date",
        "2027-05-14",
        "--end-date",
        "2027-05-22",
        "--timezone",
        "UTC",
    ];
    ok(vouchers(dir.path(), Some(url), &create));
    let token = |scope: &str| -> String {
        let args = ["token", "create", "--scope", scope, "--conference", "pycon", "--format", "json"];
        let created: Value = serde_json::from_str(&ok(vouchers(dir.path(), Some(url), &args))).unwrap();
        created["token"].as_str().unwrap().to_owned()
    };
    let (checkout, manage) = (token("checkout"), token("manage"));
    let add = |code: &str, max_uses: &str| {
        ok(vouchers(
            dir.path(),
            Some(url),
            &["add", "--conference", "pycon", "--code", code, "--type", "comp", "--max-uses", max_uses],
        ));
    };
    let client = reqwest::Client::new();
    // `n` concurrent redemptions of `code`, alternating between the two instances.
    let race = |code: &str, n: usize, same_order: bool| -> Vec<(u16, Value)> {
        runtime.block_on(async {
            let requests = (0..n).map(|i| {
                let base = if i % 2 == 0 { &a.base } else { &b.base };
                let order = if same_order { "order-retry".to_owned() } else { format!("order-{i}") };
                client
                    .post(format!("{base}/api/v1/conferences/pycon/vouchers/redeem"))
                    .bearer_auth(&checkout)
                    .json(&json!({"code": code, "order_ref": order}))
                    .send()
            });
            let mut answers = Vec::new();
            for response in futures::future::join_all(requests).await {
                let response = response.unwrap();
                answers.push((response.status().as_u16(), response.json().await.unwrap()));
            }
            answers
        })
    };
    let times_used = |code: &str| -> i64 {
        runtime.block_on(async {
            let url = format!("{}/api/v1/conferences/pycon/vouchers/{code}", a.base);
            let v: Value = client.get(url).bearer_auth(&manage).send().await.unwrap().json().await.unwrap();
            v["times_used"].as_i64().unwrap()
        })
    };

    for round in 0..3 {
        let code = format!("SINGLE-{round}");
        add(&code, "1");
        let answers = race(&code, 32, false);
        assert_eq!(answers.iter().filter(|(s, _)| *s == 200).count(), 1, "round {round}");
        let refused: Vec<_> = answers.iter().filter(|(s, _)| *s == 409).collect();
        assert_eq!(refused.len(), 31, "round {round}: {answers:?}");
        assert!(refused.iter().all(|(_, body)| body["error"]["code"] == "used_up"));
        assert_eq!(times_used(&code), 1);
    }
    for round in 0..2 {
        let code = format!("FIVE-{round}");
        add(&code, "5");
        let answers = race(&code, 50, false);
        assert_eq!(answers.iter().filter(|(s, _)| *s == 200).count(), 5, "round {round}");
        assert_eq!(answers.iter().filter(|(s, _)| *s == 409).count(), 45, "round {round}");
        assert_eq!(times_used(&code), 5);
    }
    for round in 0..3 {
        let code = format!("RETRY-{round}");
        add(&code, "3");
        let answers = race(&code, 10, true);
        assert!(answers.iter().all(|(s, body)| *s == 200 && *body == answers[0].1), "round {round}: {answers:?}");
        assert_eq!(times_used(&code), 1, "one use for ten retries of one order");
    }

    assert!(a.stop().success());
    assert!(b.stop().success());
}
