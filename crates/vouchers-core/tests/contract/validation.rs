//! Every refused input names its field and leaves the database unchanged.

use vouchers_core::domain::{Applies, VoucherType, When};
use vouchers_core::service::query;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, Limits, VoucherBulkConfig, VoucherError};

use crate::support::*;

fn when(value: &str) -> Option<When> {
    Some(When::parse("time", value).unwrap())
}

async fn validation_failures_write_nothing(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    // Some rows first, so "unchanged" is not just "empty".
    generate_voucher_codes(store, &Limits::default(), &restricted_config(5)).await.unwrap();
    let before = raw.counts().await;
    assert_eq!((before.voucher, before.voucher_batch, before.restriction_set), (5, 1, 1));

    type Edit = Box<dyn Fn(&mut VoucherBulkConfig)>;
    let cases: Vec<(&str, &str, Edit)> = vec![
        ("prefix too long", "prefix", Box::new(|c| c.prefix = "A".repeat(21))),
        ("prefix bad char", "prefix", Box::new(|c| c.prefix = "SPEAK ER".into())),
        ("prefix non-ASCII", "prefix", Box::new(|c| c.prefix = "SPÉAKER".into())),
        ("prefix starts with '-'", "prefix", Box::new(|c| c.prefix = "-SPEAKER".into())),
        ("percentage 101", "discount_value", Box::new(|c| c.terms.discount_value = Some(dec("101")))),
        ("percentage 100.01", "discount_value", Box::new(|c| c.terms.discount_value = Some(dec("100.01")))),
        ("percentage -1", "discount_value", Box::new(|c| c.terms.discount_value = Some(dec("-1")))),
        ("percentage missing", "discount_value", Box::new(|c| c.terms.discount_value = None)),
        ("percentage 3 decimals", "discount_value", Box::new(|c| c.terms.discount_value = Some(dec("12.345")))),
        (
            "fixed_amount -1",
            "discount_value",
            Box::new(|c| {
                c.terms.voucher_type = VoucherType::FixedAmount;
                c.terms.discount_value = Some(dec("-1"));
            }),
        ),
        (
            "fixed_amount 3 decimals",
            "discount_value",
            Box::new(|c| {
                c.terms.voucher_type = VoucherType::FixedAmount;
                c.terms.discount_value = Some(dec("1.005"));
            }),
        ),
        (
            "fixed_amount 9 integer digits",
            "discount_value",
            Box::new(|c| {
                c.terms.voucher_type = VoucherType::FixedAmount;
                c.terms.discount_value = Some(dec("123456789"));
            }),
        ),
        ("max_uses 0", "max_uses", Box::new(|c| c.terms.max_uses = 0)),
        ("max_uses -5", "max_uses", Box::new(|c| c.terms.max_uses = -5)),
        (
            "valid_until before valid_from",
            "valid_until",
            Box::new(|c| {
                c.terms.valid_from = when("2027-05-14T09:00");
                c.terms.valid_until = when("2027-05-14T08:59");
            }),
        ),
        (
            "valid_until before valid_from across offsets",
            "valid_until",
            Box::new(|c| {
                // 09:00 New York is 13:00Z; 12:00Z is before it.
                c.terms.valid_from = when("2027-05-14T09:00");
                c.terms.valid_until = when("2027-05-14T12:00:00Z");
            }),
        ),
        ("local time skipped by DST", "valid_from", Box::new(|c| c.terms.valid_from = when("2027-03-14T02:30"))),
        ("local time repeated by DST", "valid_until", Box::new(|c| c.terms.valid_until = when("2027-11-07T01:30"))),
        (
            "unknown ticket type",
            "applicable_ticket_types",
            Box::new(|c| c.terms.applicable_ticket_types = Applies::these(strings(&["student", "nope"]))),
        ),
        (
            "ticket type of the other conference",
            "applicable_ticket_types",
            Box::new(|c| c.terms.applicable_ticket_types = Applies::these(strings(&[OTHER_TICKET_TYPE]))),
        ),
        (
            "unknown add-on",
            "applicable_addons",
            Box::new(|c| c.terms.applicable_addons = Applies::these(strings(&["tshirt", "hoodie"]))),
        ),
        (
            "valid ticket types (a new set) with an unknown add-on",
            "applicable_addons",
            Box::new(|c| {
                c.terms.applicable_ticket_types = strings(&["student"]).into();
                c.terms.applicable_addons = strings(&["hoodie"]).into();
            }),
        ),
    ];

    for (name, field, edit) in &cases {
        let mut cfg = restricted_config(10);
        edit(&mut cfg);
        let err = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap_err();
        assert_eq!(err.field(), Some(*field), "{name}: {err:?}");
        assert!(err.is_input_error(), "{name}: {err:?}");
        assert!(err.to_string().contains(field), "{name}: message {:?} does not name {field}", err.to_string());
        assert_eq!(raw.counts().await, before, "{name}: the database changed");
    }

    // Exact messages and variants for a few.
    let mut cfg = restricted_config(10);
    cfg.prefix = "A".repeat(21);
    let err = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap_err();
    assert_eq!(err.to_string(), "prefix must be at most 20 characters, got 21");
    let mut cfg = restricted_config(10);
    cfg.terms.applicable_ticket_types = strings(&[OTHER_TICKET_TYPE]).into();
    match generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap_err() {
        VoucherError::UnknownTicketType { conference, slug, .. } => {
            assert_eq!((conference.as_str(), slug.as_str()), (CONF, OTHER_TICKET_TYPE));
        }
        other => panic!("{other:?}"),
    }
    // A typo of a slug of the conference: the message says which one was probably meant.
    let mut cfg = restricted_config(10);
    cfg.terms.applicable_ticket_types = strings(&["corprate"]).into();
    let typo = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap_err();
    assert_eq!(
        typo.to_string(),
        "applicable_ticket_types: ticket type \"corprate\" does not exist in conference \"pycon\"; did you mean \"corporate\"?"
    );
    let mut cfg = restricted_config(10);
    cfg.terms.applicable_addons = strings(&["tshrit"]).into();
    let typo = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap_err();
    assert!(typo.to_string().ends_with("did you mean \"tshirt\"?"), "{typo}");
    let mut cfg = restricted_config(10);
    cfg.terms.applicable_addons = strings(&["hoodie"]).into();
    assert!(matches!(
        generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap_err(),
        VoucherError::UnknownAddon { ref slug, .. } if slug == "hoodie"
    ));

    // Unknown conference: not an input field of its own, but refused and nothing written.
    let mut cfg = config(10);
    cfg.conference = "nope".into();
    let err = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap_err();
    assert!(matches!(err, VoucherError::ConferenceNotFound(ref slug) if slug == "nope"), "{err:?}");
    assert_eq!(err.code(), "not_found");
    assert!(err.is_input_error());
    assert_eq!(raw.counts().await, before);
}

