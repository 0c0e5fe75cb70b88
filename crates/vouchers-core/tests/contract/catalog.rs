//! Conferences, ticket types and add-ons: slugs are unique where they must be; changes write
//! only what changed, audited with each field's old and new value, and never a slug.

use std::sync::Arc;

use serde_json::json;
use vouchers_core::domain::{
    Actor, AddOnChange, ConferenceChange, NewAddOn, NewConference, NewTicketType, TicketTypeChange,
};
use vouchers_core::service::{audit, catalog};
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::{acting, AuditFilter};
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

/// The conference's newest audit record with `action`.
async fn last(store: &dyn vouchers_core::Store, conference: &str, action: &str) -> vouchers_core::domain::AuditRecord {
    let filter = AuditFilter { action: Some(action.into()), limit: 1, ..AuditFilter::default() };
    audit::audit_log(store, conference, &filter).await.unwrap().remove(0)
}

async fn count(store: &dyn vouchers_core::Store, action: &str) -> usize {
    let filter = AuditFilter { action: Some(action.into()), limit: 100, ..AuditFilter::default() };
    audit::audit_log(store, CONF, &filter).await.unwrap().len()
}

async fn conference_settings_change(db: TestDb) {
    fixture(&*db.store).await;
    let ada = Actor::Account { id: 5, email: "ada@example.org".into() };
    let store = acting(Arc::clone(&db.store), ada);
    let store = store.as_ref();
    let before = catalog::conference(store, CONF).await.unwrap();

    let change = ConferenceChange::parse(Some("PyCon US"), None, Some("2027-05-23"), Some(600)).unwrap();
    let updated = catalog::update_conference(store, CONF, &change).await.unwrap();
    assert_eq!(updated.changed, ["name", "end_date", "hold_seconds"]);
    let stored = catalog::conference(store, CONF).await.unwrap();
    assert_eq!(stored, updated.value);
    assert_eq!(
        (stored.name.as_str(), stored.end_date.to_string(), stored.hold_seconds),
        ("PyCon US", "2027-05-23".into(), 600)
    );
    assert_eq!((stored.slug.as_str(), stored.start_date, stored.timezone), (CONF, before.start_date, before.timezone));
    let record = last(store, CONF, "conference.update").await;
    assert_eq!((record.target.as_str(), record.actor.name.as_deref()), (CONF, Some("ada@example.org")));
    assert_eq!(
        record.changes,
        json!({"name": {"old": "PyCon US 2027", "new": "PyCon US"}, "end_date": {"old": "2027-05-22", "new": "2027-05-23"},
               "hold_seconds": {"old": 1800, "new": 600}}),
        "the changed fields, old and new"
    );

    // The same values again change nothing and leave no record (a double submit).
    let again = catalog::update_conference(store, CONF, &change).await.unwrap();
    assert!(!again.is_changed() && again.value == stored);
    assert_eq!(count(store, "conference.update").await, 1);

    // The days stay in order, checked against the stored ones; nothing is written.
    for (start, end, field) in [
        (Some("2027-05-24"), None, "start_date"),
        (None, Some("2027-05-13"), "end_date"),
        (Some("2027-06-02"), Some("2027-06-01"), "end_date"),
    ] {
        let change = ConferenceChange::parse(Some("Renamed"), start, end, None).unwrap();
        let err = catalog::update_conference(store, CONF, &change).await.unwrap_err();
        assert_eq!((err.field(), err.code()), (Some(field), "invalid_input"), "{err}");
    }
    let moved = ConferenceChange::parse(None, Some("2027-06-01"), Some("2027-06-03"), None).unwrap();
    assert_eq!(catalog::update_conference(store, CONF, &moved).await.unwrap().changed, ["start_date", "end_date"]);
    assert_eq!(catalog::conference(store, CONF).await.unwrap().name, "PyCon US");
    // Each field is checked as at create.
    assert_eq!(ConferenceChange::parse(Some(" "), None, None, None).unwrap_err().field, "name");
    assert_eq!(ConferenceChange::parse(None, None, Some("2027-13-01"), None).unwrap_err().field, "end_date");
    assert_eq!(ConferenceChange::parse(None, None, None, Some(604_801)).unwrap_err().field, "hold_seconds");
    let err = catalog::update_conference(store, "nope", &change).await.unwrap_err();
    assert!(matches!(err, VoucherError::ConferenceNotFound(_)), "{err:?}");
    // The other conference is untouched.
    assert_eq!(catalog::conference(store, OTHER).await.unwrap().name, "DjangoCon Europe");
}

