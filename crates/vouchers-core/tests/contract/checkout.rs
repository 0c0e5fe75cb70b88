//! Checkout: check, redeem, release and usage, including races between real concurrent
//! transactions.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use vouchers_core::domain::{Applies, GuessingPolicy, InvalidReason, LineItem, OrderRef, Quantity, VoucherType, When};
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::service::checkout::{
    self, check_voucher, usage_report, CartLine, Redemption, Release, Releasing, UseOptions,
};
use vouchers_core::store::testing::TestDb;
use vouchers_core::{generate_voucher_codes, Limits, Store, VoucherError};

use crate::support::*;

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn q(n: i64) -> Quantity {
    Quantity::new(n).unwrap()
}

/// The redemption's answer as the JSON a client sees.
fn json(redemption: &Redemption) -> serde_json::Value {
    serde_json::to_value(&redemption.answer).unwrap()
}

/// Redeems with the order reference as a client sends it (checked as every face checks it).
async fn redeem_voucher(
    store: &dyn Store,
    conference: &str,
    code: &str,
    order: &str,
    lines: Option<&[CartLine]>,
    at: DateTime<Utc>,
) -> Result<Redemption, VoucherError> {
    let with = UseOptions::default();
    checkout::redeem_voucher(store, conference, code, &OrderRef::parse(order)?, lines, &with, at).await
}

/// Releases with the order reference as a client sends it.
async fn release_voucher(
    store: &dyn Store,
    conference: &str,
    code: &str,
    order: &str,
    at: DateTime<Utc>,
) -> Result<Release, VoucherError> {
    let what = Releasing::Order(OrderRef::parse(order)?);
    checkout::release_voucher(store, conference, code, &what, at).await
}

async fn voucher(store: &dyn Store, code: &str, max_uses: i64) {
    let mut request = AddVoucher::new(CONF, code, VoucherType::Percentage, Some(dec("25")));
    request.terms.max_uses = max_uses;
    add_voucher(store, &request).await.unwrap();
}

fn used_up(result: &Result<Redemption, VoucherError>) -> bool {
    matches!(result, Err(VoucherError::NotRedeemable { reason: InvalidReason::UsedUp, .. }))
}

