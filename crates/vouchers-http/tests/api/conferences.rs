//! `POST /conferences`, `GET /conferences/{conf}`.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

async fn create_and_get_a_conference(app: TestApp) {
    let created = app.post_conferences(&app.admin, &conference_body("europython")).await.ok(StatusCode::CREATED);
    assert_eq!(
        created,
        json!({"slug": "europython", "name": "EuroPython", "start_date": "2027-07-10", "end_date": "2027-07-16",
               "timezone": "Europe/Prague", "created_at": created["created_at"], "hold_seconds": 1800})
    );
    let got = app.get_conference(&app.admin, "europython").await.ok(StatusCode::OK);
    assert_eq!(got, created);
    let own = app.get_conference(&app.manage, CONF).await.ok(StatusCode::OK);
    assert_eq!(own["timezone"], "America/New_York");
}

async fn duplicate_and_invalid_conferences(app: TestApp) {
    let e = app.post_conferences(&app.admin, &conference_body(CONF)).await.error(StatusCode::CONFLICT);
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("duplicate"), Some("slug")));
    let mut bad = conference_body("x");
    bad["timezone"] = json!("Mars/Olympus");
    let e = app.post_conferences(&app.admin, &bad).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "timezone");
    let mut bad = conference_body("x");
    bad["end_date"] = json!("2027-07-01");
    assert_eq!(
        app.post_conferences(&app.admin, &bad).await.error(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "end_date"
    );
    let e =
        app.post_conferences(&app.admin, &conference_body("Not A Slug")).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "slug");
    let mut missing = conference_body("x");
    missing.as_object_mut().unwrap().remove("name");
    let e = app.post_conferences(&app.admin, &missing).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("name"), "{e}");
    let e = app.get_conference(&app.admin, "nope").await.error(StatusCode::NOT_FOUND);
    assert_eq!(e["code"], "not_found");
}

both_backends!(create_and_get_a_conference, duplicate_and_invalid_conferences);
