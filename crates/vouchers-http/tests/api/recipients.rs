//! Recipients over HTTP: assign, queue, preview, the outbox, imports.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

fn people(n: usize) -> serde_json::Value {
    let rows: Vec<_> = (0..n)
        .map(|i| json!({"email": format!("p{i}@example.org"), "name": format!("P <{i}>"), "tags": {"company": "ACME & Co"}}))
        .collect();
    json!(rows)
}

fn template() -> serde_json::Value {
    json!({"subject": "{{ conference }} code", "template": "Hi {{ name }}: {{ code }}",
           "html_template": "<p>Hi {{ name }} from {{ tags.company }}: {{ code }}</p>"})
}

async fn assign_send_preview_and_outbox(app: TestApp) {
    let batch = app.generate("SP-", 3).await["batch"]["id"].to_string();
    // A bad row is named by its position; nothing is assigned.
    let bad = json!({"recipients": [{"email": "a@example.org", "name": "A"}, {"email": "nope", "name": "B"}]});
    let e = app.post_batch_assign(&app.manage, CONF, &batch, &bad).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "recipients");
    assert!(e["message"].as_str().unwrap().contains("row 2, email"), "{e}");
    // Too many recipients for the batch.
    let e = app
        .post_batch_assign(&app.manage, CONF, &batch, &json!({"recipients": people(4)}))
        .await
        .error(StatusCode::CONFLICT);
    assert_eq!(e["code"], "not_enough_codes");

    let assigned =
        app.post_batch_assign(&app.manage, CONF, &batch, &json!({"recipients": people(2)})).await.ok(StatusCode::OK);
    assert_eq!(assigned["assignments"].as_array().unwrap().len(), 2);
    assert_eq!(assigned["queued"], serde_json::Value::Null);
    let code = assigned["assignments"][0]["code"].as_str().unwrap().to_owned();
    let voucher = app.get_voucher(&app.manage, CONF, &code).await.ok(StatusCode::OK);
    assert_eq!(
        voucher["recipient"],
        json!({"email": "p0@example.org", "name": "P <0>", "tags": {"company": "ACME & Co"}})
    );
    let found = app.get_vouchers(&app.manage, CONF, "recipient=P1@Example.org").await.ok(StatusCode::OK);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let unassigned = app.get_vouchers(&app.manage, CONF, "").await.ok(StatusCode::OK);
    assert!(unassigned["items"].as_array().unwrap().iter().any(|v| v["recipient"].is_null()));

    // An unknown placeholder is refused before anything is queued.
    let e = app
        .post_batch_send(&app.manage, CONF, &batch, &json!({"subject": "x", "template": "{{ secret }}"}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "template");
    let preview = app.post_batch_send_preview(&app.manage, CONF, &batch, &template()).await.ok(StatusCode::OK);
    assert_eq!(preview["recipient"]["email"], "p0@example.org");
    assert_eq!(preview["message"]["subject"], "PyCon US code");
    assert_eq!(preview["message"]["html"], format!("<p>Hi P &lt;0&gt; from ACME &amp; Co: {code}</p>"));
    assert_eq!(preview["message"]["text"], format!("Hi P <0>: {code}"));
    let queued = app.post_batch_send(&app.manage, CONF, &batch, &template()).await.ok(StatusCode::OK);
    assert_eq!(queued["queued"], 2);
    assert_eq!(app.post_batch_send(&app.manage, CONF, &batch, &template()).await.ok(StatusCode::OK)["queued"], 0);
    let outbox = app.get_outbox(&app.manage, CONF, "?status=queued&limit=1").await.ok(StatusCode::OK);
    assert_eq!(outbox["items"].as_array().unwrap().len(), 1);
    assert!(outbox["next_cursor"].is_string());
    assert_eq!(outbox["items"][0]["status"], "queued");
    let e = app.get_outbox(&app.manage, CONF, "?status=lost").await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "status");
    // Nothing failed yet: there is nothing to retry.
    let id = outbox["items"][0]["id"].to_string();
    assert_eq!(app.post_outbox_retry(&app.manage, CONF, &id).await.error(StatusCode::NOT_FOUND)["code"], "not_found");
    // Another conference's token sees none of it; a checkout token may not.
    app.get_outbox(&app.other_manage, CONF, "").await.error(StatusCode::NOT_FOUND);
    app.post_batch_assign(&app.checkout, CONF, &batch, &json!({"recipients": people(1)}))
        .await
        .error(StatusCode::FORBIDDEN);
}

async fn import_over_http(app: TestApp) {
    let csv = "code,voucher_type,discount_value,recipient_email,recipient_name\nPRINTED-1,percentage,20,a@example.org,Ana\nPRINTED-2,comp,,,\n";
    let imported = app.post_vouchers_import(&app.manage, CONF, csv).await.ok(StatusCode::CREATED);
    assert_eq!(imported["imported"], 2);
    assert_eq!(imported["batch"]["source"], "import");
    let v = app.get_voucher(&app.manage, CONF, "printed-1").await.ok(StatusCode::OK);
    assert_eq!(v["recipient"]["name"], "Ana");
    // The same codes again (ignoring case): the whole import fails, naming the lines.
    let again = "code,voucher_type\nNEW-1,comp\nprinted-2,comp\n";
    let e = app.post_vouchers_import(&app.manage, CONF, again).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("line 3, code"), "{e}");
    app.get_voucher(&app.manage, CONF, "NEW-1").await.error(StatusCode::NOT_FOUND);
    // Not CSV: 415.
    let uri = format!("/api/v1/conferences/{CONF}/vouchers/import");
    let r = app.send(axum::http::Method::POST, &uri, Some(&app.manage), Some(axum::body::Body::from(csv)), &[]).await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

both_backends!(assign_send_preview_and_outbox, import_over_http);
