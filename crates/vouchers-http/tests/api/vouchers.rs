//! Vouchers: add one, bulk generation, list with filters and cursors, show, change.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

/// The keys of a voucher in JSON, as the CLI prints it.
const VOUCHER_KEYS: [&str; 22] = [
    "applicable_addons",
    "applicable_ticket_types",
    "batch_id",
    "budget",
    "budget_used",
    "code",
    "conference",
    "created_at",
    "discount_value",
    "id",
    "is_active",
    "max_uses",
    "min_quantity",
    "min_subtotal",
    "once_per_customer",
    "recipient",
    "times_used",
    "unlocks_hidden_tickets",
    "uses_held",
    "valid_from",
    "valid_until",
    "voucher_type",
];

fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

async fn add_one_voucher(app: TestApp) {
    let body = json!({"code": "PYCON-KEYNOTE", "voucher_type": "comp", "max_uses": 3,
                      "valid_until": "2027-05-22T18:00", "applicable_ticket_types": ["individual"]});
    let v = app.post_vouchers(&app.manage, CONF, &body).await.ok(StatusCode::CREATED);
    assert_eq!(keys(&v), VOUCHER_KEYS);
    assert_eq!(v["code"], "PYCON-KEYNOTE");
    assert_eq!(v["discount_value"], "0.00");
    assert_eq!(v["valid_until"], "2027-05-22T22:00:00Z", "local time read in America/New_York");
    assert_eq!(v["batch_id"], json!(null));
    let dup = json!({"code": "pycon-keynote", "voucher_type": "comp"});
    let e = app.post_vouchers(&app.manage, CONF, &dup).await.error(StatusCode::CONFLICT);
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("duplicate"), Some("code")));
    let bad = json!({"code": "-bad", "voucher_type": "comp"});
    assert_eq!(
        app.post_vouchers(&app.manage, CONF, &bad).await.error(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "code"
    );
    let no_discount = json!({"code": "X1", "voucher_type": "percentage"});
    let e = app.post_vouchers(&app.manage, CONF, &no_discount).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "discount_value");
}

async fn bulk_generation_answers_batch_and_vouchers(app: TestApp) {
    let body = json!({"prefix": "SPONSOR-", "count": 20, "voucher_type": "fixed_amount", "discount_value": 12.35,
                      "max_uses": 2, "valid_from": "2027-05-01T00:00:00Z", "unlocks_hidden_tickets": true,
                      "applicable_ticket_types": ["student", "individual"], "applicable_addons": ["tshirt"],
                      "name": "Sponsors 2027", "note": "For the ten gold sponsors"});
    let out = app.post_vouchers_bulk(&app.manage, CONF, &body, None).await.ok(StatusCode::CREATED);
    let batch = &out["batch"];
    assert_eq!(batch["count"], 20);
    assert_eq!(
        (batch["name"].as_str(), batch["note"].as_str()),
        (Some("Sponsors 2027"), Some("For the ten gold sponsors"))
    );
    assert_eq!(batch["prefix"], "SPONSOR-");
    assert_eq!(batch["discount_value"], "12.35", "a JSON number is read exactly");
    let vouchers = out["vouchers"].as_array().unwrap();
    assert_eq!(vouchers.len(), 20);
    let codes: HashSet<&str> = vouchers.iter().map(|v| v["code"].as_str().unwrap()).collect();
    assert_eq!(codes.len(), 20);
    for v in vouchers {
        assert_eq!(keys(v), VOUCHER_KEYS);
        let code = v["code"].as_str().unwrap();
        assert!(code.starts_with("SPONSOR-") && code.len() == 16, "{code}");
        assert_eq!(v["batch_id"], batch["id"]);
        assert_eq!(v["applicable_ticket_types"], json!(["individual", "student"]));
        assert_eq!(v["applicable_addons"], json!(["tshirt"]));
        assert_eq!(v["max_uses"], 2);
        assert_eq!(v["valid_from"], "2027-05-01T00:00:00Z");
    }
    // Exact decimals from numbers that a float would not keep.
    let precise = json!({"count": 1, "voucher_type": "percentage", "discount_value": 33.33});
    let out = app.post_vouchers_bulk(&app.manage, CONF, &precise, None).await.ok(StatusCode::CREATED);
    assert_eq!(out["vouchers"][0]["discount_value"], "33.33");
}

