//! Signing in and out, the session cookie, expiry, CSRF, security headers, roles.

use axum::http::{header, StatusCode};
use vouchers_console::ConsoleSettings;
use vouchers_core::domain::Email;
use vouchers_core::service::accounts;

use crate::support::*;

async fn sign_in_is_required_and_sets_a_safe_cookie(mut c: Console) {
    assert_eq!(c.get("/").await.redirect(), "/console");
    assert_eq!(c.get("/console").await.redirect(), "/console/login");
    assert_eq!(c.get("/console/c/pycon/vouchers").await.redirect(), "/console/login");
    let login = c.get("/console/login").await;
    let body = login.ok(StatusCode::OK);
    assert!(
        body.contains(r#"<label for="email">Email</label>"#)
            && body.contains(r#"<label for="password">Password</label>"#)
    );
    assert!(body.contains(">Sign in</button>"));

    // Every failure says the same; nothing is set.
    for (email, password) in [(ADMIN, "wrong password here"), ("nobody@example.org", PASSWORD)] {
        let page = c.post("/console/login", &[("email", email), ("password", password)]).await;
        assert!(page.ok(StatusCode::UNAUTHORIZED).contains("The email or the password is not right."));
        assert!(c.cookie.is_none());
    }
    let signed = c.sign_in(ADMIN).await;
    assert_eq!(signed.redirect(), "/console");
    let cookie = signed.headers[header::SET_COOKIE].to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "not behind HTTPS by default: {cookie}");
    let home = c.get("/console").await;
    let body = home.ok(StatusCode::OK);
    assert!(body.contains("PyCon US 2027") && body.contains("DjangoCon EU") && body.contains("Sign out"));
    assert!(body.contains(ADMIN));
    // Security headers on every page.
    let csp = home.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(home.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(home.headers.contains_key(header::REFERRER_POLICY));
    let css = c.get("/console/assets/console.css").await;
    assert!(css.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));

    // Signing in again rotates the session: the old secret stops working.
    let old = c.cookie.clone().unwrap();
    c.sign_in(ADMIN).await.redirect();
    assert_ne!(c.cookie.as_deref(), Some(old.as_str()), "a new session id at sign-in");
    let mut stale = c.another_browser();
    stale.cookie = Some(old);
    assert_eq!(stale.get("/console").await.redirect(), "/console/login");

    // Signing out ends the session (and a form without it says so).
    let out = c.submit("/console/logout", &[]).await;
    assert_eq!(out.redirect(), "/console/login");
    assert!(c.cookie.is_none());
    let page = c.post("/console/conferences", &[("csrf", "x"), ("slug", "x")]).await;
    assert!(page.ok(StatusCode::UNAUTHORIZED).contains("Your session has ended"));
}

async fn secure_cookies_behind_https(db: vouchers_core::store::testing::TestDb) {
    let settings = ConsoleSettings { secure_cookies: true, ..ConsoleSettings::default() };
    let mut c = Console::with_settings(db, settings).await;
    let signed = c.sign_in(ADMIN).await;
    assert!(signed.headers[header::SET_COOKIE].to_str().unwrap().contains("Secure"));
}

async fn forms_without_this_sessions_token_change_nothing(mut c: Console) {
    c.sign_in(ADMIN).await.redirect();
    let form = [("prefix", "X-"), ("count", "5"), ("voucher_type", "comp"), ("idempotency_key", "k-1")];
    let page = c.post("/console/c/pycon/generate", &form).await;
    assert!(page.ok(StatusCode::FORBIDDEN).contains("nothing was changed"));
    let mut forged = vec![("csrf", "forged-token")];
    forged.extend_from_slice(&form);
    c.post("/console/c/pycon/generate", &forged).await.ok(StatusCode::FORBIDDEN);
    c.post("/console/conferences", &[("csrf", ""), ("slug", "new"), ("name", "N")]).await.ok(StatusCode::FORBIDDEN);
    assert_eq!(c.batches().await, 0);
    // Another session's token is no good either.
    let mut other = c.another_browser();
    other.sign_in(MANAGER).await.redirect();
    let theirs = other.csrf().await;
    let mut cross = vec![("csrf", theirs.as_str())];
    cross.extend_from_slice(&form);
    c.post("/console/c/pycon/generate", &cross).await.ok(StatusCode::FORBIDDEN);
    assert_eq!(c.batches().await, 0);
}

async fn a_manage_account_sees_only_its_conferences(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let home = c.get("/console").await;
    let body = home.ok(StatusCode::OK);
    assert!(body.contains("PyCon US 2027") && !body.contains("DjangoCon EU"));
    assert!(!body.contains("New conference"), "only admins create conferences");
    for page in ["", "/catalog", "/vouchers", "/generate", "/tokens", "/try", "/batches/1", "/vouchers/X"] {
        c.get(&format!("/console/c/{OTHER}{page}")).await.ok(StatusCode::NOT_FOUND);
    }
    c.submit(&format!("/console/c/{OTHER}/ticket-types"), &[("slug", "x"), ("name", "X"), ("price", "1")])
        .await
        .ok(StatusCode::NOT_FOUND);
    assert!(vouchers_core::service::catalog::list_ticket_types(&*c.db.store, OTHER).await.unwrap().is_empty());
    c.submit(
        "/console/conferences",
        &[
            ("slug", "mine"),
            ("name", "Mine"),
            ("start_date", "2027-01-01"),
            ("end_date", "2027-01-02"),
            ("timezone", "UTC"),
        ],
    )
    .await
    .ok(StatusCode::FORBIDDEN);
    c.get("/console/c/pycon").await.ok(StatusCode::OK);
}

async fn disabling_an_account_ends_its_sessions_at_once(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    c.get("/console/c/pycon").await.ok(StatusCode::OK);
    accounts::disable_account(&*c.db.store, &Email::parse("email", MANAGER).unwrap()).await.unwrap();
    assert_eq!(c.get("/console/c/pycon").await.redirect(), "/console/login");
    let again = c.sign_in(MANAGER).await;
    assert!(again.ok(StatusCode::UNAUTHORIZED).contains("not right"));
}

async fn sign_in_failures_are_rate_limited(mut c: Console) {
    for _ in 0..5 {
        c.post("/console/login", &[("email", MANAGER), ("password", "not the password")])
            .await
            .ok(StatusCode::UNAUTHORIZED);
    }
    let refused = c.sign_in(MANAGER).await;
    assert!(refused.ok(StatusCode::TOO_MANY_REQUESTS).contains("Too many sign-in attempts"));
    assert!(c.cookie.is_none());
    // The address has used up its failures too: the same message for any account.
    c.sign_in(ADMIN).await.ok(StatusCode::TOO_MANY_REQUESTS);
}

async fn create_a_conference_as_admin(mut c: Console) {
    c.sign_in(ADMIN).await.redirect();
    let bad = c
        .submit(
            "/console/conferences",
            &[
                ("slug", "Bad Slug"),
                ("name", "EuroPython"),
                ("start_date", "2027-07-10"),
                ("end_date", "2027-07-16"),
                ("timezone", "Europe/Prague"),
            ],
        )
        .await;
    let body = bad.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Slug may contain only") && body.contains(r#"value="EuroPython""#), "values kept");
    let made = c
        .submit(
            "/console/conferences",
            &[
                ("slug", "europython"),
                ("name", "EuroPython"),
                ("start_date", "2027-07-10"),
                ("end_date", "2027-07-16"),
                ("timezone", "Europe/Prague"),
            ],
        )
        .await;
    assert_eq!(made.redirect(), "/console/c/europython");
    assert!(c.get("/console").await.body.contains("EuroPython"));
}

/// Every POST route of the console (the router's own list, complete by construction) refuses a
/// form with no CSRF token, a wrong one, and one sent from another site, and changes nothing.
async fn every_post_route_refuses_a_forged_form(mut c: Console) {
    c.sign_in(ADMIN).await.redirect();
    let csrf = c.csrf().await;
    let db = std::sync::Arc::clone(&c.db);
    let store = &*db.store;
    let conference = store.conference(CONF).await.unwrap().unwrap();
    let filter = vouchers_core::store::AuditFilter { limit: 1000, ..Default::default() };
    let paths = vouchers_console::post_paths();
    assert!(paths.len() >= 14, "every form's path is listed: {paths:?}");
    for form in [
        "/console/c/{conf}/settings",
        "/console/c/{conf}/catalog/ticket-types/{slug}",
        "/console/c/{conf}/catalog/addons/{slug}",
    ] {
        assert!(paths.contains(&form), "{form} is listed: {paths:?}");
    }
    // The sponsor's forms are tried with a sponsor session (its cookie beside the console's).
    let mut request = vouchers_core::service::allotments::AllotmentRequest {
        sponsor: "S".into(),
        contact: "s@example.org".into(),
        seats: 2,
        deadline: vouchers_core::domain::When::Instant(vouchers_core::now() + chrono::Duration::days(3)),
        reminder_days: None,
        subject: None,
        template: None,
        html_template: None,
        codes: vouchers_core::VoucherBulkConfig::new(CONF, "", 2, vouchers_core::domain::VoucherType::Comp, 0.into()),
    };
    request.codes.prefix = "FORGE-".into();
    let made =
        vouchers_core::service::allotments::create(store, &vouchers_core::Limits::default(), &request).await.unwrap();
    let guard = vouchers_core::service::sign_in::SignInGuard::new(store.backend(), 0);
    let address = std::net::IpAddr::from([192, 0, 2, 1]);
    let opened =
        vouchers_core::service::allotments::open_link(store, &guard, &made.secret, address, vouchers_core::now());
    let vouchers_core::service::sign_in::Guarded::Found((sponsor, _)) = opened.await.unwrap() else { panic!() };
    let sponsor_cookie = format!("vouchers_sponsor={}", sponsor.expose());
    // The set-password form is tried with a real link (of an account that has a password too).
    let email = vouchers_core::domain::Email::parse("email", MANAGER).unwrap();
    let link = vouchers_core::service::accounts::new_password_link(store, &email).await.unwrap();
    let audited = store.audit_log(conference.id, &filter).await.unwrap().len();
    let (batches, conferences) = (c.batches().await, store.conferences().await.unwrap());
    let accounts = store.accounts().await.unwrap();
    for path in &paths {
        let uri = path
            .replace("{conf}", CONF)
            .replace("{code}", "SOME-CODE")
            .replace("{id}", "1")
            .replace("{msg}", "1")
            .replace("{secret}", link.secret.expose());
        let uri = uri.replace("{slug}", if path.contains("/addons/") { "tshirt" } else { "student" });
        let fields = [("slug", "forged"), ("name", "Forged"), ("count", "5"), ("voucher_type", "comp")];
        let sponsor_page = path.starts_with("/sponsor");
        let cookie: &[(&str, &str)] = if sponsor_page { &[("cookie", sponsor_cookie.as_str())] } else { &[] };
        let cross_site = [&[("sec-fetch-site", "cross-site")], cookie].concat();
        let mut with_token = vec![("csrf", csrf.as_str())];
        with_token.extend_from_slice(&fields);
        let page = c.send_with(axum::http::Method::POST, &uri, Some(&with_token), &cross_site).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri} from another site: {}", page.body);
        if *path == "/console/login" {
            // The one form without a session: only the origin check guards it.
            continue;
        }
        if *path == "/console/set-password/{secret}" {
            // No session either: the link's secret is its credential. Without a password (or
            // with a wrong repeat) it sets nothing.
            let page = c.send_with(axum::http::Method::POST, &uri, Some(&fields), &[]).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {}", page.body);
            let differ = [("password", "a long enough password"), ("repeat", "another one entirely")];
            let page = c.send_with(axum::http::Method::POST, &uri, Some(&differ), &[]).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {}", page.body);
            continue;
        }
        let page = c.send_with(axum::http::Method::POST, &uri, Some(&fields), cookie).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri} without a token: {}", page.body);
        assert!(page.body.contains("nothing was changed"), "{uri}: {}", page.body);
        let mut forged = vec![("csrf", "forged-token")];
        forged.extend_from_slice(&fields);
        let page = c.send_with(axum::http::Method::POST, &uri, Some(&forged), cookie).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{uri} with a wrong token: {}", page.body);
    }
    assert_eq!(store.audit_log(conference.id, &filter).await.unwrap().len(), audited, "no forged form wrote anything");
    assert_eq!((c.batches().await, store.conferences().await.unwrap()), (batches, conferences));
    assert_eq!(store.accounts().await.unwrap(), accounts, "no account changed");
    let now = vouchers_core::now();
    assert!(vouchers_core::service::accounts::password_link(store, &link.secret, now).await.unwrap().is_some());
    assert_eq!(c.sign_in(MANAGER).await.redirect(), "/console", "the password is unchanged");
    c.get("/console").await.ok(StatusCode::OK);
}

both_backends!(
    every_post_route_refuses_a_forged_form,
    sign_in_is_required_and_sets_a_safe_cookie,
    forms_without_this_sessions_token_change_nothing,
    a_manage_account_sees_only_its_conferences,
    disabling_an_account_ends_its_sessions_at_once,
    sign_in_failures_are_rate_limited,
    create_a_conference_as_admin,
);

mod secure {
    vouchers_core::both_backends!(secure_cookies_behind_https);
    use super::secure_cookies_behind_https;
}
