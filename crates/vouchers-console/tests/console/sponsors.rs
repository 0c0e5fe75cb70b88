//! Sponsor allotments in the console: the organizer's create form, overview and page; the
//! sponsor's page through its link (the session, the forms, the contract's labels); and hostile
//! requests (unknown or revoked links, another allotment's attendee, forged forms, a huge paste,
//! a CRLF in an email, a closed allotment), each answered clearly and changing nothing.

use axum::http::{header, Method, StatusCode};
use chrono::Duration;
use vouchers_console::ConsoleSettings;
use vouchers_core::domain::{Applies, Voucher, VoucherType, When};
use vouchers_core::service::allotments::{self, AllotmentRequest};
use vouchers_core::service::query::list_vouchers;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{Limits, VoucherBulkConfig};

use crate::support::*;

/// The allotment's vouchers (its codes), as the organizer sees them.
async fn codes(c: &Console, batch_id: i64) -> Vec<Voucher> {
    let filter = VoucherFilter { batch_id: Some(batch_id), ..Default::default() };
    list_vouchers(&*c.db.store, CONF, &filter).await.unwrap()
}

/// An allotment made through the service; its link's path.
async fn allotment(c: &Console, seats: i64) -> (i64, i64, String) {
    let mut codes = VoucherBulkConfig::new(CONF, "SP-", seats, VoucherType::Comp, 0.into());
    codes.terms.applicable_ticket_types = Applies::these(vec!["individual".into()]);
    let request = AllotmentRequest {
        sponsor: "ACME Corp".into(),
        contact: "sponsors@acme.example".into(),
        seats,
        deadline: When::Instant(vouchers_core::now() + Duration::days(10)),
        reminder_days: None,
        subject: None,
        template: None,
        html_template: None,
        codes,
    };
    let created = allotments::create(&*c.db.store, &Limits::default(), &request).await.unwrap();
    (created.allotment.id, created.allotment.batch_id, created.secret.path())
}