async fn bulk_validation_names_the_field(app: TestApp) {
    let base = json!({"prefix": "SPONSOR-", "count": 5, "voucher_type": "percentage", "discount_value": "25.00"});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let too_many = app.post_vouchers_bulk(&app.manage, CONF, &with("count", json!(501)), None).await;
    too_many.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        too_many.json(),
        json!({"error": {"code": "invalid_count", "message": "count must be between 1 and 500, got 501", "field": "count"}})
    );
    for (key, value, field, code) in [
        ("count", json!(0), "count", "invalid_count"),
        ("count", json!("five"), "count", "invalid_input"),
        ("count", json!(1e20), "count", "invalid_input"),
        ("prefix", json!("-BAD"), "prefix", "invalid_input"),
        ("prefix", json!("A".repeat(21)), "prefix", "invalid_input"),
        ("discount_value", json!("101"), "discount_value", "invalid_input"),
        ("discount_value", json!(1e20), "discount_value", "invalid_input"),
        ("discount_value", json!("12.345"), "discount_value", "invalid_input"),
        ("discount_value", json!(true), "discount_value", "invalid_input"),
        ("voucher_type", json!("free"), "voucher_type", "invalid_input"),
        ("max_uses", json!(0), "max_uses", "invalid_input"),
        ("min_quantity", json!(0), "min_quantity", "invalid_input"),
        ("min_quantity", json!(10_001), "min_quantity", "invalid_input"),
        ("min_quantity", json!("two"), "min_quantity", "invalid_input"),
        ("min_subtotal", json!("0"), "min_subtotal", "invalid_input"),
        ("min_subtotal", json!("-1"), "min_subtotal", "invalid_input"),
        ("min_subtotal", json!("1.001"), "min_subtotal", "invalid_input"),
        ("valid_from", json!("tomorrow"), "valid_from", "invalid_input"),
        ("applicable_ticket_types", json!(["sprint"]), "applicable_ticket_types", "unknown_ticket_type"),
        ("applicable_ticket_types", json!(["bad\u{0}slug"]), "applicable_ticket_types", "unknown_ticket_type"),
        ("applicable_addons", json!(["nope"]), "applicable_addons", "unknown_addon"),
        ("unexpected", json!(1), "unexpected", "invalid_input"),
        ("name", json!("two\nlines"), "name", "invalid_input"),
        ("name", json!("x".repeat(101)), "name", "invalid_input"),
        ("note", json!("y".repeat(2001)), "note", "invalid_input"),
    ] {
        let e = app.post_vouchers_bulk(&app.manage, CONF, &with(key, value.clone()), None).await;
        let e = e.error(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!((e["field"].as_str(), e["code"].as_str()), (Some(field), Some(code)), "{key}={value}: {e}");
    }
    let window = with("valid_from", json!("2027-06-01T00:00:00Z"));
    let mut window = window;
    window["valid_until"] = json!("2027-05-01T00:00:00Z");
    let e = app.post_vouchers_bulk(&app.manage, CONF, &window, None).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "valid_until");
    // Nothing was written by any of them.
    let list = app.get_vouchers(&app.manage, CONF, "").await.ok(StatusCode::OK);
    assert_eq!(list["items"], json!([]));
}

async fn malformed_large_and_non_json_bodies(app: TestApp) {
    let uri = format!("/api/v1/conferences/{CONF}/vouchers/bulk");
    for body in ["{\"count\": ", "not json", "", "{\"count\": 1,"] {
        let r = app.send(Method::POST, &uri, Some(&app.manage), Some(Body::from(body)), &[]).await;
        assert_eq!(r.error(StatusCode::BAD_REQUEST)["code"], "malformed_json", "{body:?}");
    }
    let r = app.send(Method::POST, &uri, Some(&app.manage), Some(Body::from("[]")), &[]).await;
    r.error(StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .send(Method::POST, &uri, Some(&app.manage), Some(Body::from("{}")), &[("content-type", "text/plain")])
        .await;
    assert_eq!(r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE)["code"], "unsupported_media_type");
    let huge = format!("{{\"prefix\": \"{}\"}}", "A".repeat(2 * 1024 * 1024));
    let r = app.send(Method::POST, &uri, Some(&app.manage), Some(Body::from(huge)), &[]).await;
    assert_eq!(r.error(StatusCode::PAYLOAD_TOO_LARGE)["code"], "payload_too_large");
}

