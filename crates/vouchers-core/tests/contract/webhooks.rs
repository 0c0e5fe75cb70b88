//! Webhooks against a real receiver (an HTTP server on loopback) through the real client: every
//! event type arrives once, signed; a failing receiver gets the same event until it answers; a
//! receiver that was down gets it when it is back; a refused change writes nothing; three days of
//! failures disable the subscription; internal targets are refused; a rotation signs twice. The
//! README's two ways of checking a signature are run on real deliveries.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::Value;
use vouchers_core::domain::{
    CartRef, LineItem, MessageTemplate, OrderRef, Quantity, RetrySchedule, TargetPolicy, VoucherType,
};
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::service::assign::{assign_recipients, RecipientInput, RecipientList};
use vouchers_core::service::checkout::{self, CartLine, Releasing, UseOptions};
use vouchers_core::service::manage::{self, VoucherUpdate};
use vouchers_core::service::outbox::{self, MailError, Mailer, SenderSettings};
use vouchers_core::service::webhooks::{self, WebhookSettings, WebhookWithSecret};
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::{AuditFilter, ClaimedMessage, DeliveryFilter, Store};
use vouchers_core::webhook_http::HttpClient;
use vouchers_core::{generate_voucher_codes, Limits, VoucherError};

use crate::support::*;

/// The README's Rust check of a delivery, word for word (a test below holds the README to it).
/// True when `header` (Vouchers-Signature) signs `body` with `secret` within 5 minutes of `now`.
fn verify(secret: &str, header: &str, body: &str, now: i64) -> bool {
    use hmac::{Hmac, Mac};
    let t = header.split(',').find_map(|p| p.strip_prefix("t=")).and_then(|t| t.parse::<i64>().ok());
    let Some(t) = t.filter(|t| (now - t).abs() <= 300) else { return false };
    header.split(',').filter_map(|p| p.strip_prefix("v1=")).any(|v1| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(format!("{t}.{body}").as_bytes());
        hex::decode(v1).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
    })
}

/// What the receiver got.
#[derive(Debug, Clone)]
struct Got {
    event_id: String,
    signature: String,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap().to_owned()
    }
}

