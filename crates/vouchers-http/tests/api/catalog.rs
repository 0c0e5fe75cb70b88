//! Ticket types and add-ons.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

async fn ticket_types_are_created_and_paged(app: TestApp) {
    let body = json!({"slug": "corporate", "name": "Corporate", "price": "750.5", "requires_voucher": true});
    let created = app.post_ticket_types(&app.manage, CONF, &body).await.ok(StatusCode::CREATED);
    assert_eq!(
        created,
        json!({"conference": CONF, "slug": "corporate", "name": "Corporate", "price": "750.50",
               "requires_voucher": true, "is_active": true})
    );
    let e = app.post_ticket_types(&app.manage, CONF, &body).await.error(StatusCode::CONFLICT);
    assert_eq!(e["code"], "duplicate");
    let bad = json!({"slug": "x", "name": "X", "price": "1.005"});
    assert_eq!(
        app.post_ticket_types(&app.manage, CONF, &bad).await.error(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "price"
    );
    let number = json!({"slug": "x", "name": "X", "price": 10});
    assert_eq!(
        app.post_ticket_types(&app.manage, CONF, &number).await.error(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "price"
    );

    let first = app.get_ticket_types(&app.manage, CONF, "limit=2").await.ok(StatusCode::OK);
    let slugs: Vec<&str> = first["items"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["corporate", "individual"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app.get_ticket_types(&app.manage, CONF, &format!("limit=2&cursor={cursor}")).await.ok(StatusCode::OK);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["slug"], "student");
    assert_eq!(second["next_cursor"], json!(null));
    let all = app.get_ticket_types(&app.manage, CONF, "").await.ok(StatusCode::OK);
    assert_eq!((all["items"].as_array().unwrap().len(), &all["next_cursor"]), (3, &json!(null)));
}

async fn addons_are_created_and_listed(app: TestApp) {
    let created = app.post_addons(&app.manage, CONF, &json!({"slug": "dinner", "name": "Dinner", "price": "80"})).await;
    assert_eq!(created.ok(StatusCode::CREATED)["price"], "80.00");
    let list = app.get_addons(&app.manage, CONF, "limit=1000").await.ok(StatusCode::OK);
    let slugs: Vec<&str> = list["items"].as_array().unwrap().iter().map(|a| a["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["dinner", "tshirt"]);
    let e = app.get_addons(&app.manage, CONF, "limit=0").await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "limit");
    let e = app.get_addons(&app.manage, CONF, "limit=1001").await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "limit");
    let e = app.get_addons(&app.manage, CONF, "cursor=garbage!").await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "cursor");
    let e = app.get_addons(&app.manage, CONF, "limit=ten").await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "limit");
}

both_backends!(ticket_types_are_created_and_paged, addons_are_created_and_listed);
