//! Concurrent writers on one shared store.

use std::sync::Arc;

use tokio::sync::Barrier;
use vouchers_core::service::add::add_voucher;
use vouchers_core::service::codegen::ScriptedCodeSource;
use vouchers_core::service::query;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, Limits, VoucherError};

use crate::add::request;
use crate::support::*;

async fn concurrent_batches_same_prefix(db: TestDb) {
    fixture(&*db.store).await;
    let raw = Raw::connect(&db).await;
    let barrier = Arc::new(Barrier::new(8));

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&db.store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                // Same prefix and same (not yet existing) restriction set in every task.
                generate_voucher_codes(&*store, &Limits::default(), &restricted_config(500)).await
            })
        })
        .collect();
    let mut codes = Vec::new();
    let mut batch_ids = Vec::new();
    for task in tasks {
        let out = task.await.unwrap().unwrap_or_else(|e| panic!("a concurrent batch failed: {e:?}"));
        assert_eq!(out.vouchers.len(), 500);
        batch_ids.push(out.batch.id);
        codes.extend(out.vouchers.into_iter().map(|v| v.code));
    }
    assert_eq!(codes.len(), 4_000);
    assert_eq!(distinct_ignoring_case(codes.iter().map(String::as_str)), 4_000);
    batch_ids.sort_unstable();
    batch_ids.dedup();
    assert_eq!(batch_ids.len(), 8);

    let c = raw.counts().await;
    assert_eq!((c.voucher, c.voucher_batch), (4_000, 8));
    assert_eq!(
        (c.restriction_set, c.restriction_set_ticket_type, c.restriction_set_addon),
        (1, 3, 2),
        "concurrent batches must share one restriction set"
    );
    let all = query::list_vouchers(&*db.store, CONF, &VoucherFilter::default()).await.unwrap();
    assert_eq!(all.len(), 4_000);
    assert_eq!(distinct_ignoring_case(all.iter().map(|v| v.code.as_str())), 4_000);
    assert!(all.iter().all(|v| v.applicable_ticket_types == strings(&TICKET_TYPES)));
    assert_tallies(&db).await;
}

async fn concurrent_adds_same_code(db: TestDb) {
    fixture(&*db.store).await;
    let raw = Raw::connect(&db).await;
    for round in 0..5 {
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = [format!("VIP-{round}"), format!("vip-{round}")]
            .into_iter()
            .map(|code| {
                let store = Arc::clone(&db.store);
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    add_voucher(&*store, &request(CONF, &code)).await
                })
            })
            .collect();
        let mut ok = 0;
        let mut duplicate = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(VoucherError::Duplicate { .. }) => duplicate += 1,
                Err(other) => panic!("round {round}: unexpected error {other:?}"),
            }
        }
        assert_eq!((ok, duplicate), (1, 1), "round {round}");
        assert_eq!(raw.count("voucher").await, round + 1);
    }
    assert_tallies(&db).await;
}

/// Three batches drawing the same scripted codes at once: each waits for (or sees) the others'
/// codes, is refused them and draws the next pair, so all succeed with disjoint codes.
async fn concurrent_forced_collisions(db: TestDb) {
    fixture(&*db.store).await;
    let raw = Raw::connect(&db).await;
    let barrier = Arc::new(Barrier::new(3));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let store = Arc::clone(&db.store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let mut source =
                    ScriptedCodeSource::new(&["AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "EEEEEEEE", "FFFFFFFF"]);
                barrier.wait().await;
                generate_with_source(&*store, &Limits::default(), &config(2), &mut source).await
            })
        })
        .collect();
    let mut pairs = Vec::new();
    for task in tasks {
        let out = task.await.unwrap().unwrap_or_else(|e| panic!("a concurrent batch failed: {e:?}"));
        let mut codes: Vec<String> = out.vouchers.into_iter().map(|v| v.code).collect();
        codes.sort();
        pairs.push(codes);
    }
    pairs.sort();
    let expected: Vec<Vec<String>> = [["A", "B"], ["C", "D"], ["E", "F"]]
        .iter()
        .map(|pair| pair.iter().map(|c| format!("{PREFIX}{}", c.repeat(8))).collect())
        .collect();
    assert_eq!(pairs, expected);
    let c = raw.counts().await;
    assert_eq!((c.voucher, c.voucher_batch), (6, 3));
    assert_tallies(&db).await;
}

both_backends!(concurrent_batches_same_prefix, concurrent_adds_same_code, concurrent_forced_collisions);
