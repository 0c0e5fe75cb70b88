//! Accounts and grants in the console (admin only), and the one-time set-password links.

use axum::http::{header, StatusCode};
use vouchers_core::domain::{Email, Role};
use vouchers_core::service::accounts;

use crate::support::*;

const ANA: &str = "ana@example.org";
const ANA_PW: &str = "my very own passphrase";

/// The id of the account `email`.
async fn id_of(c: &Console, email: &str) -> i64 {
    c.db.store.account_by_email(email).await.unwrap().unwrap().account.id
}

/// The link an answer page shows once, in its read-only input.
fn shown_link(page: &Page) -> String {
    let marker = r#"<input id="link" class="secret" type="text" readonly value=""#;
    let start = page.body.find(marker).unwrap_or_else(|| panic!("no link in {}", page.body)) + marker.len();
    page.body[start..].split('"').next().unwrap().to_owned()
}

/// Every `Set-Cookie` and `Location` of an answer, to check that no secret travels in them.
fn carried(page: &Page) -> String {
    let mut all: Vec<String> =
        page.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    all.extend(page.headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned()));
    all.join("\n")
}

/// An admin creates an account for ana with a link; ana sets her password through it (once),
/// signs in and sees only the conference she was granted.
async fn an_account_from_creation_to_sign_in(mut c: Console) {
    c.sign_in(ADMIN).await.redirect();
    let home = c.get("/console").await;
    assert!(home.body.contains(r#"<a href="/console/accounts">Accounts</a>"#), "in the navigation");
    let list = c.get("/console/accounts").await;
    let body = list.ok(StatusCode::OK);
    for label in [
        "<h1>Accounts</h1>",
        r#"<label for="email">Email</label>"#,
        "<legend>Role</legend>",
        r#"<label for="role-manage">Manage</label>"#,
        "<legend>Conferences</legend>",
        r#"<label for="conf-pycon">PyCon US 2027</label> <span class="hint">pycon</span>"#,
        r#"<th scope="col">Status</th>"#,
        ">Create account</button>",
    ] {
        assert!(body.contains(label), "{label} in {body}");
    }
    assert!(body.contains(ADMIN) && body.contains(MANAGER) && body.contains("active"));

    let created = c
        .submit("/console/accounts", &[("email", " Ana@Example.org "), ("role", "manage"), ("conference", CONF)])
        .await;
    let body = created.ok(StatusCode::OK);
    assert!(body.contains("Account ana@example.org created."), "{body}");
    assert!(body.contains(r#"<label for="link">Set-password link for ana@example.org</label>"#), "{body}");
    assert!(body.contains("shown only this once"));
    assert_eq!(created.headers[header::CACHE_CONTROL], "no-store");
    let link = shown_link(&created);
    assert!(link.starts_with("/console/set-password/") && link.len() > 60, "{link}");
    let secret = link.trim_start_matches("/console/set-password/").to_owned();
    assert!(!carried(&created).contains(&secret), "never in a cookie or a redirect");
    // Shown once: the account's page and the list never show it again.
    let id = id_of(&c, ANA).await;
    let page = c.get(&format!("/console/accounts/{id}")).await;
    assert!(!page.ok(StatusCode::OK).contains(&secret) && page.body.contains("waiting for a password"));
    assert!(!c.get("/console/accounts").await.body.contains(&secret));

    // Ana, in her own browser: no session needed.
    let mut ana = c.another_browser();
    let form = ana.get(&link).await;
    let body = form.ok(StatusCode::OK);
    for label in [
        r#"<label for="password">New password</label>"#,
        r#"<label for="repeat">Repeat it</label>"#,
        r#"autocomplete="new-password""#,
        ANA,
    ] {
        assert!(body.contains(label), "{label} in {body}");
    }
    assert_eq!(form.headers[header::REFERRER_POLICY], "no-referrer", "the address holds the secret");
    assert_eq!(form.headers[header::CACHE_CONTROL], "no-store");
    // Validation: the form again, 422, the field named; the link still works.
    let differ = ana.post(&link, &[("password", ANA_PW), ("repeat", "my very own passphrasE")]).await;
    assert!(differ.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("Repeat it must be the same as New password"));
    assert!(!differ.body.contains(ANA_PW), "a password is never shown back");
    let short = ana.post(&link, &[("password", "short"), ("repeat", "short")]).await;
    let body = short.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("New password must be at least 12 characters, got 5"), "{body}");
    assert!(body.contains(r#"aria-describedby="password-hint password-error""#));

    let set = ana.post(&link, &[("password", ANA_PW), ("repeat", ANA_PW)]).await;
    assert_eq!(set.redirect(), "/console/login");
    assert!(!carried(&set).contains(&secret));
    let login = ana.get("/console/login").await;
    assert!(login.ok(StatusCode::OK).contains("Password set; sign in"), "the flash: {}", login.body);
    // One-time: the link opens nothing now.
    ana.get(&link).await.ok(StatusCode::NOT_FOUND);
    ana.post(&link, &[("password", "another long password"), ("repeat", "another long password")])
        .await
        .ok(StatusCode::NOT_FOUND);

    let signed = ana.post("/console/login", &[("email", ANA), ("password", ANA_PW)]).await;
    assert_eq!(signed.redirect(), "/console");
    let home = ana.get("/console").await;
    let body = home.ok(StatusCode::OK);
    assert!(body.contains("PyCon US 2027") && !body.contains("DjangoCon EU"), "only its conference");
    assert!(!body.contains("/console/accounts"), "no Accounts link for a manage account");
    ana.get(&format!("/console/c/{CONF}")).await.ok(StatusCode::OK);
    ana.get(&format!("/console/c/{OTHER}")).await.ok(StatusCode::NOT_FOUND);
    let list = c.get("/console/accounts").await;
    assert!(!list.body.contains("waiting for a password"), "ana is active now");
}

/// A manage account gets the admin-only page everywhere here, and writes nothing.
async fn a_manage_account_is_refused(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let id = id_of(&c, MANAGER).await;
    for uri in [
        "/console/accounts".to_owned(),
        format!("/console/accounts/{id}"),
        format!("/console/accounts/{id}/revoke/{CONF}"),
        format!("/console/accounts/{id}/disable"),
    ] {
        let page = c.get(&uri).await;
        assert!(page.ok(StatusCode::FORBIDDEN).contains("Only an admin account may do this."), "{uri}");
    }
    let made = c.submit("/console/accounts", &[("email", ANA), ("role", "admin")]).await;
    made.ok(StatusCode::FORBIDDEN);
    c.submit(&format!("/console/accounts/{id}/grant"), &[("conference", OTHER)]).await.ok(StatusCode::FORBIDDEN);
    c.submit(&format!("/console/accounts/{id}/link"), &[]).await.ok(StatusCode::FORBIDDEN);
    c.submit(&format!("/console/accounts/{id}/revoke/{CONF}"), &[]).await.ok(StatusCode::FORBIDDEN);
    c.submit(&format!("/console/accounts/{id}/disable"), &[]).await.ok(StatusCode::FORBIDDEN);
    c.submit(&format!("/console/accounts/{id}/enable"), &[]).await.ok(StatusCode::FORBIDDEN);
    let all = accounts::list_accounts(&*c.db.store).await.unwrap();
    assert_eq!(all.len(), 2);
    let me = all.iter().find(|a| a.email == MANAGER).unwrap();
    assert_eq!((me.conferences.as_slice(), me.disabled_at), (&[CONF.to_owned()][..], None));
    assert_eq!(c.db.store.password_link("x".repeat(64).as_str()).await.unwrap(), None);
}

/// Every account form without this session's token is refused and writes nothing.
async fn forms_without_the_token_change_nothing(mut c: Console) {
    c.sign_in(ADMIN).await.redirect();
    let id = id_of(&c, MANAGER).await;
    let before = accounts::list_accounts(&*c.db.store).await.unwrap();
    for (uri, fields) in [
        ("/console/accounts".to_owned(), vec![("email", ANA), ("role", "manage")]),
        (format!("/console/accounts/{id}/grant"), vec![("conference", OTHER)]),
        (format!("/console/accounts/{id}/revoke/{CONF}"), vec![]),
        (format!("/console/accounts/{id}/link"), vec![]),
        (format!("/console/accounts/{id}/disable"), vec![]),
        (format!("/console/accounts/{id}/enable"), vec![]),
    ] {
        let page = c.post(&uri, &fields).await;
        assert!(page.ok(StatusCode::FORBIDDEN).contains("nothing was changed"), "{uri}");
    }
    assert_eq!(accounts::list_accounts(&*c.db.store).await.unwrap(), before);
    let mut manager = c.another_browser();
    assert_eq!(manager.sign_in(MANAGER).await.redirect(), "/console", "the password still works");
}

/// Revoking and disabling go through a confirmation page; unknown accounts and conferences are
/// the 404; an admin cannot disable itself.
async fn confirmation_pages(mut c: Console) {
    c.sign_in(ADMIN).await.redirect();
    let id = id_of(&c, MANAGER).await;
    let page = c.get(&format!("/console/accounts/{id}")).await;
    let body = page.ok(StatusCode::OK);
    for part in [
        "<h1>manager@example.org</h1>",
        &format!(r#"href="/console/accounts/{id}/revoke/{CONF}" aria-label="Revoke access to PyCon US 2027""#),
        r#"<label for="grant-conference">Conference</label>"#,
        r#"<option value="djangocon">DjangoCon EU (djangocon)</option>"#,
        ">New set-password link</button>",
        &format!(r#"<a class="button danger" href="/console/accounts/{id}/disable">Disable account</a>"#),
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    assert!(!body.contains(r#"<option value="pycon""#), "only the conferences not yet granted");

    let confirm = c.get(&format!("/console/accounts/{id}/revoke/{CONF}")).await;
    let body = confirm.ok(StatusCode::OK);
    assert!(body.contains("<h1>Revoke access to PyCon US 2027?</h1>"), "{body}");
    assert!(body.contains(r#"<button type="submit" class="danger">Revoke access</button>"#));
    assert!(body.contains(&format!(r#"<form method="post" action="/console/accounts/{id}/revoke/{CONF}">"#)));
    let confirm = c.get(&format!("/console/accounts/{id}/disable")).await;
    let body = confirm.ok(StatusCode::OK);
    assert!(body.contains("<h1>Disable manager@example.org?</h1>"));
    assert!(body.contains(r#"<button type="submit" class="danger">Disable account</button>"#));
    // Looking changes nothing.
    let manager = c.db.store.account(id).await.unwrap().unwrap();
    assert_eq!((manager.conferences.as_slice(), manager.disabled_at), (&[CONF.to_owned()][..], None));

    for uri in [
        format!("/console/accounts/{id}/revoke/{OTHER}"),
        format!("/console/accounts/{id}/revoke/nope"),
        "/console/accounts/9999".to_owned(),
        "/console/accounts/abc".to_owned(),
        "/console/accounts/9999/disable".to_owned(),
    ] {
        c.get(&uri).await.ok(StatusCode::NOT_FOUND);
    }
    c.submit("/console/accounts/9999/disable", &[]).await.ok(StatusCode::NOT_FOUND);
    c.submit(&format!("/console/accounts/{id}/revoke/nope"), &[]).await.ok(StatusCode::NOT_FOUND);

    // Its own page offers no Disable; a forged post is refused by the rule.
    let me = id_of(&c, ADMIN).await;
    let own = c.get(&format!("/console/accounts/{me}")).await;
    assert!(!own.ok(StatusCode::OK).contains("Disable account"));
    let refused = c.submit(&format!("/console/accounts/{me}/disable"), &[]).await;
    assert!(refused
        .ok(StatusCode::UNPROCESSABLE_ENTITY)
        .contains("you cannot disable the account you are signed in with"));
    c.get("/console/accounts").await.ok(StatusCode::OK);
}

/// Revoking takes the conference away from the manager's open session at once; twice is
/// harmless; granting gives it back; each says what happened.
async fn revoke_and_grant_take_effect_at_once(mut c: Console) {
    c.sign_in(ADMIN).await.redirect();
    let id = id_of(&c, MANAGER).await;
    let mut manager = c.another_browser();
    manager.sign_in(MANAGER).await.redirect();
    manager.get(&format!("/console/c/{CONF}")).await.ok(StatusCode::OK);

    let revoked = c.submit(&format!("/console/accounts/{id}/revoke/{CONF}"), &[]).await;
    assert_eq!(revoked.redirect(), format!("/console/accounts/{id}"));
    let page = c.get(&format!("/console/accounts/{id}")).await;
    assert!(page.ok(StatusCode::OK).contains("Access to PyCon US 2027 revoked"), "the flash");
    assert!(page.body.contains("It sees no conference yet."));
    manager.get(&format!("/console/c/{CONF}")).await.ok(StatusCode::NOT_FOUND);

    let twice = c.submit(&format!("/console/accounts/{id}/revoke/{CONF}"), &[]).await;
    twice.redirect();
    let page = c.get(&format!("/console/accounts/{id}")).await;
    assert!(page.body.contains("manager@example.org had no access to PyCon US 2027; nothing changed"));

    let granted = c.submit(&format!("/console/accounts/{id}/grant"), &[("conference", OTHER)]).await;
    granted.redirect();
    let page = c.get(&format!("/console/accounts/{id}")).await;
    assert!(page.body.contains("manager@example.org may now manage DjangoCon EU"), "{}", page.body);
    manager.get(&format!("/console/c/{OTHER}")).await.ok(StatusCode::OK);
    let bad = c.submit(&format!("/console/accounts/{id}/grant"), &[("conference", "nope")]).await;
    let body = bad.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("Conference: conference ") && body.contains("nope") && body.contains("does not exist"),
        "{body}"
    );
}

/// The New account form's messages name the field; refused input writes nothing and keeps the
/// values.
async fn new_account_validation(mut c: Console) {
    c.sign_in(ADMIN).await.redirect();
    let bad =
        c.submit("/console/accounts", &[("email", "not-an-email"), ("role", "manage"), ("conference", CONF)]).await;
    let body = bad.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Email must be an email address like name@example.org"), "{body}");
    assert!(body.contains(r#"value="not-an-email""#) && body.contains(r#"value="pycon" checked"#), "values kept");
    assert!(body.contains(r#"aria-invalid="true" aria-describedby="email-error""#));
    let dup = c.submit("/console/accounts", &[("email", "MANAGER@example.org"), ("role", "manage")]).await;
    assert!(dup.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("Email manager@example.org already has an account"));
    let admin = c.submit("/console/accounts", &[("email", ANA), ("role", "admin"), ("conference", CONF)]).await;
    let body = admin.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Conferences: an admin account sees every conference"), "{body}");
    let role = c.submit("/console/accounts", &[("email", ANA), ("role", "root")]).await;
    assert!(role.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("Role must be admin or manage"));
    let nope = c.submit("/console/accounts", &[("email", ANA), ("role", "manage"), ("conference", "nope")]).await;
    nope.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(accounts::list_accounts(&*c.db.store).await.unwrap().len(), 2, "nothing written");
    // An admin account with no conference is fine.
    let made = c.submit("/console/accounts", &[("email", ANA), ("role", "admin")]).await;
    assert!(made.ok(StatusCode::OK).contains("Account ana@example.org created."));
    let ana = c.db.store.account_by_email(ANA).await.unwrap().unwrap().account;
    assert_eq!((ana.role, ana.has_password), (Role::Admin, false));
}

/// A new link for a forgotten password replaces the earlier one and ends the sessions once
/// used; disabling ends the sessions and the link, and a disabled account gets none.
async fn new_links_and_disabling(mut c: Console) {
    c.sign_in(ADMIN).await.redirect();
    let id = id_of(&c, MANAGER).await;
    let first = c.submit(&format!("/console/accounts/{id}/link"), &[]).await;
    assert!(first.ok(StatusCode::OK).contains("New set-password link for manager@example.org"));
    assert_eq!(first.headers[header::CACHE_CONTROL], "no-store");
    let first = shown_link(&first);
    let second = shown_link(&c.submit(&format!("/console/accounts/{id}/link"), &[]).await);
    let mut manager = c.another_browser();
    manager.sign_in(MANAGER).await.redirect();
    manager.get(&first).await.ok(StatusCode::NOT_FOUND);
    let mut owner = c.another_browser();
    owner.get(&second).await.ok(StatusCode::OK);
    let pw = "a new password for me";
    assert_eq!(owner.post(&second, &[("password", pw), ("repeat", pw)]).await.redirect(), "/console/login");
    assert_eq!(manager.get("/console").await.redirect(), "/console/login", "its sessions ended");
    assert_eq!(owner.post("/console/login", &[("email", MANAGER), ("password", pw)]).await.redirect(), "/console");

    let third = shown_link(&c.submit(&format!("/console/accounts/{id}/link"), &[]).await);
    let disabled = c.submit(&format!("/console/accounts/{id}/disable"), &[]).await;
    assert_eq!(disabled.redirect(), format!("/console/accounts/{id}"));
    let page = c.get(&format!("/console/accounts/{id}")).await;
    let body = page.ok(StatusCode::OK);
    assert!(body.contains("Account manager@example.org disabled; its sessions ended"));
    assert!(body.contains(r#"<span class="badge status-disabled">disabled</span>"#));
    assert!(!body.contains("New set-password link") && !body.contains("Disable account"));
    assert_eq!(owner.get("/console").await.redirect(), "/console/login");
    owner.get(&third).await.ok(StatusCode::NOT_FOUND);
    let refused = c.submit(&format!("/console/accounts/{id}/link"), &[]).await;
    assert!(refused.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("is disabled"));
    let email = Email::parse("email", MANAGER).unwrap();
    assert!(accounts::new_password_link(&*c.db.store, &email).await.is_err());

    // Enabled again: it signs in with the password it had; twice changes nothing more.
    assert!(body.contains(">Enable account</button>"), "{body}");
    let enabled = c.submit(&format!("/console/accounts/{id}/enable"), &[]).await;
    assert_eq!(enabled.redirect(), format!("/console/accounts/{id}"));
    let page = c.get(&format!("/console/accounts/{id}")).await;
    let body = page.ok(StatusCode::OK);
    assert!(body.contains("Account manager@example.org enabled; it can sign in again"), "{body}");
    assert!(body.contains("Disable account") && !body.contains(">Enable account</button>"));
    assert_eq!(owner.post("/console/login", &[("email", MANAGER), ("password", pw)]).await.redirect(), "/console");
    c.submit(&format!("/console/accounts/{id}/enable"), &[]).await.redirect();
    assert_eq!(c.db.store.account(id).await.unwrap().unwrap().disabled_at, None);
}

/// Links that open nothing count against the address's sign-in limit: 404 until it is used up,
/// then 429 with Retry-After, a good link included.
async fn unknown_links_count_against_the_sign_in_limit(mut c: Console) {
    let email = Email::parse("email", ANA).unwrap();
    let made = accounts::create_account_with_link(&*c.db.store, &email, Role::Manage, &[]).await.unwrap();
    let good = made.secret.path();
    assert_eq!(c.get(&good).await.status, StatusCode::OK, "a good link counts no failure");
    for i in 0..5 {
        let page = c.get(&format!("/console/set-password/not-a-link-{i}")).await;
        assert!(page.ok(StatusCode::NOT_FOUND).contains("There is no such page"));
        assert_eq!(page.headers[header::REFERRER_POLICY], "no-referrer");
    }
    let refused = c.get(&good).await;
    assert!(refused.ok(StatusCode::TOO_MANY_REQUESTS).contains("Too many attempts"));
    assert!(refused.headers[header::RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    c.post(&good, &[("password", ANA_PW), ("repeat", ANA_PW)]).await.ok(StatusCode::TOO_MANY_REQUESTS);
    // And the sign-in form of the same address too.
    c.post("/console/login", &[("email", ADMIN), ("password", PASSWORD)]).await.ok(StatusCode::TOO_MANY_REQUESTS);
    assert!(accounts::password_link(&*c.db.store, &made.secret, vouchers_core::now()).await.unwrap().is_some());
}

both_backends!(
    an_account_from_creation_to_sign_in,
    a_manage_account_is_refused,
    forms_without_the_token_change_nothing,
    confirmation_pages,
    revoke_and_grant_take_effect_at_once,
    new_account_validation,
    new_links_and_disabling,
    unknown_links_count_against_the_sign_in_limit,
);
