//! Every page of the console (and the sponsor's page), signed in and with data, at a laptop's
//! width (1280x900) and a phone's (390x844). At each width each page is checked by axe-core (no
//! violation of WCAG 2.1 A or AA) and for its layout ([`layout_problems`]: no horizontal scroll,
//! a wide table scrolling inside its own box; the navigation on one line on a laptop, folded
//! behind Menu on a phone), and saved as `docs/screenshots/{desktop,phone}-NAME.png`, where the
//! documentation shows them. The bar's menus ([`MENUS`]: More on a laptop, Menu on a phone, the
//! account's on both) are checked opened too.
//!
//! The tour is data: [`PAGES`] lists each page by its name, the path that opens it, what its
//! `<h1>` says, and the steps that reach it from there (a form filled and sent). A new page is
//! one line of it. The data the pages show is made beforehand with the `vouchers` CLI
//! ([`seed`]): a catalog, a named batch with a note, recipients, queued emails, a redemption, a
//! released one and a held one, a plain batch, a voucher added by hand, tokens, a webhook with
//! deliveries, a sponsor allotment, a second account and a second conference.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::Value;

use crate::app::{Console, ADMIN_EMAIL, ADMIN_PASSWORD, CONFERENCE};
use crate::browser::{
    axe_violations, bounded, button_xpath, check, click_and_wait, fill, find, goto, layout_problems, lit, page_summary,
    resize, Browser, Screenshots, Width, DESKTOP, PHONE,
};

