//! The reports on both backends: each batch's funnel counts what happened to its codes, the
//! timeline puts redemptions in the conference's local days and hours, the redemptions list pages
//! newest first with its filters; bad parameters name their field.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use vouchers_core::domain::Money;
use vouchers_core::domain::{CartRef, Interval, LineItem, MessageTemplate, OrderRef, Quantity, VoucherType, When};
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::service::assign::{assign_recipients, RecipientInput, RecipientList};
use vouchers_core::service::checkout::{self, CartLine, Releasing, UseOptions};
use vouchers_core::service::outbox::{self, MailError, Mailer, SenderSettings};
use vouchers_core::service::reports::{self, RedemptionQuery};
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::ClaimedMessage;
use vouchers_core::{generate_voucher_codes, Limits, VoucherBulkConfig};

use crate::support::*;

/// Sends nothing anywhere; records whom it was asked to send to.
#[derive(Default)]
struct Sink(Mutex<Vec<String>>);

#[async_trait]
impl Mailer for Sink {
    async fn send(&self, message: &ClaimedMessage) -> Result<(), MailError> {
        self.0.lock().unwrap().push(message.to_email.clone());
        Ok(())
    }
}

fn now() -> DateTime<Utc> {
    vouchers_core::now()
}

fn one_individual() -> Vec<CartLine> {
    vec![CartLine { item: LineItem::TicketType("individual".into()), quantity: Quantity::new(1).unwrap() }]
}

async fn redeem(store: &dyn vouchers_core::Store, code: &str, order: &str) {
    let lines = one_individual();
    let order = OrderRef::parse(order).unwrap();
    checkout::redeem_voucher(store, CONF, code, &order, Some(&lines), &UseOptions::default(), now()).await.unwrap();
}

fn money(text: &str) -> Money {
    Money::parse_str("x", text).unwrap()
}

