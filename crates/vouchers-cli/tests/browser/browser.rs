//! Headless Chromium driven through a chromedriver the test starts itself, and the page helpers
//! the tests share: controls found by their label, buttons and links by their text, clicks that
//! wait for the next page, screenshots. Every wait is bounded ([`WAIT`]); none is a fixed sleep.
//!
//! A `scope` argument is an XPath that every lookup is prefixed with (`""`: the whole page;
//! `//form[.//button[normalize-space()='Create add-on']]`: inside that form only).

use std::fmt::Display;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::child::KillOnDrop;

/// Debian's Chromium and its WebDriver (scripts/browser-deps.sh installs both).
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long one wait for the page (an element, the next page) may take.
pub const WAIT: Duration = Duration::from_secs(15);
/// How long chromedriver may take to answer `/status` as ready.
const DRIVER_START: Duration = Duration::from_secs(20);
/// How often a bounded wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// Runs `test`, failing it when it takes longer than `limit` (a hang must fail, not block CI).
/// The processes the test started are killed by their guards when its future is dropped.
pub async fn bounded(limit: Duration, test: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(limit, test).await.is_err() {
        panic!("the browser test did not finish within {limit:?}");
    }
}

/// A chromedriver process, leader of its own process group. Dropping it kills the whole group
/// (its guard does): chromedriver and the Chromium processes it started, even when the test
/// panicked.
struct Driver {
    child: KillOnDrop,
    log: PathBuf,
}

impl Driver {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A Chromium session. Fields drop in order: the WebDriver client, then chromedriver (and its
/// Chromium), then the profile folder.
pub struct Browser {
    pub client: Client,
    driver: Driver,
    _scratch: tempfile::TempDir,
}

/// The capabilities the session is created with: Debian's Chromium, headless, with a fresh
/// profile, and nothing that reaches for the network (the machine only has localhost).
fn capabilities(profile: &Path) -> fantoccini::wd::Capabilities {
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--window-size=1280,900".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        "timeouts": { "pageLoad": 30_000, "script": 10_000, "implicit": 0 },
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object"),
    }
}

impl Browser {
    /// Starts chromedriver on a free port, waits until it is ready, and opens a headless
    /// Chromium session through it. Fails (never skips) when either is missing or cannot run.
    pub async fn start() -> Browser {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: run scripts/browser-deps.sh (it installs Debian's chromium and chromium-driver)"
            );
        }
        let scratch = tempfile::tempdir().unwrap();
        let profile = scratch.path().join("profile");
        std::fs::create_dir(&profile).unwrap();
        let log = scratch.path().join("chromedriver.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(File::create(&log).unwrap())
            .stderr(File::create(&log).unwrap())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}; run scripts/browser-deps.sh"));
        let mut driver = Driver { child: KillOnDrop::group(child), log };
        let url = format!("http://127.0.0.1:{port}");
        wait_until_ready(&mut driver, &url).await;

        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities(&profile));
        let client = builder.connect(&url).await.unwrap_or_else(|e| {
            panic!(
                "chromedriver could not start {CHROMIUM} ({e}); run scripts/browser-deps.sh\nchromedriver log:\n{}",
                driver.log()
            )
        });
        Browser { client, driver, _scratch: scratch }
    }

    /// Ends the session (chromedriver quits Chromium), then kills chromedriver.
    pub async fn close(self) {
        let Browser { client, driver, _scratch } = self;
        client.close().await.unwrap_or_else(|e| panic!("closing the session: {e}\n{}", driver.log()));
        drop(driver);
    }
}

