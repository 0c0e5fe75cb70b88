//! The error shape outside the handlers: unknown routes and methods.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vouchers_core::domain::NewConference;
use vouchers_core::Limits;
use vouchers_http::{router, AppState, Settings};

use crate::support::*;

async fn unknown_routes_and_methods_answer_in_the_error_shape(app: TestApp) {
    let r = app.send(Method::GET, "/api/v1/nothing", Some(&app.admin), None, &[]).await;
    assert_eq!(r.error(StatusCode::NOT_FOUND)["code"], "not_found");
    let r = app.send(Method::DELETE, "/api/v1/conferences/pycon", Some(&app.admin), None, &[]).await;
    assert_eq!(r.error(StatusCode::METHOD_NOT_ALLOWED)["code"], "method_not_allowed");
    let r = app.send(Method::GET, "/api/v1/conferences/%FF%FE", Some(&app.admin), None, &[]).await;
    r.error(StatusCode::NOT_FOUND);
    let r = app.send(Method::GET, "/api/v1/conferences/a%00b", Some(&app.admin), None, &[]).await;
    r.error(StatusCode::NOT_FOUND);
    let r = app.send(Method::GET, "/api/v1/conferences/pycon/vouchers/A%00B", Some(&app.admin), None, &[]).await;
    r.error(StatusCode::NOT_FOUND);
    let r = app.send(Method::GET, "/api/v1/conferences/pycon/vouchers?prefix=A%00", Some(&app.admin), None, &[]).await;
    r.error(StatusCode::UNPROCESSABLE_ENTITY);
}

/// A request still waiting when the timeout strikes answers 503 in the error shape, and what it
/// started is rolled back.
async fn slow_requests_time_out(app: TestApp) {
    // Another transaction holds the slug "blocker" (SQLite: the write lock), so the request waits.
    let mut blocker = app.db.store.begin().await.unwrap();
    let new = NewConference::parse("blocker", "Blocker", "2027-01-01", "2027-01-02", "UTC").unwrap();
    blocker.insert_conference(&new, chrono::Utc::now()).await.unwrap();

    let settings = Settings { request_timeout: Duration::from_millis(300), ..Settings::default() };
    let state = AppState { settings, ..AppState::new(app.db.store.clone(), Limits::default()) };
    let request = Request::post("/api/v1/conferences")
        .header("authorization", format!("Bearer {}", app.admin))
        .header("content-type", "application/json")
        .body(Body::from(conference_body("blocker").to_string()))
        .unwrap();
    let response = router(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "timeout");
    drop(blocker);
    // The timed-out request left nothing behind: the slug is free.
    app.post_conferences(&app.admin, &conference_body("blocker")).await.ok(StatusCode::CREATED);
}

both_backends!(unknown_routes_and_methods_answer_in_the_error_shape, slow_requests_time_out);