/// A webhook receiver on loopback: records every POST, answers the scripted status codes in turn
/// (then 200).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start_on(listener: tokio::net::TcpListener) -> (Receiver, tokio::task::JoinHandle<()>) {
        let receiver = Receiver::default();
        let shared = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move {
                    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    shared.got.lock().unwrap().push(Got {
                        event_id: header("vouchers-event-id"),
                        signature: header("vouchers-signature"),
                        body: String::from_utf8(body.to_vec()).unwrap(),
                    });
                    let code = shared.answers.lock().unwrap().pop_front().unwrap_or(200);
                    (StatusCode::from_u16(code).unwrap(), "thanks")
                }
            }),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (receiver, task)
    }

    async fn start() -> (Receiver, String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (receiver, task) = Receiver::start_on(listener).await;
        (receiver, url, task)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// Plain http to loopback, as the tests' receiver needs.
const OPEN: TargetPolicy = TargetPolicy { allow_http: true, allow_private: true };

fn settings() -> WebhookSettings {
    WebhookSettings {
        policy: OPEN,
        schedule: RetrySchedule { base: Duration::from_secs(1) },
        lease: Duration::from_secs(60),
        ..WebhookSettings::default()
    }
}

fn client() -> HttpClient {
    HttpClient::new(OPEN, Duration::from_secs(5)).unwrap()
}

async fn subscribe(store: &dyn Store, url: &str, events: &[&str]) -> WebhookWithSecret {
    let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
    webhooks::create_webhook(store, CONF, url, &events, OPEN).await.unwrap()
}

async fn deliveries(store: &dyn Store) -> Vec<vouchers_core::domain::Delivery> {
    let filter = DeliveryFilter { limit: 1000, ..Default::default() };
    webhooks::list_deliveries(store, CONF, &filter).await.unwrap()
}

async fn deliver_at(store: &dyn Store, at: DateTime<Utc>) -> webhooks::WebhookReport {
    webhooks::deliver_due(store, &client(), &settings(), at).await.unwrap()
}

fn now() -> DateTime<Utc> {
    vouchers_core::now()
}

fn individual(n: i64) -> Vec<CartLine> {
    vec![CartLine { item: LineItem::TicketType("individual".into()), quantity: Quantity::new(n).unwrap() }]
}

fn order(name: &str) -> OrderRef {
    OrderRef::parse(name).unwrap()
}

fn cart(name: &str) -> UseOptions {
    UseOptions { cart_ref: Some(CartRef::parse(name).unwrap()), customer: None }
}

/// Redeems `code` for `order_ref`, with a one-ticket cart when `with_cart`.
async fn redeem(
    store: &dyn Store,
    code: &str,
    order_ref: &str,
    with_cart: bool,
) -> Result<checkout::Redemption, VoucherError> {
    let lines = individual(1);
    let lines = with_cart.then_some(lines.as_slice());
    checkout::redeem_voucher(store, CONF, code, &order(order_ref), lines, &UseOptions::default(), now()).await
}

async fn add(store: &dyn Store, code: &str, max_uses: i64, budget: Option<&str>) {
    let mut request = AddVoucher::new(CONF, code, VoucherType::FixedAmount, Some(dec("30.00")));
    request.terms.max_uses = max_uses;
    request.terms.budget = budget.map(dec);
    add_voucher(store, &request).await.unwrap();
}

/// Fails every email for good.
struct Bouncing;

#[async_trait]
impl Mailer for Bouncing {
    async fn send(&self, _: &ClaimedMessage) -> Result<(), MailError> {
        Err(MailError::Permanent("550 no such mailbox".into()))
    }
}

/// Every event type, from every use case that writes one, arrives once, signed with the
/// subscription's secret, with the shape the API documents; the README's checks (Rust and
/// Python) accept each delivery and refuse a changed body or another secret.
async fn every_event_type_arrives_once_signed(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let (receiver, url, _task) = Receiver::start().await;
    let hook = subscribe(store, &url, &[]).await;
    assert_eq!(hook.webhook.events.len(), 10);

    add(store, "PLAIN", 5, None).await;
    add(store, "BUDGET", 5, Some("60.00")).await;
    let t = now();
    // voucher.redeemed (the one-statement path), voucher.released.
    redeem(store, "PLAIN", "o-1", false).await.unwrap();
    checkout::release_voucher(store, CONF, "PLAIN", &Releasing::Order(order("o-1")), t).await.unwrap();
    // voucher.held, voucher.hold_released.
    checkout::hold_voucher(store, CONF, "PLAIN", Some(&individual(1)), None, &cart("cart-1"), t).await.unwrap();
    let cart_ref = Releasing::Cart(CartRef::parse("cart-1").unwrap());
    checkout::release_voucher(store, CONF, "PLAIN", &cart_ref, t).await.unwrap();
    // The locked path: two redemptions of 30.00 use the 60.00 budget; the second exhausts it.
    for n in 1..=2 {
        redeem(store, "BUDGET", &format!("b-{n}"), true).await.unwrap();
    }
    // voucher.updated.
    let update = VoucherUpdate { is_active: Some(false), ..Default::default() };
    manage::update_voucher(store, CONF, "PLAIN", &update).await.unwrap();
    // batch.created, batch.deactivated.
    let batch = generate_voucher_codes(store, &Limits::default(), &config(2)).await.unwrap().batch;
    manage::deactivate_batch(store, CONF, batch.id).await.unwrap();
    // message.failed: a batch's email bounces for good.
    let batch = generate_voucher_codes(store, &Limits::default(), &config(1)).await.unwrap().batch;
    let recipient = RecipientInput { email: "ana@example.org".into(), name: "Ana".into(), tags: BTreeMap::new() };
    let recipients = RecipientList::from_inputs(&[recipient]).unwrap();
    let template = MessageTemplate::parse("Your code", "Use {{ code }}", None).unwrap();
    assign_recipients(store, CONF, batch.id, &recipients, Some(&template)).await.unwrap();
    let mail = SenderSettings { rate_per_second: 1000.0, ..SenderSettings::default() };
    assert_eq!(outbox::deliver_due(store, &Bouncing, &mail).await.unwrap().failed, 1);

    let report = webhooks::drain(store, &client(), &settings()).await.unwrap();
    assert_eq!((report.delivered, report.retried, report.failed), (12, 0, 0));
    let got = receiver.got();
    let types: Vec<String> = got.iter().map(Got::event_type).collect();
    assert_eq!(
        types,
        [
            "voucher.redeemed",
            "voucher.released",
            "voucher.held",
            "voucher.hold_released",
            "voucher.redeemed",
            "voucher.redeemed",
            "budget.exhausted",
            "voucher.updated",
            "batch.created",
            "batch.deactivated",
            "batch.created",
            "message.failed",
        ]
    );
    assert_eq!(got.len(), 12, "{types:?}");
    let ids: std::collections::HashSet<&str> = got.iter().map(|g| g.event_id.as_str()).collect();
    assert_eq!(ids.len(), got.len(), "each event once, each with its own id");
    let secret = hook.secret.expose();
    let unix = now().timestamp();
    for delivery in &got {
        let body = delivery.json();
        assert_eq!(body["id"], delivery.event_id.as_str());
        assert_eq!(body["conference"], CONF);
        assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(body.as_object().unwrap().len(), 5, "{body}");
        assert!(verify(secret, &delivery.signature, &delivery.body, unix), "{}", delivery.signature);
        assert!(!verify(secret, &delivery.signature, &delivery.body.replace("pycon", "pyc0n"), unix));
        assert!(!verify("whsec_other", &delivery.signature, &delivery.body, unix));
        assert!(!verify(secret, &delivery.signature, &delivery.body, unix + 3600), "too old");
    }
    // What each event carries.
    let of = |kind: &str| got.iter().filter(|g| g.event_type() == kind).map(Got::json).collect::<Vec<_>>();
    let redeemed = of("voucher.redeemed");
    assert_eq!(redeemed[0]["data"]["order_ref"], "o-1");
    assert_eq!(redeemed[0]["data"]["voucher"]["code"], "PLAIN");
    assert_eq!(redeemed[0]["data"]["voucher"]["times_used"], 1);
    assert_eq!(redeemed[2]["data"]["pricing"]["discount"], "30.00");
    assert_eq!(redeemed[2]["data"]["voucher"]["budget_used"], "60.00");
    assert_eq!(of("voucher.released")[0]["data"]["voucher"]["times_used"], 0);
    assert_eq!(of("voucher.held")[0]["data"]["cart_ref"], "cart-1");
    assert_eq!(of("voucher.held")[0]["data"]["voucher"]["uses_held"], 1);
    assert_eq!(of("voucher.hold_released")[0]["data"]["voucher"]["uses_held"], 0);
    assert_eq!(of("budget.exhausted")[0]["data"]["order_ref"], "b-2");
    assert_eq!(of("voucher.updated")[0]["data"]["voucher"]["is_active"], false);
    assert_eq!(of("batch.deactivated")[0]["data"]["deactivated"], 2);
    assert_eq!(of("batch.created")[0]["data"]["batch"]["count"], 2);
    assert_eq!(of("message.failed")[0]["data"]["message"]["recipient_email"], "ana@example.org");
    assert_eq!(of("message.failed")[0]["data"]["message"]["status"], "failed");

    // The README's Python check accepts every delivery and refuses a changed body.
    let cases: Vec<Value> = got
        .iter()
        .flat_map(|g| {
            [
                serde_json::json!({"secret": secret, "header": g.signature, "body": g.body, "expect": true}),
                serde_json::json!({"secret": secret, "header": g.signature, "body": format!("{} ", g.body), "expect": false}),
            ]
        })
        .collect();
    readme_python_check(&cases);

    // Every delivery is recorded as delivered, with the receiver's answer.
    let all = deliveries(store).await;
    assert_eq!(all.len(), 12);
    assert!(all.iter().all(|d| d.status.as_str() == "delivered" && d.attempts == 1 && d.last_status_code == Some(200)));
    assert_eq!(all[0].response_body.as_deref(), Some("thanks"));
    assert_tallies(&db).await;
}

/// The README's blocks: the Rust one is this file's [`verify`], word for word; the Python one is
/// run on `cases` (`{"secret", "header", "body", "expect"}`), each answer compared.
fn readme_python_check(cases: &[Value]) {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let block = |marker: &str| {
        let start = readme.find(marker).unwrap_or_else(|| panic!("README has no {marker}"));
        let rest = &readme[start..];
        let open = rest.find("```").unwrap();
        let body_start = open + rest[open..].find('\n').unwrap() + 1;
        let end = body_start + rest[body_start..].find("```").unwrap();
        rest[body_start..end].to_owned()
    };
    let rust = block("<!-- webhook-verify: rust -->");
    let this_file = include_str!("webhooks.rs");
    assert!(this_file.contains(rust.trim()), "the README's Rust check is not this test's verify():\n{rust}");
    assert!(rust.trim().lines().count() <= 12, "{rust}");
    let python = block("<!-- webhook-verify: python -->");
    assert!(python.trim().lines().count() <= 12, "{python}");
    let harness = format!(
        "{python}\nimport json, sys\nfor case in json.load(sys.stdin):\n    \
         got = verify(case['secret'], case['header'], case['body'].encode())\n    \
         assert got == case['expect'], case\n"
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &harness])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs the README's check");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(serde_json::to_string(cases).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A receiver that answers 500 twice, then 200, gets the event three times with the same id
/// and signature scheme; the event after it waits its turn (one subscription's events arrive in
/// order) and follows at once.
async fn a_failing_receiver_gets_the_same_event_until_it_answers(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let (receiver, url, _task) = Receiver::start().await;
    receiver.answers.lock().unwrap().extend([500, 500]);
    let hook = subscribe(store, &url, &["voucher.redeemed"]).await;
    add(store, "PLAIN", 5, None).await;
    for n in 1..=2 {
        redeem(store, "PLAIN", &format!("o-{n}"), false).await.unwrap();
    }
    let t0 = now();
    let first = deliver_at(store, t0).await;
    assert_eq!((first.delivered, first.retried), (0, 1));
    // Not due yet: nothing is sent, the second event waits behind the first.
    assert_eq!(deliver_at(store, t0).await.total(), 0);
    assert_eq!(receiver.got().len(), 1);
    let pending = deliveries(store).await;
    assert_eq!(pending[0].last_status_code, Some(500));
    assert_eq!(pending[0].attempts, 1);
    let wait = pending[0].next_attempt_at.unwrap() - t0;
    assert!(wait >= chrono::Duration::milliseconds(800) && wait <= chrono::Duration::milliseconds(1500), "{wait}");
    assert_eq!(pending[1].attempts, 0);

    let second = deliver_at(store, t0 + chrono::Duration::seconds(2)).await;
    assert_eq!((second.delivered, second.retried), (0, 1));
    let third = deliver_at(store, t0 + chrono::Duration::seconds(10)).await;
    assert_eq!((third.delivered, third.retried), (2, 0));
    let got = receiver.got();
    assert_eq!(got.len(), 4);
    assert!(got[..3].iter().all(|g| g.event_id == got[0].event_id && g.body == got[0].body));
    assert_ne!(got[3].event_id, got[0].event_id);
    assert_eq!(got[0].json()["data"]["order_ref"], "o-1");
    assert_eq!(got[3].json()["data"]["order_ref"], "o-2");
    for g in &got {
        assert!(verify(hook.secret.expose(), &g.signature, &g.body, now().timestamp()));
    }
    let done = deliveries(store).await;
    assert_eq!((done[0].attempts, done[0].last_status_code), (3, Some(200)));
    assert!(done.iter().all(|d| d.status.as_str() == "delivered"));
}

/// A receiver that is down when the event commits gets it when it comes back.
async fn a_receiver_that_was_down_gets_the_event_when_it_is_back(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    // A port nothing listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    subscribe(store, &url, &[]).await;
    add(store, "PLAIN", 5, None).await;
    redeem(store, "PLAIN", "o-1", false).await.unwrap();
    let t0 = now();
    assert_eq!(deliver_at(store, t0).await.retried, 1);
    let down = deliveries(store).await;
    assert_eq!((down[0].status.as_str(), down[0].last_status_code), ("pending", None));
    assert!(down[0].last_error.as_deref().unwrap_or("").contains("error"), "{:?}", down[0].last_error);

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await.unwrap();
    let (receiver, _task) = Receiver::start_on(listener).await;
    assert_eq!(deliver_at(store, t0 + chrono::Duration::seconds(5)).await.delivered, 1);
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event_id, down[0].event_id);
}

