//! The audit log: every write appends a record in its own transaction naming who did it, what,
//! and the values written (old and new for a change); never a secret.

use std::sync::Arc;

use vouchers_core::domain::{Actor, MaxUses, NewTicketType, OrderRef, Scope};
use vouchers_core::service::manage::{deactivate_batch, update_voucher, VoucherUpdate};
use vouchers_core::service::{audit, catalog, checkout, tokens};
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::{acting, AuditEntry, AuditFilter};
use vouchers_core::{generate_voucher_codes, Limits};

use crate::support::*;

fn all() -> AuditFilter {
    AuditFilter { limit: 100, ..AuditFilter::default() }
}

async fn every_write_is_audited_with_its_actor(db: TestDb) {
    fixture(&*db.store).await;
    let token = Actor::Token { id: 7, name: Some("web shop".into()) };
    let store = acting(Arc::clone(&db.store), token.clone());
    let store = store.as_ref();

    let tt = NewTicketType::parse("vip", "VIP", "900", true).unwrap();
    catalog::create_ticket_type(store, CONF, &tt).await.unwrap();
    let batch = generate_voucher_codes(store, &Limits::default(), &config(2)).await.unwrap();
    let code = batch.vouchers[0].code.clone();
    let update = VoucherUpdate { max_uses: Some(MaxUses::new(3).unwrap()), ..VoucherUpdate::default() };
    update_voucher(store, CONF, &code, &update).await.unwrap();
    let order = OrderRef::parse("ORDER-1").unwrap();
    checkout::redeem_voucher(store, CONF, &code, &order, None, &Default::default(), vouchers_core::now())
        .await
        .unwrap();
    checkout::release_voucher(store, CONF, &code, &checkout::Releasing::Order(order.clone()), vouchers_core::now())
        .await
        .unwrap();
    deactivate_batch(store, CONF, batch.batch.id).await.unwrap();
    let created = tokens::create_token(store, Scope::Checkout, Some(CONF), Some("desk")).await.unwrap();
    tokens::revoke_token(store, created.token.id).await.unwrap();

    let everything = audit::audit_log(store, CONF, &all()).await.unwrap();
    // The fixture's writes came first, by nobody in particular.
    let (records, fixture): (Vec<_>, Vec<_>) = everything.into_iter().partition(|r| r.actor.kind == "token");
    assert!(!fixture.is_empty() && fixture.iter().all(|r| r.actor.kind == "system"));
    assert!(fixture.iter().any(|r| r.action == "conference.create" && r.target == CONF));
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "token.revoke",
            "token.create",
            "batch.deactivate",
            "voucher.release",
            "voucher.redeem",
            "voucher.update",
            "batch.generate",
            "ticket_type.create"
        ],
        "newest first"
    );
    assert!(records.windows(2).all(|w| w[0].id > w[1].id && w[0].at >= w[1].at));
    for r in &records {
        assert_eq!((r.actor.kind.as_str(), r.actor.id, r.actor.name.as_deref()), ("token", Some(7), Some("web shop")));
    }
    let update = records.iter().find(|r| r.action == "voucher.update").unwrap();
    assert_eq!(update.target, code);
    assert_eq!(update.changes, serde_json::json!({"max_uses": {"old": 1, "new": 3}}), "only the changed fields");
    let redeem = records.iter().find(|r| r.action == "voucher.redeem").unwrap();
    assert_eq!(redeem.changes["order_ref"], "ORDER-1");
    assert_eq!(redeem.changes["times_used"], serde_json::json!({"old": 0, "new": 1}));
    let deactivated = records.iter().find(|r| r.action == "batch.deactivate").unwrap();
    assert_eq!(deactivated.changes["deactivated"], 2);
    let token_record = records.iter().find(|r| r.action == "token.create").unwrap();
    let text = token_record.changes.to_string();
    assert!(!text.contains(created.secret.expose()) && text.contains("checkout"), "never a secret: {text}");

    // Filters: by action, by time, by page.
    let only = AuditFilter { action: Some("voucher.redeem".into()), ..all() };
    assert_eq!(audit::audit_log(store, CONF, &only).await.unwrap().len(), 1);
    let later = AuditFilter { since: Some(vouchers_core::now() + chrono::Duration::seconds(5)), ..all() };
    assert!(audit::audit_log(store, CONF, &later).await.unwrap().is_empty());
    let page = AuditFilter { before_id: Some(records[1].id), limit: 2, ..AuditFilter::default() };
    let second: Vec<i64> = audit::audit_log(store, CONF, &page).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(second, [records[2].id, records[3].id]);
    // Another conference's log has only its own (fixture) records; a write without an actor
    // says `system`.
    let elsewhere = audit::audit_log(store, OTHER, &all()).await.unwrap();
    assert!(elsewhere.iter().all(|r| r.actor.kind == "system"), "{elsewhere:?}");
    catalog::create_ticket_type(&*db.store, OTHER, &NewTicketType::parse("x", "X", "1", false).unwrap()).await.unwrap();
    let other = audit::audit_log(&*db.store, OTHER, &all()).await.unwrap();
    assert_eq!(other[0].actor.kind, "system");
    assert_tallies(&db).await;
}

