//! The pages that used to need a terminal: a conference's settings, a ticket type's and an
//! add-on's change forms, and the audit log. Each by its labels; validation named by the label
//! with the values kept (422) and nothing written; CSRF; another conference's slugs and ids 404;
//! a double submit harmless; the flash shown once.

use axum::http::StatusCode;
use vouchers_core::domain::{AuditRecord, NewTicketType, AUDIT_ACTIONS};
use vouchers_core::service::{audit, catalog};
use vouchers_core::store::{AuditEntry, AuditFilter};

use crate::support::*;

/// The conference's audit records with `action`, newest first.
async fn records(c: &Console, conference: &str, action: &str) -> Vec<AuditRecord> {
    let filter = AuditFilter { action: Some(action.into()), limit: 1000, ..AuditFilter::default() };
    audit::audit_log(&*c.db.store, conference, &filter).await.unwrap()
}

/// Every audit record of the conference.
async fn record_count(c: &Console, conference: &str) -> usize {
    let filter = AuditFilter { limit: 1000, ..AuditFilter::default() };
    audit::audit_log(&*c.db.store, conference, &filter).await.unwrap().len()
}

/// The sentence the page shows as its flash, if any.
fn flash(body: &str) -> Option<&str> {
    let start = body.find("role=\"status\">")? + "role=\"status\">".len();
    body[start..].split('<').next()
}

fn settings_form<'a>(name: &'a str, end: &'a str, hold: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("name", name), ("start_date", "2027-05-14"), ("end_date", end), ("hold_minutes", hold)]
}

async fn settings_are_changed_on_their_page(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let body = c.get("/console/c/pycon/settings").await.ok(StatusCode::OK).to_owned();
    for label in [
        "<label for=\"name\">Name</label>",
        "<label for=\"start_date\">First day</label>",
        "<label for=\"end_date\">Last day</label>",
        "<label for=\"hold_minutes\">Hold time (minutes)</label>",
        "Save settings",
    ] {
        assert!(body.contains(label), "{label}: {body}");
    }
    for value in ["value=\"PyCon US 2027\"", "value=\"2027-05-14\"", "value=\"2027-05-22\"", "value=\"30\""] {
        assert!(body.contains(value), "{value}: {body}");
    }
    assert!(body.contains("America/New_York") && body.contains("time zone cannot be changed here"), "{body}");
    assert!(
        body.contains("/console/c/pycon/settings\">Settings</a>")
            && body.contains("/console/c/pycon/audit\">Audit log</a>")
    );

    // Saved: a redirect to the page, which says so once.
    let saved = c.submit("/console/c/pycon/settings", &settings_form("PyCon US", "2027-05-23", "1:30")).await;
    assert_eq!(saved.redirect(), "/console/c/pycon/settings");
    let page = c.get("/console/c/pycon/settings").await;
    assert_eq!(flash(page.ok(StatusCode::OK)), Some("Settings saved"));
    assert!(page.body.contains("value=\"1:30\"") && page.body.contains("value=\"PyCon US\""), "{}", page.body);
    assert_eq!(flash(c.get("/console/c/pycon/settings").await.ok(StatusCode::OK)), None, "shown once");
    let stored = catalog::conference(&*c.db.store, CONF).await.unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.end_date.to_string(), stored.hold_seconds),
        ("PyCon US", "2027-05-23".into(), 90)
    );
    let updates = records(&c, CONF, "conference.update").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].actor.name.as_deref(), Some(MANAGER));
    assert_eq!(updates[0].changes["hold_seconds"], serde_json::json!({"old": 1800, "new": 90}));

    // The same form again (a double submit) writes nothing and says so.
    let again = c.submit("/console/c/pycon/settings", &settings_form("PyCon US", "2027-05-23", "1:30")).await;
    assert_eq!(again.redirect(), "/console/c/pycon/settings");
    let page = c.get("/console/c/pycon/settings").await;
    assert!(flash(&page.body).unwrap().starts_with("No change"), "{}", page.body);
    assert_eq!(records(&c, CONF, "conference.update").await.len(), 1);

    // Each rule broken: named by its label, beside its field, every value kept, nothing written.
    let audited = record_count(&c, CONF).await;
    for (form, field, message) in [
        (settings_form("Renamed <b>", "2027-05-01", "45"), "end_date", "Last day must not be before First day"),
        (
            settings_form("Renamed <b>", "2027-05-23", "an hour"),
            "hold_minutes",
            "Hold time (minutes) must be whole minutes",
        ),
        (
            settings_form("Renamed <b>", "2027-05-23", "10081"),
            "hold_minutes",
            "Hold time (minutes) must be whole minutes",
        ),
        (settings_form("  ", "2027-05-23", "45"), "name", "Name must be 1 to 200 characters"),
        (settings_form("Renamed <b>", "23/05/2027", "45"), "end_date", "Last day must be a date YYYY-MM-DD"),
    ] {
        let page = c.submit("/console/c/pycon/settings", &form).await;
        let body = page.ok(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains(&format!("id=\"{field}-error\">{message}")), "{field}: {body}");
        assert!(body.contains(&format!("id=\"{field}\"")) && body.contains("aria-invalid=\"true\""), "{body}");
        assert!(body.contains("Nothing was saved"), "{body}");
        if form[0].1 != "  " {
            assert!(
                body.contains("Renamed &#60;b&#62;") || body.contains("Renamed &lt;b&gt;"),
                "kept, escaped: {body}"
            );
        }
    }
    assert_eq!(record_count(&c, CONF).await, audited, "nothing written");
    assert_eq!(catalog::conference(&*c.db.store, CONF).await.unwrap(), stored);

    // Without the session's token: refused, nothing written.
    let mut forged = settings_form("Forged", "2027-05-23", "45");
    c.post("/console/c/pycon/settings", &forged).await.ok(StatusCode::FORBIDDEN);
    forged.push(("csrf", "not-the-token"));
    c.post("/console/c/pycon/settings", &forged).await.ok(StatusCode::FORBIDDEN);
    assert_eq!(catalog::conference(&*c.db.store, CONF).await.unwrap(), stored);

    // Another conference: 404 for its manager-less page and its form, nothing written there.
    let other = catalog::conference(&*c.db.store, OTHER).await.unwrap();
    c.get("/console/c/djangocon/settings").await.ok(StatusCode::NOT_FOUND);
    c.submit("/console/c/djangocon/settings", &settings_form("Taken", "2027-05-23", "45"))
        .await
        .ok(StatusCode::NOT_FOUND);
    assert_eq!(catalog::conference(&*c.db.store, OTHER).await.unwrap(), other);
    assert_eq!(record_count(&c, OTHER).await, records(&c, OTHER, "conference.create").await.len());

    // An admin edits any conference.
    let mut admin = c.another_browser();
    admin.sign_in(ADMIN).await.redirect();
    let saved =
        admin.submit("/console/c/djangocon/settings", &settings_form("DjangoCon Europe", "2027-05-22", "30")).await;
    assert_eq!(saved.redirect(), "/console/c/djangocon/settings");
    assert_eq!(catalog::conference(&*c.db.store, OTHER).await.unwrap().name, "DjangoCon Europe");
}