/// Polls chromedriver's `/status` until it says it is ready, for at most [`DRIVER_START`].
async fn wait_until_ready(driver: &mut Driver, url: &str) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let deadline = Instant::now() + DRIVER_START;
    loop {
        if let Ok(Some(status)) = driver.child.try_wait() {
            panic!("{CHROMEDRIVER} exited ({status}) before it was ready:\n{}", driver.log());
        }
        if let Ok(response) = http.get(format!("{url}/status")).send().await {
            if let Ok(status) = response.json::<Value>().await {
                if status["value"]["ready"] == json!(true) {
                    return;
                }
            }
        }
        assert!(Instant::now() < deadline, "{CHROMEDRIVER} not ready within {DRIVER_START:?}:\n{}", driver.log());
        tokio::time::sleep(POLL).await;
    }
}

/// `s` as an XPath 1.0 string literal (XPath has no escapes: quotes are concatenated).
pub fn lit(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("concat('{}')", s.split('\'').collect::<Vec<_>>().join("', \"'\", '"))
    }
}

/// Waits (bounded) for the first element matching `xpath`.
pub async fn find(c: &Client, xpath: &str) -> Element {
    match c.wait().at_most(WAIT).every(POLL).for_element(Locator::XPath(xpath)).await {
        Ok(element) => element,
        Err(e) => panic!("no element {xpath} within {WAIT:?} ({e}) on {}", page_summary(c).await),
    }
}

/// Every element matching `xpath`, now (no wait).
pub async fn find_all(c: &Client, xpath: &str) -> Vec<Element> {
    c.find_all(Locator::XPath(xpath)).await.unwrap_or_else(|e| panic!("finding {xpath}: {e}"))
}

/// Whether an element matches `xpath` now.
pub async fn exists(c: &Client, xpath: &str) -> bool {
    !find_all(c, xpath).await.is_empty()
}

/// The label whose text is `label` (its whole text, or its first text node when it wraps its
/// control), within `scope`.
fn label_xpath(scope: &str, label: &str) -> String {
    let l = lit(label);
    format!("{scope}//label[normalize-space()={l} or normalize-space(text())={l}]")
}

/// The control labelled `label` within `scope`: the element named by the label's `for`, or
/// the control the label wraps.
pub async fn control(c: &Client, scope: &str, label: &str) -> (Element, Element) {
    let label_element = find(c, &label_xpath(scope, label)).await;
    let control = match label_element.attr("for").await.unwrap() {
        Some(id) if !id.is_empty() => find(c, &format!("//*[@id={}]", lit(&id))).await,
        _ => label_element
            .find(Locator::XPath("(.//input | .//select | .//textarea)[1]"))
            .await
            .unwrap_or_else(|e| panic!("label {label:?} has no `for` and wraps no control: {e}")),
    };
    (label_element, control)
}

/// Fills the control labelled `label` within `scope` with `value`: types into a text field,
/// picks the option whose value or text is `value` in a select, sets date and time inputs with
/// JavaScript (typing into them differs per browser). Checks the control then holds `value`.
pub async fn fill(c: &Client, scope: &str, label: &str, value: &str) {
    let (_, field) = control(c, scope, label).await;
    let tag = field.tag_name().await.unwrap().to_lowercase();
    let kind = field.attr("type").await.unwrap().unwrap_or_default().to_lowercase();
    match (tag.as_str(), kind.as_str()) {
        ("select", _) => {
            let v = lit(value);
            let option = field
                .find(Locator::XPath(&format!(".//option[@value={v} or normalize-space()={v}]")))
                .await
                .unwrap_or_else(|e| panic!("select {label:?} has no option {value:?}: {e}"));
            option.click().await.unwrap();
            assert!(option.is_selected().await.unwrap(), "option {value:?} of {label:?} is not selected");
            return;
        }
        ("input", "checkbox" | "radio") => panic!("{label:?} is a {kind}: use check()"),
        ("input", "datetime-local" | "date" | "time" | "month" | "week") => {
            let script = "const [e, v] = arguments; e.value = v; \
                          e.dispatchEvent(new Event('input', {bubbles: true})); \
                          e.dispatchEvent(new Event('change', {bubbles: true}));";
            let element = serde_json::to_value(&field).unwrap();
            c.execute(script, vec![element, json!(value)]).await.unwrap();
        }
        _ => {
            field.clear().await.unwrap();
            field.send_keys(value).await.unwrap();
        }
    }
    let now = field.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(now, value, "the field labelled {label:?} does not hold what was filled in");
}