/// `n` concurrent redemptions of one code, each for `order(i)`.
async fn race(
    store: Arc<dyn Store>,
    code: &str,
    n: usize,
    order: fn(usize) -> String,
) -> Vec<Result<Redemption, VoucherError>> {
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (store, code, start) = (store.clone(), code.to_owned(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                // Every other client sends a cart: pricing must not hold up the others.
                let cart = [CartLine { item: LineItem::TicketType("individual".into()), quantity: q(1) }];
                let lines = (i % 2 == 0).then_some(&cart[..]);
                redeem_voucher(store.as_ref(), CONF, &code, &order(i), lines, now()).await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn concurrent_redemptions_of_a_single_use_code(db: TestDb) {
    fixture(db.store.as_ref()).await;
    let raw = Raw::connect(&db).await;
    for round in 0..10 {
        let code = format!("SINGLE-{round}");
        voucher(db.store.as_ref(), &code, 1).await;
        let results = race(db.store.clone(), &code, 32, |i| format!("order-{i}")).await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "round {round}");
        assert_eq!(results.iter().filter(|r| used_up(r)).count(), 31, "round {round}: {results:?}");
        let v = vouchers_core::service::query::show_voucher(db.store.as_ref(), CONF, &code).await.unwrap();
        assert_eq!(v.times_used, 1);
        let sql =
            format!("SELECT COUNT(*) FROM redemption r JOIN voucher v ON v.id = r.voucher_id WHERE v.code = '{code}'");
        assert_eq!(raw.scalar(&sql).await, 1, "round {round}: one redemption row");
    }
}

async fn concurrent_redemptions_of_a_five_use_code(db: TestDb) {
    fixture(db.store.as_ref()).await;
    for round in 0..6 {
        let code = format!("FIVE-{round}");
        voucher(db.store.as_ref(), &code, 5).await;
        let results = race(db.store.clone(), &code, 50, |i| format!("order-{i}")).await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 5, "round {round}");
        assert_eq!(results.iter().filter(|r| used_up(r)).count(), 45, "round {round}");
        let v = vouchers_core::service::query::show_voucher(db.store.as_ref(), CONF, &code).await.unwrap();
        assert_eq!((v.times_used, v.max_uses), (5, 5));
    }
    assert_tallies(&db).await;
}

async fn concurrent_retries_of_one_order(db: TestDb) {
    fixture(db.store.as_ref()).await;
    let raw = Raw::connect(&db).await;
    for round in 0..10 {
        let code = format!("RETRY-{round}");
        voucher(db.store.as_ref(), &code, 3).await;
        let results = race(db.store.clone(), &code, 10, |_| "order-42".to_owned()).await;
        let answers: Vec<Redemption> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1, "exactly one consumed a use");
        assert!(answers.iter().all(|a| a.answer == answers[0].answer), "10 identical answers");
        assert_eq!(answers.iter().filter(|a| a.replayed).count(), 9);
        assert_eq!(json(&answers[0])["voucher"]["times_used"], 1);
        assert_eq!(json(&answers[0])["order_ref"], "order-42");
        let v = vouchers_core::service::query::show_voucher(db.store.as_ref(), CONF, &code).await.unwrap();
        assert_eq!(v.times_used, 1);
        let sql =
            format!("SELECT COUNT(*) FROM redemption r JOIN voucher v ON v.id = r.voucher_id WHERE v.code = '{code}'");
        assert_eq!(raw.scalar(&sql).await, 1);
    }
    assert_tallies(&db).await;
}

async fn release_gives_the_use_back_once(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    voucher(store, "ONCE", 1).await;

    // Never redeemed: nothing to release.
    let r = release_voucher(store, CONF, "ONCE", "order-1", now()).await.unwrap();
    assert!(!r.released);
    assert_eq!(r.voucher.times_used, 0);

    let first = redeem_voucher(store, CONF, " once ", "order-1", None, now()).await.unwrap();
    assert!(!first.replayed);
    assert!(used_up(&redeem_voucher(store, CONF, "ONCE", "order-2", None, now()).await));

    let r = release_voucher(store, CONF, "once", "order-1", now()).await.unwrap();
    assert!(r.released);
    assert_eq!(r.voucher.times_used, 0);
    let again = release_voucher(store, CONF, "ONCE", "order-1", now()).await.unwrap();
    assert!(!again.released, "releasing twice changes nothing");
    assert_eq!(again.voucher.times_used, 0);

    // The use is back: another order can take it; the released order can redeem again too once
    // that one is released.
    let second = redeem_voucher(store, CONF, "ONCE", "order-2", None, now()).await.unwrap();
    assert!(!second.replayed);
    assert_eq!(json(&second)["voucher"]["times_used"], 1);
    assert!(release_voucher(store, CONF, "ONCE", "order-2", now()).await.unwrap().released);
    let re = redeem_voucher(store, CONF, "ONCE", "order-1", None, now()).await.unwrap();
    assert!(!re.replayed, "a released order redeems afresh");
    assert_eq!(json(&re)["voucher"]["times_used"], 1);
    let replay = redeem_voucher(store, CONF, "ONCE", "order-1", None, now()).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.answer, re.answer);

    let err = release_voucher(store, CONF, "NOPE", "order-1", now()).await.unwrap_err();
    assert!(matches!(err, VoucherError::VoucherNotFound { .. }), "{err:?}");
    let err = redeem_voucher(store, CONF, "ONCE", "  ", None, now()).await.unwrap_err();
    assert_eq!(err.field(), Some("order_ref"));
    assert_tallies(&db).await;
}