async fn catalog_items_are_changed_on_their_pages(mut c: Console) {
    catalog::create_ticket_type(&*c.db.store, OTHER, &NewTicketType::parse("sprint", "Sprint", "0", false).unwrap())
        .await
        .unwrap();
    c.sign_in(MANAGER).await.redirect();
    let catalog_page = c.get("/console/c/pycon/catalog").await.ok(StatusCode::OK).to_owned();
    assert!(catalog_page.contains("href=\"/console/c/pycon/catalog/ticket-types/student\">Edit"), "{catalog_page}");
    assert!(catalog_page.contains("href=\"/console/c/pycon/catalog/addons/tshirt\">Edit"), "{catalog_page}");

    let form = c.get("/console/c/pycon/catalog/ticket-types/student").await.ok(StatusCode::OK).to_owned();
    for label in [
        "<label for=\"name\">Name</label>",
        "<label for=\"price\">Price</label>",
        "<label for=\"requires_voucher\">Hidden</label>",
        "<label for=\"is_active\">On sale</label>",
        "shown only to holders of a voucher that unlocks it",
        "value=\"100.00\"",
    ] {
        assert!(form.contains(label), "{label}: {form}");
    }
    assert!(form.contains("id=\"requires_voucher\" name=\"requires_voucher\" type=\"checkbox\" aria-describedby=\"requires_voucher-hint\" checked"), "{form}");

    // Renamed, repriced, shown to everyone, taken off sale.
    let fields = [("name", "Student"), ("price", "120")];
    let saved = c.submit("/console/c/pycon/catalog/ticket-types/student", &fields).await;
    assert_eq!(saved.redirect(), "/console/c/pycon/catalog");
    let page = c.get("/console/c/pycon/catalog").await;
    assert_eq!(flash(page.ok(StatusCode::OK)), Some("Ticket type Student saved"));
    assert!(
        page.body.contains("<td>student</td><td>Student</td><td>120.00</td><td>no</td><td>no</td>"),
        "{}",
        page.body
    );
    assert_eq!(flash(c.get("/console/c/pycon/catalog").await.ok(StatusCode::OK)), None, "shown once");
    let student =
        catalog::list_ticket_types(&*c.db.store, CONF).await.unwrap().into_iter().find(|t| t.slug == "student");
    let student = student.unwrap();
    assert_eq!(
        (student.price.to_string(), student.requires_voucher, student.is_active),
        ("120.00".into(), false, false)
    );
    let updates = records(&c, CONF, "ticket_type.update").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].changes["requires_voucher"], serde_json::json!({"old": true, "new": false}));

    // Hidden again, on sale again; then the same form twice: the second writes nothing.
    let fields = [("name", "Student"), ("price", "120.00"), ("requires_voucher", "on"), ("is_active", "on")];
    assert_eq!(
        c.submit("/console/c/pycon/catalog/ticket-types/student", &fields).await.redirect(),
        "/console/c/pycon/catalog"
    );
    assert_eq!(
        c.submit("/console/c/pycon/catalog/ticket-types/student", &fields).await.redirect(),
        "/console/c/pycon/catalog"
    );
    let page = c.get("/console/c/pycon/catalog").await;
    assert_eq!(flash(&page.body), Some("Ticket type Student: nothing changed"));
    assert_eq!(records(&c, CONF, "ticket_type.update").await.len(), 2);

    // A bad price: named by its label, the values kept, nothing written.
    let audited = record_count(&c, CONF).await;
    let bad = [("name", "Student <i>"), ("price", "abc"), ("is_active", "on")];
    let page = c.submit("/console/c/pycon/catalog/ticket-types/student", &bad).await;
    let body = page.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"price-error\">Price must be a decimal number"), "{body}");
    assert!(
        body.contains("value=\"abc\"") && (body.contains("Student &#60;i&#62;") || body.contains("Student &lt;i&gt;"))
    );
    let page = c.submit("/console/c/pycon/catalog/ticket-types/student", &[("name", ""), ("price", "1")]).await;
    assert!(page.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("id=\"name-error\">Name must be 1 to 200 characters"));
    assert_eq!(record_count(&c, CONF).await, audited);

    // An add-on: no hidden flag; unticked "On sale" takes it off sale.
    let form = c.get("/console/c/pycon/catalog/addons/tshirt").await.ok(StatusCode::OK).to_owned();
    assert!(form.contains("value=\"T-shirt\"") && form.contains("On sale") && !form.contains("Hidden"), "{form}");
    let saved = c.submit("/console/c/pycon/catalog/addons/tshirt", &[("name", "Shirt"), ("price", "30")]).await;
    assert_eq!(saved.redirect(), "/console/c/pycon/catalog");
    let page = c.get("/console/c/pycon/catalog").await;
    assert_eq!(flash(&page.body), Some("Add-on Shirt saved"));
    assert!(page.body.contains("<td>tshirt</td><td>Shirt</td><td>30.00</td><td>no</td>"), "{}", page.body);
    assert_eq!(records(&c, CONF, "addon.update").await.len(), 1);

    // Without the token: refused, nothing written.
    let audited = record_count(&c, CONF).await;
    c.post("/console/c/pycon/catalog/ticket-types/student", &[("name", "Forged"), ("price", "1")])
        .await
        .ok(StatusCode::FORBIDDEN);
    c.post("/console/c/pycon/catalog/addons/tshirt", &[("name", "Forged"), ("price", "1")])
        .await
        .ok(StatusCode::FORBIDDEN);
    assert_eq!(record_count(&c, CONF).await, audited);

    // Another conference's slug through this conference, this conference's through another, an
    // unknown slug: 404, nothing written.
    for uri in [
        "/console/c/pycon/catalog/ticket-types/sprint",
        "/console/c/djangocon/catalog/ticket-types/sprint",
        "/console/c/djangocon/catalog/ticket-types/student",
        "/console/c/pycon/catalog/ticket-types/nope",
        "/console/c/pycon/catalog/addons/student",
        "/console/c/pycon/catalog/ticket-types/tshirt",
    ] {
        c.get(uri).await.ok(StatusCode::NOT_FOUND);
        c.submit(uri, &[("name", "Taken"), ("price", "1"), ("is_active", "on")]).await.ok(StatusCode::NOT_FOUND);
    }
    let sprint = catalog::list_ticket_types(&*c.db.store, OTHER).await.unwrap();
    assert_eq!((sprint[0].name.as_str(), sprint[0].price.to_string()), ("Sprint", "0.00".into()));
    assert_eq!(record_count(&c, CONF).await, audited);
}