/// What the tour does on a page before checking it: fills a form and sends it, so that the page
/// checked is the form's answer.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Fills the field with this label ([`crate::browser::fill`]).
    Fill(&'static str, &'static str),
    /// Ticks the checkbox or radio button whose label starts with this text.
    Tick(&'static str),
    /// Chooses the file of [`FILES`] named second in the file field labelled first.
    Upload(&'static str, &'static str),
    /// Presses the (first) button with this text and waits for the page it loads.
    Press(&'static str),
}

use Step::{Fill, Press, Tick, Upload};

/// One page of the tour: `name` (of its screenshots), the `path` that opens it (`{c}` is the
/// conference's pages, `{batch}`, `{code}` and the others are [`Seeded`]'s), what its `<h1>`
/// says (a part of it), and the `steps` that lead from that path to the page.
struct Page {
    name: &'static str,
    path: &'static str,
    heading: &'static str,
    steps: &'static [Step],
}

const fn page(name: &'static str, path: &'static str, heading: &'static str, steps: &'static [Step]) -> Page {
    Page { name, path, heading, steps }
}

/// Every page, in the order the tour visits them: signed out first, then signing in (the
/// conferences are sign-in's answer), then every page of a signed-in admin. A page whose steps
/// change something comes after the pages that show the thing unchanged.
const PAGES: &[Page] = &[
    page("login", "/console/login", "Sign in", &[]),
    page(
        "login-refused",
        "/console/login",
        "Sign in",
        &[Fill("Email", ADMIN_EMAIL), Fill("Password", "not the password"), Press("Sign in")],
    ),
    page("set-password", "{set_password}", "Set your password", &[]),
    page(
        "set-password-refused",
        "{set_password}",
        "Set your password",
        &[
            Fill("New password", "correct horse battery"),
            Fill("Repeat it", "correct horse staple"),
            Press("Set password"),
        ],
    ),
    page(
        "conferences",
        "/console/login",
        "Conferences",
        &[Fill("Email", ADMIN_EMAIL), Fill("Password", ADMIN_PASSWORD), Press("Sign in")],
    ),
    page("dashboard", "{c}", CONFERENCE, &[]),
    // A conference with no voucher yet, whose long name the bar cuts short.
    page("dashboard-empty", "/console/c/djangocon", "DjangoCon Europe 2027: Lisbon and online", &[]),
    page("catalog", "{c}/catalog", "Catalog", &[]),
    page("vouchers", "{c}/vouchers", "Vouchers", &[]),
    page(
        "vouchers-deactivate",
        "{c}/vouchers?batch={plain_batch}",
        "Deactivate",
        &[Tick("Every voucher matching the search"), Press("Deactivate…")],
    ),
    page("voucher", "{c}/vouchers/{code}", "Voucher", &[]),
    page("voucher-new", "{c}/vouchers/new", "Add a voucher", &[]),
    page("generate", "{c}/generate", "Generate a batch", &[]),
    page(
        "generate-refused",
        "{c}/generate",
        "Generate a batch",
        &[
            Fill("Prefix", "NOT OK"),
            Fill("Count", "5"),
            Fill("Voucher type", "percentage"),
            Fill("Discount value", "half"),
            Press("Generate"),
        ],
    ),
    page("batches", "{c}/batches", "Batches", &[]),
    page("batch", "{c}/batches/{batch}", "Speakers 2027", &[]),
    page("batch-deactivate", "{c}/batches/{batch}/deactivate", "Deactivate batch", &[]),
    page("assign", "{c}/batches/{batch}/assign", "Assign recipients", &[]),
    page("send", "{c}/batches/{batch}/send", "Send emails", &[]),
    page("send-preview", "{c}/batches/{batch}/send", "Send emails", &[Press("Preview")]),
    page("import", "{c}/import", "Import codes", &[]),
    page(
        "import-preview",
        "{c}/import",
        "Import codes",
        &[Upload("CSV file", "badges.csv"), Fill("Batch name", "Partner badges"), Press("Preview")],
    ),
    page("import-refused", "{c}/import", "Import codes", &[Upload("CSV file", "bad.csv"), Press("Preview")]),
    page("tokens", "{c}/tokens", "API tokens", &[]),
    page("token-created", "{c}/tokens", "API tokens", &[Fill("Name", "badge printer"), Press("Create token")]),
    page("webhooks", "{c}/webhooks", "Webhooks", &[]),
    page(
        "webhook-created",
        "{c}/webhooks",
        "Webhooks",
        &[Fill("URL", "https://93.184.216.34/hooks/crm"), Press("Create webhook")],
    ),
    page("try", "{c}/try", "Try a code", &[]),
    page(
        "try-result",
        "{c}/try?code={try_code}&ticket_type=student&quantity=1&addon=tshirt&addon_quantity=1",
        "Try a code",
        &[],
    ),
    page("outbox", "{c}/outbox", "Outbox", &[]),
    page("settings", "{c}/settings", "Settings", &[]),
    page("ticket-type-edit", "{c}/catalog/ticket-types/student", "Ticket type Student", &[]),
    page("addon-edit", "{c}/catalog/addons/tshirt", "Add-on T-shirt", &[]),
    page("audit", "{c}/audit", "Audit log", &[]),
    page("audit-filtered", "{c}/audit?action=batch.generate", "Audit log", &[]),
    page("batches-sorted", "{c}/batches?sort=codes&dir=desc", "Batches", &[]),
    page("reports", "{c}/reports", "Reports", &[]),
    page("reports-hour", "{c}/reports?interval=hour", "Reports", &[]),
    page("redemptions", "{c}/redemptions", "Redemptions", &[]),
    page(
        "sponsor",
        "{sponsor_link}",
        "ACME Corp",
        &[
            Fill("Name", "Ana Lima"),
            Fill("Email", "ana.lima@acme.example"),
            Press("Add attendee"),
            Fill("Attendees (CSV: name,email)", "Bo Chen,bo.chen@acme.example\nCy Diaz,cy.diaz@acme.example"),
            Press("Add all"),
        ],
    ),
    page("sponsor-change", "/sponsor", "Change an attendee", &[Press("Change")]),
    page("sponsor-left", "/sponsor", "You have left", &[Press("Leave")]),
    page("allotments", "{c}/allotments", "Sponsor allotments", &[]),
    page("allotment-new", "{c}/allotments/new", "New sponsor allotment", &[]),
    page("allotment", "{c}/allotments/{allotment}", "ACME Corp", &[]),
    page("allotment-link", "{c}/allotments/{allotment}", "ACME Corp", &[Press("New sponsor link")]),
    page("accounts", "/console/accounts", "Accounts", &[]),
    page("account", "/console/accounts/{account}", "lee@example.org", &[]),
    page("account-link", "/console/accounts/{account}", "lee@example.org", &[Press("New set-password link")]),
    page("account-revoke", "/console/accounts/{account}/revoke/pycon", "Revoke access", &[]),
    page("account-disable", "/console/accounts/{account}/disable", "Disable", &[]),
    page("not-found", "{c}/batches/999999", "404", &[]),
];

/// A menu of the bar, opened: its screenshot's `name`, the `width` it opens at, the elements
/// clicked to open it, and an element it `shows` then.
struct Menu {
    name: &'static str,
    width: Width,
    open: &'static [&'static str],
    shows: &'static str,
}

