//! One test against a real socket: `serve` on port 0, a plain HTTP client, graceful shutdown.

use serde_json::{json, Value};
use tokio::sync::oneshot;
use vouchers_core::Limits;
use vouchers_http::{serve, AppState};

use crate::support::*;

async fn serves_on_a_real_socket_and_shuts_down_gracefully(app: TestApp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState::new(app.db.store.clone(), Limits::default());
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let health: Value = client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({"status": "ok"}));
    let response = client
        .post(format!("{base}/api/v1/conferences/{CONF}/vouchers/bulk"))
        .bearer_auth(&app.manage)
        .json(&json!({"prefix": "SOCKET-", "count": 3, "voucher_type": "comp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.headers().contains_key("x-request-id"));
    let out: Value = response.json().await.unwrap();
    assert_eq!(out["vouchers"].as_array().unwrap().len(), 3);
    let unauthorized = client.get(format!("{base}/api/v1/conferences/{CONF}")).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);

    // A request in flight when the shutdown signal comes is finished, not cut off: it waits for
    // a transaction holding its slug, the signal arrives, then the other transaction ends.
    let mut blocker = app.db.store.begin().await.unwrap();
    let new = vouchers_core::domain::NewConference::parse("late", "Late", "2027-01-01", "2027-01-02", "UTC").unwrap();
    blocker.insert_conference(&new, chrono::Utc::now()).await.unwrap();
    let in_flight = tokio::spawn(
        client.post(format!("{base}/api/v1/conferences")).bearer_auth(&app.admin).json(&conference_body("late")).send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!server.is_finished(), "the server waits for the request in flight");
    drop(blocker);
    let late = in_flight.await.unwrap().unwrap();
    assert_eq!(late.status(), 201);
    server.await.unwrap().unwrap();
    assert!(client.get(format!("{base}/healthz")).send().await.is_err(), "the listener is closed");
}

both_backends!(serves_on_a_real_socket_and_shuts_down_gracefully);
