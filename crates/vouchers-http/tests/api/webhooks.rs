//! The webhook routes' contracts: the exact answers of create, list, deliveries and redeliver;
//! a refused target is 422 naming `url` and writes nothing; a manage token of another
//! conference finds nothing; the secret is shown once.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use vouchers_core::domain::TargetPolicy;
use vouchers_core::service::webhooks::{self, WebhookSettings};
use vouchers_core::Limits;
use vouchers_http::{router, AppState};

use crate::support::*;

const HOOKS: &str = "/api/v1/conferences/pycon/webhooks";

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn webhook_contracts(app: TestApp) {
    // Refused targets: 422 on `url`, nothing written.
    for url in [
        "http://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "ftp://hooks.example.com/",
        "https://user:pw@hooks.example.com/",
    ] {
        let refused = app.post(HOOKS, &app.manage, &json!({"url": url})).await;
        let error = refused.error(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["field"], "url", "{url}: {error}");
    }
    let unknown = app.post(HOOKS, &app.manage, &json!({"url": "https://93.184.216.34/", "events": ["nope"]})).await;
    assert_eq!(unknown.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "events");
    // No API field can lift the operator's rules.
    let sneaky = app.post(HOOKS, &app.manage, &json!({"url": "http://127.0.0.1/", "allow_private": true})).await;
    assert_eq!(sneaky.status, StatusCode::UNPROCESSABLE_ENTITY);
    let empty = app.send(Method::GET, HOOKS, Some(&app.manage), None, &[]).await.ok(StatusCode::OK);
    assert_eq!(empty, json!({"items": [], "next_cursor": null}));

    // Create: exactly {"webhook": {"id", "url", "events", "enabled"}, "secret"}.
    let body = json!({"url": "https://93.184.216.34/hooks/vouchers", "events": ["voucher.redeemed", "batch.created"]});
    let created = app.post(HOOKS, &app.manage, &body).await.ok(StatusCode::CREATED);
    assert_eq!(keys(&created), ["secret", "webhook"]);
    assert_eq!(keys(&created["webhook"]), ["enabled", "events", "id", "url"]);
    assert_eq!(created["webhook"]["events"], json!(["voucher.redeemed", "batch.created"]));
    assert_eq!(created["webhook"]["enabled"], true);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let all = app.post(HOOKS, &app.admin, &json!({"url": "https://93.184.216.34/all"})).await.ok(StatusCode::CREATED);
    assert_eq!(all["webhook"]["events"].as_array().unwrap().len(), 10, "no events: every type");
    let id = created["webhook"]["id"].as_i64().unwrap();

    // List: webhook objects, never a secret.
    let listed = app.send(Method::GET, HOOKS, Some(&app.manage), None, &[]).await;
    assert!(!listed.text().contains("whsec_"));
    let listed = listed.ok(StatusCode::OK);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert_eq!(listed["items"][0], created["webhook"]);
    // Another conference's manage token sees nothing of it.
    let other = app.send(Method::GET, HOOKS, Some(&app.other_manage), None, &[]).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    // Disable, enable, rotate.
    let disabled = app.post(&format!("{HOOKS}/{id}/disable"), &app.manage, &json!({})).await.ok(StatusCode::OK);
    assert_eq!(disabled["enabled"], false);
    let enabled = app.post(&format!("{HOOKS}/{id}/enable"), &app.manage, &json!({})).await.ok(StatusCode::OK);
    assert_eq!(enabled, created["webhook"]);
    let rotated = app.post(&format!("{HOOKS}/{id}/rotate-secret"), &app.manage, &json!({})).await.ok(StatusCode::OK);
    assert_eq!(keys(&rotated), ["secret", "webhook"]);
    assert_ne!(rotated["secret"], secret.as_str());
    let missing = app.post(&format!("{HOOKS}/999/disable"), &app.manage, &json!({})).await;
    assert_eq!(missing.error(StatusCode::NOT_FOUND)["code"], "not_found");
    let bad = app.post(&format!("{HOOKS}/abc/enable"), &app.manage, &json!({})).await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);

    // An event: a redemption writes one delivery for each subscription that wants it.
    app.post_vouchers(&app.manage, CONF, &json!({"code": "HOOKED", "voucher_type": "comp", "max_uses": 3})).await;
    let redeemed = app.post_vouchers_redeem(&app.checkout, CONF, &json!({"code": "HOOKED", "order_ref": "o-1"})).await;
    assert_eq!(redeemed.status, StatusCode::OK);
    let uri = format!("{HOOKS}/deliveries?status=pending&webhook={id}");
    let page = app.send(Method::GET, &uri, Some(&app.manage), None, &[]).await.ok(StatusCode::OK);
    assert_eq!(keys(&page), ["items", "next_cursor"]);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        keys(&items[0]),
        [
            "attempts",
            "delivered_at",
            "event_id",
            "id",
            "last_status_code",
            "next_attempt_at",
            "status",
            "type",
            "webhook_id"
        ]
    );
    assert_eq!((items[0]["type"].clone(), items[0]["status"].clone()), (json!("voucher.redeemed"), json!("pending")));
    let everyone = app.send(Method::GET, &format!("{HOOKS}/deliveries?limit=1"), Some(&app.manage), None, &[]).await;
    let everyone = everyone.ok(StatusCode::OK);
    assert_eq!(everyone["items"].as_array().unwrap().len(), 1);
    assert!(everyone["next_cursor"].is_string(), "two deliveries, one per page");
    let wrong = app.send(Method::GET, &format!("{HOOKS}/deliveries?status=lost"), Some(&app.manage), None, &[]).await;
    assert_eq!(wrong.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "status");

    // Redeliver: the same event, pending again.
    let delivery = items[0]["id"].as_i64().unwrap();
    let again = app
        .send(
            Method::POST,
            &format!("{HOOKS}/deliveries/{delivery}/redeliver"),
            Some(&app.manage),
            Some(Body::empty()),
            &[],
        )
        .await
        .ok(StatusCode::OK);
    assert_eq!(again["event_id"], items[0]["event_id"]);
    assert_eq!(again["status"], "pending");
    let none = app.send(Method::POST, &format!("{HOOKS}/deliveries/999/redeliver"), Some(&app.manage), None, &[]).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

/// The operator's settings, not the request, decide: with private targets allowed, loopback is
/// accepted.
async fn the_operator_may_allow_internal_targets(app: TestApp) {
    let limits = Limits {
        webhooks: WebhookSettings {
            policy: TargetPolicy { allow_http: true, allow_private: true },
            ..WebhookSettings::default()
        },
        ..Limits::default()
    };
    let open = TestApp { router: router(AppState::new(app.db.store.clone(), limits)), ..app };
    let created = open.post(HOOKS, &open.manage, &json!({"url": "http://127.0.0.1:9/hook"})).await;
    assert_eq!(created.ok(StatusCode::CREATED)["webhook"]["url"], "http://127.0.0.1:9/hook");
    assert_eq!(webhooks::list_webhooks(&*open.db.store, CONF).await.unwrap().len(), 1);
}

both_backends!(webhook_contracts, the_operator_may_allow_internal_targets);