/// A write that fails leaves no audit record (the record is in the write's transaction).
async fn a_failed_write_leaves_no_record(db: TestDb) {
    fixture(&*db.store).await;
    let store = db.store.as_ref();
    let before = audit::audit_log(store, CONF, &all()).await.unwrap().len();
    let mut bad = config(2);
    bad.terms.applicable_addons = vec!["nope".into()].into();
    assert!(generate_voucher_codes(store, &Limits::default(), &bad).await.is_err());
    assert_eq!(audit::audit_log(store, CONF, &all()).await.unwrap().len(), before);
}

/// The filters by actor (contains, ignoring ASCII case, wildcards literal) and by time (`until`
/// exclusive), and their bounds.
async fn filters_by_actor_and_time(db: TestDb) {
    fixture(&*db.store).await;
    let actors = [
        Actor::Account { id: 1, email: "ada@example.org".into() },
        Actor::Token { id: 2, name: Some("web_shop".into()) },
        Actor::Token { id: 3, name: Some("webXshop".into()) },
        Actor::Sponsor { allotment_id: 4, name: "ACME 100%".into() },
    ];
    let start = vouchers_core::now();
    for (i, actor) in actors.iter().enumerate() {
        let store = acting(Arc::clone(&db.store), actor.clone());
        let tt = NewTicketType::parse(&format!("t{i}"), "T", "1", false).unwrap();
        catalog::create_ticket_type(store.as_ref(), CONF, &tt).await.unwrap();
    }
    let store = db.store.as_ref();
    let by = |actor: &str| AuditFilter { actor: Some(actor.into()), ..all() };
    let targets = |records: Vec<vouchers_core::domain::AuditRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.target).collect()
    };
    assert_eq!(targets(audit::audit_log(store, CONF, &by("ADA@")).await.unwrap()), ["t0"]);
    assert_eq!(targets(audit::audit_log(store, CONF, &by(" example.org ")).await.unwrap()), ["t0"], "trimmed");
    assert_eq!(targets(audit::audit_log(store, CONF, &by("b_s")).await.unwrap()), ["t1"], "_ is literal");
    assert_eq!(targets(audit::audit_log(store, CONF, &by("0%")).await.unwrap()), ["t3"], "% is literal");
    assert_eq!(targets(audit::audit_log(store, CONF, &by("shop")).await.unwrap()), ["t2", "t1"]);
    assert!(audit::audit_log(store, CONF, &by("nobody")).await.unwrap().is_empty());
    let conference_id = store.conference(CONF).await.unwrap().unwrap().id;
    assert!(store.audit_log(conference_id, &by("a\0b")).await.unwrap().is_empty(), "the store: NUL matches nothing");
    assert_eq!(
        audit::audit_log(store, CONF, &by("  ")).await.unwrap().len(),
        audit::audit_log(store, CONF, &all()).await.unwrap().len(),
        "empty: any actor"
    );
    let only = AuditFilter { action: Some("ticket_type.create".into()), actor: Some("shop".into()), ..all() };
    assert_eq!(audit::audit_log(store, CONF, &only).await.unwrap().len(), 2);

    // Time: since inclusive, until exclusive.
    let everything = audit::audit_log(store, CONF, &all()).await.unwrap();
    let newest = everything[0].at;
    let until = AuditFilter { until: Some(newest), ..all() };
    let before_newest = audit::audit_log(store, CONF, &until).await.unwrap();
    assert!(before_newest.iter().all(|r| r.at < newest) && !before_newest.is_empty());
    let window = AuditFilter { since: Some(start), until: Some(newest + chrono::Duration::microseconds(1)), ..all() };
    assert_eq!(targets(audit::audit_log(store, CONF, &window).await.unwrap()), ["t3", "t2", "t1", "t0"]);

    // Bounds: each refused with the field named, nothing read.
    let long = "x".repeat(audit::MAX_ACTOR + 1);
    let refused = [
        (AuditFilter { limit: 0, ..all() }, "limit"),
        (AuditFilter { limit: audit::MAX_RECORDS + 1, ..all() }, "limit"),
        (AuditFilter { actor: Some(long), ..all() }, "actor"),
        (AuditFilter { actor: Some("a\u{7}b".into()), ..all() }, "actor"),
        (AuditFilter { actor: Some("a\0b".into()), ..all() }, "actor"),
        (AuditFilter { action: Some("a".repeat(audit::MAX_ACTION + 1)), ..all() }, "action"),
        (AuditFilter { since: Some(newest), until: Some(start - chrono::Duration::seconds(1)), ..all() }, "until"),
    ];
    for (filter, field) in refused {
        let err = audit::audit_log(store, CONF, &filter).await.unwrap_err();
        assert_eq!((err.field(), err.code()), (Some(field), "invalid_input"), "{err}");
    }
    let ok = AuditFilter { actor: Some("x".repeat(audit::MAX_ACTOR)), ..all() };
    assert!(audit::audit_log(store, CONF, &ok).await.unwrap().is_empty());
}