/// A sponsor's browser, its session opened through `link`.
async fn sponsor_browser(c: &Console, link: &str) -> Console {
    let mut sponsor = c.another_browser();
    let opened = sponsor.get(link).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    assert_eq!(opened.redirect(), "/sponsor", "the secret leaves the address bar at once");
    let cookie = opened.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("vouchers_sponsor=") && cookie.contains("Path=/sponsor"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(opened.headers[header::REFERRER_POLICY], "no-referrer");
    sponsor
}

/// The organizer creates an allotment in the console and sees the link once; the sponsor opens
/// it, adds, pastes, changes and removes attendees; the overview draws the bar.
async fn the_sponsors_whole_flow(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let empty = c.get("/console/c/pycon/allotments").await;
    assert!(empty.ok(StatusCode::OK).contains("No allotments yet"));
    let form = c.get("/console/c/pycon/allotments/new").await;
    assert!(form.ok(StatusCode::OK).contains("Contact email"));
    let bad = c
        .submit(
            "/console/c/pycon/allotments/new",
            &[
                ("sponsor", "ACME"),
                ("contact", "nope"),
                ("seats", "3"),
                ("deadline", "2030-04-30T18:00"),
                ("voucher_type", "comp"),
            ],
        )
        .await;
    assert!(bad.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("contact"));
    let fields = [
        ("sponsor", "ACME Corp"),
        ("contact", "sponsors@acme.example"),
        ("seats", "3"),
        ("deadline", "2030-04-30T18:00"),
        ("reminder_days", "7,1"),
        ("prefix", "ACME-"),
        ("voucher_type", "comp"),
        ("max_uses", "1"),
        ("ticket_types_scope", "these"),
        ("applicable_ticket_types", "individual"),
    ];
    let created = c.submit("/console/c/pycon/allotments/new", &fields).await;
    let body = created.ok(StatusCode::OK).to_owned();
    assert!(body.contains("shown only this once"));
    let start = body.find("/sponsor/").unwrap();
    let link: String = body[start..].chars().take_while(|ch| *ch != '<' && *ch != '"').collect();
    assert!(body.contains("2030-04-30 18:00 America/New_York"), "the deadline in the conference's zone");
    let listed = allotments::list(&*c.db.store, CONF).await.unwrap();
    let (id, batch) = (listed[0].id, listed[0].batch_id);
    let again = c.get(&format!("/console/c/pycon/allotments/{id}")).await;
    assert!(!again.ok(StatusCode::OK).contains(&link), "the link is shown once");

    let mut sponsor = sponsor_browser(&c, &link).await;
    let page = sponsor.get("/sponsor").await;
    let text = page.ok(StatusCode::OK);
    assert_eq!(page.headers[header::REFERRER_POLICY], "no-referrer");
    assert!(page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'none'"));
    for contract in [
        "0 of 3 passes assigned",
        ">Name</label>",
        ">Email</label>",
        ">Add attendee</button>",
        ">Attendees (CSV: name,email)</label>",
        ">Add all</button>",
        "ACME Corp",
        "PyCon US 2027",
        "2030-04-30 18:00 (America/New_York)",
    ] {
        assert!(text.contains(contract), "{contract} in {text}");
    }
    let csrf = page.hidden("csrf");

    let added = sponsor
        .post("/sponsor/attendees", &[("csrf", &csrf), ("name", "Ana Lima"), ("email", "ana@example.org")])
        .await;
    assert_eq!(added.redirect(), "/sponsor?done=added&n=1");
    let text = sponsor.get("/sponsor?done=added&n=1").await.ok(StatusCode::OK).to_owned();
    assert!(text.contains("1 of 3 passes assigned") && text.contains("1 attendee added"), "{text}");
    assert!(text.contains(">Change</button>") && text.contains(">Remove</button>"));
    let pasted = sponsor
        .post(
            "/sponsor/attendees/paste",
            &[("csrf", &csrf), ("attendees", "name,email\nBo Chen,bo@example.org\nCy Diaz,cy@example.org\n")],
        )
        .await;
    assert_eq!(pasted.redirect(), "/sponsor?done=added&n=2");
    let text = sponsor.get("/sponsor").await.ok(StatusCode::OK).to_owned();
    assert!(text.contains("3 of 3 passes assigned"), "{text}");
    for v in codes(&c, batch).await {
        assert!(!text.contains(&v.code), "the sponsor never sees a code");
    }
    let full =
        sponsor.post("/sponsor/attendees", &[("csrf", &csrf), ("name", "Dee"), ("email", "dee@example.org")]).await;
    assert!(full.ok(StatusCode::CONFLICT).contains("nothing was added"));
    assert!(full.body.contains("dee@example.org"), "what was typed is kept");

    // Change Ana: the change form, then the old code stops and a new one is made.
    let ana =
        codes(&c, batch).await.into_iter().find(|v| v.recipient.as_ref().unwrap().email == "ana@example.org").unwrap();
    let form = sponsor.get(&format!("/sponsor/attendees/{}/change", ana.id)).await;
    assert!(form.ok(StatusCode::OK).contains("ana@example.org"));
    let changed = sponsor
        .post(
            &format!("/sponsor/attendees/{}/change", ana.id),
            &[("csrf", &csrf), ("name", "Ana Lima"), ("email", "ana.lima@example.org")],
        )
        .await;
    assert_eq!(changed.redirect(), "/sponsor?done=changed&n=1");
    let now = codes(&c, batch).await;
    assert!(!now.iter().find(|v| v.id == ana.id).unwrap().is_active);
    assert!(now.iter().any(|v| v.is_active && v.recipient.as_ref().is_some_and(|r| r.email == "ana.lima@example.org")));

    // Bo redeems: his row loses its buttons; remove Cy: the pass is free again.
    let bo = now.iter().find(|v| v.recipient.as_ref().is_some_and(|r| r.email == "bo@example.org")).unwrap();
    let order = vouchers_core::domain::OrderRef::parse("o-1").unwrap();
    let with = vouchers_core::service::checkout::UseOptions {
        cart_ref: None,
        customer: Some(vouchers_core::domain::Customer::parse("bo@example.org").unwrap()),
    };
    vouchers_core::service::checkout::redeem_voucher(
        &*c.db.store,
        CONF,
        &bo.code,
        &order,
        None,
        &with,
        vouchers_core::now(),
    )
    .await
    .unwrap();
    let text = sponsor.get("/sponsor").await.ok(StatusCode::OK).to_owned();
    assert!(text.contains("redeemed</span>") && !text.contains("aria-label=\"Change Bo Chen\""), "{text}");
    let cy = now.iter().find(|v| v.recipient.as_ref().is_some_and(|r| r.email == "cy@example.org")).unwrap();
    let removed = sponsor.post(&format!("/sponsor/attendees/{}/remove", cy.id), &[("csrf", &csrf)]).await;
    assert_eq!(removed.redirect(), "/sponsor?done=removed&n=1");
    assert!(sponsor.get("/sponsor").await.ok(StatusCode::OK).contains("2 of 3 passes assigned"));

    // The organizer's overview draws the bar; its page lists the attendees.
    let overview = c.get("/console/c/pycon/allotments").await.ok(StatusCode::OK).to_owned();
    assert!(
        overview.contains("<svg class=\"bar\"")
            && overview.contains("ACME Corp: 1 redeemed, 1 assigned not yet redeemed, 1 left"),
        "{overview}"
    );
    let sorted = c.get("/console/c/pycon/allotments?sort=deadline&dir=desc").await.ok(StatusCode::OK).to_owned();
    assert!(
        sorted.contains("aria-sort=\"descending\"><a class=\"sort\" href=\"/console/c/pycon/allotments?sort=deadline")
    );
    let one = c.get(&format!("/console/c/pycon/allotments/{id}")).await.ok(StatusCode::OK).to_owned();
    assert!(one.contains("ana.lima@example.org") && one.contains("2 of 3 assigned"));

    // Leave ends the session.
    sponsor.post("/sponsor/leave", &[("csrf", &csrf)]).await.ok(StatusCode::OK);
    assert_eq!(sponsor.get("/sponsor").await.status, StatusCode::UNAUTHORIZED);
}

/// Unknown and revoked links, another allotment's attendee, forged forms, a huge paste, a CRLF,
/// and a closed allotment: each gets a clear answer and changes nothing.
async fn hostile_sponsors_change_nothing(c: Console) {
    let (id, batch, link) = allotment(&c, 5).await;
    let (_, their_batch, their_link) = allotment(&c, 5).await;
    let mut stranger = c.another_browser();
    assert_eq!(stranger.get("/sponsor/not-a-secret").await.status, StatusCode::NOT_FOUND);
    assert_eq!(stranger.get("/sponsor").await.status, StatusCode::UNAUTHORIZED);

    let mut them = sponsor_browser(&c, &their_link).await;
    let their_csrf = them.get("/sponsor").await.hidden("csrf");
    them.post("/sponsor/attendees", &[("csrf", &their_csrf), ("name", "Zed"), ("email", "zed@example.org")])
        .await
        .redirect();
    let zed = codes(&c, their_batch).await.pop().unwrap();

    let mut sponsor = sponsor_browser(&c, &link).await;
    let csrf = sponsor.get("/sponsor").await.hidden("csrf");
    // Another allotment's attendee: not found, untouched.
    let r = sponsor.post(&format!("/sponsor/attendees/{}/remove", zed.id), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(sponsor.get(&format!("/sponsor/attendees/{}/change", zed.id)).await.status, StatusCode::NOT_FOUND);
    assert!(codes(&c, their_batch).await[0].is_active);
    // A forged token, and a form from another site.
    let r = sponsor.post("/sponsor/attendees", &[("csrf", "forged"), ("name", "X"), ("email", "x@example.org")]).await;
    assert!(r.ok(StatusCode::FORBIDDEN).contains("nothing was changed"));
    let cross = [("sec-fetch-site", "cross-site")];
    let r = sponsor
        .send_with(
            Method::POST,
            "/sponsor/attendees",
            Some(&[("csrf", &csrf), ("name", "X"), ("email", "x@example.org")]),
            &cross,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // 10,000 rows on 5 passes.
    let huge: String = (0..10_000).map(|i| format!("Guest {i},g{i}@example.org\n")).collect();
    let r = sponsor.post("/sponsor/attendees/paste", &[("csrf", &csrf), ("attendees", &huge)]).await;
    let body = r.ok(StatusCode::CONFLICT);
    assert!(body.contains("10000 attendee(s) to add but 5 pass(es) left of 5; nothing was added"), "{body}");
    // A CRLF in an email, in a field or in a pasted line.
    let r = sponsor
        .post(
            "/sponsor/attendees",
            &[("csrf", &csrf), ("name", "Eve"), ("email", "eve@example.org\r\nBcc: x@evil.example")],
        )
        .await;
    assert!(r.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("email"));
    let r = sponsor
        .post(
            "/sponsor/attendees/paste",
            &[("csrf", &csrf), ("attendees", "Eve,eve@example.org\r\nBcc: x@evil.example\r\n")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(codes(&c, batch).await.is_empty(), "nothing was minted");
    assert_eq!(allotments::show(&*c.db.store, CONF, id).await.unwrap().assigned, 0);

    // The deadline closes it: read-only, adds refused.
    sponsor
        .post("/sponsor/attendees", &[("csrf", &csrf), ("name", "Ana"), ("email", "ana@example.org")])
        .await
        .redirect();
    allotments::close_due(&*c.db.store, vouchers_core::now() + Duration::days(11)).await.unwrap();
    let text = sponsor.get("/sponsor").await.ok(StatusCode::OK).to_owned();
    assert!(text.contains("read-only") && text.contains("4 unassigned passes went back"), "{text}");
    assert!(!text.contains(">Add attendee</button>") && !text.contains(">Remove</button>"));
    let late =
        sponsor.post("/sponsor/attendees", &[("csrf", &csrf), ("name", "Bo"), ("email", "bo@example.org")]).await;
    assert!(late.ok(StatusCode::CONFLICT).contains("deadline has passed"));

    // A revoked link opens nothing, and its sessions end.
    allotments::revoke_link(&*c.db.store, CONF, id).await.unwrap();
    assert_eq!(sponsor.get("/sponsor").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(c.another_browser().get(&link).await.status, StatusCode::NOT_FOUND);
}

/// Unknown links count against the address like failed sign-ins: the third is refused unread.
async fn guessing_links_is_rate_limited(db: TestDb) {
    let settings = ConsoleSettings { sign_ins_per_minute: 2, ..ConsoleSettings::default() };
    let mut c = Console::with_settings(db, settings).await;
    assert_eq!(c.get("/sponsor/guess-1").await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.get("/sponsor/guess-2").await.status, StatusCode::NOT_FOUND);
    let refused = c.get("/sponsor/guess-3").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
}

/// The organizer's forms on an allotment's page: set the deadline (opening a closed allotment),
/// set the passes (never below those assigned), a new link shown once, revoke the link.
async fn the_organizers_forms_change_an_allotment(mut c: Console) {
    let (id, _, link) = allotment(&c, 4).await;
    let page = format!("/console/c/pycon/allotments/{id}");
    c.sign_in(MANAGER).await.redirect();
    let mut sponsor = sponsor_browser(&c, &link).await;
    let csrf = sponsor.get("/sponsor").await.hidden("csrf");
    sponsor
        .post("/sponsor/attendees", &[("csrf", &csrf), ("name", "Ana"), ("email", "ana@example.org")])
        .await
        .redirect();
    allotments::close_due(&*c.db.store, vouchers_core::now() + Duration::days(11)).await.unwrap();
    assert!(c.get(&page).await.ok(StatusCode::OK).contains("closed, 3 returned"));

    // The deadline: in the past refused beside the form; in the future opens it again.
    let past = c.submit(&format!("{page}/extend"), &[("deadline", "2001-01-01T00:00")]).await;
    assert!(past.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("Deadline must be in the future"));
    let set = c.submit(&format!("{page}/extend"), &[("deadline", "2030-06-01T12:00")]).await;
    assert_eq!(set.redirect(), page);
    let shown = allotments::show(&*c.db.store, CONF, id).await.unwrap();
    assert_eq!((shown.closed, shown.left), (false, 3));
    assert!(c.get(&page).await.ok(StatusCode::OK).contains("2030-06-01 12:00 America/New_York"));

    // The passes: below the assigned one refused; more accepted.
    let below = c.submit(&format!("{page}/resize"), &[("seats", "0")]).await;
    assert_eq!(below.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(c.submit(&format!("{page}/resize"), &[("seats", "6")]).await.redirect(), page);
    assert_eq!(allotments::show(&*c.db.store, CONF, id).await.unwrap().left, 5);

    // A new link, shown once: the old one stops; revoking stops the new one and the sessions.
    let renewed = c.submit(&format!("{page}/new-link"), &[]).await;
    let body = renewed.ok(StatusCode::OK).to_owned();
    assert!(body.contains("shown only this once") && body.contains("--public-url"), "{body}");
    let start = body.find("/sponsor/").unwrap();
    let new_link: String = body[start..].chars().take_while(|ch| *ch != '<' && *ch != '"').collect();
    assert_ne!(new_link, link);
    assert_eq!(c.another_browser().get(&link).await.status, StatusCode::NOT_FOUND);
    assert_eq!(sponsor.get("/sponsor").await.status, StatusCode::UNAUTHORIZED, "the old link's sessions end");
    let mut again = sponsor_browser(&c, &new_link).await;
    assert_eq!(c.submit(&format!("{page}/revoke-link"), &[]).await.redirect(), page);
    assert_eq!(again.get("/sponsor").await.status, StatusCode::UNAUTHORIZED);
    assert!(c.get(&page).await.ok(StatusCode::OK).contains("link revoked"));

    // Another conference's allotment is not found.
    assert_eq!(c.get("/console/c/pycon/allotments/999").await.status, StatusCode::NOT_FOUND);
}

vouchers_core::both_backends!(guessing_links_is_rate_limited);

mod flows {
    both_backends!(the_sponsors_whole_flow, hostile_sponsors_change_nothing, the_organizers_forms_change_an_allotment);
    use super::{hostile_sponsors_change_nothing, the_organizers_forms_change_an_allotment, the_sponsors_whole_flow};
}