/// A refused redemption or hold writes no event; a disabled subscription and one that wants
/// other types get none; a redelivery sends the same event again.
async fn a_refused_change_writes_no_event(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let (receiver, url, _task) = Receiver::start().await;
    let wanted = subscribe(store, &url, &["voucher.redeemed", "voucher.held"]).await;
    let others = subscribe(store, &url, &["batch.created"]).await;
    let disabled = subscribe(store, &url, &[]).await;
    webhooks::set_enabled(store, CONF, disabled.webhook.id, false).await.unwrap();
    add(store, "ONCE", 1, None).await;
    add(store, "BUDGET", 5, Some("30.00")).await;
    redeem(store, "ONCE", "o-1", false).await.unwrap();
    // Refused: used up (one statement), the budget spent (locked path), a hold of a used-up code.
    assert!(matches!(redeem(store, "ONCE", "o-2", false).await, Err(VoucherError::NotRedeemable { .. })));
    let lines = individual(1);
    redeem(store, "BUDGET", "b-1", true).await.unwrap();
    assert!(matches!(redeem(store, "BUDGET", "b-2", true).await, Err(VoucherError::NotRedeemable { .. })));
    let with = cart("c");
    let held = checkout::hold_voucher(store, CONF, "ONCE", Some(&lines), None, &with, now()).await;
    assert!(matches!(held, Err(VoucherError::NotRedeemable { .. })));
    // A replay of an order writes nothing either.
    assert!(redeem(store, "ONCE", "o-1", false).await.unwrap().replayed);

    let all = deliveries(store).await;
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all.iter().all(|d| d.webhook_id == wanted.webhook.id && d.event_type == "voucher.redeemed"));
    assert!(all.iter().all(|d| d.webhook_id != others.webhook.id));
    webhooks::drain(store, &client(), &settings()).await.unwrap();
    assert_eq!(receiver.got().len(), 2);
    // A redelivery: the same event, again.
    let again = webhooks::redeliver(store, CONF, all[0].id).await.unwrap();
    assert_eq!((again.status.as_str(), again.event_id.as_str()), ("pending", all[0].event_id.as_str()));
    webhooks::drain(store, &client(), &settings()).await.unwrap();
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].event_id, all[0].event_id);
    let missing = webhooks::redeliver(store, CONF, 999_999).await.unwrap_err();
    assert!(matches!(missing, VoucherError::DeliveryNotFound(999_999)));
}

