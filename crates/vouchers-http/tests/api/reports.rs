//! The report routes: the funnel, the timeline and the redemptions list answer the same figures
//! as the core's use cases, page by cursor, refuse bad parameters by name, and see nothing of
//! another conference.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

const BASE: &str = "/api/v1/conferences/pycon";

async fn get(app: &TestApp, uri: &str, token: &str) -> crate::support::TestResponse {
    app.send(Method::GET, &format!("{BASE}{uri}"), Some(token), None, &[]).await
}

async fn report_routes(app: TestApp) {
    let generated = app.generate("REP-", 3).await;
    let codes: Vec<String> =
        generated["vouchers"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap().to_owned()).collect();
    let cart = json!([{"ticket_type": "individual"}]);
    for (i, code) in codes.iter().take(2).enumerate() {
        let body = json!({"code": code, "order_ref": format!("o-{i}"), "lines": cart});
        app.post_vouchers_redeem(&app.checkout, CONF, &body).await.ok(StatusCode::OK);
    }

    // The funnel: 25 % of 400.00 twice.
    let batches = get(&app, "/reports/batches", &app.manage).await.ok(StatusCode::OK);
    let first = &batches["batches"][0];
    assert_eq!((first["issued"].clone(), first["redeemed"].clone()), (json!(3), json!(2)));
    assert_eq!(first["discount_given"], "200.00");
    let mut keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "assigned",
            "batch_id",
            "discount_given",
            "emailed",
            "held",
            "issued",
            "name",
            "prefix",
            "redeemed",
            "released"
        ]
    );

    // The timeline: today in the conference's zone, every step listed.
    let day = get(&app, "/reports/redemptions", &app.manage).await.ok(StatusCode::OK);
    assert_eq!((day["interval"].clone(), day["timezone"].clone()), (json!("day"), json!("America/New_York")));
    assert_eq!(day["points"].as_array().unwrap().len(), 30);
    assert_eq!((day["total_redemptions"].clone(), day["total_discount"].clone()), (json!(2), json!("200.00")));
    let hour = get(&app, "/reports/redemptions?interval=hour", &app.manage).await.ok(StatusCode::OK);
    assert_eq!(hour["points"].as_array().unwrap().len(), 48);
    let bad = get(&app, "/reports/redemptions?interval=week", &app.manage).await;
    assert_eq!(bad.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "interval");
    let long =
        get(&app, "/reports/redemptions?interval=hour&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", &app.manage)
            .await;
    assert_eq!(long.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "to");
    let junk = get(&app, "/reports/redemptions?from=yesterday", &app.manage).await;
    assert_eq!(junk.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "from");

    // The list: newest first, one a page, by cursor.
    let page1 = get(&app, "/redemptions?limit=1", &app.manage).await.ok(StatusCode::OK);
    assert_eq!(page1["items"][0]["order_ref"], "o-1");
    assert_eq!(page1["items"][0]["discount"], "100.00");
    let cursor = page1["next_cursor"].as_str().unwrap().to_owned();
    let page2 = get(&app, &format!("/redemptions?limit=1&cursor={cursor}"), &app.manage).await.ok(StatusCode::OK);
    assert_eq!(page2["items"][0]["order_ref"], "o-0");
    assert_eq!(page2["next_cursor"], Value::Null);
    let searched = get(&app, "/redemptions?search=O-0", &app.manage).await.ok(StatusCode::OK);
    assert_eq!(searched["items"].as_array().unwrap().len(), 1);
    let bad = get(&app, "/redemptions?cursor=nope", &app.manage).await;
    assert_eq!(bad.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "cursor");
    let unknown = get(&app, "/redemptions?sort=desc", &app.manage).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another conference's token finds nothing; a checkout token may not read reports.
    assert_eq!(get(&app, "/reports/batches", &app.other_manage).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/redemptions", &app.checkout).await.status, StatusCode::FORBIDDEN);
}

both_backends!(report_routes);
