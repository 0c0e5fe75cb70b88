//! Sponsor allotments in headless Chromium, both sides: the organizer creates an allotment in
//! the console and reads its link (shown once); the sponsor, in a browser of its own, opens the
//! link, names attendees one at a time and pasted as CSV, changes one, removes one; a code is
//! redeemed with the CLI and both the sponsor's page and the organizer's bar show it; the
//! sponsor's page at phone width. Screenshots go to `target/browser-screenshots/sponsor/`.
//!
//! What the pages must offer, besides what `console` relies on: the nav link `Sponsors`; the
//! allotment's page with the link in a `<code class="secret">` inside a notice that says it is
//! shown only this once; the overview's `<svg role="img">` bar per sponsor, its `aria-label`
//! counting redeemed, assigned and left passes; the sponsor's page saying `N of M passes
//! assigned`, a table row per attendee with its status and `Change`/`Remove` buttons.

use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::Value;

use crate::app::{Console, ADMIN_EMAIL, ADMIN_PASSWORD, CONFERENCE};
use crate::browser::{
    body_text, bounded, button_xpath, click_and_wait, click_button, click_link, click_nav, exists, fill, find, goto,
    lit, page_summary, path, Browser, Screenshots,
};

const SPONSOR: &str = "ACME Corp";
const ADD_FORM: &str = "//form[.//button[normalize-space()='Add attendee']]";
const PASTE_FORM: &str = "//form[.//button[normalize-space()='Add all']]";

/// The table row whose first cell starts with the attendee's `name` (their email follows it).
fn row_xpath(name: &str) -> String {
    format!("//tr[td[1][normalize-space(text()[1])={}]]", lit(name))
}

/// The text of the attendee row of `name` (waiting for it, bounded).
async fn row(c: &Client, name: &str) -> String {
    find(c, &row_xpath(name)).await.text().await.unwrap()
}

/// Clicks the button `text` in the attendee row of `name`, and waits for the page it loads.
async fn click_in_row(c: &Client, name: &str, text: &str) {
    let button = find(c, &button_xpath(&row_xpath(name), text)).await;
    let label = button.attr("aria-label").await.unwrap();
    assert_eq!(label.as_deref(), Some(format!("{text} {name}").as_str()), "the {text} button of {name}");
    click_and_wait(c, button, &format!("{text} of {name}")).await;
}

/// The page's text, which must contain every one of `expected`.
async fn says(c: &Client, expected: &[&str]) -> String {
    let text = body_text(c).await;
    for e in expected {
        assert!(text.contains(e), "the page does not say {e:?}: {}", page_summary(c).await);
    }
    text
}

/// The `aria-label` of the sponsor's bar (`<svg role="img">`) on the organizer's page.
async fn bar_label(c: &Client) -> String {
    let bar =
        find(c, &format!("//*[local-name()='svg'][@role='img'][starts-with(@aria-label, {})]", lit(SPONSOR))).await;
    bar.attr("aria-label").await.unwrap().unwrap_or_default()
}

