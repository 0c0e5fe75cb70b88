//! Bulk generation: the happy path, `VoucherBulkConfig`'s defaults, shared restriction sets, count limits.

use vouchers_core::domain::VoucherType;
use vouchers_core::service::query;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, Limits, VoucherBulkConfig, VoucherError};

use crate::support::*;

async fn happy_path(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;

    let out = generate_voucher_codes(store, &Limits::default(), &restricted_config(500)).await.unwrap();

    let batch = &out.batch;
    assert_eq!(batch.conference, CONF);
    assert_eq!(batch.prefix, PREFIX);
    assert_eq!(batch.count, 500);
    assert_eq!(batch.voucher_type, VoucherType::Percentage);
    assert_eq!(batch.discount_value.to_string(), "25.00");
    assert_eq!(batch.max_uses, 1);
    assert_eq!(batch.applicable_ticket_types, strings(&TICKET_TYPES));
    assert_eq!(batch.applicable_addons, strings(&ADDONS));

    assert_eq!(out.vouchers.len(), 500);
    for v in &out.vouchers {
        assert_generated(&v.code, PREFIX);
        assert_eq!(v.conference, CONF);
        assert_eq!(v.voucher_type, VoucherType::Percentage);
        assert_eq!(v.discount_value.to_string(), "25.00");
        assert_eq!((v.max_uses, v.times_used), (1, 0));
        assert!(v.is_active);
        assert!(!v.unlocks_hidden_tickets);
        assert_eq!((v.valid_from, v.valid_until), (None, None));
        assert_eq!(v.applicable_ticket_types, strings(&TICKET_TYPES));
        assert_eq!(v.applicable_addons, strings(&ADDONS));
        assert_eq!(v.batch_id, Some(batch.id));
        assert_eq!(v.created_at, batch.created_at);
    }
    assert_eq!(distinct_ignoring_case(out.vouchers.iter().map(|v| v.code.as_str())), 500);
    // Generation order is creation order: ids strictly increase.
    assert!(out.vouchers.windows(2).all(|w| w[0].id < w[1].id), "ids not increasing");

    let filter = VoucherFilter { batch_id: Some(batch.id), ..Default::default() };
    let listed = query::list_vouchers(store, CONF, &filter).await.unwrap();
    assert_eq!(listed, out.vouchers, "read back differs from what generate returned");
    assert_eq!(query::batch(store, CONF, batch.id).await.unwrap().as_ref(), Some(batch));
    assert_eq!(query::batch(store, OTHER, batch.id).await.unwrap(), None, "batch visible in another conference");

    let counts = raw.counts().await;
    assert_eq!((counts.voucher, counts.voucher_batch), (500, 1));
}

async fn bulk_config_defaults(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let cfg = VoucherBulkConfig::new(CONF, "DEF-", 3, VoucherType::FixedAmount, dec("10"));
    assert_eq!(cfg.terms.max_uses, 1);
    assert_eq!((cfg.terms.valid_from, cfg.terms.valid_until), (None, None));
    assert!(!cfg.terms.unlocks_hidden_tickets);
    assert!(cfg.terms.applicable_ticket_types.is_all() && cfg.terms.applicable_addons.is_all());
    assert_eq!(cfg.terms.discount_value, Some(dec("10")));

    let out = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap();
    assert_eq!(out.vouchers.len(), 3);
    for v in &out.vouchers {
        assert_generated(&v.code, "DEF-");
        assert_eq!(v.voucher_type, VoucherType::FixedAmount);
        assert_eq!(v.discount_value.to_string(), "10.00");
        assert_eq!(v.max_uses, 1);
        assert!(!v.unlocks_hidden_tickets);
        assert!(v.applicable_ticket_types.is_all() && v.applicable_addons.is_all());
    }
    let listed = query::list_vouchers(store, CONF, &VoucherFilter::default()).await.unwrap();
    assert_eq!(listed, out.vouchers);
}

