//! The organizers' console (`/console`) as an organizer uses it, in headless Chromium: sign in,
//! catalog, generate a batch, download its CSV, try a code, deactivate the batch, read the
//! dashboard's usage chart, sign out. Screenshots of every page go to
//! `target/browser-screenshots/console/`.
//!
//! What the pages must offer (the test finds everything by visible text, never by CSS class):
//! - controls by their `<label>` (`for`, or wrapping the control); checkbox groups in a
//!   `<fieldset>` whose `<legend>` names the group;
//! - the navigation links (`Catalog`, `Generate`, `Try a code`, `Dashboard`) inside `<nav>`;
//! - lists as `<table>`s with one value per cell (the catalog's slugs, the batch's codes);
//! - the dashboard's chart as `<svg role="img">` whose `<title>`/`<desc>` says `N issued` and
//!   `N active`, or a table row naming the batch's prefix under `Issued` and `Active` headers.

use std::collections::BTreeSet;
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::app::{Console, ADMIN_EMAIL, ADMIN_PASSWORD, CONFERENCE};
use crate::browser::{
    body_text, bounded, check, click_action, click_button, click_link, click_nav, exists, fill, find, find_all, goto,
    link_xpath, page_summary, path, Browser, Screenshots,
};

const PREFIX: &str = "STUDENT-";
const TICKET_TYPE_FORM: &str = "//form[.//button[normalize-space()='Create ticket type']]";
const ADDON_FORM: &str = "//form[.//button[normalize-space()='Create add-on']]";
const TICKET_TYPES: &str = "//fieldset[legend[normalize-space()='Applicable ticket types']]";
const ADDONS: &str = "//fieldset[legend[normalize-space()='Applicable add-ons']]";

/// The login page: fields `Email` and `Password`, button `Sign in`.
async fn on_login_page(c: &Client) -> bool {
    exists(c, "//label[normalize-space()='Email' or normalize-space(text())='Email']").await
        && exists(c, "//label[normalize-space()='Password' or normalize-space(text())='Password']").await
        && exists(c, &crate::browser::button_xpath("", "Sign in")).await
}