async fn validity_window_bounds_are_inclusive(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let from: DateTime<Utc> = "2027-05-14T13:00:00Z".parse().unwrap();
    let until: DateTime<Utc> = "2027-05-22T22:00:00Z".parse().unwrap();
    let mut request = AddVoucher::new(CONF, "WINDOW", VoucherType::Comp, None);
    request.terms.max_uses = 10;
    request.terms.valid_from = Some(When::Instant(from));
    request.terms.valid_until = Some(When::Instant(until));
    add_voucher(store, &request).await.unwrap();
    let tick = Duration::microseconds(1);

    let at = |t| redeem_voucher(store, CONF, "WINDOW", "o", None, t);
    let reason = |r: Result<Redemption, VoucherError>| match r {
        Err(VoucherError::NotRedeemable { reason, .. }) => Some(reason),
        Ok(_) => None,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(reason(at(from - tick).await), Some(InvalidReason::NotYetValid));
    assert_eq!(reason(at(until + tick).await), Some(InvalidReason::Expired));
    for (i, t) in [from, until].into_iter().enumerate() {
        let ok = redeem_voucher(store, CONF, "WINDOW", &format!("bound-{i}"), None, t).await.unwrap();
        assert!(!ok.replayed);
    }
    let check = |t| check_voucher(store, CONF, "window", &[], t);
    assert_eq!(check(from - tick).await.unwrap().reason, Some(InvalidReason::NotYetValid));
    assert_eq!(check(until + tick).await.unwrap().reason, Some(InvalidReason::Expired));
    assert!(check(from).await.unwrap().valid);
    assert!(check(until).await.unwrap().valid);
}

async fn check_prices_and_unlocks(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    // 25% off individual tickets and the T-shirt; unlocks the hidden corporate ticket type.
    let mut request = AddVoucher::new(CONF, "SPONSOR-1", VoucherType::Percentage, Some(dec("25")));
    request.terms.applicable_ticket_types = strings(&["individual", "corporate"]).into();
    request.terms.applicable_addons = strings(&["tshirt"]).into();
    request.terms.unlocks_hidden_tickets = true;
    add_voucher(store, &request).await.unwrap();

    let lines = vec![
        CartLine { item: LineItem::TicketType("individual".into()), quantity: q(2) },
        CartLine { item: LineItem::TicketType("corporate".into()), quantity: q(1) },
        CartLine { item: LineItem::AddOn("tshirt".into()), quantity: q(1) },
        CartLine { item: LineItem::AddOn("dinner".into()), quantity: q(1) },
    ];
    let result = check_voucher(store, CONF, "  sponsor-1 ", &lines, now()).await.unwrap();
    assert!(result.valid);
    assert_eq!(result.reason, None);
    assert_eq!(result.unlocked_ticket_types, ["corporate"]);
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["reason"], serde_json::Value::Null);
    assert_eq!(json["voucher"]["code"], "SPONSOR-1");
    // 800.00 + 750.50 + 25.00 + 80.00 = 1655.50; 25% of 800 + 750.50 + 25 = 200 + 187.625→187.63 + 6.25.
    assert_eq!(json["pricing"]["subtotal"], "1655.50");
    assert_eq!(json["pricing"]["discount"], "393.88");
    assert_eq!(json["pricing"]["total"], "1261.62");
    assert_eq!(json["pricing"]["lines"][0]["ticket_type"], "individual");
    assert_eq!(json["pricing"]["lines"][0]["line_total"], "800.00");
    assert_eq!(json["pricing"]["lines"][3]["addon"], "dinner");
    assert_eq!(json["pricing"]["lines"][3]["discount"], "0.00");

    // Not found: voucher null and the cart not judged nor priced, whatever it holds (a hidden
    // ticket type, a slug that does not exist), so the cart never tells a guesser whether a code
    // exists.
    let plain = vec![CartLine { item: LineItem::TicketType("individual".into()), quantity: q(1) }];
    let hidden = vec![CartLine { item: LineItem::TicketType("corporate".into()), quantity: q(1) }];
    let unknown = vec![CartLine { item: LineItem::AddOn("nope".into()), quantity: q(1) }];
    for cart in [&plain, &lines, &hidden, &unknown] {
        let missing = check_voucher(store, CONF, "NOPE", cart, now()).await.unwrap();
        assert_eq!(
            (missing.valid, missing.reason, missing.voucher.is_none()),
            (false, Some(InvalidReason::NotFound), true)
        );
        assert!(missing.pricing.lines.is_empty() && missing.unlocked_ticket_types.is_empty());
        assert_eq!(serde_json::to_value(&missing.pricing).unwrap()["total"], "0.00");
    }
    // An existing code still judges its cart.
    let err = check_voucher(
        store,
        CONF,
        "SPONSOR-1",
        &[CartLine { item: LineItem::AddOn("nope".into()), quantity: q(1) }],
        now(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.field(), Some("lines"));

    // Inactive: says so, no discount, and redeeming it is refused with the reason.
    raw.execute("UPDATE voucher SET is_active = false WHERE code = 'SPONSOR-1'").await;
    let inactive = check_voucher(store, CONF, "SPONSOR-1", &plain, now()).await.unwrap();
    assert_eq!(inactive.reason, Some(InvalidReason::Inactive));
    assert_eq!(serde_json::to_value(&inactive.pricing).unwrap()["discount"], "0.00");
    let err = redeem_voucher(store, CONF, "SPONSOR-1", "o-1", None, now()).await.unwrap_err();
    assert_eq!(err.code(), "inactive");
    let v = vouchers_core::service::query::show_voucher(store, CONF, "SPONSOR-1").await.unwrap();
    assert_eq!(v.times_used, 0, "a refused redemption changes nothing");
    assert_eq!(raw.count("redemption").await, 0);
}

async fn redeem_with_lines_answers_pricing(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let mut request = AddVoucher::new(CONF, "TENOFF", VoucherType::FixedAmount, Some(dec("10")));
    request.terms.max_uses = 2;
    add_voucher(store, &request).await.unwrap();
    let lines = vec![CartLine { item: LineItem::AddOn("tshirt".into()), quantity: q(1) }];
    let r = redeem_voucher(store, CONF, "tenoff", "order-7", Some(&lines), now()).await.unwrap();
    assert_eq!(json(&r)["redeemed"], true);
    assert_eq!(json(&r)["pricing"]["discount"], "10.00");
    assert_eq!(json(&r)["pricing"]["total"], "15.00");
    let plain = redeem_voucher(store, CONF, "TENOFF", "order-8", None, now()).await.unwrap();
    assert_eq!(json(&plain)["pricing"], serde_json::Value::Null);
}

async fn usage_report_counts(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let out = generate_voucher_codes(store, &Limits::default(), &config(4)).await.unwrap();
    voucher(store, "BY-HAND", 3).await;
    redeem_voucher(store, CONF, &out.vouchers[0].code, "o-1", None, now()).await.unwrap();
    redeem_voucher(store, CONF, "BY-HAND", "o-2", None, now()).await.unwrap();
    let raw = Raw::connect(&db).await;
    raw.execute(&format!("UPDATE voucher SET is_active = false WHERE code = '{}'", out.vouchers[1].code)).await;

    let report = usage_report(store, CONF, &GuessingPolicy::default()).await.unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(report.batches.len(), 2);
    let batch = report.batches.iter().find(|b| b.batch_id == Some(out.batch.id)).unwrap();
    assert_eq!(batch.prefix.as_deref(), Some(PREFIX));
    assert_eq!(
        (
            batch.counts.issued,
            batch.counts.active,
            batch.counts.fully_used,
            batch.counts.uses_consumed,
            batch.counts.uses_left
        ),
        (4, 3, 1, 1, 2)
    );
    let manual = report.batches.iter().find(|b| b.batch_id.is_none()).unwrap();
    assert_eq!((manual.counts.issued, manual.counts.uses_consumed, manual.counts.uses_left), (1, 1, 2));
    assert_eq!(report.total.issued, 5);
    assert_eq!(json["prefixes"].as_array().unwrap().len(), 2);
    assert_eq!(json["total"]["uses_consumed"], 2);
    assert_tallies(&db).await;
}

/// Stored before `max_uses` was bounded (or edited by hand), uses near 2^63 cannot make the
/// usage report overflow or go negative: sums saturate (the report used to fail or show
/// negative uses left).
async fn usage_sums_cannot_overflow(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    for code in ["HUGE-1", "HUGE-2", "HUGE-3"] {
        voucher(store, code, 1).await;
    }
    raw.execute("UPDATE voucher SET max_uses = 9223372036854775807, times_used = 4611686018427387904").await;
    let report = usage_report(store, CONF, &GuessingPolicy::default()).await.unwrap();
    assert_eq!(report.total.uses_consumed, i64::MAX);
    assert_eq!(report.total.uses_left, i64::MAX);
    assert!(report.batches.iter().all(|b| b.counts.uses_left >= 0 && b.counts.uses_consumed >= 0));
}

/// A cart with lines, none of which the voucher applies to, is `not_applicable` at check and
/// redeem, and consumes nothing; a cart with one line it applies to, or no cart, goes through.
/// A rule judged before the cart (inactive, used up, the window) answers first.
/// `"none"`: a speaker's comp for the individual ticket that applies to no add-on gives the
/// ticket free and the tutorial at full price; a cart of add-ons only is not applicable. The
/// three cases read back apart, in JSON, in words and through a CSV export and import.
async fn none_applies_to_nothing_of_its_kind(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let mut config = vouchers_core::VoucherBulkConfig::new(CONF, "SPEAKER-", 1, VoucherType::Comp, dec("0"));
    config.terms.applicable_ticket_types = strings(&["individual"]).into();
    config.terms.applicable_addons = Applies::Nothing;
    let out = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap();
    assert_eq!(out.batch.applicable_addons, Applies::Nothing);
    assert_eq!(out.applies_to, "individual tickets; no add-on");
    let code = out.vouchers[0].code.clone();
    let stored = vouchers_core::service::query::show_voucher(store, CONF, &code).await.unwrap();
    assert_eq!(stored.applicable_addons, Applies::Nothing);
    let json = serde_json::to_value(&stored).unwrap();
    assert_eq!(
        (json["applicable_ticket_types"].clone(), json["applicable_addons"].clone()),
        (serde_json::json!(["individual"]), serde_json::json!("none"))
    );
    let back: vouchers_core::domain::Voucher = serde_json::from_value(json).unwrap();
    assert_eq!(back.applicable_addons, Applies::Nothing);

    let line = |item: LineItem, n: i64| CartLine { item, quantity: q(n) };
    let cart = vec![line(LineItem::TicketType("individual".into()), 1), line(LineItem::AddOn("dinner".into()), 1)];
    let checked = check_voucher(store, CONF, &code, &cart, now()).await.unwrap();
    assert!(checked.valid, "{checked:?}");
    let discounts: Vec<String> = checked.pricing.lines.iter().map(|l| l.discount.to_string()).collect();
    assert_eq!(discounts, ["400.00", "0.00"], "the ticket free, the add-on at full price");
    let addons_only = vec![line(LineItem::AddOn("dinner".into()), 1)];
    let refused = check_voucher(store, CONF, &code, &addons_only, now()).await.unwrap();
    assert_eq!(refused.reason, Some(InvalidReason::NotApplicable));

    // An add-on-only code: no ticket type.
    let mut request = AddVoucher::new(CONF, "DINNER-ONLY", VoucherType::Comp, None);
    request.terms.applicable_ticket_types = Applies::Nothing;
    let added = add_voucher(store, &request).await.unwrap();
    assert_eq!(
        vouchers_core::domain::applies_in_words(&added.applicable_ticket_types, &added.applicable_addons),
        "no ticket type; every add-on"
    );
    let checked = check_voucher(store, CONF, "DINNER-ONLY", &cart, now()).await.unwrap();
    assert_eq!(checked.pricing.discount.to_string(), "80.00");

    // Through the CSV: `(none)` comes back as none, an empty cell as all.
    assert_eq!(stored.csv_record()[12], "(none)");
    let mut file = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut file);
        w.write_record(vouchers_core::domain::Voucher::CSV_COLUMNS).unwrap();
        let mut copy = stored.clone();
        copy.code = "SPEAKER-COPY".into();
        w.write_record(copy.csv_record()).unwrap();
    }
    let imported = vouchers_core::service::import::import_vouchers(store, CONF, &file[..]).await.unwrap();
    assert_eq!(
        (imported.batch.applicable_ticket_types.clone(), imported.batch.applicable_addons.clone()),
        (Applies::these(strings(&["individual"])), Applies::Nothing)
    );
    let copy = vouchers_core::service::query::show_voucher(store, CONF, "SPEAKER-COPY").await.unwrap();
    assert_eq!(copy.applicable_addons, Applies::Nothing);
}