/// A delivery not answered for three days fails, and its subscription is disabled with why (and
/// an audit record), in one transaction; enabling it again sends what waited.
async fn three_days_of_failures_disable_the_subscription(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let (receiver, url, _task) = Receiver::start().await;
    receiver.answers.lock().unwrap().extend([503, 503]);
    let hook = subscribe(store, &url, &["voucher.redeemed"]).await;
    add(store, "PLAIN", 5, None).await;
    for n in 1..=2 {
        redeem(store, "PLAIN", &format!("o-{n}"), false).await.unwrap();
    }
    let t0 = now();
    assert_eq!(deliver_at(store, t0).await.retried, 1);
    // The next attempt, three days and more after the first, is the last: it fails for good.
    let late = t0 + RetrySchedule::GIVE_UP_AFTER + chrono::Duration::seconds(1);
    let report = deliver_at(store, late).await;
    assert_eq!((report.failed, report.delivered), (1, 0));
    let after = deliveries(store).await;
    assert_eq!(after[0].status.as_str(), "failed");
    assert_eq!(after[1].status.as_str(), "pending");
    let listed = webhooks::list_webhooks(store, CONF).await.unwrap();
    assert!(!listed[0].enabled);
    let reason = listed[0].disabled_reason.clone().unwrap();
    assert!(reason.contains("3 days") && reason.contains("503"), "{reason}");
    let audit =
        vouchers_core::service::audit::audit_log(store, CONF, &AuditFilter { limit: 100, ..Default::default() })
            .await
            .unwrap();
    assert!(audit.iter().any(|r| r.action == "webhook.disable" && r.target == format!("webhook {}", hook.webhook.id)));
    // Disabled: nothing is sent, and new events are not written for it.
    assert_eq!(deliver_at(store, late + chrono::Duration::hours(1)).await.total(), 0);
    redeem(store, "PLAIN", "o-3", false).await.unwrap();
    assert_eq!(deliveries(store).await.len(), 2);
    // Enabled again: what waited goes out.
    webhooks::set_enabled(store, CONF, hook.webhook.id, true).await.unwrap();
    assert_eq!(webhooks::drain(store, &client(), &settings()).await.unwrap().delivered, 1);
    assert_eq!(receiver.got().last().unwrap().json()["data"]["order_ref"], "o-2");
}