/// Ticks the checkbox labelled `label` within `scope` (clicking the label when the box itself
/// cannot be clicked), and checks it is ticked.
pub async fn check(c: &Client, scope: &str, label: &str) {
    let (label_element, field) = control(c, scope, label).await;
    let kind = field.attr("type").await.unwrap().unwrap_or_default();
    assert!(kind == "checkbox" || kind == "radio", "{label:?} is not a checkbox but {kind:?}");
    if !field.is_selected().await.unwrap() && field.click().await.is_err() {
        label_element.click().await.unwrap();
    }
    assert!(field.is_selected().await.unwrap(), "{label:?} could not be ticked");
}

/// The button with text `text` within `scope` (`<button>`, or `<input type=submit>` by value).
pub fn button_xpath(scope: &str, text: &str) -> String {
    let t = lit(text);
    format!(
        "({scope}//button[normalize-space()={t}] | {scope}//input[(@type='submit' or @type='button') and @value={t}])"
    )
}

/// The link with text `text` within `scope`.
pub fn link_xpath(scope: &str, text: &str) -> String {
    format!("{scope}//a[normalize-space()={}]", lit(text))
}

/// Clicks the button `text` within `scope` and waits for the page it loads.
pub async fn click_button(c: &Client, scope: &str, text: &str) {
    let button = find(c, &button_xpath(scope, text)).await;
    click_and_wait(c, button, &format!("button {text:?}")).await;
}

/// Clicks the link `text` within `scope` and waits for the page it loads.
pub async fn click_link(c: &Client, scope: &str, text: &str) {
    let link = find(c, &link_xpath(scope, text)).await;
    click_and_wait(c, link, &format!("link {text:?}")).await;
}

/// Clicks the link of the navigation bar (`<nav>`) with text `text`, and waits for its page. A
/// link under the bar's closed "More" disclosure is reached as a person does: "More" first.
pub async fn click_nav(c: &Client, text: &str) {
    let more = format!("//nav//details[not(@open)][.//a[normalize-space()={}]]/summary", lit(text));
    if exists(c, &more).await {
        find(c, &more).await.click().await.unwrap_or_else(|e| panic!("opening More for {text:?}: {e}"));
    }
    click_link(c, "//nav", text).await;
}

/// Clicks the link or the button `text` (an action the page may offer as either), and waits
/// for the page it loads. One under a closed disclosure (`<details>`, such as the account's
/// menu) is reached as a person does: its summary first.
pub async fn click_action(c: &Client, text: &str) {
    let either = format!("({} | {})", link_xpath("", text), button_xpath("", text));
    let element = find(c, &either).await;
    let closed = format!("{either}/ancestor::details[not(@open)][1]/summary");
    if !element.is_displayed().await.unwrap() && exists(c, &closed).await {
        find(c, &closed).await.click().await.unwrap_or_else(|e| panic!("opening the menu of {text:?}: {e}"));
    }
    click_and_wait(c, element, &format!("{text:?}")).await;
}

/// Clicks `element` and waits until a new document has replaced the current one and loaded.
pub async fn click_and_wait(c: &Client, element: Element, what: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    element.click().await.unwrap_or_else(|e| panic!("clicking {what}: {e}"));
    wait_for_new_page(c, old, &format!("clicking {what}")).await;
}

