//! Local times, the JSON contract, and reading vouchers back.

use std::collections::BTreeSet;

use vouchers_core::domain::{CodePrefix, When};
use vouchers_core::service::add::add_voucher;
use vouchers_core::service::query;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, Limits, VoucherError};

use crate::add::request;
use crate::support::*;

const JSON_KEYS: [&str; 22] = [
    "id",
    "conference",
    "code",
    "voucher_type",
    "discount_value",
    "max_uses",
    "times_used",
    "valid_from",
    "valid_until",
    "unlocks_hidden_tickets",
    "is_active",
    "applicable_ticket_types",
    "applicable_addons",
    "batch_id",
    "created_at",
    "recipient",
    "min_quantity",
    "min_subtotal",
    "uses_held",
    "budget",
    "budget_used",
    "once_per_customer",
];

async fn local_times_and_json(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;

    let mut cfg = restricted_config(2);
    cfg.terms.valid_from = Some(When::parse("valid_from", "2027-05-14T09:00").unwrap());
    cfg.terms.valid_until = Some(When::parse("valid_until", "2027-05-20T18:00:00+02:00").unwrap());
    let out = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap();
    let v = &out.vouchers[0];
    assert_eq!(v.valid_from.unwrap().to_rfc3339(), "2027-05-14T13:00:00+00:00");
    assert_eq!(v.valid_until.unwrap().to_rfc3339(), "2027-05-20T16:00:00+00:00");
    assert_eq!(out.batch.valid_from, v.valid_from);

    let read = query::show_voucher(store, CONF, &v.code).await.unwrap();
    assert_eq!(&read, v);
    let stored_batch = query::batch(store, CONF, out.batch.id).await.unwrap().unwrap();
    assert_eq!((stored_batch.valid_from, stored_batch.valid_until), (v.valid_from, v.valid_until));

    for voucher in [v, &read] {
        let json = serde_json::to_value(voucher).unwrap();
        let keys: BTreeSet<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, JSON_KEYS.into_iter().collect::<BTreeSet<_>>());
        assert_eq!(json["discount_value"], "25.00");
        assert_eq!(json["voucher_type"], "percentage");
        assert_eq!(json["valid_from"], "2027-05-14T13:00:00Z");
        assert_eq!(json["valid_until"], "2027-05-20T16:00:00Z");
        assert_eq!(json["conference"], CONF);
        assert_eq!(json["code"], v.code.as_str());
        assert_eq!(json["id"], v.id);
        assert_eq!(json["batch_id"], out.batch.id);
        assert_eq!(json["max_uses"], 1);
        assert_eq!(json["times_used"], 0);
        assert_eq!(json["is_active"], true);
        assert_eq!(json["unlocks_hidden_tickets"], false);
        assert_eq!(json["applicable_ticket_types"], serde_json::json!(TICKET_TYPES));
        assert_eq!(json["applicable_addons"], serde_json::json!(ADDONS));
        let created = json["created_at"].as_str().unwrap();
        assert!(created.ends_with('Z') && created.len() >= 20, "{created}");
    }

    // A hand-added voucher: no window serializes as null, batch_id null; winter local time is
    // UTC-5.
    let mut add = request(CONF, "WINTER");
    add.terms.valid_until = Some(When::parse("valid_until", "2027-01-14T09:00").unwrap());
    let added = add_voucher(store, &add).await.unwrap();
    let json = serde_json::to_value(&added).unwrap();
    assert_eq!(json["valid_from"], serde_json::Value::Null);
    assert_eq!(json["valid_until"], "2027-01-14T14:00:00Z");
    assert_eq!(json["batch_id"], serde_json::Value::Null);
    assert_eq!(json["discount_value"], "10.00");
    assert_eq!(serde_json::to_value(query::show_voucher(store, CONF, "winter").await.unwrap()).unwrap(), json);
}