async fn a_code_that_gives_nothing_is_not_used(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    // A student comp: student tickets, no add-on restriction (so every add-on).
    let mut request = AddVoucher::new(CONF, "STUDENT-1", VoucherType::Comp, None);
    request.terms.applicable_ticket_types = strings(&["student"]).into();
    request.terms.max_uses = 2;
    add_voucher(store, &request).await.unwrap();
    let line = |item: LineItem, n: i64| CartLine { item, quantity: q(n) };
    let individual = vec![line(LineItem::TicketType("individual".into()), 2)];

    let refused = check_voucher(store, CONF, "STUDENT-1", &individual, now()).await.unwrap();
    assert_eq!((refused.valid, refused.reason), (false, Some(InvalidReason::NotApplicable)));
    assert!(refused.unlocked_ticket_types.is_empty());
    let answer = serde_json::to_value(&refused).unwrap();
    assert_eq!(
        (answer["reason"].as_str(), answer["pricing"]["discount"].as_str()),
        (Some("not_applicable"), Some("0.00"))
    );
    assert_eq!(answer["pricing"]["total"], "800.00", "the cart is still priced, at full price");

    let err = redeem_voucher(store, CONF, "STUDENT-1", "order-1", Some(&individual), now()).await.unwrap_err();
    assert_eq!(err.code(), "not_applicable");
    assert!(err.to_string().contains("does not apply to anything in the cart"), "{err}");
    let shown = vouchers_core::service::query::show_voucher(store, CONF, "STUDENT-1").await.unwrap();
    assert_eq!(shown.times_used, 0, "a code that gives nothing is not used");
    assert_eq!(raw.count("redemption").await, 0);

    // No cart: valid, and redeemable without one.
    assert!(check_voucher(store, CONF, "STUDENT-1", &[], now()).await.unwrap().valid);
    // One qualifying line among others (an add-on, which every add-on is): goes through.
    let tshirt = vec![line(LineItem::TicketType("individual".into()), 1), line(LineItem::AddOn("tshirt".into()), 1)];
    let mixed = check_voucher(store, CONF, "STUDENT-1", &tshirt, now()).await.unwrap();
    assert!(mixed.valid, "{mixed:?}");
    assert_eq!(serde_json::to_value(&mixed.pricing).unwrap()["discount"], "25.00");
    redeem_voucher(store, CONF, "STUDENT-1", "order-2", Some(&tshirt), now()).await.unwrap();
    redeem_voucher(store, CONF, "STUDENT-1", "order-3", None, now()).await.unwrap();

    // Used up now: the earlier rule answers, whatever the cart.
    let used = check_voucher(store, CONF, "STUDENT-1", &individual, now()).await.unwrap();
    assert_eq!(used.reason, Some(InvalidReason::UsedUp));
    let err = redeem_voucher(store, CONF, "STUDENT-1", "order-4", Some(&individual), now()).await.unwrap_err();
    assert_eq!(err.code(), "used_up");
    assert_eq!(raw.count("redemption").await, 2);
    assert_tallies(&db).await;
}