/// Internal targets are refused at create time, naming `url`; a target allowed when it was
/// created is checked again at every delivery, under the sender's policy.
async fn internal_targets_are_refused(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let strict = TargetPolicy::default();
    let http = TargetPolicy { allow_http: true, allow_private: false };
    for (url, policy, words) in [
        ("http://127.0.0.1/hook", strict, "https://"),
        ("http://127.0.0.1/hook", http, "loopback"),
        ("https://10.0.0.1/hook", strict, "private"),
        ("https://[::1]/hook", strict, "loopback"),
        ("https://169.254.169.254/latest/meta-data", strict, "link-local"),
        ("https://[::ffff:127.0.0.1]/hook", strict, "loopback"),
        ("https://localhost/hook", strict, "loopback"),
        ("ftp://hooks.example.com/", strict, "https://"),
        ("https://user:pw@hooks.example.com/", strict, "password"),
    ] {
        let e = webhooks::create_webhook(store, CONF, url, &[], policy).await.unwrap_err();
        assert_eq!(e.field(), Some("url"), "{url}: {e}");
        if url.contains("localhost") {
            assert!(!e.to_string().contains("127.0.0.1"), "the address a name resolves to is not told: {e}");
        }
        assert!(e.to_string().contains(words), "{url}: {e}");
    }
    let eaten = ["voucher.eaten".to_owned()];
    let unknown = webhooks::create_webhook(store, CONF, "https://h.example/", &eaten, strict).await;
    assert_eq!(unknown.unwrap_err().field(), Some("events"));
    assert!(webhooks::list_webhooks(store, CONF).await.unwrap().is_empty(), "nothing written");

    // Created while the operator allowed it; the sender now refuses it before connecting.
    let (receiver, url, _task) = Receiver::start().await;
    subscribe(store, &url, &[]).await;
    add(store, "PLAIN", 5, None).await;
    redeem(store, "PLAIN", "o-1", false).await.unwrap();
    let strict_sender = WebhookSettings { policy: http, ..settings() };
    let strict_client = HttpClient::new(http, Duration::from_secs(5)).unwrap();
    let report = webhooks::deliver_due(store, &strict_client, &strict_sender, now()).await.unwrap();
    assert_eq!(report.retried, 1);
    assert!(receiver.got().is_empty());
    let refused = deliveries(store).await;
    assert!(refused[0].last_error.as_deref().unwrap().contains("refused target"), "{:?}", refused[0].last_error);
    // A name that resolves to loopback is refused by the client's resolver, at delivery.
    let port = url.rsplit(':').next().unwrap().trim_end_matches("/hook");
    let by_name = vouchers_core::domain::WebhookUrl::parse(&format!("http://localhost:{port}/hook"), http).unwrap();
    let answer = vouchers_core::service::webhooks::WebhookClient::post(&strict_client, &by_name, &[], "{}").await;
    let refused = answer.unwrap_err();
    assert!(refused.contains("loopback") && !refused.contains("127.0.0.1"), "the address is not told: {refused}");
    assert!(receiver.got().is_empty());
}

