//! Bulk changes of the voucher list: ticked codes or every voucher a filter matches,
//! deactivated or reactivated in one transaction, each voucher audited like a single change; a
//! refusal writes nothing; two changes over the same vouchers at once do not deadlock.

use std::sync::Arc;

use tokio::sync::Barrier;
use vouchers_core::domain::CodePrefix;
use vouchers_core::service::manage::{set_active_many, BulkChange, Selection, MAX_BULK};
use vouchers_core::service::query;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, Limits, VoucherError};

use crate::support::*;

async fn codes(store: &dyn vouchers_core::Store, n: i64) -> Vec<String> {
    let mut config = config(n);
    config.prefix = "BULK-".into();
    generate_voucher_codes(store, &Limits::default(), &config)
        .await
        .unwrap()
        .vouchers
        .into_iter()
        .map(|v| v.code)
        .collect()
}

async fn active(store: &dyn vouchers_core::Store) -> usize {
    let filter = VoucherFilter { active: Some(true), ..VoucherFilter::default() };
    query::list_vouchers(store, CONF, &filter).await.unwrap().len()
}

async fn ticked_and_matching_vouchers_change_once_each(db: TestDb) {
    fixture(&*db.store).await;
    let store = &*db.store;
    let raw = Raw::connect(&db).await;
    let codes = codes(store, 6).await;
    let audit_before = raw.count("audit_log").await;

    // Two ticked, one of them twice and in lower case: each changes once.
    let ticked = Selection::Codes(vec![codes[0].clone(), codes[1].to_lowercase(), codes[0].clone()]);
    let change = set_active_many(store, CONF, &ticked, false).await.unwrap();
    assert_eq!(change, BulkChange { changed: 2, unchanged: 0 });
    assert_eq!(active(store).await, 4);
    assert_eq!(raw.count("audit_log").await, audit_before + 2, "one voucher.update record per voucher");
    let again = set_active_many(store, CONF, &ticked, false).await.unwrap();
    assert_eq!(again, BulkChange { changed: 0, unchanged: 2 }, "already inactive: nothing written");
    assert_eq!(raw.count("audit_log").await, audit_before + 2);

    // Every voucher the filter matches: the prefix of this batch.
    let matching = Selection::Matching(VoucherFilter {
        prefix: CodePrefix::parse("bulk-").unwrap(),
        limit: Some(1),
        after_id: Some(i64::MAX),
        ..VoucherFilter::default()
    });
    let change = set_active_many(store, CONF, &matching, false).await.unwrap();
    assert_eq!(change, BulkChange { changed: 4, unchanged: 2 }, "the filter's paging is ignored");
    assert_eq!(active(store).await, 0);
    let change = set_active_many(store, CONF, &matching, true).await.unwrap();
    assert_eq!(change, BulkChange { changed: 6, unchanged: 0 });
    assert_eq!(active(store).await, 6);
    assert_tallies(&db).await;
}

async fn a_refusal_writes_nothing(db: TestDb) {
    fixture(&*db.store).await;
    let store = &*db.store;
    let raw = Raw::connect(&db).await;
    let codes = codes(store, 3).await;
    let audit_before = raw.count("audit_log").await;

    let none = set_active_many(store, CONF, &Selection::Codes(Vec::new()), false).await.unwrap_err();
    assert_eq!(none.field(), Some("selection"));
    assert!(none.to_string().contains("select at least one voucher"), "{none}");

    // A code of the list, then one that names nothing: the whole change is refused.
    let unknown = Selection::Codes(vec![codes[0].clone(), "NOPE-0000".into()]);
    assert!(matches!(set_active_many(store, CONF, &unknown, false).await, Err(VoucherError::VoucherNotFound { .. })));
    // Another conference's code names nothing here.
    let mut other = config(1);
    other.conference = OTHER.into();
    let theirs: Vec<String> = generate_voucher_codes(store, &Limits::default(), &other)
        .await
        .unwrap()
        .vouchers
        .into_iter()
        .map(|v| v.code)
        .collect();
    assert!(matches!(
        set_active_many(store, CONF, &Selection::Codes(theirs), false).await,
        Err(VoucherError::VoucherNotFound { .. })
    ));

    let too_many = Selection::Codes(vec![codes[0].clone(); MAX_BULK + 1]);
    let refused = set_active_many(store, CONF, &too_many, false).await.unwrap_err();
    assert_eq!(refused.field(), Some("selection"));
    assert!(refused.to_string().contains(&format!("at most {MAX_BULK} vouchers")), "{refused}");
    assert_eq!(active(store).await, 3, "nothing deactivated");
    assert_eq!(raw.count("audit_log").await, audit_before + 1, "only the other conference's batch was written");
    assert_tallies(&db).await;
}

async fn more_matches_than_the_bound_are_refused(db: TestDb) {
    fixture(&*db.store).await;
    let store = &*db.store;
    // Batches of at most 500 (the default limit), one more than the bound in all.
    for n in [500, 500, 1] {
        codes(store, n).await;
    }
    assert_eq!(MAX_BULK, 1000);
    let all = Selection::Matching(VoucherFilter::default());
    let refused = set_active_many(store, CONF, &all, false).await.unwrap_err();
    assert_eq!(refused.field(), Some("selection"));
    assert!(refused.to_string().contains("narrow the filter"), "{refused}");
    assert_eq!(active(store).await, MAX_BULK + 1);
}

async fn two_organizers_at_once_do_not_deadlock(db: TestDb) {
    fixture(&*db.store).await;
    let store = Arc::clone(&db.store);
    let codes = codes(&*store, 40).await;
    let barrier = Arc::new(Barrier::new(4));
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            // Half in list order, half reversed: the rows are still locked in one order.
            let mut mine = codes.clone();
            if i % 2 == 1 {
                mine.reverse();
            }
            tokio::spawn(async move {
                barrier.wait().await;
                set_active_many(&*store, CONF, &Selection::Codes(mine), false).await.unwrap()
            })
        })
        .collect();
    let mut changed = 0;
    for task in tasks {
        let change = task.await.unwrap();
        assert_eq!(change.changed + change.unchanged, 40);
        changed += change.changed;
    }
    assert_eq!(changed, 40, "each voucher deactivated exactly once");
    assert_eq!(active(&*store).await, 0);
    assert_tallies(&db).await;
}

both_backends!(
    ticked_and_matching_vouchers_change_once_each,
    a_refusal_writes_nothing,
    more_matches_than_the_bound_are_refused,
    two_organizers_at_once_do_not_deadlock
);