async fn reports_count_what_happened(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let config = VoucherBulkConfig::new(CONF, "REP-", 4, VoucherType::Percentage, dec("50"));
    let batch = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap();
    let codes: Vec<String> = batch.vouchers.iter().map(|v| v.code.clone()).collect();
    let inputs: Vec<RecipientInput> = (0..2)
        .map(|i| RecipientInput {
            email: format!("r{i}@example.org"),
            name: format!("R {i}"),
            tags: Default::default(),
        })
        .collect();
    let template = MessageTemplate::parse("Your code", "{{ code }}", None).unwrap();
    let list = RecipientList::from_inputs(&inputs).unwrap();
    assign_recipients(store, CONF, batch.batch.id, &list, Some(&template)).await.unwrap();
    let sink = Sink::default();
    let settings = SenderSettings { rate_per_second: 10_000.0, ..SenderSettings::default() };
    assert_eq!(outbox::deliver_due(store, &sink, &settings).await.unwrap().sent, 2);
    let mut hand = AddVoucher::new(CONF, "HAND-1", VoucherType::FixedAmount, Some(dec("20")));
    hand.terms.max_uses = 5;
    add_voucher(store, &hand).await.unwrap();

    // Individual tickets are 400.00: 50 % off is 200.00; the hand-made code gives 20.00.
    redeem(store, &codes[0], "o-1").await;
    redeem(store, &codes[1], "o-2").await;
    checkout::release_voucher(store, CONF, &codes[1], &Releasing::Order(OrderRef::parse("o-2").unwrap()), now())
        .await
        .unwrap();
    redeem(store, "HAND-1", "o-3").await;
    redeem(store, "HAND-1", "o-4").await;
    let cart = UseOptions { cart_ref: Some(CartRef::parse("c-1").unwrap()), customer: None };
    checkout::hold_voucher(store, CONF, &codes[2], None, None, &cart, now()).await.unwrap();

    let funnels = reports::batches(store, CONF).await.unwrap();
    assert_eq!(funnels.len(), 2);
    let f = &funnels[0];
    assert_eq!((f.batch_id, f.prefix.as_deref()), (Some(batch.batch.id), Some("REP-")));
    assert_eq!((f.issued, f.assigned, f.emailed, f.held, f.redeemed, f.released), (4, 2, 2, 1, 1, 1));
    assert_eq!(f.discount_given, money("200.00"));
    let h = &funnels[1];
    assert_eq!((h.batch_id, h.issued, h.redeemed, h.released, h.discount_given), (None, 1, 2, 0, money("40.00")));
    let json = serde_json::to_value(f).unwrap();
    assert_eq!(json["discount_given"], "200.00");

    // Today, in New York, has the three standing redemptions; by hour, the last 48 hours.
    let by_day = reports::timeline(store, CONF, None, None, Interval::Day, now()).await.unwrap();
    assert_eq!(by_day.points.len(), 30);
    assert_eq!((by_day.total_redemptions, by_day.total_discount), (3, money("240.00")));
    let today = now().with_timezone(&chrono_tz::America::New_York).format("%Y-%m-%d").to_string();
    let last = by_day.points.last().unwrap();
    assert_eq!((last.label.as_str(), last.redemptions, last.discount), (today.as_str(), 3, money("240.00")));
    assert_eq!(by_day.timezone, "America/New_York");
    let by_hour = reports::timeline(store, CONF, None, None, Interval::Hour, now()).await.unwrap();
    assert_eq!(by_hour.points.len(), 48);
    assert_eq!(by_hour.points.iter().map(|p| p.redemptions).sum::<i64>(), 3);
    let before = When::Instant(now() - Duration::days(3));
    let empty = reports::timeline(store, CONF, None, Some(before), Interval::Day, now()).await.unwrap();
    assert_eq!(empty.total_redemptions, 0);

    // Newest first, paged by id; filters.
    let page = |query: RedemptionQuery| async move { reports::redemptions(store, CONF, &query).await.unwrap() };
    let first = page(RedemptionQuery { limit: 3, ..Default::default() }).await;
    let orders: Vec<&str> = first.iter().map(|r| r.order_ref.as_str()).collect();
    assert_eq!(orders, ["o-4", "o-3", "o-2"]);
    assert!(first[2].released_at.is_some() && first[0].released_at.is_none());
    assert_eq!(first[0].discount, money("20.00"));
    let rest = page(RedemptionQuery { limit: 3, before_id: Some(first[2].id), ..Default::default() }).await;
    assert_eq!(rest.iter().map(|r| r.order_ref.as_str()).collect::<Vec<_>>(), ["o-1"]);
    let released = page(RedemptionQuery { limit: 10, released: Some(true), ..Default::default() }).await;
    assert_eq!(released.len(), 1);
    let hand = page(RedemptionQuery { limit: 10, search: Some("hand".into()), ..Default::default() }).await;
    assert_eq!(hand.len(), 2, "searched ignoring case");
    let by_order = page(RedemptionQuery { limit: 10, search: Some("O-1".into()), ..Default::default() }).await;
    assert_eq!(by_order.len(), 1);
    let of_batch = page(RedemptionQuery { limit: 10, batch_id: Some(batch.batch.id), ..Default::default() }).await;
    assert_eq!(of_batch.len(), 2);
    let wild = page(RedemptionQuery { limit: 10, search: Some("%".into()), ..Default::default() }).await;
    assert!(wild.is_empty(), "a % is a character, not a wildcard");

    // Bad parameters name their field.
    let bad = reports::redemptions(store, CONF, &RedemptionQuery { limit: 0, ..Default::default() }).await;
    assert_eq!(bad.unwrap_err().field(), Some("limit"));
    let query = RedemptionQuery { limit: 5, search: Some("a\u{0}b".into()), ..Default::default() };
    assert_eq!(reports::redemptions(store, CONF, &query).await.unwrap_err().field(), Some("search"));
    let backwards =
        reports::timeline(store, CONF, Some(When::Instant(now())), Some(before), Interval::Day, now()).await;
    assert_eq!(backwards.unwrap_err().field(), Some("to"));
    let long = When::Instant(now() - Duration::days(20));
    let too_long = reports::timeline(store, CONF, Some(long), None, Interval::Hour, now()).await;
    assert_eq!(too_long.unwrap_err().field(), Some("to"));
    assert!(reports::batches(store, "nope").await.is_err());
    assert_tallies(&db).await;
}

both_backends!(reports_count_what_happened);