/// Waits (bounded) until a new document has replaced `old` (the `<html>` element of the page
/// before `what` was done) and loaded.
pub async fn wait_for_new_page(c: &Client, old: Element, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let replaced = matches!(old.tag_name().await, Err(ref e) if is_gone(e));
        if replaced {
            let state = c.execute("return document.readyState", vec![]).await.ok();
            if state == Some(json!("complete")) {
                return;
            }
        }
        if Instant::now() > deadline {
            panic!("{what} loaded no new page within {WAIT:?}; still on {}", page_summary(c).await);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Opens `url` and waits for it to load.
pub async fn goto(c: &Client, url: &str) {
    c.goto(url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
}

fn is_gone(e: &CmdError) -> bool {
    e.is_stale_element_reference() || e.is_no_such_element()
}

/// The visible text of the page.
pub async fn body_text(c: &Client) -> String {
    c.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
}

/// The path of the current page's address.
pub async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

/// The address and the start of the text of the current page, for failure messages.
pub async fn page_summary(c: &Client) -> String {
    let url = c.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("(no address: {e})"));
    let text = match c.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(e) => format!("(no body: {e})"),
    };
    let text: String = text.chars().take(1500).collect();
    format!("{url}\n--- page text ---\n{text}\n---")
}

/// The text of `element` (its `textContent`, hidden parts included).
pub async fn text_content(c: &Client, element: &Element) -> String {
    let element = serde_json::to_value(element).unwrap();
    let text = c.execute("return arguments[0].textContent", vec![element]).await.unwrap();
    text.as_str().unwrap_or_default().to_owned()
}

/// PNG screenshots of the pages a test went through, each taken after checking the page with
/// axe-core: numbered (`NN-name.png`) in `target/browser-screenshots/<folder>/` for a test's
/// steps, or named (`name.png`) in the repository's `docs/screenshots/` for the documentation.
pub struct Screenshots {
    dir: PathBuf,
    numbered: bool,
    taken: u32,
    names: Vec<String>,
}

impl Screenshots {
    /// The folder `folder` under `target/browser-screenshots` (the target folder this test
    /// binary was built in), emptied of an earlier run's screenshots.
    pub fn new(folder: &str) -> Screenshots {
        let exe = std::env::current_exe().unwrap();
        // <target>/debug/deps/browser-<hash>
        let target = exe.ancestors().nth(3).unwrap();
        let dir = target.join("browser-screenshots").join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "png") {
                std::fs::remove_file(path).unwrap();
            }
        }
        Screenshots { dir, numbered: true, taken: 0, names: Vec::new() }
    }

    /// The repository's `docs/screenshots/`, where each screenshot replaces the one of the same
    /// name (see [`Screenshots::remove_stale`] for the ones no page wrote).
    pub fn docs() -> Screenshots {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        Screenshots { dir, numbered: false, taken: 0, names: Vec::new() }
    }

    /// Saves a screenshot of the current page as the next `NN-name.png` (or `name.png`), after
    /// checking the page with axe-core: no violation of WCAG 2.1 A or AA.
    pub async fn take(&mut self, c: &Client, name: impl Display) {
        let violations = axe_violations(c).await;
        assert!(violations.is_empty(), "page {name}: accessibility violations: {violations:#?}");
        self.save(c, name).await;
    }

    /// Saves a screenshot of the current page as the next `NN-name.png` (or `name.png`),
    /// without checking it (for a page the caller checked already).
    pub async fn save(&mut self, c: &Client, name: impl Display) {
        self.taken += 1;
        let png = c.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000, "screenshot {name} is not a PNG");
        let file = if self.numbered { format!("{:02}-{name}.png", self.taken) } else { format!("{name}.png") };
        let path = self.dir.join(&file);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        self.names.push(file);
    }

    /// Removes the folder's PNG files whose name starts with one of `prefixes` that this run
    /// did not write (a page renamed or dropped from the tour leaves nothing stale behind).
    pub fn remove_stale(&self, prefixes: &[&str]) {
        for entry in std::fs::read_dir(&self.dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let ours = prefixes.iter().any(|p| name.starts_with(p)) && name.ends_with(".png");
            if ours && !self.names.contains(&name) {
                std::fs::remove_file(&path).unwrap_or_else(|e| panic!("removing {}: {e}", path.display()));
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A window size the pages are checked at, and the prefix of its screenshots' names.
#[derive(Clone, Copy, Debug)]
pub struct Width {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
}

/// A laptop's window.
pub const DESKTOP: Width = Width { name: "desktop", width: 1280, height: 900 };
/// A phone's screen (an iPhone 12 to 15's CSS pixels).
pub const PHONE: Width = Width { name: "phone", width: 390, height: 844 };

/// The height of the window's frame (the part of the window that is not the page), as last
/// measured: headless Chromium draws none, yet counts one.
static FRAME_HEIGHT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Sets the window so that the page (the viewport) is `width` wide and high: the window's
/// frame is added to its height, as measured. (Chromium's window is at least 500 pixels wide,
/// and its page as narrow as asked.)
pub async fn resize(c: &Client, width: Width) {
    use std::sync::atomic::Ordering::Relaxed;
    let sizes = "return [window.innerWidth, window.innerHeight, window.outerHeight]";
    for _ in 0..2 {
        let height = width.height + FRAME_HEIGHT.load(Relaxed);
        c.set_window_size(width.width, height).await.unwrap_or_else(|e| panic!("resizing to {width:?}: {e}"));
        let measured = c.execute(sizes, vec![]).await.unwrap();
        let n = |i: usize| measured[i].as_u64().unwrap_or_default() as u32;
        if (n(0), n(1)) == (width.width, width.height) {
            return;
        }
        FRAME_HEIGHT.store(n(2).saturating_sub(n(1)), Relaxed);
    }
    let measured = c.execute(sizes, vec![]).await.unwrap();
    panic!(
        "the page is not {}x{}: [inner width, inner height, outer height] are {measured}",
        width.width, width.height
    );
}

/// The window width at which and under which the console's links fold behind Menu
/// (console.css's breakpoint).
pub const MENU_BELOW: u32 = 1200;

/// What is wrong with the current page's layout at the window's width, one sentence each:
/// - the page is wider than the window less its scroll bar (a wide table may scroll inside its
///   own `.scroll` or `.table-wrap` box, the page may not), naming the elements that reach past
///   its edge;
/// - on a wide screen (over [`MENU_BELOW`] pixels), the bar (brand, navigation, account) is not
///   one line, one of its links takes two lines, or the Menu button shows;
/// - on a narrow one, the navigation shows before Menu is pressed, or a link of the opened menu
///   takes two lines or reaches past the screen.
pub async fn layout_problems(c: &Client) -> Vec<String> {
    let script = r#"
        const problems = [];
        const doc = document.documentElement;
        const width = doc.clientWidth;
        const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : '')
            + ' "' + (e.textContent || '').trim().slice(0, 30) + '"';
        const shown = e => !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
        const oneLine = e => e.getBoundingClientRect().height < 1.8 * parseFloat(getComputedStyle(e).lineHeight);
        if (doc.scrollWidth > width) {
            const past = Array.from(document.body.querySelectorAll('*'))
                .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 0.5; });
            const outside = past.filter(e => !e.closest('.scroll, .table-wrap'));
            const wide = (outside.length > 0 ? outside : past)
                .map(e => describe(e) + ' to ' + Math.round(e.getBoundingClientRect().right) + 'px');
            problems.push('the page is ' + doc.scrollWidth + 'px wide in a ' + width + 'px window: ' + wide.slice(0, 6).join('; '));
        }
        const nav = document.querySelector('header.top nav');
        if (nav) {
            const menu = document.querySelector('.nav-toggle-label');
            const toggle = document.querySelector('.nav-toggle');
            const links = Array.from(nav.querySelectorAll(':scope > a, :scope > span, :scope > details > summary'));
            if (window.innerWidth > arguments[0]) {
                if (shown(menu)) problems.push('the Menu button shows on a wide screen');
                const brand = document.querySelector('header.top .brand').getBoundingClientRect();
                const bar = Array.from(nav.children).concat(Array.from(document.querySelectorAll('header.top .account')));
                for (const item of bar.filter(shown)) {
                    const r = item.getBoundingClientRect();
                    if (r.top >= brand.bottom || r.bottom <= brand.top) problems.push(describe(item) + ' is not on the bar\'s line');
                }
                for (const link of links.filter(shown)) {
                    if (!oneLine(link)) problems.push(describe(link) + ' takes two lines');
                }
            } else if (!toggle || !toggle.checked) {
                if (!shown(menu)) problems.push('no Menu button on a narrow screen');
                if (shown(nav)) problems.push('the navigation shows on a narrow screen before Menu is pressed');
            } else {
                for (const link of links.filter(shown)) {
                    if (!oneLine(link)) problems.push(describe(link) + ' takes two lines in the opened menu');
                    if (link.getBoundingClientRect().right > width) problems.push(describe(link) + ' reaches past the screen');
                }
            }
        }
        return problems;"#;
    let found = c.execute(script, vec![json!(MENU_BELOW)]).await.unwrap_or_else(|e| panic!("checking the layout: {e}"));
    found.as_array().map(|v| v.iter().map(|x| x.as_str().unwrap_or_default().to_owned()).collect()).unwrap_or_default()
}

