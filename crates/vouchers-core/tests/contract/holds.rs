//! Holds for open carts, budgets and once-per-customer: their rules, and the races they must
//! survive with real concurrent clients.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use vouchers_core::domain::{
    CartRef, Customer, GuessingPolicy, HoldSeconds, InvalidReason, LineItem, OrderRef, Quantity, VoucherType,
};
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::service::checkout::{self, check_voucher, CartLine, Held, Redemption, Releasing, UseOptions};
use vouchers_core::service::query::show_voucher;
use vouchers_core::store::testing::TestDb;
use vouchers_core::{generate_voucher_codes, Limits, Store, VoucherBulkConfig, VoucherError};

use crate::support::*;

fn now() -> DateTime<Utc> {
    vouchers_core::now()
}

fn individual(n: i64) -> Vec<CartLine> {
    vec![CartLine { item: LineItem::TicketType("individual".into()), quantity: Quantity::new(n).unwrap() }]
}

fn cart(name: &str) -> UseOptions {
    UseOptions { cart_ref: Some(CartRef::parse(name).unwrap()), customer: None }
}

fn reason<T: std::fmt::Debug>(result: &Result<T, VoucherError>) -> Option<InvalidReason> {
    match result {
        Err(VoucherError::NotRedeemable { reason, .. }) => Some(*reason),
        _ => None,
    }
}

async fn add(store: &dyn Store, code: &str, max_uses: i64, kind: VoucherType, value: &str) {
    let mut request = AddVoucher::new(CONF, code, kind, Some(dec(value)));
    request.terms.max_uses = max_uses;
    add_voucher(store, &request).await.unwrap();
}

async fn hold(
    store: &dyn Store,
    code: &str,
    with: &UseOptions,
    ttl: Option<i64>,
    at: DateTime<Utc>,
) -> Result<Held, VoucherError> {
    let ttl = ttl.map(|t| HoldSeconds::new("ttl_seconds", t).unwrap());
    checkout::hold_voucher(store, CONF, code, Some(&individual(1)), ttl, with, at).await
}

async fn redeem(
    store: &dyn Store,
    code: &str,
    order: &str,
    lines: Option<&[CartLine]>,
    with: &UseOptions,
    at: DateTime<Utc>,
) -> Result<Redemption, VoucherError> {
    checkout::redeem_voucher(store, CONF, code, &OrderRef::parse(order).unwrap(), lines, with, at).await
}

