//! The counts the database keeps as rows change (migration 0022: per batch, and standing
//! redemptions per 15-minute bucket), which the usage report, the funnel and the timeline read
//! instead of counting every voucher: they equal a full count after every kind of write,
//! including raw SQL the service never runs (a voucher moved to another batch, rows deleted), and
//! under concurrent checkouts of one batch. Most contract tests also end with
//! `assert_tallies`, so every write path they take is checked too.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use vouchers_core::domain::{LineItem, OrderRef, Quantity, VoucherType};
use vouchers_core::service::checkout::{self, CartLine, Releasing, UseOptions};
use vouchers_core::service::reports;
use vouchers_core::store::testing::TestDb;
use vouchers_core::{generate_voucher_codes, Limits, Store, VoucherBulkConfig};

use crate::support::*;

fn now() -> DateTime<Utc> {
    vouchers_core::now()
}

async fn redeem(store: &dyn Store, code: &str, order: &str) {
    let lines = [CartLine { item: LineItem::TicketType("individual".into()), quantity: Quantity::new(1).unwrap() }];
    let order = OrderRef::parse(order).unwrap();
    checkout::redeem_voucher(store, CONF, code, &order, Some(&lines), &UseOptions::default(), now()).await.unwrap();
}

async fn release(store: &dyn Store, code: &str, order: &str) {
    let order = Releasing::Order(OrderRef::parse(order).unwrap());
    checkout::release_voucher(store, CONF, code, &order, now()).await.unwrap();
}

async fn kept_counts_follow_every_kind_of_change(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let mut config = VoucherBulkConfig::new(CONF, "TAL-", 40, VoucherType::Percentage, dec("10"));
    config.terms.max_uses = 3;
    let first = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap();
    let second = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap();
    let codes: Vec<&str> = first.vouchers.iter().map(|v| v.code.as_str()).collect();
    assert_tallies(&db).await;

    // Redeemed, released, redeemed again for the same order (the released row taken again).
    redeem(store, codes[0], "o-1").await;
    redeem(store, codes[0], "o-2").await;
    redeem(store, codes[1], "o-3").await;
    release(store, codes[0], "o-1").await;
    assert_tallies(&db).await;
    redeem(store, codes[0], "o-1").await;
    assert_tallies(&db).await;

    // Raw changes the service never makes: a voucher cannot move to another batch (its
    // redemptions are counted there); a redemption moved to another day, one deleted, an
    // assignment are counted.
    let moved = format!("UPDATE voucher SET batch_id = {} WHERE code = '{}'", second.batch.id, codes[0]);
    let refused = raw.try_execute(&moved).await.unwrap_err();
    assert!(refused.contains("a voucher stays in its conference and batch"), "{refused}");
    assert_tallies(&db).await;
    let yesterday = match store.backend() {
        vouchers_core::store::Backend::Sqlite => "redeemed_at - 86400000000".to_owned(),
        vouchers_core::store::Backend::Postgres => "redeemed_at - interval '1 day'".to_owned(),
    };
    raw.execute(&format!("UPDATE redemption SET redeemed_at = {yesterday} WHERE order_ref = 'o-2'")).await;
    raw.execute("DELETE FROM customer_use").await;
    raw.execute("DELETE FROM redemption WHERE order_ref = 'o-3'").await;
    raw.execute(&format!("UPDATE voucher SET recipient_email = 'x@example.org' WHERE code = '{}'", codes[5])).await;
    assert_tallies(&db).await;

    // A bulk change of every voucher at once, and a change of nothing a count reads.
    raw.execute("UPDATE voucher SET is_active = false").await;
    raw.execute("UPDATE voucher SET updated_at = created_at").await;
    assert_tallies(&db).await;
    let before = reports::batches(store, CONF).await.unwrap();
    assert_eq!(before.iter().map(|f| f.issued).sum::<i64>(), 80);
    let usage = checkout::usage_report(store, CONF, &Default::default()).await.unwrap();
    assert_eq!((usage.total.issued, usage.total.active, usage.total.uses_left), (80, 0, 0));

    // The check itself can fail: a kept count off by one is reported.
    raw.execute(&format!("UPDATE batch_tally SET issued = issued + 1 WHERE batch_key = {}", first.batch.id)).await;
    let drift = raw.tally_drift().await;
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].starts_with(&format!("batch (1, {})", first.batch.id)), "{drift:?}");
}

/// Many checkouts of one batch at once (each on its own connection), spread over the batch's
/// shards on PostgreSQL: none fails for waiting on another's count, and the counts are exact.
async fn concurrent_checkouts_of_one_batch_count_exactly(db: TestDb) {
    fixture(db.store.as_ref()).await;
    let config = VoucherBulkConfig::new(CONF, "RUSH-", 24, VoucherType::Percentage, dec("25"));
    let batch = generate_voucher_codes(db.store.as_ref(), &Limits::default(), &config).await.unwrap();
    let store: Arc<dyn Store> = db.store.clone();
    let start = Arc::new(tokio::sync::Barrier::new(batch.vouchers.len()));
    let tasks: Vec<_> = batch
        .vouchers
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (store, code, start) = (store.clone(), v.code.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                redeem(store.as_ref(), &code, &format!("rush-{i}")).await;
                if i % 3 == 0 {
                    release(store.as_ref(), &code, &format!("rush-{i}")).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_tallies(&db).await;
    let funnel = reports::batches(db.store.as_ref(), CONF).await.unwrap();
    assert_eq!((funnel[0].issued, funnel[0].redeemed, funnel[0].released), (24, 16, 8));
}

/// The statements of migration 0022 that count what a database already holds when it is
/// upgraded ("-- What is there now." up to the triggers), run again over a conference with
/// redemptions, releases and sent emails whose kept counts were emptied: they count it all.
async fn the_migration_counts_what_was_there(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let config = VoucherBulkConfig::new(CONF, "OLD-", 10, VoucherType::Percentage, dec("50"));
    let batch = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap();
    for (i, voucher) in batch.vouchers.iter().take(4).enumerate() {
        redeem(store, &voucher.code, &format!("old-{i}")).await;
    }
    release(store, &batch.vouchers[0].code, "old-0").await;
    let raw = Raw::connect(&db).await;
    raw.execute("UPDATE voucher SET recipient_email = 'a@example.org' WHERE id = (SELECT min(id) FROM voucher)").await;
    let file = match store.backend() {
        vouchers_core::store::Backend::Sqlite => include_str!("../../migrations/sqlite/0022_tallies.sql"),
        vouchers_core::store::Backend::Postgres => include_str!("../../migrations/postgres/0022_tallies.sql"),
    };
    let start = file.find("-- What is there now.").unwrap();
    let end = start + file[start..].find("\n-- A voucher stays").unwrap();
    raw.execute("DELETE FROM batch_tally").await;
    raw.execute("DELETE FROM redemption_tally").await;
    assert!(!raw.tally_drift().await.is_empty(), "emptied counts differ");
    let statements: Vec<&str> = file[start..end].split(";\n").filter(|s| s.contains("INSERT")).collect();
    assert_eq!(statements.len(), 4);
    for statement in statements {
        raw.execute(statement).await;
    }
    assert_tallies(&db).await;
    let funnel = reports::batches(store, CONF).await.unwrap();
    assert_eq!((funnel[0].issued, funnel[0].assigned, funnel[0].redeemed, funnel[0].released), (10, 1, 3, 1));
}

both_backends!(
    kept_counts_follow_every_kind_of_change,
    concurrent_checkouts_of_one_batch_count_exactly,
    the_migration_counts_what_was_there
);
