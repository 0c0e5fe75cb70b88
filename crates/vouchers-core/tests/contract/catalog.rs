//! Conferences, ticket types and add-ons: slugs are unique where they must be.

use vouchers_core::domain::{NewAddOn, NewConference, NewTicketType};
use vouchers_core::service::catalog;
use vouchers_core::store::testing::TestDb;
use vouchers_core::VoucherError;

use crate::support::*;

fn assert_duplicate(err: &VoucherError, expected_what: &str, expected_value: &str) {
    match err {
        VoucherError::Duplicate { what, field, value, .. } => {
            assert_eq!((*what, *field, value.as_str()), (expected_what, "slug", expected_value));
        }
        other => panic!("expected Duplicate, got {other:?}"),
    }
    assert_eq!(err.field(), Some("slug"));
    assert_eq!(err.code(), "duplicate");
    assert!(err.is_input_error());
}

async fn catalog_slugs(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;

    let listed: Vec<String> = catalog::list_conferences(store).await.unwrap().into_iter().map(|c| c.slug).collect();
    assert_eq!(listed, [OTHER, CONF]);
    let conference = catalog::conference(store, CONF).await.unwrap();
    assert_eq!(conference.timezone.name(), "America/New_York");
    assert_eq!(conference.start_date.to_string(), "2027-05-14");
    let tts = catalog::list_ticket_types(store, CONF).await.unwrap();
    assert_eq!(tts.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(), TICKET_TYPES);
    let prices: Vec<String> = tts.iter().map(|t| t.price.to_string()).collect();
    assert_eq!(prices, ["750.50", "400.00", "100.00"]);
    assert!(tts[0].requires_voucher && !tts[1].requires_voucher);
    let addons = catalog::list_addons(store, CONF).await.unwrap();
    assert_eq!(addons.iter().map(|a| a.slug.as_str()).collect::<Vec<_>>(), ADDONS);
    assert_eq!(addons[0].price.to_string(), "80.00");

    // Conference slugs are global.
    let again = NewConference::parse(CONF, "Another PyCon", "2028-01-01", "2028-01-02", "UTC").unwrap();
    let err = catalog::create_conference(store, &again).await.unwrap_err();
    assert_duplicate(&err, "conference", CONF);
    assert_eq!(err.to_string(), "conference \"pycon\" already exists");
    assert_eq!(catalog::list_conferences(store).await.unwrap().len(), 2);
    assert_eq!(catalog::conference(store, CONF).await.unwrap(), conference, "the stored conference changed");

    // Ticket type and add-on slugs are per conference.
    let individual = NewTicketType::parse("individual", "Individual again", "1", false).unwrap();
    let err = catalog::create_ticket_type(store, CONF, &individual).await.unwrap_err();
    assert_duplicate(&err, "ticket type", "individual");
    assert_eq!(err.to_string(), "ticket type \"individual\" already exists in conference \"pycon\"");
    assert_eq!(catalog::list_ticket_types(store, CONF).await.unwrap(), tts);
    let created = catalog::create_ticket_type(store, OTHER, &individual).await.unwrap();
    assert_eq!((created.conference.as_str(), created.slug.as_str()), (OTHER, "individual"));
    assert_eq!(catalog::list_ticket_types(store, OTHER).await.unwrap().len(), 2);

    let dinner = NewAddOn::parse("dinner", "Dinner again", "1").unwrap();
    let err = catalog::create_addon(store, CONF, &dinner).await.unwrap_err();
    assert_duplicate(&err, "add-on", "dinner");
    assert_eq!(catalog::list_addons(store, CONF).await.unwrap(), addons);
    catalog::create_addon(store, OTHER, &dinner).await.unwrap();
    assert_eq!(catalog::list_addons(store, OTHER).await.unwrap().len(), 1);

    // Unknown conference.
    let err = catalog::create_ticket_type(store, "nope", &individual).await.unwrap_err();
    assert!(matches!(err, VoucherError::ConferenceNotFound(ref s) if s == "nope"), "{err:?}");
    let err = catalog::create_addon(store, "nope", &dinner).await.unwrap_err();
    assert!(matches!(err, VoucherError::ConferenceNotFound(_)), "{err:?}");
    assert!(matches!(catalog::list_ticket_types(store, "nope").await, Err(VoucherError::ConferenceNotFound(_))));
    assert!(matches!(catalog::conference(store, "nope").await, Err(VoucherError::ConferenceNotFound(_))));

    // A restriction may now use the other conference's new "individual" only there.
    let mut cfg = config(1);
    cfg.conference = OTHER.into();
    cfg.terms.applicable_ticket_types = strings(&["individual", OTHER_TICKET_TYPE]).into();
    let out = vouchers_core::generate_voucher_codes(store, &Default::default(), &cfg).await.unwrap();
    assert_eq!(out.vouchers[0].applicable_ticket_types, ["individual", OTHER_TICKET_TYPE]);
    assert_eq!(out.vouchers[0].conference, OTHER);
}

both_backends!(catalog_slugs);