/// Runs `n` tasks at once behind a barrier and collects their results in order.
async fn at_once<T: Send + 'static, F>(n: usize, task: impl Fn(usize) -> F) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (start, work) = (start.clone(), task(i));
            tokio::spawn(async move {
                start.wait().await;
                work.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

/// A hold keeps its use from other carts until it ends; the same cart again answers the same
/// hold; an ended hold is gone; the cart's redemption converts its hold; release drops a hold; an
/// extension moves the end; nothing else consumes a use.
async fn a_hold_keeps_the_use_for_its_cart(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    add(store, "ONE", 1, VoucherType::Percentage, "10").await;
    let t0 = now();
    let first = hold(store, "ONE", &cart("cart-a"), Some(1), t0).await.unwrap();
    assert_eq!(first.expires_at, t0 + Duration::seconds(1));
    assert_eq!((first.voucher.uses_held, first.voucher.times_used), (1, 0));
    assert_eq!(first.pricing.as_ref().map(|p| p.discount.to_string()), Some("40.00".into()));

    // Another cart, a plain redemption and a check find every use held, and say until when.
    let other = hold(store, "ONE", &cart("cart-b"), None, now()).await;
    assert_eq!(reason(&other), Some(InvalidReason::Held));
    if let Err(VoucherError::NotRedeemable { retry_at, .. }) = &other {
        assert_eq!(*retry_at, Some(first.expires_at));
    }
    let plain = redeem(store, "ONE", "order-1", None, &UseOptions::default(), now()).await;
    assert_eq!(reason(&plain), Some(InvalidReason::Held));
    let checked = check_voucher(store, CONF, "ONE", &[], now()).await.unwrap();
    assert_eq!((checked.valid, checked.reason), (false, Some(InvalidReason::Held)));

    // The same cart again: the same hold, its end unchanged.
    let again = hold(store, "ONE", &cart("cart-a"), Some(600), now()).await.unwrap();
    assert_eq!(again.expires_at, first.expires_at);
    assert_eq!(show_voucher(store, CONF, "ONE").await.unwrap().uses_held, 1);

    // Past its end the hold counts for nothing, with no job run: another cart takes the use; the
    // first cart's hold is gone and holding again needs a free use.
    tokio::time::sleep((first.expires_at - now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(50))
        .await;
    assert_eq!(show_voucher(store, CONF, "ONE").await.unwrap().uses_held, 0);
    let later = now();
    let b = hold(store, "ONE", &cart("cart-b"), Some(60), later).await.unwrap();
    assert_eq!(b.expires_at, later + Duration::seconds(60));
    assert_eq!(reason(&hold(store, "ONE", &cart("cart-a"), None, later).await), Some(InvalidReason::Held));
    let usage = checkout::usage_report(store, CONF, &GuessingPolicy::default()).await.unwrap();
    assert_eq!((usage.total.uses_held, usage.batches[0].counts.uses_held), (1, 1));

    // Extending moves the end; a cart with no live hold has nothing to extend.
    let ttl = HoldSeconds::new("ttl_seconds", 5).unwrap();
    let cart_b = CartRef::parse("cart-b").unwrap();
    let extended = checkout::extend_hold(store, CONF, "ONE", &cart_b, ttl, later).await.unwrap();
    assert_eq!(extended.expires_at, later + Duration::seconds(5));
    let cart_a = CartRef::parse("cart-a").unwrap();
    let missing = checkout::extend_hold(store, CONF, "ONE", &cart_a, ttl, later).await.unwrap_err();
    assert_eq!(missing.code(), "hold_not_found");

    // The cart's redemption converts its hold: one use taken, none held.
    let redeemed = redeem(store, "ONE", "order-b", None, &cart("cart-b"), later).await.unwrap();
    assert_eq!((redeemed.answer.voucher.times_used, redeemed.answer.voucher.uses_held), (1, 0));
    let v = show_voucher(store, CONF, "ONE").await.unwrap();
    assert_eq!((v.times_used, v.uses_held), (1, 0));
    assert_eq!(reason(&hold(store, "ONE", &cart("cart-c"), None, later).await), Some(InvalidReason::UsedUp));

    // Releasing a cart's hold gives the use back; releasing again gives nothing.
    add(store, "TWO", 1, VoucherType::Comp, "0").await;
    hold(store, "TWO", &cart("cart-x"), None, later).await.unwrap();
    let drop = Releasing::Cart(CartRef::parse("cart-x").unwrap());
    assert!(checkout::release_voucher(store, CONF, "TWO", &drop, later).await.unwrap().released);
    assert!(!checkout::release_voucher(store, CONF, "TWO", &drop, later).await.unwrap().released);
    hold(store, "TWO", &cart("cart-y"), None, later).await.unwrap();

    // A cart the code gives nothing to holds nothing.
    let mut request = AddVoucher::new(CONF, "STUDENT-ONLY", VoucherType::Comp, None);
    request.terms.applicable_ticket_types = vec!["student".into()].into();
    add_voucher(store, &request).await.unwrap();
    let refused = hold(store, "STUDENT-ONLY", &cart("cart-z"), None, later).await;
    assert_eq!(reason(&refused), Some(InvalidReason::NotApplicable));
    assert_eq!(show_voucher(store, CONF, "STUDENT-ONLY").await.unwrap().uses_held, 0);

    // Every hold, extension, conversion and drop is in the audit log.
    let raw = Raw::connect(&db).await;
    for (action, count) in [("voucher.hold", 4), ("voucher.hold_extend", 1), ("voucher.hold_release", 1)] {
        let sql = format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'");
        assert_eq!(raw.scalar(&sql).await, count, "{action}");
    }
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = 'voucher.redeem' AND changes LIKE '%converted_hold%'";
    assert_eq!(raw.scalar(sql).await, 1);

    // `serve`'s pruning keeps an ended hold a day: nothing now; a day and more later, the two
    // rows left (cart-a's ended hold, cart-y's).
    assert_eq!(checkout::prune_holds(store, now()).await.unwrap(), 0);
    assert_eq!(checkout::prune_holds(store, now() + Duration::days(2)).await.unwrap(), 2);
    assert_eq!(raw.scalar("SELECT COUNT(*) FROM voucher_hold").await, 0);
    assert_tallies(&db).await;
}

/// 32 carts hold a one-use code at once: exactly one hold.
async fn concurrent_holds_of_a_single_use_code(db: TestDb) {
    fixture(db.store.as_ref()).await;
    for round in 0..3 {
        let code = format!("HOLD-{round}");
        add(db.store.as_ref(), &code, 1, VoucherType::Percentage, "20").await;
        let store = db.store.clone();
        let results = at_once(32, |i| {
            let (store, code) = (store.clone(), code.clone());
            async move { hold(store.as_ref(), &code, &cart(&format!("cart-{i}")), None, now()).await }
        })
        .await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "round {round}");
        assert_eq!(results.iter().filter(|r| reason(r) == Some(InvalidReason::Held)).count(), 31, "round {round}");
        assert_eq!(show_voucher(db.store.as_ref(), CONF, &code).await.unwrap().uses_held, 1);
    }
}

/// 20 holds and 20 plain redemptions race for a five-use code: exactly five win, and uses held
/// plus used never exceed five.
async fn holds_and_redemptions_race_for_five_uses(db: TestDb) {
    fixture(db.store.as_ref()).await;
    for round in 0..3 {
        let code = format!("MIXED-{round}");
        add(db.store.as_ref(), &code, 5, VoucherType::Percentage, "20").await;
        let store = db.store.clone();
        let results = at_once(40, |i| {
            let (store, code) = (store.clone(), code.clone());
            async move {
                if i % 2 == 0 {
                    hold(store.as_ref(), &code, &cart(&format!("cart-{i}")), None, now()).await.map(|_| ())
                } else {
                    let order = format!("order-{i}");
                    redeem(store.as_ref(), &code, &order, None, &UseOptions::default(), now()).await.map(|_| ())
                }
            }
        })
        .await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 5, "round {round}: {results:?}");
        let refused = results.iter().filter(|r| matches!(reason(r), Some(InvalidReason::Held | InvalidReason::UsedUp)));
        assert_eq!(refused.count(), 35, "round {round}");
        let v = show_voucher(db.store.as_ref(), CONF, &code).await.unwrap();
        assert_eq!(v.times_used + v.uses_held, 5, "round {round}: {v:?}");
    }
    assert_tallies(&db).await;
}

/// A budget caps the discount all redemptions give: ten orders of 30.00 each at once against
/// 100.00 give exactly 100.00 (three whole, one capped at 10.00), the rest refused; a release
/// gives its discount back.
async fn concurrent_redemptions_never_overspend_a_budget(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let mut request = AddVoucher::new(CONF, "BUDGET", VoucherType::FixedAmount, Some(dec("30.00")));
    request.terms.max_uses = 10;
    request.terms.budget = Some(dec("100.00"));
    add_voucher(store, &request).await.unwrap();
    // A budget voucher is redeemed with its cart: the budget counts the cart's discount.
    let no_cart = redeem(store, "BUDGET", "o", None, &UseOptions::default(), now()).await.unwrap_err();
    assert_eq!(no_cart.field(), Some("lines"));
    // Nor does a cart reference with no live hold stand in for the cart.
    let no_hold = redeem(store, "BUDGET", "o", None, &cart("no-such-hold"), now()).await.unwrap_err();
    assert_eq!(no_hold.field(), Some("lines"));

    let shared = db.store.clone();
    let results = at_once(10, |i| {
        let store = shared.clone();
        async move {
            let lines = individual(1);
            redeem(store.as_ref(), "BUDGET", &format!("order-{i}"), Some(&lines), &UseOptions::default(), now()).await
        }
    })
    .await;
    let given: i64 = results.iter().flatten().map(|r| r.answer.pricing.as_ref().unwrap().discount.cents()).sum();
    assert_eq!(given, 10_000, "exactly the budget: {results:?}");
    let capped = results.iter().flatten().filter(|r| r.answer.pricing.as_ref().unwrap().budget_capped).count();
    assert_eq!((results.iter().flatten().count(), capped), (4, 1));
    let exhausted = results.iter().filter(|r| reason(r) == Some(InvalidReason::BudgetExhausted)).count();
    assert_eq!(exhausted, 6);
    let v = show_voucher(store, CONF, "BUDGET").await.unwrap();
    assert_eq!((v.times_used, v.budget_used.to_string()), (4, "100.00".to_owned()));
    let checked = check_voucher(store, CONF, "BUDGET", &individual(1), now()).await.unwrap();
    assert_eq!(checked.reason, Some(InvalidReason::BudgetExhausted));

    // Releasing the capped order gives back its 10.00: the next order gets 10.00, capped.
    let capped_order = results.iter().flatten().find(|r| r.answer.pricing.as_ref().unwrap().budget_capped).unwrap();
    let release = Releasing::Order(OrderRef::parse(&capped_order.answer.order_ref).unwrap());
    checkout::release_voucher(store, CONF, "BUDGET", &release, now()).await.unwrap();
    assert_eq!(show_voucher(store, CONF, "BUDGET").await.unwrap().budget_used.to_string(), "90.00");
    let next = redeem(store, "BUDGET", "order-next", Some(&individual(1)), &UseOptions::default(), now()).await;
    let pricing = next.unwrap().answer.pricing.unwrap();
    assert_eq!((pricing.discount.to_string(), pricing.budget_capped), ("10.00".to_owned(), true));
    assert_tallies(&db).await;
}

/// Eight codes of a once-per-customer batch redeemed at once by one customer (spelled eight
/// ways): exactly one; releasing that order frees the customer.
async fn once_per_customer_gives_one_code_of_a_batch(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let mut config = VoucherBulkConfig::new(CONF, "ONCE-", 8, VoucherType::Percentage, dec("10"));
    config.terms.once_per_customer = true;
    let out = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap();
    assert!(out.batch.once_per_customer);
    let codes: Vec<String> = out.vouchers.iter().map(|v| v.code.clone()).collect();

    // Without the customer, a hold or redemption is refused as bad input.
    let err = redeem(store, &codes[0], "o", None, &UseOptions::default(), now()).await.unwrap_err();
    assert_eq!(err.field(), Some("customer_email"));

    let shared = db.store.clone();
    let results = at_once(8, |i| {
        let (store, code) = (shared.clone(), codes[i].clone());
        async move {
            let email = if i % 2 == 0 { format!("Ana+{i}@Example.org") } else { "ana@example.org".to_owned() };
            let with = UseOptions { cart_ref: None, customer: Some(Customer::parse(&email).unwrap()) };
            redeem(store.as_ref(), &code, &format!("order-{i}"), None, &with, now()).await
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let taken = results.iter().filter(|r| reason(r) == Some(InvalidReason::AlreadyUsedByCustomer)).count();
    assert_eq!(taken, 7);
    let used: i64 = {
        let mut sum = 0;
        for code in &codes {
            sum += show_voucher(store, CONF, code).await.unwrap().times_used;
        }
        sum
    };
    assert_eq!(used, 1, "one use in the whole batch");

    // Another customer is not refused; a hold claims the customer as a redemption does; the
    // released order frees its customer.
    let bea = UseOptions {
        cart_ref: Some(CartRef::parse("bea-cart").unwrap()),
        customer: Some(Customer::parse("bea@example.org").unwrap()),
    };
    let winner = results.iter().position(Result::is_ok).unwrap();
    let other = codes[(winner + 1) % 8].clone();
    hold(store, &other, &bea, None, now()).await.unwrap();
    let bea_again = UseOptions { cart_ref: Some(CartRef::parse("bea-cart-2").unwrap()), ..bea.clone() };
    let second = hold(store, &codes[(winner + 2) % 8], &bea_again, None, now()).await;
    assert_eq!(reason(&second), Some(InvalidReason::AlreadyUsedByCustomer));
    // Bea's hold converts with her cart.
    redeem(store, &other, "bea-order", None, &bea, now()).await.unwrap();

    let ana = UseOptions { cart_ref: None, customer: Some(Customer::parse("ana@example.org").unwrap()) };
    let release = Releasing::Order(OrderRef::parse(&format!("order-{winner}")).unwrap());
    checkout::release_voucher(store, CONF, &codes[winner], &release, now()).await.unwrap();
    redeem(store, &codes[(winner + 3) % 8], "ana-again", None, &ana, now()).await.unwrap();
    assert_tallies(&db).await;
}

both_backends!(
    a_hold_keeps_the_use_for_its_cart,
    concurrent_holds_of_a_single_use_code,
    holds_and_redemptions_race_for_five_uses,
    concurrent_redemptions_never_overspend_a_budget,
    once_per_customer_gives_one_code_of_a_batch,
);
