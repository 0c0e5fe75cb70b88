//! The console with the keyboard alone, in headless Chromium: sign in, reach Generate through
//! the navigation, fill the form and generate a batch, then deactivate it through its
//! confirmation page. Only keys are pressed, each sent to the element that has the focus (Tab,
//! Shift+Tab, Enter, Space, typing): no click, no script that submits or focuses, no address
//! opened but the sign-in page's. Wherever the focus lands on the way (every link, button,
//! field, summary and scrolling table it passes), it must show: on the screen, with an outline
//! or a box shadow.

use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::Client;
use serde_json::json;

use crate::app::{Console, ADMIN_EMAIL, ADMIN_PASSWORD, CONFERENCE};
use crate::browser::{
    body_text, bounded, button_xpath, control, find, focus_shown, goto, link_xpath, page_summary, wait_for_new_page,
    Browser,
};

/// How many Tab presses one move of the focus may take (the longest: from the top of the
/// generate form to its button, past every field).
const MAX_PRESSES: usize = 80;

/// The keyboard: keys sent to whatever has the focus, counting the presses.
struct Keyboard<'a> {
    c: &'a Client,
    presses: usize,
    stops: Vec<String>,
}

impl Keyboard<'_> {
    /// Sends `keys` to the focused element (the page itself when nothing has the focus).
    async fn press(&mut self, keys: &str) {
        let active = self.c.active_element().await.unwrap_or_else(|e| panic!("the focused element: {e}"));
        active.send_keys(keys).await.unwrap_or_else(|e| panic!("pressing {keys:?}: {e}"));
        self.presses += 1;
    }

    /// Types `text` into the focused field, which must then hold it.
    async fn type_text(&mut self, text: &str) {
        self.press(text).await;
        let value = self.c.active_element().await.unwrap().prop("value").await.unwrap();
        assert_eq!(value.as_deref(), Some(text), "the focused field after typing {text:?}");
    }

    /// Presses `keys` and waits for the page they load.
    async fn press_for_new_page(&mut self, keys: &str, what: &str) {
        let old = find(self.c, "/html").await;
        self.press(keys).await;
        wait_for_new_page(self.c, old, what).await;
    }

    /// Moves the focus to `target` with Tab, or with Shift+Tab when `target` comes before the
    /// focused element, at most [`MAX_PRESSES`] times; every element the focus lands on must
    /// show it ([`focus_shown`]).
    async fn focus(&mut self, target: &Element, what: &str) {
        let target_json = serde_json::to_value(target).unwrap();
        // 0: the target has the focus; 1: it comes after the focused element; -1: before.
        let script = "const t = arguments[0], a = document.activeElement;
            if (a === t) return 0;
            if (!a || a === document.body) return 1;
            return a.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING ? 1 : -1;";
        for _ in 0..MAX_PRESSES {
            let direction = self.c.execute(script, vec![target_json.clone()]).await.unwrap();
            if direction == json!(0) {
                return;
            }
            let keys = if direction == json!(1) { Key::Tab.to_string() } else { Key::Shift + &*Key::Tab };
            self.press(&keys).await;
            match focus_shown(self.c).await {
                Ok(stop) => self.stops.push(stop),
                Err(problem) => panic!("on the way to {what}: {problem}: {}", page_summary(self.c).await),
            }
        }
        panic!("{what} not reached in {MAX_PRESSES} presses of Tab: {}", page_summary(self.c).await);
    }

    /// Moves the focus to the field labelled `label` and types `text` into it.
    async fn fill(&mut self, label: &str, text: &str) {
        let (_, field) = control(self.c, "", label).await;
        self.focus(&field, label).await;
        self.type_text(text).await;
    }

    /// Whether the focused element is one the navigation bar (`<nav>`) holds.
    async fn in_nav(&self) -> bool {
        let script = "return !!document.activeElement.closest('nav')";
        self.c.execute(script, vec![]).await.unwrap() == json!(true)
    }
}

