//! The authorization matrix of the API and checkout routes: every route x {no token, bad token, revoked token, admin, manage,
//! checkout, another conference's manage token}.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use vouchers_core::service::tokens;

use crate::support::*;

/// A route, as the OpenAPI document spells it.
pub struct Route {
    pub method: &'static str,
    pub template: &'static str,
}

/// Every authenticated route.
pub const ROUTES: [Route; 46] = [
    Route { method: "POST", template: "/api/v1/conferences" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}" },
    Route { method: "PATCH", template: "/api/v1/conferences/{conf}" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/ticket-types" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/ticket-types" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/addons" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/addons" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/vouchers" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/vouchers" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/vouchers/bulk" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/vouchers/export" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/vouchers/{code}" },
    Route { method: "PATCH", template: "/api/v1/conferences/{conf}/vouchers/{code}" },
    // Before the batch routes: deactivating the batch would make redeeming refuse.
    Route { method: "POST", template: "/api/v1/conferences/{conf}/vouchers/check" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/vouchers/redeem" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/vouchers/release" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/vouchers/hold" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/vouchers/hold/extend" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/usage" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/audit" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/batches" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/batches/{id}" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/batches/{id}/assign" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/batches/{id}/send" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/batches/{id}/send/preview" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/outbox" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/outbox/{id}/retry" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/vouchers/import" },
    // The admin's subscription is webhook 1, which `{id}` (the batch, 1) names below.
    Route { method: "POST", template: "/api/v1/conferences/{conf}/webhooks" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/webhooks" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/webhooks/{id}/disable" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/webhooks/{id}/enable" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/webhooks/{id}/rotate-secret" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/webhooks/deliveries" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/webhooks/deliveries/{id}/redeliver" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/reports/batches" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/reports/redemptions" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/redemptions" },
    // The admin's allotment is allotment 1, which `{id}` names.
    Route { method: "POST", template: "/api/v1/conferences/{conf}/allotments" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/allotments" },
    Route { method: "GET", template: "/api/v1/conferences/{conf}/allotments/{id}" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/allotments/{id}/extend" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/allotments/{id}/resize" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/allotments/{id}/new-link" },
    Route { method: "POST", template: "/api/v1/conferences/{conf}/allotments/{id}/revoke-link" },
    // Last: it deactivates the batch the routes above use.
    Route { method: "POST", template: "/api/v1/conferences/{conf}/batches/{id}/deactivate" },
];

/// A valid body for each route (a fresh slug or code per call, so successes never collide).
fn body_for(template: &str, method: &str, n: usize, code: &str, held: &str) -> Option<Value> {
    if template.contains("/allotments") {
        return match (method, template.rsplit('/').next().unwrap_or_default()) {
            ("POST", "allotments") => Some(json!({
                "sponsor": format!("Sponsor {n}"), "contact": "s@example.org", "seats": 2,
                "deadline": "2030-01-01T00:00:00Z", "voucher_type": "comp"
            })),
            ("POST", "extend") => Some(json!({"deadline": "2031-01-01T00:00:00Z"})),
            ("POST", "resize") => Some(json!({"seats": 3})),
            _ => None,
        };
    }
    match (method, template.rsplit('/').next().unwrap_or_default()) {
        ("PATCH", "{conf}") => Some(json!({"hold_seconds": 900})),
        // One cart for every caller (a repeat answers the same hold), on a code of its own.
        ("POST", "hold") => Some(json!({"code": held, "cart_ref": "matrix-cart"})),
        ("POST", "extend") => Some(json!({"code": held, "cart_ref": "matrix-cart", "ttl_seconds": 600})),
        ("POST", "conferences") => Some(conference_body(&format!("conf-{n}"))),
        ("POST", "ticket-types") => Some(json!({"slug": format!("tt-{n}"), "name": "T", "price": "1.00"})),
        ("POST", "addons") => Some(json!({"slug": format!("ad-{n}"), "name": "A", "price": "1.00"})),
        ("POST", "vouchers") => Some(json!({"code": format!("CODE-{n}"), "voucher_type": "comp"})),
        ("POST", "bulk") => Some(json!({"prefix": "M-", "count": 2, "voucher_type": "comp"})),
        ("PATCH", _) => Some(json!({"max_uses": 2})),
        ("POST", "check") => Some(json!({"code": code})),
        // One order for every caller: the second success replays the first.
        ("POST", "redeem") => Some(json!({"code": code, "order_ref": "matrix-order"})),
        ("POST", "release") => Some(json!({"code": code, "order_ref": "never-redeemed"})),
        ("POST", "assign") => Some(json!({"recipients": [{"email": format!("m{n}@example.org"), "name": "M"}]})),
        ("POST", "send" | "preview") => Some(json!({"subject": "S", "template": "{{ code }}"})),
        ("POST", "retry") => Some(json!({})),
        // A public address written as such: no DNS lookup, which a test machine may not have.
        ("POST", "webhooks") => Some(json!({"url": "https://93.184.216.34/hooks/vouchers"})),
        ("POST", "import") => Some(Value::String(format!("code,voucher_type\nIMPORTED-{n},comp\n"))),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    NoToken,
    BadToken,
    Revoked,
    Admin,
    Manage,
    Checkout,
    OtherManage,
}

/// What each caller gets on `pycon`'s resources.
fn expected(route: &Route, caller: Caller) -> StatusCode {
    let creates_conference = route.template == "/api/v1/conferences";
    let last = route.template.rsplit('/').next().unwrap_or_default();
    let allotment_route = route.template.contains("/allotments");
    let checkout_route = !allotment_route && matches!(last, "check" | "redeem" | "release" | "hold" | "extend");
    let success = match (route.method, last) {
        // No failed email exists: a caller allowed to retry gets past authorization to the use
        // case's 404 (the other conference's token too, as for every route).
        ("POST", "retry") => StatusCode::NOT_FOUND,
        // No event happened since the subscriptions were made: no delivery 1.
        ("POST", "redeliver") => StatusCode::NOT_FOUND,
        ("POST", "deactivate" | "assign" | "send" | "preview" | "disable" | "enable" | "rotate-secret") => {
            StatusCode::OK
        }
        ("POST", "extend" | "resize" | "new-link" | "revoke-link") if allotment_route => StatusCode::OK,
        ("POST", _) if !checkout_route => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    match caller {
        Caller::NoToken | Caller::BadToken | Caller::Revoked => StatusCode::UNAUTHORIZED,
        // Checkout tokens check, redeem and release; nothing else.
        Caller::Checkout if checkout_route => success,
        Caller::Checkout => StatusCode::FORBIDDEN,
        // Manage tokens do everything in their conference but redeem.
        Caller::Manage | Caller::OtherManage if !allotment_route && matches!(last, "redeem" | "hold" | "extend") => {
            StatusCode::FORBIDDEN
        }
        Caller::Admin => success,
        Caller::Manage if creates_conference => StatusCode::FORBIDDEN,
        Caller::Manage => success,
        Caller::OtherManage if creates_conference => StatusCode::FORBIDDEN,
        Caller::OtherManage => StatusCode::NOT_FOUND,
    }
}

async fn every_route_by_every_caller(app: TestApp) {
    // Ten codes: every caller allowed to assign takes one.
    let generated = app.generate("MATRIX-", 10).await;
    let code = generated["vouchers"][0]["code"].as_str().unwrap().to_owned();
    let held = generated["vouchers"][9]["code"].as_str().unwrap().to_owned();
    let batch = generated["batch"]["id"].to_string();
    let revoked = tokens::create_token(&*app.db.store, vouchers_core::domain::Scope::Admin, None, None).await.unwrap();
    tokens::revoke_token(&*app.db.store, revoked.token.id).await.unwrap();
    let revoked = revoked.secret.expose().to_owned();

    let callers = [
        (Caller::NoToken, None),
        (Caller::BadToken, Some("vch_not-a-real-token".to_owned())),
        (Caller::Revoked, Some(revoked)),
        (Caller::Admin, Some(app.admin.clone())),
        (Caller::Manage, Some(app.manage.clone())),
        (Caller::Checkout, Some(app.checkout.clone())),
        (Caller::OtherManage, Some(app.other_manage.clone())),
    ];
    let mut n = 0;
    let mut failures = Vec::new();
    for route in &ROUTES {
        for (caller, token) in &callers {
            n += 1;
            let uri = route.template.replace("{conf}", CONF).replace("{code}", &code).replace("{id}", &batch);
            let body = body_for(route.template, route.method, n, &code, &held).map(|b| match b {
                Value::String(text) => Body::from(text),
                json => Body::from(json.to_string()),
            });
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            let csv: &[(&str, &str)] = if uri.ends_with("/import") { &[("content-type", "text/csv")] } else { &[] };
            let response = app.send(method, &uri, token.as_deref(), body, csv).await;
            let want = expected(route, *caller);
            if response.status != want {
                failures.push(format!(
                    "{} {} as {caller:?}: {} (want {want}): {}",
                    route.method,
                    uri,
                    response.status,
                    response.text()
                ));
            }
            if !response.status.is_success() {
                response.error(response.status);
            }
            if response.status == StatusCode::UNAUTHORIZED {
                assert_eq!(response.headers["www-authenticate"], "Bearer");
            }
        }
    }
    assert!(failures.is_empty(), "authorization matrix:\n{}", failures.join("\n"));
}

/// Another conference's resources answer exactly like a conference that does not exist.
async fn other_conferences_look_like_missing_ones(app: TestApp) {
    let theirs = app.get_vouchers(&app.other_manage, CONF, "").await;
    let missing = app.get_vouchers(&app.other_manage, "no-such-conf", "").await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.json()["error"]["code"], missing.json()["error"]["code"]);
    assert_eq!(
        theirs.json()["error"]["message"].as_str().unwrap().replace(CONF, "X"),
        missing.json()["error"]["message"].as_str().unwrap().replace("no-such-conf", "X")
    );
    // Checkout tokens get 403 whether or not the conference exists: no probing either.
    assert_eq!(app.get_vouchers(&app.checkout, "no-such-conf", "").await.status, StatusCode::FORBIDDEN);
    // A malformed Authorization header is a missing token.
    for header in ["Basic abc", "Bearer", "Bearer ", "vch_x"] {
        let r = app.send(Method::GET, "/api/v1/conferences/pycon", None, None, &[("authorization", header)]).await;
        assert_eq!(r.error(StatusCode::UNAUTHORIZED)["code"], "unauthorized", "{header}");
    }
}

both_backends!(every_route_by_every_caller, other_conferences_look_like_missing_ones);