async fn the_audit_log_is_a_page(mut c: Console) {
    catalog::create_ticket_type(&*c.db.store, OTHER, &NewTicketType::parse("sprint", "Sprint", "0", false).unwrap())
        .await
        .unwrap();
    c.sign_in(MANAGER).await.redirect();
    let empty = c.get("/console/c/pycon/audit?actor=manager").await;
    assert!(empty.ok(StatusCode::OK).contains("No record matches these filters"), "{}", empty.body);
    let saved = c.submit("/console/c/pycon/settings", &settings_form("PyCon <US>", "2027-05-22", "30")).await;
    saved.redirect();

    let page = c.get("/console/c/pycon/audit").await;
    let body = page.ok(StatusCode::OK);
    assert!(body.contains("<th scope=\"col\">Time (America/New_York)</th>"), "{body}");
    for header in ["Action", "Actor", "Subject", "Details"] {
        assert!(body.contains(&format!("<th scope=\"col\">{header}</th>")), "{header}");
    }
    for action in AUDIT_ACTIONS {
        assert!(body.contains(&format!("<option value=\"{action}\">{action}</option>")), "{action}");
    }
    for label in [
        "<label for=\"action\">Action</label>",
        "<label for=\"actor\">Actor</label>",
        "<label for=\"from\">From</label>",
        "<label for=\"to\">To</label>",
    ] {
        assert!(body.contains(label), "{label}");
    }
    assert!(body.contains("<code>conference.update</code>") && body.contains(&format!("({MANAGER})")), "{body}");
    assert!(
        body.contains("name: PyCon US 2027 → PyCon &#60;US&#62;")
            || body.contains("name: PyCon US 2027 → PyCon &lt;US&gt;"),
        "details as key: value, escaped: {body}"
    );
    assert!(!body.contains("sprint"), "another conference's records are not here");

    // Filters: the action, the actor (contains, any case), the days in the zone.
    let only = c.get("/console/c/pycon/audit?action=conference.update").await;
    let body = only.ok(StatusCode::OK);
    assert!(body.contains("<option value=\"conference.update\" selected>"), "{body}");
    assert_eq!(body.matches("<code>conference.update</code>").count(), 1);
    assert!(!body.contains("<code>ticket_type.create</code>"));
    let mine = c.get("/console/c/pycon/audit?actor=MANAGER%40example").await;
    assert_eq!(mine.ok(StatusCode::OK).matches("<tr><td>").count(), 1, "{}", mine.body);
    let today = chrono::Utc::now().with_timezone(&chrono_tz::America::New_York).date_naive();
    let (yesterday, tomorrow) = (today.pred_opt().unwrap(), today.succ_opt().unwrap());
    let uri = format!("/console/c/pycon/audit?from={today}&to={today}&action=conference.update");
    assert_eq!(c.get(&uri).await.ok(StatusCode::OK).matches("<tr><td>").count(), 1);
    let uri = format!("/console/c/pycon/audit?to={yesterday}");
    assert!(c.get(&uri).await.ok(StatusCode::OK).contains("No record matches these filters"));
    let uri = format!("/console/c/pycon/audit?from={tomorrow}");
    assert!(c.get(&uri).await.ok(StatusCode::OK).contains("No record matches these filters"));

    // Bad filters: named by their labels, kept in the form (422).
    let long = "x".repeat(201);
    for (query, message) in [
        (format!("from={tomorrow}&to={yesterday}"), "To must not be before From"),
        ("from=14%2F05%2F2027".to_owned(), "From must be a date YYYY-MM-DD"),
        ("action=voucher.delete".to_owned(), "Action must be one of the listed actions"),
        (format!("actor={long}"), "Actor must be at most 200 characters"),
    ] {
        let page = c.get(&format!("/console/c/pycon/audit?{query}")).await;
        let body = page.ok(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains(message), "{query}: {body}");
        assert!(!body.contains("No record"), "{body}");
    }

    // 50 a page, newest first; "Older records" continues before the last one shown.
    let store = &*c.db.store;
    let conference = store.conference(CONF).await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    for i in 0..120 {
        let (target, changes) = (format!("message {i}"), serde_json::json!({"n": i, "note": "<script>x</script>"}));
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
    let mut uri = "/console/c/pycon/audit?action=message.retry".to_owned();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let page = c.get(&uri).await;
        let body = page.ok(StatusCode::OK).to_owned();
        assert!(!body.contains("<script>"), "escaped");
        let rows: Vec<String> =
            body.split("<td>message ").skip(1).map(|r| r.split('<').next().unwrap().to_owned()).collect();
        assert!(rows.len() <= 50);
        seen.extend(rows);
        match body.split("<a href=\"").find_map(|part| part.split_once("\">Older records")) {
            Some((next, _)) => {
                assert!(next.contains("action=message.retry") && next.contains("before="), "{next}");
                uri = next.replace("&amp;", "&").replace("&#38;", "&");
            }
            None => break,
        }
    }
    let expected: Vec<String> = (0..120).rev().map(|i| i.to_string()).collect();
    assert_eq!(seen, expected, "every record once, newest first, in pages of 50");

    // Another conference's log: 404 for this manager.
    c.get("/console/c/djangocon/audit").await.ok(StatusCode::NOT_FOUND);
}

both_backends!(settings_are_changed_on_their_page, catalog_items_are_changed_on_their_pages, the_audit_log_is_a_page);