async fn list_filters_and_cursor_pages(app: TestApp) {
    let first = app.generate("SPEAKER-", 150).await;
    let second = app.generate("SPONSOR-", 100).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=100&cursor={c}"),
            None => "limit=100".to_owned(),
        };
        let page = app.get_vouchers(&app.manage, CONF, &query).await.ok(StatusCode::OK);
        seen.extend(page["items"].as_array().unwrap().iter().map(|v| v["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "creation order, no repeats");

    let by_prefix = app.get_vouchers(&app.manage, CONF, "prefix=sponsor-&limit=1000").await.ok(StatusCode::OK);
    assert_eq!(by_prefix["items"].as_array().unwrap().len(), 100);
    let batch_id = first["batch"]["id"].as_i64().unwrap();
    let by_batch =
        app.get_vouchers(&app.manage, CONF, &format!("batch={batch_id}&limit=1000")).await.ok(StatusCode::OK);
    assert_eq!(by_batch["items"].as_array().unwrap().len(), 150);
    let code = second["vouchers"][0]["code"].as_str().unwrap();
    app.patch_voucher(&app.manage, CONF, code, &json!({"is_active": false})).await.ok(StatusCode::OK);
    let inactive = app.get_vouchers(&app.manage, CONF, "active=false").await.ok(StatusCode::OK);
    assert_eq!(inactive["items"].as_array().unwrap().len(), 1);
    assert_eq!(inactive["items"][0]["code"], code);
    let e = app.get_vouchers(&app.manage, CONF, "prefix=%3D1%2B1").await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "prefix");
    let e = app.get_vouchers(&app.manage, CONF, "active=maybe").await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "active");
}

async fn show_and_patch_one_voucher(app: TestApp) {
    let out = app.generate("VIP-", 1).await;
    let code = out["vouchers"][0]["code"].as_str().unwrap().to_owned();
    let shown = app.get_voucher(&app.manage, CONF, &code.to_lowercase()).await.ok(StatusCode::OK);
    assert_eq!(shown, out["vouchers"][0], "the code matches ignoring case");
    app.get_voucher(&app.manage, CONF, "NOPE-1").await.error(StatusCode::NOT_FOUND);
    app.get_voucher(&app.manage, CONF, "%3D%3D").await.error(StatusCode::NOT_FOUND);

    let changed = app
        .patch_voucher(
            &app.manage,
            CONF,
            &code,
            &json!({"is_active": false, "max_uses": 5, "valid_from": "2027-05-01T09:00", "valid_until": "2027-05-30T00:00:00Z"}),
        )
        .await
        .ok(StatusCode::OK);
    assert_eq!((changed["is_active"].as_bool(), changed["max_uses"].as_i64()), (Some(false), Some(5)));
    assert_eq!(changed["valid_from"], "2027-05-01T13:00:00Z");
    assert_eq!(changed["valid_until"], "2027-05-30T00:00:00Z");
    // null removes a bound; absent fields stay.
    let cleared = app.patch_voucher(&app.manage, CONF, &code, &json!({"valid_from": null})).await.ok(StatusCode::OK);
    assert_eq!(
        (cleared["valid_from"].clone(), cleared["valid_until"].clone()),
        (json!(null), changed["valid_until"].clone())
    );
    assert_eq!(cleared["max_uses"], 5);
    assert_eq!(app.get_voucher(&app.manage, CONF, &code).await.ok(StatusCode::OK), cleared);

    for (body, field) in [
        (json!({"max_uses": 0}), "max_uses"),
        (json!({"valid_from": "2027-06-01T00:00:00Z"}), "valid_until"),
        (json!({"valid_until": "soon"}), "valid_until"),
        (json!({"is_active": "yes"}), "is_active"),
        (json!({"times_used": 0}), "times_used"),
    ] {
        let e = app.patch_voucher(&app.manage, CONF, &code, &body).await.error(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["field"], field, "{body}");
    }
    app.patch_voucher(&app.manage, CONF, "NOPE-1", &json!({"max_uses": 2})).await.error(StatusCode::NOT_FOUND);
}

async fn max_uses_cannot_drop_below_uses_consumed(app: TestApp) {
    let out = app.generate("USED-", 1).await;
    let code = out["vouchers"][0]["code"].as_str().unwrap().to_owned();
    app.patch_voucher(&app.manage, CONF, &code, &json!({"max_uses": 3})).await.ok(StatusCode::OK);
    let now = chrono::Utc::now();
    for order in ["order-1", "order-2"] {
        vouchers_core::service::checkout::redeem_voucher(
            &*app.db.store,
            CONF,
            &code,
            &vouchers_core::domain::OrderRef::parse(order).unwrap(),
            None,
            &Default::default(),
            now,
        )
        .await
        .unwrap();
    }
    let e = app
        .patch_voucher(&app.manage, CONF, &code, &json!({"max_uses": 1}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "max_uses");
    assert!(e["message"].as_str().unwrap().contains("2 uses already consumed"), "{e}");
    let ok = app.patch_voucher(&app.manage, CONF, &code, &json!({"max_uses": 2})).await.ok(StatusCode::OK);
    assert_eq!((ok["max_uses"].as_i64(), ok["times_used"].as_i64()), (Some(2), Some(2)));
}

both_backends!(
    add_one_voucher,
    bulk_generation_answers_batch_and_vouchers,
    bulk_validation_names_the_field,
    malformed_large_and_non_json_bodies,
    list_filters_and_cursor_pages,
    show_and_patch_one_voucher,
    max_uses_cannot_drop_below_uses_consumed,
);
