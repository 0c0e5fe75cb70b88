//! One test against a real socket: `serve` on port 0, a plain HTTP client, graceful shutdown.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use vouchers_core::Limits;
use vouchers_http::{serve, AppState};

use crate::support::*;

async fn serves_on_a_real_socket_and_shuts_down_gracefully(app: TestApp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState::new(app.db.store.clone(), Limits::default());
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let health: Value = client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}));
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

    // A request in flight when the shutdown signal comes is finished, not cut off. The request
    // asks `Expect: 100-continue`, so the server's "100 Continue" says its handler is running
    // (it is reading the body); the body is sent only after the signal.
    let body = serde_json::to_vec(&conference_body("late")).unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/conferences HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        app.admin,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let interim = read_head(&mut stream).await;
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    stop.send(()).unwrap();
    let mut server = server;
    let waited = tokio::time::timeout(Duration::from_millis(200), &mut server).await;
    assert!(waited.is_err(), "the server waits for the request in flight");
    stream.write_all(&body).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await.unwrap().unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    server.await.unwrap().unwrap();
    assert!(client.get(format!("{base}/healthz")).send().await.is_err(), "the listener is closed");
}

/// Reads one response head (up to the blank line), byte by byte so nothing after it is consumed.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(Duration::from_secs(10), stream.read_u8()).await.unwrap().unwrap();
        head.push(byte);
    }
    String::from_utf8(head).unwrap()
}

both_backends!(serves_on_a_real_socket_and_shuts_down_gracefully);
