//! The allotment routes' contracts: the exact answers of create, show, list and new-link; the
//! link under `--public-url`; refusals name their field and write nothing; another conference's
//! manage token finds nothing.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use vouchers_core::Limits;
use vouchers_http::{router, AppState};

use crate::support::*;

const ALLOTMENTS: &str = "/api/v1/conferences/pycon/allotments";

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

const ALLOTMENT_KEYS: [&str; 10] =
    ["assigned", "closed", "contact", "deadline", "id", "left", "redeemed", "returned", "seats", "sponsor"];

fn body() -> Value {
    json!({
        "sponsor": "ACME Corp", "contact": "sponsors@acme.example", "seats": 5,
        "deadline": "2030-04-30T23:59", "voucher_type": "comp", "applicable_ticket_types": ["individual"],
        "prefix": "ACME-"
    })
}

async fn allotment_contracts(app: TestApp) {
    let app = TestApp {
        router: router(
            AppState::new(app.db.store.clone(), Limits::default()).with_public_url(Some("https://tickets.example.org")),
        ),
        ..app
    };
    // Create: {"allotment": {...}, "link"}; the deadline read in the conference's time zone.
    let created = app.post(ALLOTMENTS, &app.manage, &body()).await.ok(StatusCode::CREATED);
    assert_eq!(keys(&created), ["allotment", "link"]);
    assert_eq!(keys(&created["allotment"]), ALLOTMENT_KEYS);
    let a = &created["allotment"];
    assert_eq!((a["seats"].clone(), a["assigned"].clone(), a["left"].clone()), (json!(5), json!(0), json!(5)));
    assert_eq!((a["closed"].clone(), a["returned"].clone()), (json!(false), json!(0)));
    assert_eq!(a["deadline"], "2030-05-01T03:59:00Z", "America/New_York");
    let link = created["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("https://tickets.example.org/sponsor/"), "{link}");
    let id = a["id"].as_i64().unwrap();

    // Show and list answer the allotment object, never the link.
    let shown = app.send(Method::GET, &format!("{ALLOTMENTS}/{id}"), Some(&app.manage), None, &[]).await;
    assert!(!shown.text().contains(link.rsplit('/').next().unwrap()));
    assert_eq!(shown.ok(StatusCode::OK), created["allotment"]);
    let listed = app.send(Method::GET, ALLOTMENTS, Some(&app.manage), None, &[]).await.ok(StatusCode::OK);
    assert_eq!(listed["items"], json!([created["allotment"]]));
    let other = app.send(Method::GET, &format!("{ALLOTMENTS}/{id}"), Some(&app.other_manage), None, &[]).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let missing = app.send(Method::GET, &format!("{ALLOTMENTS}/999"), Some(&app.manage), None, &[]).await;
    assert_eq!(missing.error(StatusCode::NOT_FOUND)["code"], "not_found");

    // Extend, resize, new-link, revoke-link.
    let extended =
        app.post(&format!("{ALLOTMENTS}/{id}/extend"), &app.manage, &json!({"deadline": "2030-05-07T12:00:00Z"})).await;
    assert_eq!(extended.ok(StatusCode::OK)["deadline"], "2030-05-07T12:00:00Z");
    let past =
        app.post(&format!("{ALLOTMENTS}/{id}/extend"), &app.manage, &json!({"deadline": "2001-01-01T00:00:00Z"})).await;
    assert_eq!(past.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "deadline");
    let resized = app.post(&format!("{ALLOTMENTS}/{id}/resize"), &app.manage, &json!({"seats": 8})).await;
    assert_eq!(resized.ok(StatusCode::OK)["left"], 8);
    let zero = app.post(&format!("{ALLOTMENTS}/{id}/resize"), &app.manage, &json!({"seats": 0})).await;
    assert_eq!(zero.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "seats");
    let renewed = app.post(&format!("{ALLOTMENTS}/{id}/new-link"), &app.manage, &json!({})).await.ok(StatusCode::OK);
    assert_eq!(keys(&renewed), ["link"]);
    assert_ne!(renewed["link"], link.as_str());
    let revoked = app.post(&format!("{ALLOTMENTS}/{id}/revoke-link"), &app.manage, &json!({})).await;
    assert_eq!(keys(&revoked.ok(StatusCode::OK)), ALLOTMENT_KEYS);

    // Refusals name their field and write nothing.
    for (field, change) in [
        ("sponsor", json!({"sponsor": ""})),
        ("contact", json!({"contact": "nobody"})),
        ("seats", json!({"seats": 0})),
        ("deadline", json!({"deadline": "yesterday"})),
        ("deadline", json!({"deadline": "2001-01-01T00:00:00Z"})),
        ("reminder_days", json!({"reminder_days": [0]})),
        ("subject", json!({"subject": "{{ nope }}"})),
        ("applicable_ticket_types", json!({"applicable_ticket_types": ["nope"]})),
    ] {
        let mut bad = body();
        for (k, v) in change.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let refused = app.post(ALLOTMENTS, &app.manage, &bad).await;
        let status = refused.status;
        assert_eq!(refused.json()["error"]["field"], field, "{field}: {status}");
    }
    let unknown = app.post(ALLOTMENTS, &app.manage, &json!({"sponsor": "X", "seats": 1, "admin": true})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let listed = app.send(Method::GET, ALLOTMENTS, Some(&app.manage), None, &[]).await.ok(StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "no refused create wrote anything");
}

/// Without a public URL the link is the path alone.
async fn without_a_public_url_the_link_is_a_path(app: TestApp) {
    let created = app.post(ALLOTMENTS, &app.admin, &body()).await.ok(StatusCode::CREATED);
    assert!(created["link"].as_str().unwrap().starts_with("/sponsor/"));
}

both_backends!(allotment_contracts, without_a_public_url_the_link_is_a_path);