#[tokio::test]
async fn sponsor_names_attendees_through_its_link() {
    bounded(Duration::from_secs(60), async {
        let started = Instant::now();
        let console = Console::start().await;
        let base = console.base.clone();
        let organizer = Browser::start().await;
        let o = &organizer.client;
        let mut shots = Screenshots::new("sponsor");

        // 1. The organizer signs in, opens the conference and its (empty) sponsors' overview.
        goto(o, &format!("{base}/console")).await;
        fill(o, "", "Email", ADMIN_EMAIL).await;
        fill(o, "", "Password", ADMIN_PASSWORD).await;
        click_button(o, "", "Sign in").await;
        click_link(o, "", CONFERENCE).await;
        click_nav(o, "Sponsors").await;
        assert!(path(o).await.ends_with("/allotments"), "Sponsors led to {}", page_summary(o).await);
        let overview = path(o).await;
        says(o, &["No allotments yet"]).await;
        click_link(o, "", "New allotment").await;
        fill(o, "", "Sponsor", SPONSOR).await;
        fill(o, "", "Contact email", "sponsors@acme.example").await;
        fill(o, "", "Passes", "3").await;
        fill(o, "", "Deadline", "2030-04-30T18:00").await;
        let (_, kind) = crate::browser::control(o, "", "Voucher type").await;
        let chosen = kind.prop("value").await.unwrap();
        assert_eq!(chosen.as_deref(), Some("comp"), "the voucher type's default");
        click_button(o, "", "Create allotment").await;

        // The link, shown once: a path without --public-url (or a whole URL with one).
        says(o, &["shown only this once", "0 of 3 assigned"]).await;
        let shown = find(o, "//code[contains(concat(' ', normalize-space(@class), ' '), ' secret ')]").await;
        let shown = shown.text().await.unwrap();
        let link = match shown.find("/sponsor/") {
            Some(i) => shown[i..].trim().to_owned(),
            None => panic!("the link shown is not a sponsor link: {shown:?}"),
        };
        let secret = link.trim_start_matches("/sponsor/").to_owned();
        assert!(secret.len() >= 16 && !secret.contains('/'), "the link's secret: {link:?}");
        shots.take(o, "allotment").await;

        // 2. The overview: one bar, nothing used yet; the link is not shown again.
        click_nav(o, "Sponsors").await;
        assert_eq!(bar_label(o).await, "ACME Corp: 0 redeemed, 0 assigned not yet redeemed, 3 left of 3 passes");
        assert!(!body_text(o).await.contains("No allotments yet"));
        let markup = o.source().await.unwrap();
        assert!(!markup.contains(&secret), "the overview shows the sponsor's secret");
        shots.take(o, "overview").await;
        click_link(o, "", SPONSOR).await;
        assert!(!o.source().await.unwrap().contains(&secret), "the allotment's page shows the secret again");

        // 3. The sponsor, in a browser of its own, opens the link: the secret leaves the
        //    address bar at once.
        let sponsor = Browser::start().await;
        let s = &sponsor.client;
        goto(s, &format!("{base}{link}")).await;
        assert_eq!(path(s).await, "/sponsor", "the link's page: {}", page_summary(s).await);
        assert!(!s.current_url().await.unwrap().as_str().contains(&secret));
        says(s, &["0 of 3 passes assigned", "No attendees yet", SPONSOR, CONFERENCE]).await;
        shots.take(s, "sponsor-empty").await;

        // 4. One attendee.
        fill(s, ADD_FORM, "Name", "Ana Lima").await;
        fill(s, ADD_FORM, "Email", "ana@example.org").await;
        click_button(s, ADD_FORM, "Add attendee").await;
        assert_eq!(path(s).await, "/sponsor");
        says(s, &["1 of 3 passes assigned", "1 attendee added"]).await;
        let ana = row(s, "Ana Lima").await;
        assert!(ana.contains("ana@example.org"), "Ana's row: {ana:?}");

        // 5. Two more, pasted.
        fill(s, PASTE_FORM, "Attendees (CSV: name,email)", "Bo Chen,bo@example.org\nCy Diaz,cy@example.org").await;
        click_button(s, PASTE_FORM, "Add all").await;
        says(s, &["3 of 3 passes assigned", "2 attendees added"]).await;
        for (name, email) in
            [("Ana Lima", "ana@example.org"), ("Bo Chen", "bo@example.org"), ("Cy Diaz", "cy@example.org")]
        {
            let text = row(s, name).await;
            assert!(text.contains(email), "{name}'s row: {text:?}");
            assert!(!text.contains("redeemed"), "{name} has not redeemed: {text:?}");
            for action in ["Change", "Remove"] {
                assert!(exists(s, &button_xpath(&row_xpath(name), action)).await, "{name}'s row has no {action}");
            }
        }
        shots.take(s, "sponsor-added").await;

        // 6. Change Ana's email.
        click_in_row(s, "Ana Lima", "Change").await;
        says(s, &["Change an attendee"]).await;
        fill(s, "", "Email", "ana.lima@example.org").await;
        click_button(s, "", "Save and send a new code").await;
        assert_eq!(path(s).await, "/sponsor");
        says(s, &["Attendee changed", "3 of 3 passes assigned"]).await;
        let ana = row(s, "Ana Lima").await;
        assert!(ana.contains("ana.lima@example.org"), "Ana's row after the change: {ana:?}");

        // 7. Remove Cy.
        click_in_row(s, "Cy Diaz", "Remove").await;
        says(s, &["Attendee removed", "2 of 3 passes assigned"]).await;
        assert!(!exists(s, &row_xpath("Cy Diaz")).await, "Cy is still listed: {}", page_summary(s).await);

        // 8. Bo redeems the code the email carried (found, like an attendee's inbox would, with
        //    the CLI); the sponsor's page shows it, and Bo can no longer be changed or removed.
        let listed: Value =
            serde_json::from_str(&console.vouchers(&["list", "--conference", "pycon", "--format", "json"]).await)
                .unwrap();
        let bo: Vec<&Value> = listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["recipient"]["email"] == "bo@example.org" && v["is_active"] == true)
            .collect();
        assert_eq!(bo.len(), 1, "Bo's active vouchers among {listed:#}");
        let code = bo[0]["code"].as_str().unwrap().to_owned();
        assert_eq!(bo[0]["once_per_customer"], true, "an allotment's code is once per customer");
        console
            .vouchers(&[
                "redeem",
                "--conference",
                "pycon",
                "--order-ref",
                "o-1",
                "--customer-email",
                "bo@example.org",
                &code,
            ])
            .await;
        goto(s, &format!("{base}/sponsor")).await;
        says(s, &["2 of 3 passes assigned, 1 redeemed, 1 left"]).await;
        let bo_row = row(s, "Bo Chen").await;
        assert!(bo_row.contains("redeemed"), "Bo's row after the redemption: {bo_row:?}");
        for action in ["Change", "Remove"] {
            assert!(!exists(s, &button_xpath(&row_xpath("Bo Chen"), action)).await, "Bo's row still offers {action}");
        }
        assert!(!row(s, "Ana Lima").await.contains("redeemed"));
        assert!(exists(s, &button_xpath(&row_xpath("Ana Lima"), "Change")).await, "Ana can still be changed");
        shots.take(s, "sponsor-redeemed").await;

        // 9. The organizer's bar counts the redemption.
        goto(o, &format!("{base}{overview}")).await;
        assert_eq!(bar_label(o).await, "ACME Corp: 1 redeemed, 1 assigned not yet redeemed, 1 left of 3 passes");
        shots.take(o, "overview-redeemed").await;

        // The Reports page counts Bo's redemption in today's column and in the batch's funnel.
        click_nav(o, "Reports").await;
        says(o, &["Batches: from issued to redeemed", "1 redemptions and 0.00 discount in the last 30 days"]).await;
        assert!(exists(o, "//*[local-name()='svg'][@role='img']").await, "the timeline is drawn");
        shots.take(o, "reports").await;

        // At phone width the organizer's navigation folds behind "Menu" and no page is wider
        // than the screen.
        o.set_window_size(390, 844).await.unwrap();
        goto(o, &format!("{base}{overview}")).await;
        let widths =
            o.execute("return [document.documentElement.scrollWidth, window.innerWidth]", vec![]).await.unwrap();
        let (scroll, inner) = (widths[0].as_f64().unwrap(), widths[1].as_f64().unwrap());
        assert!(scroll <= inner + 1.0, "the Sponsors page is {scroll}px wide in a {inner}px window");
        let menu = find(o, "//label[normalize-space()='Menu']").await;
        assert!(menu.is_displayed().await.unwrap(), "the Menu toggle shows on a phone");
        assert!(!find(o, "//nav//a[normalize-space()='Dashboard']").await.is_displayed().await.unwrap());
        menu.click().await.unwrap();
        assert!(find(o, "//nav//a[normalize-space()='Dashboard']").await.is_displayed().await.unwrap());
        shots.take(o, "organizer-phone-menu").await;

        // 10. The sponsor's page at phone width: nothing wider than the screen.
        s.set_window_size(390, 844).await.unwrap();
        goto(s, &format!("{base}/sponsor")).await;
        let widths =
            s.execute("return [document.documentElement.scrollWidth, window.innerWidth]", vec![]).await.unwrap();
        let (scroll, inner) = (widths[0].as_f64().unwrap(), widths[1].as_f64().unwrap());
        let table = s
            .execute(
                "const w = document.querySelector('.table-wrap'); return w ? [w.scrollWidth, w.clientWidth] : null",
                vec![],
            )
            .await
            .unwrap();
        eprintln!("phone width: page {scroll}px in a {inner}px window; attendee table (scroll, visible) {table}");
        assert!(inner <= 400.0, "the window is not phone-wide: innerWidth {inner}");
        assert!(scroll <= inner + 1.0, "the sponsor's page is {scroll}px wide in a {inner}px window");
        says(s, &["2 of 3 passes assigned"]).await;
        shots.take(s, "sponsor-phone").await;

        sponsor.close().await;
        organizer.close().await;
        let logs = console.logs();
        assert!(!logs.contains("panicked"), "the server panicked:\n{logs}");
        eprintln!("sponsor_names_attendees_through_its_link: {:.1?}", started.elapsed());
    })
    .await;
}