/// More records than one read of the store returns come back whole, newest first, read
/// [`AuditFilter::MAX_PAGE`] at a time; the store alone never answers more than that.
async fn long_logs_are_read_in_pages(db: TestDb) {
    fixture(&*db.store).await;
    let store = db.store.as_ref();
    let conference = store.conference(CONF).await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    let changes = serde_json::json!({});
    for i in 0..1_100 {
        let target = format!("item {i}");
        let entry = AuditEntry {
            at: vouchers_core::now(),
            conference_id: Some(conference.id),
            action: "message.retry",
            target: &target,
            changes: &changes,
        };
        tx.audit(&entry).await.unwrap();
    }
    tx.commit().await.unwrap();
    let filter = AuditFilter { action: Some("message.retry".into()), limit: 1_050, ..AuditFilter::default() };
    let records = audit::audit_log(store, CONF, &filter).await.unwrap();
    assert_eq!(records.len(), 1_050);
    assert_eq!((records[0].target.as_str(), records[1_049].target.as_str()), ("item 1099", "item 50"));
    assert!(records.windows(2).all(|w| w[0].id > w[1].id), "newest first, none twice");
    let every = AuditFilter { limit: audit::MAX_RECORDS, ..filter.clone() };
    assert_eq!(audit::audit_log(store, CONF, &every).await.unwrap().len(), 1_100);
    let raw = AuditFilter { limit: 100_000, ..filter };
    assert_eq!(store.audit_log(conference.id, &raw).await.unwrap().len(), AuditFilter::MAX_PAGE as usize);
}

both_backends!(
    every_write_is_audited_with_its_actor,
    a_failed_write_leaves_no_record,
    filters_by_actor_and_time,
    long_logs_are_read_in_pages
);