/// Words of `text`, lowercased, split at anything that is not a letter or a digit.
fn words(text: &str) -> Vec<String> {
    text.split(|ch: char| !ch.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The number written just before `word` in `text` (`5 issued` → 5).
fn count_before(text: &str, word: &str) -> Option<u64> {
    let words = words(text);
    words.windows(2).find(|pair| pair[1] == word).and_then(|pair| pair[0].parse().ok())
}

/// What the dashboard says of the batch: (issued, active), from the chart's `<title>` and
/// `<desc>`, else from a table row naming the batch's prefix under `Issued` and `Active`.
pub async fn usage(c: &Client) -> Option<(u64, u64)> {
    if let Ok(chart) = c.find(Locator::Css("svg[role='img']")).await {
        let chart = serde_json::to_value(&chart).unwrap();
        let described = c
            .execute(
                "return Array.from(arguments[0].querySelectorAll('title, desc')).map(e => e.textContent).join(' ')",
                vec![chart],
            )
            .await
            .unwrap();
        let described = described.as_str().unwrap_or_default();
        if let (Some(issued), Some(active)) = (count_before(described, "issued"), count_before(described, "active")) {
            return Some((issued, active));
        }
    }
    let script = "
        const prefix = arguments[0];
        for (const table of document.querySelectorAll('table')) {
            const rows = Array.from(table.querySelectorAll('tr'));
            const head = table.querySelector('thead tr') || rows[0];
            if (!head) continue;
            const names = Array.from(head.children).map(e => e.textContent.trim().toLowerCase());
            const issued = names.indexOf('issued'), active = names.indexOf('active');
            if (issued < 0 || active < 0) continue;
            for (const row of rows) {
                if (row === head || !row.textContent.includes(prefix)) continue;
                const cells = Array.from(row.children).map(e => e.textContent.trim());
                return [cells[issued], cells[active]];
            }
        }
        return null;";
    let found = c.execute(script, vec![Value::from(PREFIX)]).await.unwrap();
    let cells = found.as_array()?;
    let number = |v: &Value| v.as_str().and_then(|s| s.trim().parse().ok());
    Some((number(&cells[0])?, number(&cells[1])?))
}

/// The `<svg role="img">` chart's markup.
pub async fn chart_markup(c: &Client) -> String {
    let chart = find(c, "//*[local-name()='svg'][@role='img']").await;
    chart.html(false).await.unwrap()
}

/// The text of the table row that has a cell holding exactly `cell`.
pub async fn row_text(c: &Client, cell: &str) -> String {
    let row =
        find(c, &format!("//tr[td[normalize-space()={}] or th[normalize-space()={0}]]", crate::browser::lit(cell)))
            .await;
    row.text().await.unwrap()
}

#[tokio::test]
async fn organizer_runs_a_voucher_campaign_in_the_console() {
    bounded(Duration::from_secs(120), async {
        let console = Console::start().await;
        let browser = Browser::start().await;
        let c = &browser.client;
        let base = console.base.clone();
        let mut shots = Screenshots::new("console");

        // a. The root leads to the console's login page.
        goto(c, &format!("{base}/")).await;
        find(c, &crate::browser::button_xpath("", "Sign in")).await;
        assert!(path(c).await.starts_with("/console"), "/ did not lead to the console: {}", page_summary(c).await);
        assert!(on_login_page(c).await, "not the login page: {}", page_summary(c).await);
        fill(c, "", "Email", ADMIN_EMAIL).await;
        fill(c, "", "Password", ADMIN_PASSWORD).await;
        shots.take(c, "login").await;
        click_button(c, "", "Sign in").await;

        // b. Signed in: the conferences, then the conference's dashboard.
        find(c, &link_xpath("", CONFERENCE)).await;
        assert!(!on_login_page(c).await, "still on the login page after signing in: {}", page_summary(c).await);
        shots.take(c, "conferences").await;
        click_link(c, "", CONFERENCE).await;
        for link in ["Dashboard", "Catalog", "Generate", "Try a code"] {
            find(c, &link_xpath("//nav", link)).await;
        }
        assert!(body_text(c).await.contains(CONFERENCE), "the dashboard does not name the conference");
        shots.take(c, "dashboard").await;

        // c. The catalog: a ticket type that needs a voucher, and an add-on.
        click_nav(c, "Catalog").await;
        fill(c, TICKET_TYPE_FORM, "Slug", "student").await;
        fill(c, TICKET_TYPE_FORM, "Name", "Student").await;
        fill(c, TICKET_TYPE_FORM, "Price", "100.00").await;
        check(c, TICKET_TYPE_FORM, "Requires voucher").await;
        shots.take(c, "catalog-ticket-type-form").await;
        click_button(c, TICKET_TYPE_FORM, "Create ticket type").await;
        let row = row_text(c, "student").await;
        assert!(row.contains("Student") && row.contains("100.00"), "ticket type row: {row:?}");
        fill(c, ADDON_FORM, "Slug", "tshirt").await;
        fill(c, ADDON_FORM, "Name", "T-shirt").await;
        fill(c, ADDON_FORM, "Price", "25.00").await;
        shots.take(c, "catalog-addon-form").await;
        click_button(c, ADDON_FORM, "Create add-on").await;
        let row = row_text(c, "tshirt").await;
        assert!(row.contains("T-shirt") && row.contains("25.00"), "add-on row: {row:?}");
        shots.take(c, "catalog").await;

        // d. Generate a batch of 5 single-use 50 % vouchers for students.
        click_nav(c, "Generate").await;
        fill(c, "", "Prefix", PREFIX).await;
        fill(c, "", "Count", "5").await;
        fill(c, "", "Voucher type", "percentage").await;
        fill(c, "", "Discount value", "50").await;
        fill(c, "", "Max uses", "1").await;
        fill(c, "", "Valid from", "2026-01-01T09:00").await;
        fill(c, "", "Valid until", "2030-12-31T18:00").await;
        check(c, "", "Unlocks hidden tickets").await;
        check(c, TICKET_TYPES, "Student").await;
        check(c, ADDONS, "T-shirt").await;
        shots.take(c, "generate-form").await;
        click_button(c, "", "Generate").await;
        let heading = find(c, "//h1").await.text().await.unwrap();
        assert!(heading.contains("Batch"), "not a batch page (h1 {heading:?}): {}", page_summary(c).await);
        let cells = find_all(c, &format!("//td[starts-with(normalize-space(), '{PREFIX}')]")).await;
        let mut codes = BTreeSet::new();
        for cell in cells {
            codes.insert(cell.text().await.unwrap().trim().to_owned());
        }
        assert_eq!(codes.len(), 5, "the batch page lists codes {codes:?}");
        let codes: Vec<String> = codes.into_iter().collect();
        let batch_url = c.current_url().await.unwrap().to_string();
        let csv_url = find(c, &link_xpath("", "Download CSV")).await.prop("href").await.unwrap();
        let csv_url = csv_url.unwrap_or_else(|| panic!("`Download CSV` has no href"));
        shots.take(c, "batch").await;

        // The dashboard right after generating: 5 issued, 5 active.
        click_nav(c, "Dashboard").await;
        let chart_before = chart_markup(c).await;
        assert_eq!(usage(c).await, Some((5, 5)), "the dashboard's usage after generating: {}", page_summary(c).await);
        shots.take(c, "dashboard-after-generate").await;

        // e. The CSV, with the browser's session cookie; without it, no codes.
        let cookies = c.get_all_cookies().await.unwrap();
        assert!(!cookies.is_empty(), "the signed-in browser holds no cookie");
        let cookie = cookies.iter().map(|k| format!("{}={}", k.name(), k.value())).collect::<Vec<_>>().join("; ");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let response = http.get(&csv_url).header("Cookie", &cookie).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {csv_url}");
        let csv = response.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(lines.first().is_some_and(|h| h.starts_with("id,conference,code")), "CSV header: {lines:?}");
        assert_eq!(lines.len(), 6, "a header and 5 rows: {csv}");
        for code in &codes {
            assert!(csv.contains(code.as_str()), "{code} is not in the CSV: {csv}");
        }
        let anonymous = http.get(&csv_url).send().await.unwrap().text().await.unwrap();
        assert!(!codes.iter().any(|code| anonymous.contains(code.as_str())), "the CSV is served without a session");

        // f. Try a code: valid, half of 100.00.
        click_nav(c, "Try a code").await;
        fill(c, "", "Code", &codes[0]).await;
        fill(c, "", "Ticket type", "student").await;
        fill(c, "", "Quantity", "1").await;
        shots.take(c, "try-form").await;
        click_button(c, "", "Try").await;
        let text = body_text(c).await;
        let said = words(&text);
        assert!(
            said.iter().any(|w| w == "valid") && !said.iter().any(|w| w == "invalid"),
            "the code is not said to be valid: {}",
            page_summary(c).await
        );
        assert!(text.contains("50.00"), "no total of 50.00: {}", page_summary(c).await);
        shots.take(c, "try-result").await;

        // f2. Hand two codes to people and queue their emails, with a preview first.
        goto(c, &batch_url).await;
        click_action(c, "Assign recipients").await;
        fill(c, "", "Recipients (CSV)", "email,name,school\nana@example.org,Ana <Lima>,MIT\nbo@example.org,Bo,\n")
            .await;
        shots.take(c, "assign-form").await;
        click_button(c, "", "Assign").await;
        let ana_row = row_text(c, "Ana <Lima> (ana@example.org)").await;
        assert!(ana_row.contains("Ana <Lima>"), "the batch page shows the recipient: {}", page_summary(c).await);
        let ana_code = codes.iter().find(|code| ana_row.contains(code.as_str())).cloned();
        let ana_code = ana_code.unwrap_or_else(|| panic!("no code in Ana's row: {ana_row:?}"));
        click_action(c, "Send emails").await;
        click_button(c, "", "Preview").await;
        let preview = body_text(c).await;
        assert!(preview.contains(&ana_code), "the preview shows the first recipient's code: {}", page_summary(c).await);
        assert!(preview.contains("Ana <Lima>"), "the preview names the recipient: {}", page_summary(c).await);
        shots.take(c, "send-preview").await;
        click_button(c, "", "Queue emails").await;
        let emails = body_text(c).await;
        assert!(emails.contains("queued"), "the batch page lists the queued emails: {}", page_summary(c).await);
        shots.take(c, "batch-emails").await;

        // f3. A webhook for the batch's deactivation: its secret is shown once.
        click_nav(c, "Webhooks").await;
        fill(c, "", "URL", "https://93.184.216.34/hooks/vouchers").await;
        check(c, "", "batch.deactivated").await;
        shots.take(c, "webhook-form").await;
        click_button(c, "", "Create webhook").await;
        assert!(body_text(c).await.contains("whsec_"), "no secret shown: {}", page_summary(c).await);
        shots.take(c, "webhook-created").await;

        // g. Deactivate the batch, through its confirmation page.
        goto(c, &batch_url).await;
        for code in &codes {
            let row = row_text(c, code).await;
            assert!(!words(&row).contains(&"inactive".to_owned()), "{code} is inactive before deactivation: {row:?}");
        }
        click_action(c, "Deactivate batch").await;
        shots.take(c, "deactivate-confirm").await;
        click_button(c, "", "Deactivate").await;
        let text = body_text(c).await.to_lowercase();
        if !text.contains("deactivated") {
            for code in &codes {
                let row = row_text(c, code).await;
                assert!(words(&row).contains(&"inactive".to_owned()), "{code} is not inactive: {row:?}");
            }
        }
        shots.take(c, "batch-deactivated").await;

        // g2. The webhook's page lists the deactivation's delivery, with a Redeliver button.
        click_nav(c, "Webhooks").await;
        let row = row_text(c, "batch.deactivated").await;
        assert!(row.contains("Redeliver"), "the delivery's row: {row:?}");
        assert!(!body_text(c).await.contains("whsec_"), "the secret is shown once");
        shots.take(c, "webhooks").await;

        // h. The dashboard's chart changed: 5 issued, 0 active.
        click_nav(c, "Dashboard").await;
        let chart_after = chart_markup(c).await;
        assert_ne!(chart_before, chart_after, "the usage chart did not change after the deactivation");
        assert_eq!(usage(c).await, Some((5, 0)), "the dashboard's usage after deactivating: {}", page_summary(c).await);
        shots.take(c, "dashboard-after-deactivate").await;

        // i. Sign out: the console asks to sign in again.
        click_action(c, "Sign out").await;
        shots.take(c, "signed-out").await;
        goto(c, &format!("{base}/console")).await;
        find(c, &crate::browser::button_xpath("", "Sign in")).await;
        assert!(path(c).await.starts_with("/console"), "{}", page_summary(c).await);
        assert!(on_login_page(c).await, "/console after signing out: {}", page_summary(c).await);
        assert!(!exists(c, &link_xpath("", CONFERENCE)).await, "the conferences are listed after signing out");
        shots.take(c, "console-after-sign-out").await;

        browser.close().await;
        let logs = console.logs();
        assert!(!logs.contains("panicked"), "the server panicked:\n{logs}");
    })
    .await;
}
