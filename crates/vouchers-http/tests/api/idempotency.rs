//! `Idempotency-Key` on bulk generation: retries get the first response, never a second batch.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;
use tokio::sync::Barrier;

use crate::support::*;

fn body(count: i64) -> serde_json::Value {
    json!({"prefix": "RETRY-", "count": count, "voucher_type": "percentage", "discount_value": "10"})
}

async fn batch_count(app: &TestApp, conf: &str, token: &str) -> usize {
    app.get_batches(token, conf, "").await.ok(StatusCode::OK)["items"].as_array().unwrap().len()
}

async fn a_retry_replays_the_first_response(app: TestApp) {
    let first = app.post_vouchers_bulk(&app.manage, CONF, &body(5), Some("order-42")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    // The same request spelled differently (25 vs "25.00" style, keys reordered) is the same request.
    let same = json!({"count": 5, "discount_value": 10.00, "voucher_type": "percentage", "prefix": "RETRY-"});
    let retry = app.post_vouchers_bulk(&app.manage, CONF, &same, Some("order-42")).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.json(), first.json());
    assert_eq!(batch_count(&app, CONF, &app.manage).await, 1);

    let e = app.post_vouchers_bulk(&app.manage, CONF, &body(6), Some("order-42")).await;
    let e = e.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("idempotency_key_reused"), Some("Idempotency-Key")));

    // Another key is another batch; keys are per conference.
    app.post_vouchers_bulk(&app.manage, CONF, &body(5), Some("order-43")).await.ok(StatusCode::CREATED);
    assert_eq!(batch_count(&app, CONF, &app.manage).await, 2);
    app.post_vouchers_bulk(&app.other_manage, OTHER, &body(5), Some("order-42")).await.ok(StatusCode::CREATED);
    assert_eq!(batch_count(&app, OTHER, &app.other_manage).await, 1);

    // A failed request stores nothing under its key: fixing the body and retrying works.
    let e = app.post_vouchers_bulk(&app.manage, CONF, &body(501), Some("order-44")).await;
    e.error(StatusCode::UNPROCESSABLE_ENTITY);
    app.post_vouchers_bulk(&app.manage, CONF, &body(7), Some("order-44")).await.ok(StatusCode::CREATED);

    let e = app.post_vouchers_bulk(&app.manage, CONF, &body(5), Some("bad key")).await;
    assert_eq!(e.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "Idempotency-Key");
}

async fn concurrent_duplicates_create_one_batch(app: TestApp) {
    let app = Arc::new(app);
    let barrier = Arc::new(Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, barrier) = (Arc::clone(&app), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                app.post_vouchers_bulk(&app.manage, CONF, &body(200), Some("same-key")).await
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        bodies.push(task.await.unwrap().ok(StatusCode::CREATED));
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "every duplicate answers the first response");
    assert_eq!(batch_count(&app, CONF, &app.manage).await, 1);
    let all = app.get_vouchers(&app.manage, CONF, "limit=1000").await.ok(StatusCode::OK);
    assert_eq!(all["items"].as_array().unwrap().len(), 200);
}

both_backends!(a_retry_replays_the_first_response, concurrent_duplicates_create_one_batch);
