//! Sign-in against hostile callers: the address behind a load balancer, many addresses against
//! one account, a browser that signed in before, passwords with spaces, login CSRF.

use axum::http::{header, Method, StatusCode};
use vouchers_console::{ConsoleSettings, ConsoleState};
use vouchers_core::domain::{Email, Password, Role};
use vouchers_core::service::accounts;
use vouchers_core::store::testing::TestDb;
use vouchers_core::Limits;

use crate::support::*;

const WRONG: &str = "not the password";

async fn behind_a_balancer(db: TestDb) -> Console {
    Console::with_settings(db, ConsoleSettings { trust_forwarded_for: true, ..ConsoleSettings::default() }).await
}

/// One sign-in from `address` (as the load balancer appended it), with `cookie` if any.
async fn sign_in_from(c: &mut Console, address: &str, email: &str, password: &str, cookie: Option<&str>) -> Page {
    let mut headers = vec![("x-forwarded-for", address)];
    if let Some(cookie) = cookie {
        headers.push(("cookie", cookie));
    }
    let form = [("email", email), ("password", password)];
    c.send_with(Method::POST, "/console/login", Some(&form), &headers).await
}

/// The device cookie (`vouchers_device=...`) a successful sign-in set.
fn device_cookie(page: &Page) -> String {
    let set = page.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned());
    let device = set.into_iter().find(|v| v.starts_with("vouchers_device=")).expect("a device cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console/login", "Max-Age=2592000"] {
        assert!(device.contains(flag), "{device}");
    }
    device.split(';').next().unwrap().to_owned()
}

async fn the_sign_in_limit_counts_the_forwarded_address(db: TestDb) {
    let mut c = behind_a_balancer(db).await;
    // One client fails five times, with the account written two ways (one bucket).
    for email in [MANAGER, " Manager@Example.org", MANAGER, "MANAGER@example.org ", MANAGER] {
        sign_in_from(&mut c, "203.0.113.7", email, WRONG, None).await.ok(StatusCode::UNAUTHORIZED);
    }
    let refused = sign_in_from(&mut c, "203.0.113.7", ADMIN, PASSWORD, None).await;
    assert!(refused.ok(StatusCode::TOO_MANY_REQUESTS).contains("Too many sign-in attempts"));
    // Another client behind the same balancer signs in to that very account.
    assert_eq!(sign_in_from(&mut c, "198.51.100.9", MANAGER, PASSWORD, None).await.redirect(), "/console");
}

async fn an_ipv6_client_is_its_64_at_sign_in(db: TestDb) {
    let mut c = behind_a_balancer(db).await;
    for i in 0..5 {
        let address = format!("2001:db8:5:5::{:x}", i + 1);
        sign_in_from(&mut c, &address, MANAGER, WRONG, None).await.ok(StatusCode::UNAUTHORIZED);
    }
    sign_in_from(&mut c, "2001:db8:5:5:abcd::9", ADMIN, PASSWORD, None).await.ok(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sign_in_from(&mut c, "2001:db8:5:6::1", ADMIN, PASSWORD, None).await.redirect(), "/console");
}

async fn without_trust_every_client_is_the_peer(db: TestDb) {
    let mut c = Console::new(db).await;
    for _ in 0..5 {
        sign_in_from(&mut c, "203.0.113.7", MANAGER, WRONG, None).await.ok(StatusCode::UNAUTHORIZED);
    }
    // The header is not trusted: the second client is the same (unspecified) peer.
    sign_in_from(&mut c, "198.51.100.9", ADMIN, PASSWORD, None).await.ok(StatusCode::TOO_MANY_REQUESTS);
}

async fn strangers_never_lock_out_a_browser_that_signed_in_before(db: TestDb) {
    let mut c = behind_a_balancer(db).await;
    let first = sign_in_from(&mut c, "192.0.2.1", MANAGER, PASSWORD, None).await;
    assert_eq!(first.redirect(), "/console");
    let device = device_cookie(&first);

    // Strangers at 5 addresses fail 4 times each: 20 failures, none of them over its address's
    // limit, lock the account for browsers it does not know.
    for i in 0..5 {
        let address = format!("203.0.113.{}", 10 + i);
        for _ in 0..4 {
            sign_in_from(&mut c, &address, MANAGER, WRONG, None).await.ok(StatusCode::UNAUTHORIZED);
        }
    }
    let new_browser = sign_in_from(&mut c, "198.51.100.20", MANAGER, PASSWORD, None).await;
    new_browser.ok(StatusCode::TOO_MANY_REQUESTS);
    // The browser that signed in before gets in, from a new address too.
    let known = sign_in_from(&mut c, "198.51.100.21", MANAGER, PASSWORD, Some(&device)).await;
    assert_eq!(known.redirect(), "/console");

    // A device cookie of another account, or a forged one, is a browser the account does not know.
    let admin = sign_in_from(&mut c, "192.0.2.2", ADMIN, PASSWORD, None).await;
    let admin_device = device_cookie(&admin);
    let forged = format!("{}x", device);
    for cookie in [admin_device.as_str(), forged.as_str()] {
        sign_in_from(&mut c, "198.51.100.22", MANAGER, PASSWORD, Some(cookie)).await.ok(StatusCode::TOO_MANY_REQUESTS);
    }
    // A new password forgets every device of the account.
    let email = Email::parse("email", MANAGER).unwrap();
    accounts::set_password(&*c.db.store, &email, &Password::new(PASSWORD).unwrap()).await.unwrap();
    sign_in_from(&mut c, "198.51.100.23", MANAGER, PASSWORD, Some(&device)).await.ok(StatusCode::TOO_MANY_REQUESTS);
}

