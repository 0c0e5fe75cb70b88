//! `Console`: the console's router on a fresh database with two conferences, an admin account
//! and a manage account of `pycon`; requests go through the router in process, with the session
//! cookie carried like a browser carries it.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use vouchers_console::{router, ConsoleSettings, ConsoleState};
use vouchers_core::domain::{Email, NewAddOn, NewConference, NewTicketType, Password, Role};
use vouchers_core::service::{accounts, catalog};
use vouchers_core::store::testing::TestDb;
use vouchers_core::Limits;

pub const CONF: &str = "pycon";
pub const OTHER: &str = "djangocon";
pub const ADMIN: &str = "admin@example.org";
pub const MANAGER: &str = "manager@example.org";
pub const PASSWORD: &str = "correct horse battery";

/// A response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Asserts the status; returns the body.
    #[track_caller]
    pub fn ok(&self, status: StatusCode) -> &str {
        assert_eq!(self.status, status, "body: {}", self.body);
        &self.body
    }

    /// Asserts a redirect; returns where to.
    #[track_caller]
    pub fn redirect(&self) -> &str {
        assert!(self.status.is_redirection(), "{}: {}", self.status, self.body);
        self.headers[header::LOCATION].to_str().unwrap()
    }

    /// The value of the hidden input `name` (the CSRF token, the idempotency key).
    #[track_caller]
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start =
            self.body.find(&marker).unwrap_or_else(|| panic!("no hidden {name} in {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }
}

/// The console on a fresh database, and one browser's cookie.
pub struct Console {
    pub db: Arc<TestDb>,
    pub router: Router,
    /// The session (or sponsor) cookie, `name=value`.
    pub cookie: Option<String>,
    /// The flash cookie, kept apart like a browser keeps each cookie.
    pub flash: Option<String>,
}

impl Console {
    /// `pycon` (ticket types `individual` and hidden `student`, add-on `tshirt`), `djangocon`,
    /// an admin account and a manage account of `pycon`.
    pub async fn new(db: TestDb) -> Self {
        Self::with_settings(db, ConsoleSettings::default()).await
    }

    pub async fn with_settings(db: TestDb, settings: ConsoleSettings) -> Self {
        let store = &*db.store;
        for (slug, name) in [(CONF, "PyCon US 2027"), (OTHER, "DjangoCon EU")] {
            let new = NewConference::parse(slug, name, "2027-05-14", "2027-05-22", "America/New_York").unwrap();
            catalog::create_conference(store, &new).await.unwrap();
        }
        for (slug, price, hidden) in [("individual", "400.00", false), ("student", "100", true)] {
            catalog::create_ticket_type(store, CONF, &NewTicketType::parse(slug, slug, price, hidden).unwrap())
                .await
                .unwrap();
        }
        catalog::create_addon(store, CONF, &NewAddOn::parse("tshirt", "T-shirt", "25").unwrap()).await.unwrap();
        let password = Password::new(PASSWORD).unwrap();
        accounts::create_account(store, &Email::parse("email", ADMIN).unwrap(), Role::Admin, &password, &[])
            .await
            .unwrap();
        accounts::create_account(
            store,
            &Email::parse("email", MANAGER).unwrap(),
            Role::Manage,
            &password,
            &[CONF.into()],
        )
        .await
        .unwrap();
        let router = router(ConsoleState::new(db.store.clone(), Limits::default(), settings));
        Self { db: Arc::new(db), router, cookie: None, flash: None }
    }

    /// Another browser on the same console, signed in as nobody yet.
    pub fn another_browser(&self) -> Console {
        Console { db: Arc::clone(&self.db), router: self.router.clone(), cookie: None, flash: None }
    }

    /// One request, with this browser's cookie; a `Set-Cookie` answer is kept like a browser
    /// keeps it.
    pub async fn send(&mut self, method: Method, uri: &str, form: Option<&[(&str, &str)]>) -> Page {
        self.send_with(method, uri, form, &[]).await
    }

    /// [`Console::send`] with more request headers (`Origin`, `X-Forwarded-For`, a cookie).
    pub async fn send_with(
        &mut self,
        method: Method,
        uri: &str,
        form: Option<&[(&str, &str)]>,
        extra: &[(&str, &str)],
    ) -> Page {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let jar: Vec<&str> = self.cookie.iter().chain(&self.flash).map(String::as_str).collect();
        if !jar.is_empty() {
            request = request.header(header::COOKIE, jar.join("; "));
        }
        let body = match form {
            Some(fields) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
                Body::from(encoded)
            }
            None => Body::empty(),
        };
        let response = self.router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        // The flash cookie apart; of the others, the first (the session's; the device cookie
        // that may follow is sent only to the sign-in form).
        let mut session_set = false;
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap().to_owned();
            let kept = if set.contains("Max-Age=0") { None } else { Some(pair) };
            if set.starts_with("vouchers_flash=") {
                self.flash = kept;
            } else if !session_set {
                self.cookie = kept;
                session_set = true;
            }
        }
        let body = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        Page { status, headers, body }
    }

    pub async fn get(&mut self, uri: &str) -> Page {
        self.send(Method::GET, uri, None).await
    }

    pub async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, uri, Some(form)).await
    }

    /// Signs in as `email`; returns the sign-in answer.
    pub async fn sign_in(&mut self, email: &str) -> Page {
        self.post("/console/login", &[("email", email), ("password", PASSWORD)]).await
    }

    /// The CSRF token of this session (read from a page's form).
    pub async fn csrf(&mut self) -> String {
        self.get("/console").await.hidden("csrf")
    }

    /// Posts a form with this session's CSRF token added.
    pub async fn submit(&mut self, uri: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut fields: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(uri, &fields).await
    }

    /// How many batches the conference has.
    pub async fn batches(&self) -> usize {
        vouchers_core::service::query::list_batches(&*self.db.store, CONF, 0, 1000).await.unwrap().len()
    }
}
