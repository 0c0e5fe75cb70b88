//! `TestApp`: the router on a fresh database with two conferences and a token of each kind, and
//! one helper per route, named after it.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use vouchers_core::domain::{NewAddOn, NewConference, NewTicketType, Scope};
use vouchers_core::service::{catalog, tokens};
use vouchers_core::store::testing::TestDb;
use vouchers_core::Limits;
use vouchers_http::{router, AppState};

/// The main conference.
pub const CONF: &str = "pycon";
/// The other conference.
pub const OTHER: &str = "djangocon";

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON (panics with the body text if it is not).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    #[track_caller]
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    /// Asserts the status and the error shape; returns `error`.
    #[track_caller]
    pub fn error(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", String::from_utf8_lossy(&self.body));
        let body = self.json();
        let error = body["error"].clone();
        assert!(error["code"].is_string() && error["message"].is_string(), "{body}");
        assert!(error.get("field").is_some(), "field is always present: {body}");
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
        error
    }

    /// Asserts the status; returns the JSON body.
    #[track_caller]
    pub fn ok(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", String::from_utf8_lossy(&self.body));
        self.json()
    }
}

/// The API on a fresh database.
pub struct TestApp {
    pub db: TestDb,
    pub router: Router,
    /// Every conference.
    pub admin: String,
    /// Manages `pycon`.
    pub manage: String,
    /// Checks out at `pycon`.
    pub checkout: String,
    /// Manages `djangocon`.
    pub other_manage: String,
}

async fn token(db: &TestDb, scope: Scope, conference: Option<&str>) -> String {
    tokens::create_token(&*db.store, scope, conference, Some("test")).await.unwrap().secret.expose().to_owned()
}

impl TestApp {
    /// Two conferences (`pycon` with ticket types `individual`, `student` and add-on `tshirt`;
    /// `djangocon` with ticket type `sprint`) and a token of each kind.
    pub async fn new(db: TestDb) -> Self {
        let store = &*db.store;
        for (slug, name, tz) in [(CONF, "PyCon US", "America/New_York"), (OTHER, "DjangoCon", "Europe/Berlin")] {
            let new = NewConference::parse(slug, name, "2027-05-14", "2027-05-22", tz).unwrap();
            catalog::create_conference(store, &new).await.unwrap();
        }
        for (slug, price, hidden) in [("individual", "400.00", false), ("student", "100", true)] {
            let tt = NewTicketType::parse(slug, slug, price, hidden).unwrap();
            catalog::create_ticket_type(store, CONF, &tt).await.unwrap();
        }
        catalog::create_addon(store, CONF, &NewAddOn::parse("tshirt", "T-shirt", "25").unwrap()).await.unwrap();
        catalog::create_ticket_type(store, OTHER, &NewTicketType::parse("sprint", "Sprint", "0", false).unwrap())
            .await
            .unwrap();
        let admin = token(&db, Scope::Admin, None).await;
        let manage = token(&db, Scope::Manage, Some(CONF)).await;
        let checkout = token(&db, Scope::Checkout, Some(CONF)).await;
        let other_manage = token(&db, Scope::Manage, Some(OTHER)).await;
        let router = router(AppState::new(db.store.clone(), Limits::default()));
        Self { db, router, admin, manage, checkout, other_manage }
    }

    /// The same app with other HTTP settings.
    pub fn with_settings(mut self, settings: vouchers_http::Settings) -> Self {
        self.router = router(AppState::with_settings(self.db.store.clone(), Limits::default(), settings));
        self
    }

