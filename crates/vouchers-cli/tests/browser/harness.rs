//! The harness alone, fast: chromedriver, headless Chromium and the page helpers against a page
//! the test serves itself from a plain socket (no `vouchers` involved).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::Locator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::browser::{
    bounded, check, click_button, click_nav, control, fill, goto, path, text_content, Browser, Screenshots,
};
use crate::console::{chart_markup, row_text};

/// The one page the server answers every request with.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Harness</title></head><body>
<nav><a href="/next">Next</a></nav>
<h1>Sign in</h1>
<form method="post" action="/session">
  <p><label for="email">Email</label> <input id="email" name="email" type="email"></p>
  <p><label>Password <input name="password" type="password"></label></p>
  <p><label for="kind">Voucher type</label>
     <select id="kind" name="kind"><option value="comp">Comp</option><option value="percentage">Percentage</option></select></p>
  <p><label for="from">Valid from</label> <input id="from" name="from" type="datetime-local"></p>
  <fieldset><legend>Applicable ticket types</legend>
    <label><input type="checkbox" name="ticket_type" value="student"> student</label></fieldset>
  <button type="submit">Sign in</button>
</form>
<svg role="img" width="120" height="20"><title>2 issued, 1 active</title><rect width="60" height="20"/></svg>
<table><thead><tr><th>Batch</th><th>Issued</th><th>Active</th></tr></thead>
  <tbody><tr><td>STUDENT-</td><td>5</td><td>0</td></tr></tbody></table>
</body></html>"#;

/// Answers one request (read to the end of its body) with [`PAGE`], recording its request
/// line and body.
async fn answer(mut stream: TcpStream, requests: Arc<Mutex<Vec<String>>>) {
    let mut received = Vec::new();
    let mut chunk = [0; 4096];
    let (head_end, length) = loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        received.extend_from_slice(&chunk[..n]);
        if let Some(i) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..i]).to_ascii_lowercase();
            let length =
                head.lines().find_map(|l| l.strip_prefix("content-length:")).map(|v| v.trim().parse().unwrap());
            break (i + 4, length.unwrap_or(0));
        }
    };
    while received.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        received.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&received);
    let request_line = text.lines().next().unwrap_or_default();
    let body = String::from_utf8_lossy(&received[head_end.min(received.len())..]);
    requests.lock().unwrap().push(format!("{request_line}\n{body}"));
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Set-Cookie: session=harness; Path=/; HttpOnly\r\nConnection: close\r\n\r\n{PAGE}",
        PAGE.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[tokio::test]
async fn harness_drives_a_local_page() {
    bounded(Duration::from_secs(60), async {
        let started = Instant::now();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let server = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(answer(stream, recorded.clone()));
            }
        });

        let browser = Browser::start().await;
        let c = &browser.client;
        let mut shots = Screenshots::new("harness");
        goto(c, &format!("{base}/")).await;
        assert_eq!(c.title().await.unwrap(), "Harness");
        // A label with `for`, a label wrapping its input, a select, a datetime-local input, a
        // checkbox in a fieldset: each helper checks the control then holds the value.
        fill(c, "", "Email", "admin@example.org").await;
        fill(c, "//form", "Password", "correct horse battery").await;
        fill(c, "", "Voucher type", "percentage").await;
        fill(c, "", "Valid from", "2026-01-01T09:00").await;
        check(c, "//fieldset[legend[normalize-space()='Applicable ticket types']]", "student").await;
        let chart = c.find(Locator::Css("svg[role='img']")).await.unwrap();
        assert_eq!(text_content(c, &chart).await, "2 issued, 1 active");
        assert_eq!(crate::console::usage(c).await, Some((2, 1)));
        shots.take(c, "filled").await;
        click_button(c, "//form", "Sign in").await;
        shots.take(c, "submitted").await;

        // The browser posted the form, every field as filled in.
        let posted = requests.lock().unwrap().iter().find(|r| r.starts_with("POST /session ")).cloned();
        let posted = posted.unwrap_or_else(|| panic!("no POST /session among {:?}", requests.lock().unwrap()));
        for field in [
            "email=admin%40example.org",
            "password=correct+horse+battery",
            "kind=percentage",
            "from=2026-01-01T09%3A00",
            "ticket_type=student",
        ] {
            assert!(posted.contains(field), "{field} not in the posted form: {posted:?}");
        }
        // The answer is a new document: its field is empty again.
        let (_, email) = control(c, "", "Email").await;
        assert_eq!(email.prop("value").await.unwrap().as_deref(), Some(""));
        assert!(shots.dir().join("02-submitted.png").is_file());
        // The server's HttpOnly cookie is visible to WebDriver (the console test sends it along).
        let cookies = c.get_all_cookies().await.unwrap();
        assert!(cookies.iter().any(|k| k.name() == "session" && k.value() == "harness"), "{cookies:?}");
        // Navigation links, table rows, and the usage read from a table when the chart's title
        // does not give it.
        click_nav(c, "Next").await;
        assert_eq!(path(c).await, "/next");
        assert!(row_text(c, "STUDENT-").await.contains('5'));
        assert!(chart_markup(c).await.contains("2 issued"));
        c.execute("document.querySelector('svg title').textContent = 'Usage'", vec![]).await.unwrap();
        assert_eq!(crate::console::usage(c).await, Some((5, 0)));

        browser.close().await;
        server.abort();
        eprintln!("harness_drives_a_local_page: {:.1?}", started.elapsed());
    })
    .await;
}