async fn comp_ignores_discount(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let cfg = VoucherBulkConfig::new(CONF, "COMP-", 3, VoucherType::Comp, dec("55"));
    let out = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap();
    assert_eq!(out.batch.discount_value.to_string(), "0.00");
    for v in &out.vouchers {
        assert_eq!(v.voucher_type, VoucherType::Comp);
        assert_eq!(v.discount_value.to_string(), "0.00");
    }
    let filter = VoucherFilter { batch_id: Some(out.batch.id), ..Default::default() };
    let listed = query::list_vouchers(store, CONF, &filter).await.unwrap();
    assert_eq!(listed, out.vouchers);
    assert!(listed.iter().all(|v| v.discount_value.to_string() == "0.00"));
    let stored = query::batch(store, CONF, out.batch.id).await.unwrap().unwrap();
    assert_eq!(stored.discount_value.to_string(), "0.00");

    // Comp without a value, and even with an out-of-range one, is fine.
    let mut cfg = cfg;
    cfg.terms.discount_value = None;
    generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap();
    cfg.terms.discount_value = Some(dec("-5"));
    generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap();
}

async fn boundaries_are_accepted(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;

    // Empty prefix: the code is just the 8 random characters.
    let mut cfg = config(5);
    cfg.prefix = String::new();
    let out = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap();
    assert_eq!(out.batch.prefix, "");
    for v in &out.vouchers {
        assert_generated(&v.code, "");
    }

    // 20-character prefix with the whole alphabet's punctuation.
    let mut cfg = config(2);
    cfg.prefix = "a.B_c-".repeat(3) + "Z9";
    assert_eq!(cfg.prefix.len(), 20);
    let out = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap();
    assert_generated(&out.vouchers[0].code, &cfg.prefix);

    for (kind, value, shown) in [
        (VoucherType::Percentage, "100", "100.00"),
        (VoucherType::Percentage, "0", "0.00"),
        (VoucherType::Percentage, "12.5", "12.50"),
        (VoucherType::FixedAmount, "99999999.99", "99999999.99"),
        (VoucherType::FixedAmount, "0.01", "0.01"),
    ] {
        let cfg = VoucherBulkConfig::new(CONF, "B-", 1, kind, dec(value));
        let out = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap();
        assert_eq!(out.vouchers[0].discount_value.to_string(), shown);
        let read = query::show_voucher(store, CONF, &out.vouchers[0].code).await.unwrap();
        assert_eq!(read.discount_value.to_string(), shown, "{kind} {value} read back");
    }

    // valid_until equal to valid_from, a large max_uses, unlocks_hidden_tickets.
    let mut cfg = config(1);
    cfg.terms.valid_from = when("2027-05-14T09:00");
    cfg.terms.valid_until = when("2027-05-14T13:00:00Z");
    cfg.terms.max_uses = 1_000_000;
    cfg.terms.unlocks_hidden_tickets = true;
    let out = generate_voucher_codes(store, &Limits::default(), &cfg).await.unwrap();
    let read = query::show_voucher(store, CONF, &out.vouchers[0].code).await.unwrap();
    assert_eq!(read, out.vouchers[0]);
    assert_eq!(read.valid_from, read.valid_until);
    assert_eq!(read.max_uses, 1_000_000);
    assert!(read.unlocks_hidden_tickets);
}

both_backends!(validation_failures_write_nothing, comp_ignores_discount, boundaries_are_accepted);
