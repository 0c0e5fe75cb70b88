//! The audit log: every write appends a record in its own transaction naming who did it, what,
//! and the values written (old and new for a change); never a secret.

use std::sync::Arc;

use vouchers_core::domain::{Actor, MaxUses, NewTicketType, OrderRef, Scope};
use vouchers_core::service::manage::{deactivate_batch, update_voucher, VoucherUpdate};
use vouchers_core::service::{audit, catalog, checkout, tokens};
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::{acting, AuditFilter};
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

both_backends!(every_write_is_audited_with_its_actor, a_failed_write_leaves_no_record);