/// The summary of the account's menu (the one holding Sign out).
const ACCOUNT: &str = "//header//details[.//button[normalize-space()='Sign out']]/summary";

/// The bar's menus: More on a laptop; Menu, and More in it, on a phone; the account's on both.
const MENUS: &[Menu] = &[
    Menu {
        name: "menu",
        width: DESKTOP,
        open: &["//nav//summary[normalize-space()='More']"],
        shows: "//nav//a[.='Outbox']",
    },
    Menu {
        name: "menu",
        width: PHONE,
        open: &["//label[normalize-space()='Menu']", "//nav//summary[normalize-space()='More']"],
        shows: "//nav//a[.='Outbox']",
    },
    Menu { name: "account-menu", width: DESKTOP, open: &[ACCOUNT], shows: "//button[.='Sign out']" },
    Menu { name: "account-menu", width: PHONE, open: &[ACCOUNT], shows: "//button[.='Sign out']" },
];

/// The files the tour uploads, by name: an import that previews, and one whose lines break
/// rules.
const FILES: &[(&str, &str)] = &[
    (
        "badges.csv",
        "code,voucher_type,discount_value,max_uses,recipient_email,recipient_name\n\
         BADGE-0001,percentage,25,1,mia@example.org,Mia Wong\n\
         BADGE-0002,percentage,25,1,,\n\
         BADGE-0003,comp,,2,,\n",
    ),
    (
        "bad.csv",
        "code,voucher_type,discount_value\nOK-1,percentage,25\nBAD CODE,percentage,25\nOK-2,percentage,101\nOK-3,free,\n",
    ),
];

/// What [`seed`] made that the pages' paths name: each `{key}` of a path is replaced by its
/// value.
struct Seeded {
    values: HashMap<&'static str, String>,
    files: HashMap<&'static str, PathBuf>,
}

impl Seeded {
    fn path(&self, path: &str) -> String {
        let mut path = path.replace("{c}", "/console/c/pycon");
        for (key, value) in &self.values {
            path = path.replace(&format!("{{{key}}}"), value);
        }
        assert!(!path.contains('{'), "a placeholder of {path:?} has no value");
        path
    }
}

/// The words of a command line: split at spaces, but a part in single quotes is one word.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    for (i, part) in line.split('\'').enumerate() {
        if i % 2 == 1 {
            words.push(part.to_owned());
        } else {
            words.extend(part.split_whitespace().map(str::to_owned));
        }
    }
    words
}

/// Runs `vouchers LINE` (split by [`words`]) against the server's database; it must succeed.
async fn run(console: &Console, line: &str) -> String {
    let words = words(line);
    console.vouchers(&words.iter().map(String::as_str).collect::<Vec<_>>()).await
}

/// Runs `vouchers LINE --format json` and parses what it prints.
async fn json(console: &Console, line: &str) -> Value {
    let out = run(console, &format!("{line} --format json")).await;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("vouchers {line} printed no JSON ({e}): {out}"))
}

/// The codes of the vouchers `generate --format json` printed.
fn codes(generated: &Value) -> Vec<String> {
    let vouchers = generated.as_array().unwrap_or_else(|| panic!("not a list of vouchers: {generated}"));
    vouchers.iter().map(|v| v["code"].as_str().unwrap().to_owned()).collect()
}

