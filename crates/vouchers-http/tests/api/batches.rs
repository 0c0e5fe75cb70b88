//! Batches: list, show, deactivate.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

async fn list_show_and_deactivate_batches(app: TestApp) {
    let first = app.generate("A-", 3).await;
    let second = app.generate("B-", 4).await;
    let page = app.get_batches(&app.manage, CONF, "limit=1").await.ok(StatusCode::OK);
    assert_eq!(page["items"], json!([first["batch"]]));
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app.get_batches(&app.manage, CONF, &format!("limit=1&cursor={cursor}")).await.ok(StatusCode::OK);
    assert_eq!(rest["items"], json!([second["batch"]]));
    assert_eq!(rest["next_cursor"], json!(null));

    let id = second["batch"]["id"].to_string();
    assert_eq!(app.get_batch(&app.manage, CONF, &id).await.ok(StatusCode::OK), second["batch"]);
    for missing in ["999999", "0", "-1", "abc", "99999999999999999999"] {
        let e = app.get_batch(&app.manage, CONF, missing).await.error(StatusCode::NOT_FOUND);
        assert_eq!(e["code"], "not_found", "{missing}");
    }
    // A batch of another conference is not found in this one.
    let other_id = first["batch"]["id"].to_string();
    app.get_batch(&app.other_manage, OTHER, &other_id).await.error(StatusCode::NOT_FOUND);
    app.post_batch_deactivate(&app.other_manage, OTHER, &other_id).await.error(StatusCode::NOT_FOUND);

    let out = app.post_batch_deactivate(&app.manage, CONF, &id).await.ok(StatusCode::OK);
    assert_eq!((out["deactivated"].as_i64(), &out["batch"]), (Some(4), &second["batch"]));
    let again = app.post_batch_deactivate(&app.manage, CONF, &id).await.ok(StatusCode::OK);
    assert_eq!(again["deactivated"], 0);
    let inactive = app.get_vouchers(&app.manage, CONF, "active=false").await.ok(StatusCode::OK);
    let codes: Vec<&str> = inactive["items"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap()).collect();
    let expected: Vec<&str> =
        second["vouchers"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap()).collect();
    assert_eq!(codes, expected);
    let active = app.get_vouchers(&app.manage, CONF, "active=true").await.ok(StatusCode::OK);
    assert_eq!(active["items"].as_array().unwrap().len(), 3, "the other batch is untouched");
    app.post_batch_deactivate(&app.manage, CONF, "424242").await.error(StatusCode::NOT_FOUND);
}

both_backends!(list_show_and_deactivate_batches);
