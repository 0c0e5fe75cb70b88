//! One voucher with a chosen code: codes are unique per conference ignoring case.

use vouchers_core::domain::{VoucherType, When};
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::service::query;
use vouchers_core::store::testing::TestDb;
use vouchers_core::VoucherError;

use crate::support::*;

pub fn request(conference: &str, code: &str) -> AddVoucher {
    AddVoucher::new(conference, code, VoucherType::Percentage, Some(dec("10")))
}

async fn codes_unique_ignoring_case(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;

    let mut first = request(CONF, "speaker-abc");
    first.terms.applicable_ticket_types = strings(&["student", "corporate"]).into();
    first.terms.valid_from = Some(When::parse("valid_from", "2027-05-14T09:00").unwrap());
    let created = add_voucher(store, &first).await.unwrap();
    assert_eq!(created.code, "speaker-abc", "the code is stored as typed");
    assert_eq!(created.batch_id, None);
    assert_eq!(created.conference, CONF);
    assert_eq!(created.discount_value.to_string(), "10.00");
    assert_eq!(created.applicable_ticket_types, strings(&["corporate", "student"]));
    assert_eq!(query::show_voucher(store, CONF, "speaker-abc").await.unwrap(), created);
    let before = raw.counts().await;
    assert_eq!((before.voucher, before.voucher_batch, before.restriction_set), (1, 0, 1));

    for dup in ["SPEAKER-ABC", "speaker-abc", "Speaker-Abc"] {
        // Different restrictions too: the refused call must not leave a new restriction set.
        let mut again = request(CONF, dup);
        again.terms.applicable_addons = strings(&["dinner"]).into();
        let err = add_voucher(store, &again).await.unwrap_err();
        match &err {
            VoucherError::Duplicate { what, field, value, .. } => {
                assert_eq!((*what, *field, value.as_str()), ("voucher code", "code", dup));
            }
            other => panic!("{dup}: expected Duplicate, got {other:?}"),
        }
        assert_eq!(err.field(), Some("code"));
        assert_eq!(err.code(), "duplicate");
        assert_eq!(
            err.to_string(),
            format!("voucher code {dup:?} already exists in conference \"pycon\" (codes ignore case)")
        );
        assert_eq!(raw.counts().await, before, "{dup}: the refused add wrote something");
    }

    // The same code in the other conference is a different voucher.
    let other = add_voucher(store, &request(OTHER, "SPEAKER-ABC")).await.unwrap();
    assert_eq!(other.conference, OTHER);
    assert_eq!(raw.count("voucher").await, 2);
    assert_eq!(query::show_voucher(store, CONF, "SPEAKER-ABC").await.unwrap().id, created.id);
    assert_eq!(query::show_voucher(store, OTHER, "speaker-abc").await.unwrap().id, other.id);

    // A generated batch cannot take a code added by hand either (checked in collisions.rs); and a
    // hand-added code cannot take a generated one.
    let generated = vouchers_core::generate_voucher_codes(store, &Default::default(), &config(1)).await.unwrap();
    let code = generated.vouchers[0].code.to_ascii_lowercase();
    let err = add_voucher(store, &request(CONF, &code)).await.unwrap_err();
    assert!(matches!(err, VoucherError::Duplicate { .. }), "{err:?}");
    assert_tallies(&db).await;
}

async fn chosen_code_validation(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let before = raw.counts().await;

    let long = "A".repeat(101);
    for (code, needle) in [
        ("", "1 to 100 characters, got 0"),
        (long.as_str(), "1 to 100 characters, got 101"),
        ("SPEAKER ABC", "found ' '"),
        ("a/b", "found '/'"),
        ("ÉTÉ", "found 'É'"),
        ("_ABC", "start with a letter or a digit"),
        (".ABC", "start with a letter or a digit"),
    ] {
        let err = add_voucher(store, &request(CONF, code)).await.unwrap_err();
        assert_eq!(err.field(), Some("code"), "{code:?}: {err:?}");
        assert!(err.to_string().contains(needle), "{code:?}: {err}");
        assert!(err.is_input_error());
    }
    assert_eq!(raw.counts().await, before);

    // The same terms rules as a batch.
    let mut bad = request(CONF, "OK-CODE");
    bad.terms.max_uses = 0;
    assert_eq!(add_voucher(store, &bad).await.unwrap_err().field(), Some("max_uses"));
    let mut bad = request(CONF, "OK-CODE");
    bad.terms.applicable_ticket_types = strings(&[OTHER_TICKET_TYPE]).into();
    assert_eq!(add_voucher(store, &bad).await.unwrap_err().field(), Some("applicable_ticket_types"));
    let err = add_voucher(store, &request("nope", "OK-CODE")).await.unwrap_err();
    assert!(matches!(err, VoucherError::ConferenceNotFound(_)), "{err:?}");
    assert_eq!(raw.counts().await, before);

    // Boundaries accepted: 100 characters, all allowed punctuation.
    let long_ok = "A".repeat(100);
    assert_eq!(add_voucher(store, &request(CONF, &long_ok)).await.unwrap().code, long_ok);
    assert_eq!(add_voucher(store, &request(CONF, "9a.b_c-D")).await.unwrap().code, "9a.b_c-D");
    assert_eq!(raw.count("voucher").await, 2);
}

both_backends!(codes_unique_ignoring_case, chosen_code_validation);