async fn show_and_list(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    for code in ["A_X1", "a_x2", "AB-3", "AXX4", "B_1"] {
        add_voucher(store, &request(CONF, code)).await.unwrap();
    }
    add_voucher(store, &request(OTHER, "A_OTHER")).await.unwrap();
    let batch = generate_voucher_codes(store, &Limits::default(), &config(3)).await.unwrap();

    // show: ignoring case and surrounding whitespace.
    assert_eq!(query::show_voucher(store, CONF, "  ab-3 \t").await.unwrap().code, "AB-3");
    assert_eq!(query::show_voucher(store, CONF, "A_X2").await.unwrap().code, "a_x2");
    let generated = &batch.vouchers[1];
    let found = query::show_voucher(store, CONF, &format!(" {} ", generated.code.to_lowercase())).await.unwrap();
    assert_eq!(&found, generated);
    let err = query::show_voucher(store, CONF, "nope").await.unwrap_err();
    assert!(matches!(err, VoucherError::VoucherNotFound { ref code, .. } if code == "nope"), "{err:?}");
    assert_eq!(err.code(), "not_found");
    let err = query::show_voucher(store, OTHER, "AB-3").await.unwrap_err();
    assert!(matches!(err, VoucherError::VoucherNotFound { .. }), "found in the wrong conference: {err:?}");
    assert_eq!(query::show_voucher(store, CONF, "a/b").await.unwrap_err().field(), Some("code"));
    // Spaces inside a typed code are kept for readable codes; no alnum code has one.
    assert!(matches!(query::show_voucher(store, CONF, "a b").await.unwrap_err(), VoucherError::VoucherNotFound { .. }));
    let err = query::show_voucher(store, "nope", "AB-3").await.unwrap_err();
    assert!(matches!(err, VoucherError::ConferenceNotFound(_)), "{err:?}");

    let codes = |filter: VoucherFilter| async move {
        query::list_vouchers(store, CONF, &filter).await.unwrap().into_iter().map(|v| v.code).collect::<Vec<_>>()
    };
    let prefix = |p: &str| VoucherFilter { prefix: CodePrefix::parse(p).unwrap(), ..Default::default() };

    // Prefix: case-insensitive, '_' and '%' literal, only this conference.
    assert_eq!(codes(prefix("A_")).await, ["A_X1", "a_x2"]);
    assert_eq!(codes(prefix("a_")).await, ["A_X1", "a_x2"]);
    assert_eq!(codes(prefix("a_X")).await, ["A_X1", "a_x2"]);
    assert_eq!(codes(prefix("ab")).await, ["AB-3"]);
    assert_eq!(codes(prefix("a")).await, ["A_X1", "a_x2", "AB-3", "AXX4"]);
    assert_eq!(codes(prefix("B_")).await, ["B_1"]);
    // '%' is not in the code alphabet and '_' cannot start a code: such filters are refused before
    // they reach the store (store::rows has the unit test of the LIKE escaping itself).
    for refused in ["%", "_", "A%"] {
        assert_eq!(CodePrefix::parse(refused).unwrap_err().field, "prefix", "{refused}");
    }
    assert_eq!(codes(prefix("speaker-")).await.len(), 3);
    assert_eq!(codes(VoucherFilter::default()).await.len(), 8);

    // Batch filter and pagination.
    let by_batch = VoucherFilter { batch_id: Some(batch.batch.id), ..Default::default() };
    assert_eq!(codes(by_batch).await, batch.vouchers.iter().map(|v| v.code.clone()).collect::<Vec<_>>());
    let all = query::list_vouchers(store, CONF, &VoucherFilter::default()).await.unwrap();
    let page1 = VoucherFilter { limit: Some(3), ..Default::default() };
    assert_eq!(codes(page1).await, ["A_X1", "a_x2", "AB-3"]);
    let page2 = VoucherFilter { limit: Some(3), after_id: Some(all[2].id), ..Default::default() };
    assert_eq!(codes(page2).await, ["AXX4", "B_1", all[5].code.as_str()]);

    // Active filter.
    let active = |a: bool| VoucherFilter { active: Some(a), ..Default::default() };
    assert!(codes(active(false)).await.is_empty());
    assert_eq!(codes(active(true)).await.len(), 8);
    assert_eq!(raw.execute("UPDATE voucher SET is_active = false WHERE code IN ('AXX4', 'A_OTHER')").await, 2);
    assert_eq!(codes(active(false)).await, ["AXX4"]);
    assert_eq!(codes(active(true)).await.len(), 7);
    let active_a = VoucherFilter { prefix: CodePrefix::parse("a").unwrap(), active: Some(true), ..Default::default() };
    assert_eq!(codes(active_a).await, ["A_X1", "a_x2", "AB-3"]);
    assert!(!query::show_voucher(store, CONF, "axx4").await.unwrap().is_active);
}

both_backends!(local_times_and_json, show_and_list);
