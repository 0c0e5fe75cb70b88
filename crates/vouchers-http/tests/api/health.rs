//! Liveness, readiness and the OpenAPI document.

use axum::http::StatusCode;

use crate::support::*;

async fn health_and_readiness(app: TestApp) {
    let health = app.get_healthz().await.ok(StatusCode::OK);
    assert_eq!((health["status"].as_str(), health["version"].as_str()), (Some("ok"), Some(env!("CARGO_PKG_VERSION"))));
    let ready = app.get_readyz().await.ok(StatusCode::OK);
    assert_eq!((ready["status"].as_str(), ready["version"].as_str()), (Some("ready"), Some(env!("CARGO_PKG_VERSION"))));
    let response = app.get_healthz().await;
    assert!(response.headers.contains_key("x-request-id"), "every response carries its request id");
    app.db.store.close().await;
    let e = app.get_readyz().await.error(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(e["code"], "not_ready");
    assert_eq!(app.get_healthz().await.status, StatusCode::OK);
}

async fn openapi_document_describes_every_route(app: TestApp) {
    let doc = app.get_openapi().await.ok(StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in crate::authorization::ROUTES.iter().map(|r| (r.method, r.template)) {
        let op = &paths.get(path).unwrap_or_else(|| panic!("{path} is not documented"))[method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not documented");
        for status in ["401", "403", "404", "422", "500"] {
            assert!(op["responses"][status].is_object(), "{method} {path} does not document {status}");
        }
    }
    for path in ["/healthz", "/readyz", "/api/v1/openapi.json"] {
        assert!(paths[path]["get"].is_object(), "{path}");
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, crate::authorization::ROUTES.len() + 3, "a documented route the matrix does not test");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["Voucher", "Batch", "BulkRequest", "ErrorBody", "GeneratedBatch", "DecimalInput"] {
        assert!(schemas.contains_key(name), "{name}");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

both_backends!(health_and_readiness, openapi_document_describes_every_route);