/// Minimums are stored with the voucher (and its batch), shown in its JSON, and judged on the
/// qualifying lines of the cart at check and redeem: a cart below either is `below_minimum`,
/// says what is missing, and consumes nothing.
async fn a_cart_below_a_minimum_uses_nothing(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    // 20% off individual tickets (and dinners), for carts of at least 3 of them worth at least
    // 1,500.00.
    let mut request = AddVoucher::new(CONF, "GROUP-1", VoucherType::Percentage, Some(dec("20")));
    request.terms.applicable_ticket_types = strings(&["individual"]).into();
    request.terms.applicable_addons = strings(&["dinner"]).into();
    request.terms.min_quantity = 3;
    request.terms.min_subtotal = Some(dec("1500"));
    request.terms.max_uses = 2;
    let added = add_voucher(store, &request).await.unwrap();
    let added = serde_json::to_value(&added).unwrap();
    assert_eq!((added["min_quantity"].as_i64(), added["min_subtotal"].as_str()), (Some(3), Some("1500.00")));
    let shown = vouchers_core::service::query::show_voucher(store, CONF, "GROUP-1").await.unwrap();
    assert_eq!((shown.min_quantity, shown.min_subtotal.map(|m| m.to_string())), (3, Some("1500.00".into())));

    let cart = |individuals: i64, tshirts: i64| {
        vec![
            CartLine { item: LineItem::TicketType("individual".into()), quantity: q(individuals) },
            CartLine { item: LineItem::AddOn("tshirt".into()), quantity: q(tshirts) },
        ]
    };
    // T-shirts do not qualify: 2 individual tickets and 5 T-shirts are 2 qualifying items.
    let two = check_voucher(store, CONF, "GROUP-1", &cart(2, 5), now()).await.unwrap();
    assert_eq!((two.valid, two.reason), (false, Some(InvalidReason::BelowMinimum)));
    assert_eq!(two.message.as_deref(), Some("add 1 more qualifying item to use this code (it needs 3)"));
    assert_eq!(serde_json::to_value(&two.pricing).unwrap()["discount"], "0.00");
    // 3 tickets at 400.00 are 1,200.00: below the subtotal.
    let three = check_voucher(store, CONF, "GROUP-1", &cart(3, 1), now()).await.unwrap();
    assert_eq!(three.reason, Some(InvalidReason::BelowMinimum));
    assert_eq!(three.message.as_deref(), Some("qualifying subtotal 1200.00 is below the minimum 1500.00"));
    let err = redeem_voucher(store, CONF, "GROUP-1", "order-1", Some(&cart(3, 1)), now()).await.unwrap_err();
    assert_eq!(err.code(), "below_minimum");
    assert!(err.to_string().contains("qualifying subtotal 1200.00 is below the minimum 1500.00"), "{err}");
    assert_eq!(raw.count("redemption").await, 0, "a refused cart consumes nothing");
    assert_eq!(vouchers_core::service::query::show_voucher(store, CONF, "GROUP-1").await.unwrap().times_used, 0);

    // 4 tickets (1,600.00) qualify: valid, discounted, redeemed.
    let four = check_voucher(store, CONF, "GROUP-1", &cart(4, 1), now()).await.unwrap();
    assert!(four.valid && four.message.is_none(), "{four:?}");
    assert_eq!(serde_json::to_value(&four.pricing).unwrap()["discount"], "320.00");
    let redeemed = redeem_voucher(store, CONF, "GROUP-1", "order-2", Some(&cart(4, 1)), now()).await.unwrap();
    assert_eq!(json(&redeemed)["voucher"]["min_quantity"], 3);
    // No cart: no minimum is judged.
    assert!(check_voucher(store, CONF, "GROUP-1", &[], now()).await.unwrap().valid);

    // A batch keeps its minimums, and so does each of its vouchers.
    let mut config = config(2);
    config.terms.min_quantity = 2;
    config.terms.min_subtotal = Some(dec("99.99"));
    let out = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap();
    assert_eq!((out.batch.min_quantity, out.batch.min_subtotal.map(|m| m.to_string())), (2, Some("99.99".into())));
    for v in &out.vouchers {
        let stored = vouchers_core::service::query::show_voucher(store, CONF, &v.code).await.unwrap();
        assert_eq!((stored.min_quantity, stored.min_subtotal), (2, out.batch.min_subtotal));
    }
    let conference = store.conference(CONF).await.unwrap().unwrap();
    let batch = store.batch(&conference, out.batch.id).await.unwrap().unwrap();
    assert_eq!((batch.min_quantity, batch.min_subtotal), (2, out.batch.min_subtotal));

    // Bad minimums name their field, and nothing is written.
    for (quantity, subtotal, field) in [
        (0, None, "min_quantity"),
        (10_001, None, "min_quantity"),
        (1, Some("0"), "min_subtotal"),
        (1, Some("-5"), "min_subtotal"),
        (1, Some("1.005"), "min_subtotal"),
    ] {
        let mut request = AddVoucher::new(CONF, "BAD-MIN", VoucherType::Comp, None);
        request.terms.min_quantity = quantity;
        request.terms.min_subtotal = subtotal.map(dec);
        let err = add_voucher(store, &request).await.unwrap_err();
        assert_eq!(err.field(), Some(field), "{quantity} {subtotal:?}: {err}");
        assert!(err.to_string().contains(field), "{err}");
    }
    assert!(vouchers_core::service::query::show_voucher(store, CONF, "BAD-MIN").await.is_err());
    assert_tallies(&db).await;
}