async fn a_password_is_never_trimmed(db: TestDb) {
    let mut c = Console::new(db).await;
    let spaced = "  spaces at both ends  ";
    let email = Email::parse("email", "spaced@example.org").unwrap();
    accounts::create_account(&*c.db.store, &email, Role::Admin, &Password::new(spaced).unwrap(), &[]).await.unwrap();
    let trimmed = c.post("/console/login", &[("email", "spaced@example.org"), ("password", spaced.trim())]).await;
    trimmed.ok(StatusCode::UNAUTHORIZED);
    let page = c.post("/console/login", &[("email", "spaced@example.org"), ("password", spaced)]).await;
    assert_eq!(page.redirect(), "/console");
}

async fn another_site_cannot_sign_a_browser_in(mut c: Console) {
    let form = [("email", ADMIN), ("password", PASSWORD)];
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://attacker.example"), ("host", "console.example.org")],
        vec![("origin", "null"), ("host", "console.example.org")],
    ] {
        let page = c.send_with(Method::POST, "/console/login", Some(&form), &headers).await;
        assert!(page.ok(StatusCode::FORBIDDEN).contains("nothing was changed"), "{headers:?}");
        assert!(page.headers.get(header::SET_COOKIE).is_none(), "{headers:?}: no session");
    }
    assert!(c.cookie.is_none());
    // The same form from the console's own page signs in.
    let own = [("sec-fetch-site", "same-origin")];
    assert_eq!(c.send_with(Method::POST, "/console/login", Some(&form), &own).await.redirect(), "/console");
    let mut other = c.another_browser();
    let own = [("origin", "https://console.example.org"), ("host", "console.example.org")];
    assert_eq!(other.send_with(Method::POST, "/console/login", Some(&form), &own).await.redirect(), "/console");
    // Every other form is refused from another site too, even with the right CSRF token.
    let csrf = c.csrf().await;
    let fields = [("csrf", csrf.as_str()), ("slug", "evil"), ("name", "Evil")];
    let cross = [("sec-fetch-site", "cross-site")];
    c.send_with(Method::POST, "/console/conferences", Some(&fields), &cross).await.ok(StatusCode::FORBIDDEN);
}

/// Another instance of the console (its own process state, the same database), behind the same
/// balancer.
fn another_instance(c: &Console) -> Console {
    let settings = ConsoleSettings { trust_forwarded_for: true, ..ConsoleSettings::default() };
    let state = ConsoleState::new(c.db.store.clone(), Limits::default(), settings);
    Console { db: std::sync::Arc::clone(&c.db), router: vouchers_console::router(state), cookie: None, flash: None }
}

/// Two instances behind one balancer allow the limit once, not once each: on PostgreSQL the
/// failures are counted in the database, per address and per account.
async fn instances_share_the_sign_in_limit(db: TestDb) {
    let mut a = behind_a_balancer(db).await;
    let mut b = another_instance(&a);
    // Five failures from one address, spread over both instances: each saw fewer than five.
    for i in 0..5 {
        let c = if i % 2 == 0 { &mut a } else { &mut b };
        sign_in_from(c, "203.0.113.7", MANAGER, WRONG, None).await.ok(StatusCode::UNAUTHORIZED);
    }
    for c in [&mut a, &mut b] {
        let refused = sign_in_from(c, "203.0.113.7", ADMIN, PASSWORD, None).await;
        assert!(refused.ok(StatusCode::TOO_MANY_REQUESTS).contains("Too many sign-in attempts"));
    }
    // Strangers at 5 more addresses fail 3 times each, over both instances: with the first 5,
    // 20 failures lock the account for new browsers at both.
    for i in 0..15 {
        let c = if i % 2 == 0 { &mut a } else { &mut b };
        let address = format!("198.51.100.{}", 10 + i / 3);
        sign_in_from(c, &address, MANAGER, WRONG, None).await.ok(StatusCode::UNAUTHORIZED);
    }
    for c in [&mut a, &mut b] {
        sign_in_from(c, "192.0.2.50", MANAGER, PASSWORD, None).await.ok(StatusCode::TOO_MANY_REQUESTS);
    }
    // Every other account, from another address, is unaffected.
    assert_eq!(sign_in_from(&mut b, "192.0.2.51", ADMIN, PASSWORD, None).await.redirect(), "/console");
}

mod shared {
    mod postgres {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn instances_share_the_sign_in_limit() {
            super::super::instances_share_the_sign_in_limit(vouchers_core::store::testing::TestDb::postgres().await)
                .await;
        }
    }
}

vouchers_core::both_backends!(
    the_sign_in_limit_counts_the_forwarded_address,
    without_trust_every_client_is_the_peer,
    an_ipv6_client_is_its_64_at_sign_in,
    strangers_never_lock_out_a_browser_that_signed_in_before,
    a_password_is_never_trimmed,
);

mod forgery {
    both_backends!(another_site_cannot_sign_a_browser_in);
    use super::another_site_cannot_sign_a_browser_in;
}