/// After a rotation both secrets sign for a day: two `v1=` entries, each checked by its secret.
async fn a_rotation_signs_with_both_secrets(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let (receiver, url, _task) = Receiver::start().await;
    let hook = subscribe(store, &url, &[]).await;
    let rotated = webhooks::rotate_secret(store, CONF, hook.webhook.id).await.unwrap();
    assert_ne!(rotated.secret, hook.secret);
    add(store, "PLAIN", 5, None).await;
    redeem(store, "PLAIN", "o-1", false).await.unwrap();
    webhooks::drain(store, &client(), &settings()).await.unwrap();
    let got = receiver.got();
    assert_eq!(got[0].signature.matches("v1=").count(), 2, "{}", got[0].signature);
    let unix = now().timestamp();
    assert!(verify(rotated.secret.expose(), &got[0].signature, &got[0].body, unix));
    assert!(verify(hook.secret.expose(), &got[0].signature, &got[0].body, unix));
    // The secret is in no listing, no Debug output.
    let listed = serde_json::to_string(&webhooks::list_webhooks(store, CONF).await.unwrap()).unwrap();
    assert!(!listed.contains(rotated.secret.expose()) && !listed.contains("whsec_"));
    assert!(!format!("{rotated:?}").contains(rotated.secret.expose()));
}