both_backends!(
    none_applies_to_nothing_of_its_kind,
    a_cart_below_a_minimum_uses_nothing,
    a_code_that_gives_nothing_is_not_used,
    failed_lookups_are_counted_per_caller,
    usage_sums_cannot_overflow,
    concurrent_redemptions_of_a_single_use_code,
    concurrent_redemptions_of_a_five_use_code,
    concurrent_retries_of_one_order,
    release_gives_the_use_back_once,
    validity_window_bounds_are_inclusive,
    check_prices_and_unlocks,
    redeem_with_lines_answers_pricing,
    usage_report_counts,
);

/// The guessing limit's shared window: failures counted per caller since a moment, the oldest
/// one's time, and old ones forgotten as new ones are recorded.
async fn failed_lookups_are_counted_per_caller(db: TestDb) {
    let store = db.store.as_ref();
    let t0 = now();
    let minute = chrono::Duration::seconds(60);
    for i in 0..3 {
        store.record_failed_lookup(7, "192.0.2.1", t0 + chrono::Duration::seconds(i), t0 - minute).await.unwrap();
    }
    store.record_failed_lookup(8, "192.0.2.1", t0, t0 - minute).await.unwrap();
    let (count, oldest) = store.failed_lookups(7, "192.0.2.1", t0 - minute).await.unwrap();
    assert_eq!(count, 3);
    assert_eq!(oldest.unwrap().timestamp(), t0.timestamp());
    assert_eq!(store.failed_lookups(7, "192.0.2.2", t0 - minute).await.unwrap().0, 0);
    // A minute later the old ones are out of the window, and the next record forgets them.
    let later = t0 + chrono::Duration::seconds(120);
    assert_eq!(store.failed_lookups(7, "192.0.2.1", later - minute).await.unwrap().0, 0);
    store.record_failed_lookup(7, "192.0.2.1", later, later - minute).await.unwrap();
    assert_eq!(store.failed_lookups(7, "192.0.2.1", t0 - minute).await.unwrap().0, 1, "forgotten");
}