/// The data the pages show, made with the CLI (fast, and no page's form is needed to reach
/// another page): a second conference, a catalog, a webhook (first, so that what follows gives
/// it deliveries), a named batch with a note, recipients and queued emails and one recipient
/// still waiting for an email, a plain batch, a voucher added by hand, a redemption, a released
/// one, a hold, tokens, a manage account with its set-password link, a sponsor allotment.
async fn seed(console: &Console) -> Seeded {
    for line in [
        "conference create --slug djangocon --name 'DjangoCon Europe 2027: Lisbon and online' --start-date 2027-06-01 \
         --end-date 2027-06-05 --timezone Europe/Lisbon",
        "ticket-type create --conference pycon --slug student --name Student --price 100.00 --requires-voucher",
        "ticket-type create --conference pycon --slug individual --name Individual --price 400.00",
        "addon create --conference pycon --slug tshirt --name T-shirt --price 25.00",
        "webhook create --conference pycon --url https://93.184.216.34/hooks/vouchers",
    ] {
        run(console, line).await;
    }
    let speakers = json(
        console,
        "generate --conference pycon --name 'Speakers 2027' --note 'For the accepted speakers; Lee sends the codes \
         with the acceptance emails.' --prefix SPK- --count 6 --type percentage --discount 50 --max-uses 1 \
         --ticket-type student --addon tshirt --unlocks-hidden-tickets --valid-from 2025-01-01T09:00 \
         --valid-until 2030-05-22T18:00 --once-per-customer",
    )
    .await;
    let (speaker_codes, batch) = (codes(&speakers), speakers[0]["batch_id"].to_string());
    let recipients =
        console.file("speakers.csv", "email,name,company\nana@example.org,Ana Lima,ACME\nbo@example.org,Bo Chen,\n");
    let late = console.file("late.csv", "email,name,company\ncy@example.org,Cy Diaz,Initech\n");
    let template = console
        .file("email.txt", "Hello {{ name }},\n\nyour code for {{ conference }}: {{ code }} ({{ discount }}).\n");
    let plain = json(console, "generate --conference pycon --prefix STU- --count 4 --type comp").await;
    let plain_codes = codes(&plain);
    for line in [
        format!("assign --conference pycon --batch {batch} --recipients {}", recipients.display()),
        format!(
            "send --conference pycon --batch {batch} --subject 'Your code for {{{{ conference }}}}' --template {}",
            template.display()
        ),
        // One more recipient after the emails were queued: the one Send emails' preview shows.
        format!("assign --conference pycon --batch {batch} --recipients {}", late.display()),
        "add --conference pycon --code PYCON-KEYNOTE --type comp --max-uses 3".to_owned(),
        format!(
            "redeem --conference pycon --order-ref ORDER-1001 --ticket-type student --customer-email ana@example.org {}",
            speaker_codes[0]
        ),
        format!("redeem --conference pycon --order-ref ORDER-1002 --customer-email dee@example.org {}", plain_codes[0]),
        format!("release --conference pycon --order-ref ORDER-1002 {}", plain_codes[0]),
        "redeem --conference pycon --order-ref ORDER-1003 PYCON-KEYNOTE".to_owned(),
        format!(
            "hold --conference pycon --cart-ref cart-7 --ttl 3600 --ticket-type student --customer-email bo@example.org {}",
            speaker_codes[1]
        ),
        "token create --scope checkout --conference pycon --name 'web shop'".to_owned(),
        "token create --scope manage --conference pycon --name 'CRM sync'".to_owned(),
    ] {
        run(console, &line).await;
    }
    let lee = json(console, "user create --email lee@example.org --role manage --conference pycon --link").await;
    let allotment = json(
        console,
        "allotment create --conference pycon --sponsor 'ACME Corp' --contact sponsors@acme.example --seats 5 \
         --deadline 2030-04-30T18:00 --type comp --ticket-type individual",
    )
    .await;

    let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned();
    let values = HashMap::from([
        ("batch", batch),
        ("plain_batch", plain[0]["batch_id"].to_string()),
        ("code", speaker_codes[0].clone()),
        ("try_code", speaker_codes[2].clone()),
        ("account", lee["account"]["id"].to_string()),
        ("set_password", text(&lee["link"])),
        ("allotment", allotment["allotment"]["id"].to_string()),
        ("sponsor_link", text(&allotment["link"])),
    ]);
    let files = FILES.iter().map(|(name, text)| (*name, console.file(name, text))).collect();
    Seeded { values, files }
}