    /// Sends one request through the router in process.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Body>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let has_body = body.is_some();
        if has_body && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request.body(body.unwrap_or_else(Body::empty)).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        TestResponse { status, headers, body }
    }

    async fn get(&self, uri: &str, token: &str) -> TestResponse {
        self.send(Method::GET, uri, Some(token), None, &[]).await
    }

    pub async fn post(&self, uri: &str, token: &str, body: &Value) -> TestResponse {
        self.send(Method::POST, uri, Some(token), Some(Body::from(body.to_string())), &[]).await
    }

    // One helper per route.

    pub async fn get_healthz(&self) -> TestResponse {
        self.send(Method::GET, "/healthz", None, None, &[]).await
    }

    pub async fn get_readyz(&self) -> TestResponse {
        self.send(Method::GET, "/readyz", None, None, &[]).await
    }

    pub async fn get_openapi(&self) -> TestResponse {
        self.send(Method::GET, "/api/v1/openapi.json", None, None, &[]).await
    }

    pub async fn post_conferences(&self, token: &str, body: &Value) -> TestResponse {
        self.post("/api/v1/conferences", token, body).await
    }

    pub async fn get_conference(&self, token: &str, conf: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}"), token).await
    }

    pub async fn post_ticket_types(&self, token: &str, conf: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/ticket-types"), token, body).await
    }

    pub async fn get_ticket_types(&self, token: &str, conf: &str, query: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}/ticket-types?{query}"), token).await
    }

    pub async fn post_addons(&self, token: &str, conf: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/addons"), token, body).await
    }

    pub async fn get_addons(&self, token: &str, conf: &str, query: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}/addons?{query}"), token).await
    }

    pub async fn post_vouchers(&self, token: &str, conf: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/vouchers"), token, body).await
    }

    pub async fn get_vouchers(&self, token: &str, conf: &str, query: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}/vouchers?{query}"), token).await
    }

    pub async fn post_vouchers_bulk(&self, token: &str, conf: &str, body: &Value, key: Option<&str>) -> TestResponse {
        let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
        let uri = format!("/api/v1/conferences/{conf}/vouchers/bulk");
        self.send(Method::POST, &uri, Some(token), Some(Body::from(body.to_string())), &headers).await
    }

    pub async fn get_voucher(&self, token: &str, conf: &str, code: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}/vouchers/{code}"), token).await
    }

    pub async fn patch_voucher(&self, token: &str, conf: &str, code: &str, body: &Value) -> TestResponse {
        let uri = format!("/api/v1/conferences/{conf}/vouchers/{code}");
        self.send(Method::PATCH, &uri, Some(token), Some(Body::from(body.to_string())), &[]).await
    }

    pub async fn get_vouchers_export(&self, token: &str, conf: &str, query: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}/vouchers/export?{query}"), token).await
    }

    pub async fn get_batches(&self, token: &str, conf: &str, query: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}/batches?{query}"), token).await
    }

    pub async fn get_batch(&self, token: &str, conf: &str, id: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}/batches/{id}"), token).await
    }

    pub async fn post_batch_deactivate(&self, token: &str, conf: &str, id: &str) -> TestResponse {
        self.send(Method::POST, &format!("/api/v1/conferences/{conf}/batches/{id}/deactivate"), Some(token), None, &[])
            .await
    }

    pub async fn post_vouchers_check(&self, token: &str, conf: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/vouchers/check"), token, body).await
    }

    pub async fn post_vouchers_redeem(&self, token: &str, conf: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/vouchers/redeem"), token, body).await
    }

    pub async fn post_vouchers_release(&self, token: &str, conf: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/vouchers/release"), token, body).await
    }

    pub async fn get_usage(&self, token: &str, conf: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}/usage"), token).await
    }

    pub async fn post_batch_assign(&self, token: &str, conf: &str, id: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/batches/{id}/assign"), token, body).await
    }

    pub async fn post_batch_send(&self, token: &str, conf: &str, id: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/batches/{id}/send"), token, body).await
    }

    pub async fn post_batch_send_preview(&self, token: &str, conf: &str, id: &str, body: &Value) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/batches/{id}/send/preview"), token, body).await
    }

    pub async fn get_outbox(&self, token: &str, conf: &str, query: &str) -> TestResponse {
        self.get(&format!("/api/v1/conferences/{conf}/outbox{query}"), token).await
    }

    pub async fn post_outbox_retry(&self, token: &str, conf: &str, id: &str) -> TestResponse {
        self.post(&format!("/api/v1/conferences/{conf}/outbox/{id}/retry"), token, &json!({})).await
    }

    pub async fn post_vouchers_import(&self, token: &str, conf: &str, csv: &str) -> TestResponse {
        let uri = format!("/api/v1/conferences/{conf}/vouchers/import");
        self.send(Method::POST, &uri, Some(token), Some(Body::from(csv.to_owned())), &[("content-type", "text/csv")])
            .await
    }

    /// Generates `count` 25 % vouchers with `prefix` in `pycon` as admin; returns the body.
    pub async fn generate(&self, prefix: &str, count: i64) -> Value {
        let body = json!({"prefix": prefix, "count": count, "voucher_type": "percentage", "discount_value": "25"});
        self.post_vouchers_bulk(&self.admin, CONF, &body, None).await.ok(StatusCode::CREATED)
    }
}

/// A conference body with this slug.
pub fn conference_body(slug: &str) -> Value {
    json!({"slug": slug, "name": "EuroPython", "start_date": "2027-07-10", "end_date": "2027-07-16", "timezone": "Europe/Prague"})
}