/// The focused element (its tag, id and text) when it shows that it has the focus: it is on
/// the screen, visible, and drawn with an outline or a box shadow (for the visually hidden Menu
/// checkbox, its label is); else what is wrong.
pub async fn focus_shown(c: &Client) -> Result<String, String> {
    let script = "
        let e = document.activeElement;
        if (!e || e === document.body || e === document.documentElement) return [false, 'nothing has the focus'];
        const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' \"' + (e.textContent || e.value || '').trim().slice(0, 40) + '\"';
        if (e.classList.contains('nav-toggle')) e = document.querySelector('label[for=\"' + e.id + '\"]');
        const r = e.getBoundingClientRect();
        const s = getComputedStyle(e);
        if (e.getClientRects().length === 0 || s.visibility === 'hidden' || r.right <= 0 || r.bottom <= 0)
            return [false, name + ' has the focus but is not on the screen'];
        const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
        const shadow = s.boxShadow !== '' && s.boxShadow !== 'none';
        return outline || shadow ? [true, name] : [false, name + ' has the focus and shows no outline or shadow'];";
    let found = c.execute(script, vec![]).await.unwrap_or_else(|e| panic!("reading the focus style: {e}"));
    let said = found[1].as_str().unwrap_or_default().to_owned();
    if found[0] == json!(true) {
        Ok(said)
    } else {
        Err(said)
    }
}

/// axe-core's script (the npm package, installed into `target/axe` by scripts/browser-deps.sh).
fn axe_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let target = exe.ancestors().nth(3).unwrap();
        let path = target.join("axe/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (scripts/browser-deps.sh installs axe-core with npm)", path.display()))
    })
}

/// What axe-core finds on the current page against WCAG 2.1 A and AA: one line per rule broken,
/// with the first element that breaks it.
pub async fn axe_violations(c: &Client) -> Vec<String> {
    let loaded = c.execute("return typeof axe !== 'undefined'", vec![]).await.unwrap();
    if loaded != serde_json::Value::Bool(true) {
        c.execute(axe_source(), vec![]).await.unwrap_or_else(|e| panic!("injecting axe-core: {e}"));
    }
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + ', ' + v.nodes.length + ' nodes): '
                                + v.help + ' at ' + JSON.stringify(v.nodes[0] && v.nodes[0].target))))
                .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("running axe-core: {e}"));
    found.as_array().map(|v| v.iter().map(|x| x.as_str().unwrap_or_default().to_owned()).collect()).unwrap_or_default()
}