#[tokio::test]
async fn keyboard_alone_generates_and_deactivates_a_batch() {
    bounded(Duration::from_secs(90), async {
        let started = Instant::now();
        let console = Console::start().await;
        let browser = Browser::start().await;
        let c = &browser.client;
        let mut k = Keyboard { c, presses: 0, stops: Vec::new() };

        // 1. Sign in: the only address opened is the sign-in page's.
        goto(c, &format!("{}/console/login", console.base)).await;
        k.fill("Email", ADMIN_EMAIL).await;
        k.fill("Password", ADMIN_PASSWORD).await;
        let sign_in = find(c, &button_xpath("//main", "Sign in")).await;
        k.focus(&sign_in, "Sign in").await;
        k.press_for_new_page(&Key::Enter.to_string(), "Enter on Sign in").await;
        assert!(body_text(c).await.contains(CONFERENCE), "not signed in: {}", page_summary(c).await);

        // 2. The conference, then Generate through the navigation.
        let conference = find(c, &link_xpath("//main", CONFERENCE)).await;
        k.focus(&conference, CONFERENCE).await;
        k.press_for_new_page(&Key::Enter.to_string(), "Enter on the conference").await;
        let generate = find(c, &link_xpath("//nav", "Generate")).await;
        k.focus(&generate, "Generate in the navigation").await;
        assert!(k.in_nav().await, "the focus is not in the navigation");
        k.press_for_new_page(&Key::Enter.to_string(), "Enter on Generate").await;
        let heading = find(c, "//h1").await.text().await.unwrap();
        assert_eq!(heading, "Generate a batch", "{}", page_summary(c).await);

        // 3. The form: the prefix and the count, then back up to the name (Shift+Tab), then
        //    what the codes give, typed into the select; a checkbox ticked with Space.
        k.fill("Prefix", "KEY-").await;
        k.fill("Count", "3").await;
        k.fill("Name", "Keyboard batch").await;
        let (_, kind) = control(c, "", "Voucher type").await;
        k.focus(&kind, "Voucher type").await;
        k.press("p").await;
        assert_eq!(kind.prop("value").await.unwrap().as_deref(), Some("percentage"), "typing p in Voucher type");
        k.fill("Discount value", "25").await;
        let (_, once) = control(c, "", "Once per customer").await;
        k.focus(&once, "Once per customer").await;
        k.press(&Key::Space.to_string()).await;
        assert!(once.is_selected().await.unwrap(), "Space did not tick Once per customer");
        let submit = find(c, &button_xpath("//main", "Generate")).await;
        k.focus(&submit, "the Generate button").await;
        k.press_for_new_page(&Key::Enter.to_string(), "Enter on the Generate button").await;
        let heading = find(c, "//h1").await.text().await.unwrap();
        assert!(heading.starts_with("Keyboard batch"), "not the new batch's page: {}", page_summary(c).await);
        let codes = crate::browser::find_all(c, "//main//td/code[starts-with(., 'KEY-')]").await;
        assert_eq!(codes.len(), 3, "the batch's codes: {}", page_summary(c).await);

        // 4. Deactivate it: its link, the confirmation page, its button pressed with Space.
        let deactivate = find(c, &link_xpath("//main", "Deactivate batch")).await;
        k.focus(&deactivate, "Deactivate batch").await;
        k.press_for_new_page(&Key::Enter.to_string(), "Enter on Deactivate batch").await;
        let heading = find(c, "//h1").await.text().await.unwrap();
        assert!(heading.starts_with("Deactivate batch"), "not the confirmation: {}", page_summary(c).await);
        let confirm = find(c, &button_xpath("//main", "Deactivate")).await;
        k.focus(&confirm, "the Deactivate button").await;
        k.press_for_new_page(&Key::Space.to_string(), "Space on Deactivate").await;
        let text = body_text(c).await;
        assert!(text.contains("deactivated"), "no word of the deactivation: {}", page_summary(c).await);
        let inactive =
            crate::browser::find_all(c, "//main//tr[td/code[starts-with(., 'KEY-')]][contains(., 'inactive')]").await;
        assert_eq!(inactive.len(), 3, "the batch's codes are not all inactive: {}", page_summary(c).await);

        // The focus showed on the navigation's links and on buttons, among every stop.
        let nav_links = ["Dashboard", "Vouchers", "Batches", "Generate"];
        for link in nav_links {
            assert!(
                k.stops.iter().any(|s| s.starts_with("a ") && s.contains(link)),
                "no stop on {link}: {:?}",
                k.stops
            );
        }
        assert!(k.stops.iter().any(|s| s.starts_with("button ")), "no stop on a button: {:?}", k.stops);

        let (presses, stops) = (k.presses, k.stops.len());
        browser.close().await;
        let logs = console.logs();
        assert!(!logs.contains("panicked"), "the server panicked:\n{logs}");
        eprintln!(
            "keyboard_alone_generates_and_deactivates_a_batch: {} key presses, {} focus stops checked, in {:.1?}",
            presses,
            stops,
            started.elapsed()
        );
    })
    .await;
}