impl Step {
    async fn run(self, c: &Client, seeded: &Seeded) {
        match self {
            Fill(label, value) => fill(c, "", label, value).await,
            Tick(label) => {
                let l = lit(label);
                let label = find(c, &format!("//label[starts-with(normalize-space(), {l})]")).await;
                let text = label.text().await.unwrap();
                check(c, "", text.trim()).await;
            }
            Upload(label, file) => {
                let (_, field) = crate::browser::control(c, "", label).await;
                let path = seeded.files.get(file).unwrap_or_else(|| panic!("no file {file:?} in FILES"));
                field.send_keys(path.to_str().unwrap()).await.unwrap();
            }
            Press(text) => {
                let button = find(c, &button_xpath("", text)).await;
                click_and_wait(c, button, &format!("button {text:?}")).await;
            }
        }
    }
}

/// Checks the current page at `width` (axe-core, then its layout) and saves its screenshot as
/// `WIDTH-NAME.png`; returns what is wrong.
async fn check_at(c: &Client, shots: &mut Screenshots, width: Width, name: &str) -> Vec<String> {
    resize(c, width).await;
    let mut problems = axe_violations(c).await;
    problems.extend(layout_problems(c).await);
    shots.save(c, format!("{}-{name}", width.name)).await;
    problems.into_iter().map(|p| format!("{}-{name}: {p}", width.name)).collect()
}

#[tokio::test]
async fn every_page_at_both_widths() {
    bounded(Duration::from_secs(150), async {
        let started = Instant::now();
        let console = Console::start().await;
        let seeded = seed(&console).await;
        let seeded_in = started.elapsed();
        let browser = Browser::start().await;
        let c = &browser.client;
        let mut shots = Screenshots::docs();
        let mut problems = Vec::new();
        let mut checked = 0;

        for (i, page) in PAGES.iter().enumerate() {
            goto(c, &format!("{}{}", console.base, seeded.path(page.path))).await;
            for step in page.steps {
                step.run(c, &seeded).await;
            }
            let heading = find(c, "//h1").await.text().await.unwrap();
            assert!(
                heading.contains(page.heading),
                "page {}: the heading is {heading:?}, not {:?}: {}",
                page.name,
                page.heading,
                page_summary(c).await
            );
            // Every other page starts at the width the last one ended at: one resize a page.
            let widths = if i % 2 == 0 { [DESKTOP, PHONE] } else { [PHONE, DESKTOP] };
            for width in widths {
                problems.extend(check_at(c, &mut shots, width, page.name).await);
                checked += 1;
            }
        }

        // The bar's menus, opened on the dashboard.
        for menu in MENUS {
            goto(c, &format!("{}/console/c/pycon", console.base)).await;
            resize(c, menu.width).await;
            for summary in menu.open {
                find(c, summary).await.click().await.unwrap_or_else(|e| panic!("{}: clicking {summary}: {e}", menu.name));
            }
            let shown = find(c, menu.shows).await.is_displayed().await.unwrap();
            assert!(shown, "{}-{}: {} is not shown", menu.width.name, menu.name, menu.shows);
            problems.extend(check_at(c, &mut shots, menu.width, menu.name).await);
            checked += 1;
        }

        browser.close().await;
        assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
        shots.remove_stale(&["desktop-", "phone-"]);
        let logs = console.logs();
        assert!(!logs.contains("panicked"), "the server panicked:\n{logs}");
        eprintln!(
            "every_page_at_both_widths: {checked} pages x widths checked ({} pages) in {:.1?} (data made in {seeded_in:.1?})",
            PAGES.len(),
            started.elapsed()
        );
    })
    .await;
}