async fn restriction_sets_written_once(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;

    generate_voucher_codes(store, &Limits::default(), &restricted_config(500)).await.unwrap();
    let c = raw.counts().await;
    assert_eq!(
        (c.restriction_set, c.restriction_set_ticket_type, c.restriction_set_addon),
        (1, 3, 2),
        "a batch of 500 with 3+2 restrictions must write one set and 5 link rows"
    );

    // The same restrictions, given in another order and with a repeat: the set is shared.
    let mut again = restricted_config(500);
    again.prefix = "AGAIN-".into();
    again.terms.applicable_ticket_types = strings(&["individual", "student", "corporate", "student"]).into();
    again.terms.applicable_addons = strings(&["dinner", "tshirt"]).into();
    let second = generate_voucher_codes(store, &Limits::default(), &again).await.unwrap();
    assert_eq!(second.vouchers[0].applicable_ticket_types, strings(&TICKET_TYPES));
    let c = raw.counts().await;
    assert_eq!((c.restriction_set, c.restriction_set_ticket_type, c.restriction_set_addon), (1, 3, 2));
    assert_eq!(c.voucher, 1_000);

    // No restrictions (None, or empty lists): no set, no link rows, empty lists.
    let mut none = config(200);
    none.prefix = "FREE-".into();
    let unrestricted = generate_voucher_codes(store, &Limits::default(), &none).await.unwrap();
    none.terms.applicable_ticket_types = Vec::new().into();
    none.terms.applicable_addons = Vec::new().into();
    let empty_lists = generate_voucher_codes(store, &Limits::default(), &none).await.unwrap();
    for v in unrestricted.vouchers.iter().chain(&empty_lists.vouchers) {
        assert!(v.applicable_ticket_types.is_all() && v.applicable_addons.is_all(), "{v:?}");
    }
    let c = raw.counts().await;
    assert_eq!((c.restriction_set, c.restriction_set_ticket_type, c.restriction_set_addon), (1, 3, 2));
    assert_eq!(c.voucher, 1_400);
    let filter = VoucherFilter { batch_id: Some(unrestricted.batch.id), ..Default::default() };
    for v in query::list_vouchers(store, CONF, &filter).await.unwrap() {
        assert!(v.applicable_ticket_types.is_all() && v.applicable_addons.is_all(), "{v:?}");
    }

    // Add-ons only: a new set with 0 ticket-type rows and 1 add-on row.
    let mut addon_only = config(10);
    addon_only.prefix = "SHIRT-".into();
    addon_only.terms.applicable_addons = strings(&["tshirt"]).into();
    let out = generate_voucher_codes(store, &Limits::default(), &addon_only).await.unwrap();
    assert!(out.vouchers[0].applicable_ticket_types.is_all());
    assert_eq!(out.vouchers[0].applicable_addons, strings(&["tshirt"]));
    let c = raw.counts().await;
    assert_eq!((c.restriction_set, c.restriction_set_ticket_type, c.restriction_set_addon), (2, 3, 3));
}

async fn invalid_count(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;

    for (count, limits, message) in [
        (0, Limits::default(), "count must be between 1 and 500, got 0"),
        (-1, Limits::default(), "count must be between 1 and 500, got -1"),
        (501, Limits::default(), "count must be between 1 and 500, got 501"),
        (1001, Limits { max_batch: 1000, ..Limits::default() }, "count must be between 1 and 1000, got 1001"),
    ] {
        let err = generate_voucher_codes(store, &limits, &config(count)).await.unwrap_err();
        assert!(matches!(err, VoucherError::InvalidCount { .. }), "{count}: {err:?}");
        assert_eq!(err.to_string(), message);
        assert_eq!(err.field(), Some("count"));
        assert_eq!(err.code(), "invalid_count");
        assert!(err.is_input_error());
    }
    let c = raw.counts().await;
    assert_eq!((c.voucher, c.voucher_batch), (0, 0), "a refused count wrote something");

    // The bounds themselves are accepted, and a raised limit admits 501.
    let one = generate_voucher_codes(store, &Limits::default(), &config(1)).await.unwrap();
    assert_eq!(one.vouchers.len(), 1);
    let raised =
        generate_voucher_codes(store, &Limits { max_batch: 1000, ..Limits::default() }, &config(501)).await.unwrap();
    assert_eq!(raised.vouchers.len(), 501);
    assert_eq!(raised.batch.count, 501);
    let c = raw.counts().await;
    assert_eq!((c.voucher, c.voucher_batch), (502, 2));
}

both_backends!(happy_path, bulk_config_defaults, restriction_sets_written_once, invalid_count);