/// Always busy: a server under load.
struct Busy;

impl webhooks::Busy for Busy {
    fn busy(&self) -> bool {
        true
    }
}

/// While the server is busy, a fresh event waits; once it is older than the deferral bound it is
/// sent anyway; a quiet server sends at once.
async fn a_busy_server_defers_deliveries_for_at_most_30_seconds(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let (receiver, url, _task) = Receiver::start().await;
    subscribe(store, &url, &[]).await;
    add(store, "PLAIN", 5, None).await;
    redeem(store, "PLAIN", "o-1", false).await.unwrap();
    let t0 = now();
    let busy = webhooks::deliver_due_giving_way(store, &client(), &settings(), t0, &Busy).await.unwrap();
    assert_eq!(busy.total(), 0, "a fresh event waits while the server is busy");
    assert!(receiver.got().is_empty());
    let later = t0 + webhooks::MAX_DEFER + chrono::Duration::seconds(1);
    let late = webhooks::deliver_due_giving_way(store, &client(), &settings(), later, &Busy).await.unwrap();
    assert_eq!(late.delivered, 1, "past the bound it goes out, busy or not");
    redeem(store, "PLAIN", "o-2", false).await.unwrap();
    let quiet = webhooks::deliver_due_giving_way(store, &client(), &settings(), now(), &webhooks::NeverBusy).await;
    assert_eq!(quiet.unwrap().delivered, 1);
    assert_eq!(receiver.got().len(), 2);
}

both_backends!(
    a_busy_server_defers_deliveries_for_at_most_30_seconds,
    every_event_type_arrives_once_signed,
    a_failing_receiver_gets_the_same_event_until_it_answers,
    a_receiver_that_was_down_gets_the_event_when_it_is_back,
    a_refused_change_writes_no_event,
    three_days_of_failures_disable_the_subscription,
    internal_targets_are_refused,
    a_rotation_signs_with_both_secrets,
);