async fn catalog_changes(db: TestDb) {
    fixture(&*db.store).await;
    let store = &*db.store;
    let change = TicketTypeChange::parse(Some("Student pass"), Some("120"), Some(true), Some(false)).unwrap();
    let updated = catalog::update_ticket_type(store, CONF, "student", &change).await.unwrap();
    assert_eq!(updated.changed, ["name", "price", "requires_voucher", "is_active"]);
    let student = catalog::list_ticket_types(store, CONF).await.unwrap().into_iter().find(|t| t.slug == "student");
    let student = student.unwrap();
    assert_eq!(student, updated.value);
    assert_eq!(
        (student.name.as_str(), student.price.to_string(), student.requires_voucher, student.is_active),
        ("Student pass", "120.00".into(), true, false)
    );
    let record = last(store, CONF, "ticket_type.update").await;
    assert_eq!(record.target, "student");
    assert_eq!(record.changes["price"], json!({"old": "100.00", "new": "120.00"}));
    assert_eq!(record.changes["requires_voucher"], json!({"old": false, "new": true}));
    // Only what is given changes; the same values again write nothing.
    let shown = TicketTypeChange::parse(None, None, None, Some(true)).unwrap();
    assert_eq!(catalog::update_ticket_type(store, CONF, "student", &shown).await.unwrap().changed, ["is_active"]);
    assert!(!catalog::update_ticket_type(store, CONF, "student", &shown).await.unwrap().is_changed());
    assert_eq!(count(store, "ticket_type.update").await, 2);
    // Another conference's slug, or none, is not found; a bad price is named.
    for (conference, slug) in [(OTHER, "student"), (CONF, "nope"), (CONF, "bad\0slug")] {
        let err = catalog::update_ticket_type(store, conference, slug, &shown).await.unwrap_err();
        assert!(matches!(err, VoucherError::CatalogItemNotFound { what: "ticket type", .. }), "{err:?}");
        assert_eq!(err.code(), "not_found");
    }
    let err = catalog::update_ticket_type(store, OTHER, "student", &shown).await.unwrap_err();
    assert_eq!(err.to_string(), "ticket type \"student\" not found in conference \"djangocon\"");
    assert_eq!(TicketTypeChange::parse(None, Some("1.001"), None, None).unwrap_err().field, "price");
    assert_eq!(TicketTypeChange::parse(None, Some("100000000"), None, None).unwrap_err().field, "price");

    let change = AddOnChange::parse(Some("T-shirt (organic)"), Some("30.5"), Some(false)).unwrap();
    let updated = catalog::update_addon(store, CONF, "tshirt", &change).await.unwrap();
    assert_eq!(updated.changed, ["name", "price", "is_active"]);
    let tshirt = catalog::list_addons(store, CONF).await.unwrap().into_iter().find(|a| a.slug == "tshirt").unwrap();
    assert_eq!(
        (tshirt.name.as_str(), tshirt.price.to_string(), tshirt.is_active),
        ("T-shirt (organic)", "30.50".into(), false)
    );
    let record = last(store, CONF, "addon.update").await;
    assert_eq!(
        record.changes,
        json!({"name": {"old": "T-shirt", "new": "T-shirt (organic)"},
        "price": {"old": "25.00", "new": "30.50"}, "is_active": {"old": true, "new": false}})
    );
    let err = catalog::update_addon(store, OTHER, "tshirt", &change).await.unwrap_err();
    assert!(matches!(err, VoucherError::CatalogItemNotFound { what: "add-on", .. }), "{err:?}");
    assert!(!catalog::update_addon(store, CONF, "tshirt", &change).await.unwrap().is_changed());
    assert_eq!(count(store, "addon.update").await, 1);
}

both_backends!(catalog_slugs, conference_settings_change, catalog_changes);
