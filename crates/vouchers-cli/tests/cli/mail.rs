//! Emails to recipients against a real SMTP server (aiosmtpd, `scripts/smtp-sink.py`, installed
//! into `target/smtp-venv` by `scripts/smtp-deps.sh`): each recipient gets exactly their own
//! code, placeholders filled and HTML escaped; temporary (4xx) and permanent (5xx) answers; the
//! server down when sending starts; the sender killed with SIGKILL mid-run; hostile CSV files.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python, once `scripts/smtp-deps.sh` made sure aiosmtpd is installed (it fails,
/// never skips, when it cannot be).
fn python() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let status = Command::new("bash").arg(repo().join("scripts/smtp-deps.sh")).status().unwrap();
            assert!(status.success(), "scripts/smtp-deps.sh could not install aiosmtpd");
            repo().join("target/smtp-venv/bin/python")
        })
        .clone()
}

/// A real SMTP server writing what it accepts into a folder; killed when dropped.
struct Sink {
    _child: KillOnDrop,
    port: u16,
    maildir: PathBuf,
}

impl Sink {
    /// Starts on `port` (0: any free port); addresses starting `tempfail` get 451 for their first
    /// `tempfail` attempts, `permfail` always 550.
    fn start(maildir: &Path, port: u16, tempfail: u32) -> Sink {
        Sink::start_with(maildir, port, tempfail, 0.0)
    }

    /// [`Sink::start`] answering each message's DATA `data_delay` seconds after receiving it.
    fn start_with(maildir: &Path, port: u16, tempfail: u32, data_delay: f64) -> Sink {
        std::fs::create_dir_all(maildir).unwrap();
        let mut child = KillOnDrop::spawn(
            Command::new(python())
                .arg(repo().join("scripts/smtp-sink.py"))
                .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--maildir"])
                .arg(maildir)
                .args(["--tempfail-times", &tempfail.to_string(), "--data-delay", &data_delay.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )
        .unwrap();
        let mut line = String::new();
        BufReader::new(child.take_stdout().unwrap()).read_line(&mut line).unwrap();
        let port =
            line.trim().strip_prefix("ready ").unwrap_or_else(|| panic!("sink not ready: {line:?}")).parse().unwrap();
        Sink { _child: child, port, maildir: maildir.to_owned() }
    }

    fn url(&self) -> String {
        smtp_url(self.port)
    }
}

/// The SMTP URL of a server on this port, with a password that must never be shown.
fn smtp_url(port: u16) -> String {
    format!("smtp://mailer:hunter2-secret@127.0.0.1:{port}?tls=none")
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One message as the server received it.
#[derive(Debug, Clone)]
struct Mail {
    to: String,
    message_id: String,
    headers: String,
    /// The decoded bodies (quoted-printable undone), text and HTML parts together.
    body: String,
}

/// Undoes quoted-printable: soft line breaks and `=XX`.
fn unquote(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mails(maildir: &Path) -> Vec<Mail> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(maildir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|path| {
            let raw = std::fs::read_to_string(path).unwrap();
            let envelope: Value =
                serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap()).unwrap();
            let (headers, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
            let message_id = headers
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap_or_else(|| panic!("no Message-ID: {headers}"))
                .to_owned();
            Mail {
                to: envelope["rcpt_tos"][0].as_str().unwrap().to_owned(),
                message_id,
                headers: headers.to_owned(),
                body: unquote(body),
            }
        })
        .collect()
}

/// A conference (`pycon`, UTC), a batch of `count` 25 % codes valid until 2027-05-22 18:00.
fn batch(dir: &Path, database: &str, count: usize) {
    create_conference(dir, Some(database), "pycon", "PyCon US 2027");
    let count = count.to_string();
    ok(vouchers(
        dir,
        Some(database),
        &[
            "generate",
            "--conference",
            "pycon",
            "--prefix",
            "SP-",
            "--count",
            &count,
            "--type",
            "percentage",
            "--discount",
            "25",
        ],
    ));
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).unwrap();
    name.to_owned()
}

fn templates(dir: &Path) {
    write(
        dir,
        "body.txt",
        "Hi {{ name }},\nyour code {{ code }} gives {{ discount }} at {{ conference }} ({{ tags.company }}).\nhttps://tickets.example.org/?voucher={{ code }}\n",
    );
    write(dir, "body.html", "<p>Hi {{ name }} from {{ tags.company }}: <b>{{ code }}</b></p>");
}

fn assign_and_send(dir: &Path, database: &str, recipients: &str) -> Value {
    write(dir, "recipients.csv", recipients);
    let out = ok(vouchers(
        dir,
        Some(database),
        &[
            "assign",
            "--conference",
            "pycon",
            "--batch",
            "1",
            "--recipients",
            "recipients.csv",
            "--send",
            "--subject",
            "Your {{ conference }} code",
            "--template",
            "body.txt",
            "--html-template",
            "body.html",
            "--format",
            "json",
        ],
    ));
    serde_json::from_str(&out).unwrap()
}

fn outbox(dir: &Path, database: &str) -> Vec<Value> {
    let out = ok(vouchers(dir, Some(database), &["outbox", "--conference", "pycon", "--format", "json"]));
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

fn send_outbox(dir: &Path, database: &str, url: &str) -> std::process::Output {
    vouchers(
        dir,
        Some(database),
        &[
            "send-outbox",
            "--smtp-url",
            url,
            "--mail-from",
            "PyCon <vouchers@pycon.example.org>",
            "--mail-rate",
            "200",
            "--mail-retry-seconds",
            "0",
        ],
    )
}

fn delivers_each_recipient_their_own_code(backend: Backend) {
    let database = backend.database();
    let database = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    batch(dir, database, 6);
    templates(dir);
    let assigned = assign_and_send(
        dir,
        database,
        "email,name,company\nana@example.org,Ana <b>Lima</b>,ACME & Co\nbo@example.org,Bo,\ntempfail-cy@example.org,Cy,Initech\npermfail-di@example.org,Di,\nEd@Example.org,Ed,=HYPERLINK(\"http://evil\")\n",
    );
    assert_eq!(assigned["queued"], 5);
    let code_of: HashMap<String, String> = assigned["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["recipient"]["email"].as_str().unwrap().to_owned(), a["code"].as_str().unwrap().to_owned()))
        .collect();

    let sink = Sink::start(&dir.join("mail"), 0, 2);
    let sent = send_outbox(dir, database, &sink.url());
    let stderr = String::from_utf8_lossy(&sent.stderr).into_owned();
    assert!(sent.status.success(), "{stderr}");
    assert!(stderr.contains("4 sent, 1 failed, 2 temporary failures"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the SMTP password is never shown: {stderr}");

    let got = mails(&sink.maildir);
    assert_eq!(got.len(), 4, "{got:#?}");
    let mut ids = std::collections::HashSet::new();
    for mail in &got {
        let code = &code_of[&mail.to];
        assert!(mail.body.contains(&format!("your code {code} gives 25% off at PyCon US 2027")), "{mail:#?}");
        assert!(mail.body.contains(&format!("?voucher={code}")), "{mail:#?}");
        for (other, other_code) in &code_of {
            if other != &mail.to {
                assert!(!mail.body.contains(other_code.as_str()), "{} got {other}'s code", mail.to);
            }
        }
        assert!(!mail.body.contains("{{"), "every placeholder is filled: {}", mail.body);
        assert!(mail.headers.contains("Subject: Your PyCon US 2027 code"), "{}", mail.headers);
        assert!(mail.message_id.ends_with("@pycon.example.org>"), "{}", mail.message_id);
        assert!(ids.insert(mail.message_id.clone()));
    }
    let ana = got.iter().find(|m| m.to == "ana@example.org").unwrap();
    assert!(ana.body.contains("Hi Ana <b>Lima</b>,"), "the text part is as written: {}", ana.body);
    assert!(
        ana.body.contains("<p>Hi Ana &lt;b&gt;Lima&lt;&#x2f;b&gt; from ACME &amp; Co:"),
        "HTML escaped: {}",
        ana.body
    );
    let ed = got.iter().find(|m| m.to == "ed@example.org").unwrap();
    assert!(ed.body.contains("(=HYPERLINK(\"http://evil\"))"), "a formula-looking tag is plain text: {}", ed.body);

    let messages = outbox(dir, database);
    let by_email: HashMap<&str, &Value> =
        messages.iter().map(|m| (m["recipient_email"].as_str().unwrap(), m)).collect();
    assert_eq!(by_email["tempfail-cy@example.org"]["status"], "sent");
    assert_eq!(by_email["tempfail-cy@example.org"]["attempts"], 3, "451 twice, then accepted");
    let di = by_email["permfail-di@example.org"];
    assert_eq!((di["status"].as_str(), di["attempts"].as_i64()), (Some("failed"), Some(1)));
    assert!(di["last_error"].as_str().unwrap().contains("550"), "{di}");

    // A failed message can be retried; the server still refuses it.
    let id = di["id"].to_string();
    ok(vouchers(dir, Some(database), &["outbox", "--conference", "pycon", "--retry", &id]));
    let again = send_outbox(dir, database, &sink.url());
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 sent, 1 failed, 0 temporary failures"));
    let messages = outbox(dir, database);
    let di = messages.iter().find(|m| m["recipient_email"] == "permfail-di@example.org").unwrap();
    assert_eq!((di["status"].as_str(), di["attempts"].as_i64()), (Some("failed"), Some(2)));
    assert_eq!(mails(&sink.maildir).len(), 4, "nothing was sent twice");
}

fn waits_for_a_server_that_is_down(backend: Backend) {
    let database = backend.database();
    let database = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    batch(dir, database, 3);
    templates(dir);
    assign_and_send(dir, database, "email,name,company\na@example.org,A,\nb@example.org,B,\nc@example.org,C,\n");
    let port = free_port();
    let url = smtp_url(port);
    let server = Server::start_with(
        dir,
        database,
        "serve.log",
        &["--smtp-url", &url, "--mail-from", "vouchers@pycon.example.org", "--mail-retry-seconds", "1"],
    );
    // Nothing listens yet: the messages stay queued, with the failure recorded.
    let deadline = Instant::now() + Duration::from_secs(15);
    let failed_once =
        |m: &Value| m["status"] == "queued" && m["attempts"].as_i64() >= Some(1) && m["last_error"].is_string();
    loop {
        let waiting = outbox(dir, database);
        if waiting.iter().all(failed_once) {
            break;
        }
        assert!(waiting.iter().all(|m| m["status"] != "sent" && m["status"] != "failed"), "{waiting:#?}");
        assert!(Instant::now() < deadline, "not every email was tried and queued again: {waiting:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }

    let sink = Sink::start(&dir.join("mail"), port, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !outbox(dir, database).iter().all(|m| m["status"] == "sent") {
        assert!(Instant::now() < deadline, "not delivered once the server came back: {:#?}", outbox(dir, database));
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = mails(&sink.maildir);
    let mut to: Vec<&str> = got.iter().map(|m| m.to.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["a@example.org", "b@example.org", "c@example.org"]);
    let logs = server.logs();
    assert!(!logs.contains("hunter2"), "the SMTP password is never logged");
    assert!(logs.contains("mail not sent"), "the failures were logged");
    assert!(server.stop().success());
}

fn a_killed_sender_never_sends_a_different_code(backend: Backend) {
    let database = backend.database();
    let database = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    const N: usize = 40;
    batch(dir, database, N);
    templates(dir);
    let mut csv = String::from("email,name,company\n");
    for i in 0..N {
        csv.push_str(&format!("r{i}@example.org,R {i},\n"));
    }
    let assigned = assign_and_send(dir, database, &csv);
    let code_of: HashMap<String, String> = assigned["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["recipient"]["email"].as_str().unwrap().to_owned(), a["code"].as_str().unwrap().to_owned()))
        .collect();
    let sink = Sink::start(&dir.join("mail"), 0, 0);
    let sender = |rate: &str| {
        KillOnDrop::spawn(
            command(dir, Some(database))
                .args(["send-outbox", "--smtp-url", &sink.url(), "--mail-from", "v@pycon.example.org"])
                .args(["--mail-rate", rate, "--mail-lease-seconds", "2"])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap()
    };
    let mut first = sender("25");
    let deadline = Instant::now() + Duration::from_secs(20);
    while mails(&sink.maildir).len() < 5 {
        assert!(Instant::now() < deadline, "the sender sent nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    let before_restart = mails(&sink.maildir).len();
    assert!(before_restart < N, "killed mid-run");
    // Its claims' leases end after 2 s; a new sender takes them over and finishes.
    std::thread::sleep(Duration::from_millis(2_100));
    let status = sender("200").wait().unwrap();
    assert!(status.success());
    let messages = outbox(dir, database);
    assert!(messages.iter().all(|m| m["status"] == "sent"), "{messages:#?}");

    let got = mails(&sink.maildir);
    let mut per: BTreeMap<&str, Vec<&Mail>> = BTreeMap::new();
    for mail in &got {
        per.entry(mail.to.as_str()).or_default().push(mail);
    }
    assert_eq!(per.len(), N, "every recipient got their message");
    let mut duplicates = 0;
    for (to, copies) in &per {
        for copy in copies {
            assert!(copy.body.contains(&code_of[*to]), "{to} got a different code");
            assert_eq!(copy.message_id, copies[0].message_id, "a copy is the same message");
        }
        duplicates += copies.len() - 1;
    }
    eprintln!(
        "SIGKILL mid-send: {before_restart} of {N} delivered before the kill, {} in all, {duplicates} duplicate(s) of the same message",
        got.len()
    );
}

/// SIGTERM while `serve`'s sender waits for a slow server's answer: `serve` finishes that email
/// and records it before it exits, so every email the server received is `sent` in the outbox and
/// every other one is still queued (not left claimed for its lease), and it stops without
/// sending the rest.
fn sigterm_finishes_the_email_in_flight(backend: Backend) {
    let database = backend.database();
    let database = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    const N: usize = 10;
    batch(dir, database, N);
    templates(dir);
    let mut csv = String::from("email,name,company\n");
    for i in 0..N {
        csv.push_str(&format!("t{i}@example.org,T {i},\n"));
    }
    assign_and_send(dir, database, &csv);
    let sink = Sink::start_with(&dir.join("mail"), 0, 0, 1.5);
    let server = Server::start_with(
        dir,
        database,
        "serve.log",
        &[
            "--smtp-url",
            &sink.url(),
            "--mail-from",
            "v@pycon.example.org",
            "--mail-rate",
            "100",
            "--drain-timeout",
            "10",
        ],
    );
    // The first email is answered after 1.5 s; the second is sent at once and is in flight when
    // the signal comes, half-way through its wait.
    let deadline = Instant::now() + Duration::from_secs(20);
    while mails(&sink.maildir).is_empty() {
        assert!(Instant::now() < deadline, "the sender sent nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(700));
    let stopping = Instant::now();
    assert!(server.stop().success(), "serve exits 0 after finishing the email in flight");
    assert!(stopping.elapsed() >= Duration::from_millis(300), "serve waited for the email in flight");
    let got = mails(&sink.maildir);
    let messages = outbox(dir, database);
    let sent: Vec<&Value> = messages.iter().filter(|m| m["status"] == "sent").collect();
    assert_eq!(got.len(), 2, "the first email and the one in flight, nothing after the signal");
    assert_eq!(sent.len(), got.len(), "each email the server took is recorded as sent: {messages:#?}");
    assert!(
        messages.iter().all(|m| m["status"] == "sent" || (m["status"] == "queued" && m["attempts"] == 0)),
        "the rest wait untouched: {messages:#?}"
    );
}

/// Two senders (two processes, as two `serve` instances would be) drain one outbox at once:
/// every email goes out exactly once.
fn two_senders_send_each_email_once(backend: Backend) {
    let database = backend.database();
    let database = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    const N: usize = 30;
    batch(dir, database, N);
    templates(dir);
    let mut csv = String::from("email,name,company\n");
    for i in 0..N {
        csv.push_str(&format!("s{i}@example.org,S {i},\n"));
    }
    assign_and_send(dir, database, &csv);
    let sink = Sink::start(&dir.join("mail"), 0, 0);
    let senders: Vec<KillOnDrop> = (0..2)
        .map(|_| {
            KillOnDrop::spawn(
                command(dir, Some(database))
                    .args(["send-outbox", "--smtp-url", &sink.url(), "--mail-from", "v@pycon.example.org"])
                    .args(["--mail-rate", "30"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped()),
            )
            .unwrap()
        })
        .collect();
    let mut sent = 0;
    let mut shares = Vec::new();
    for sender in senders {
        let out = sender.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        let count: usize = text.split(" sent").next().and_then(|n| n.trim().rsplit(' ').next()?.parse().ok()).unwrap();
        shares.push(count);
        sent += count;
    }
    assert_eq!(sent, N);
    eprintln!("two senders, {N} emails: {shares:?} sent by each");
    let got = mails(&sink.maildir);
    assert_eq!(got.len(), N, "no email twice");
    assert_eq!(got.iter().map(|m| m.to.as_str()).collect::<std::collections::HashSet<_>>().len(), N);
}

/// On SQLite only.
#[test]
fn hostile_recipient_files_write_nothing() {
    let database = Backend::Sqlite.database();
    let database = database.url();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    batch(dir, database, 3);
    let assign = |file: &str| {
        vouchers(dir, Some(database), &["assign", "--conference", "pycon", "--batch", "1", "--recipients", file])
    };
    // Latin-1, not UTF-8.
    std::fs::write(dir.join("latin1.csv"), b"email,name\nj@example.org,Jos\xe9\n").unwrap();
    let e = input_error(assign("latin1.csv"));
    assert!(e.contains("line 2") && e.contains("UTF-8"), "{e}");
    write(dir, "columns.csv", "mail,fullname\nx@example.org,X\n");
    let e = input_error(assign("columns.csv"));
    assert!(e.contains("--recipients") && e.contains("no email, name columns"), "{e}");
    // A line break in a quoted name: a header injection attempt.
    write(dir, "crlf.csv", "email,name\nx@example.org,\"X\r\nBcc: victim@example.org\"\n");
    let e = input_error(assign("crlf.csv"));
    assert!(e.contains("line 2, name") && e.contains("control characters"), "{e}");
    // 10 MB of junk: refused quickly, with a bounded message.
    let mut junk = b"email,name\n".to_vec();
    junk.extend((0..10_000_000u32).map(|i| b"x,\"=;\n@\x00"[(i % 8) as usize]));
    std::fs::write(dir.join("junk.csv"), &junk).unwrap();
    let started = Instant::now();
    let e = input_error(assign("junk.csv"));
    assert!(e.len() < 8_000, "{} bytes of error", e.len());
    eprintln!("10 MB of junk refused in {:?}", started.elapsed());
    write(dir, "missing.csv", "email,name\n");
    assert!(input_error(assign("missing.csv")).contains("no recipient"));
    let listed = ok(vouchers(dir, Some(database), &["list", "--conference", "pycon", "--format", "json"]));
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert!(listed.iter().all(|v| v["recipient"].is_null()), "nothing was assigned");

    // A formula-looking name is kept as text and defused in every CSV written.
    write(dir, "formula.csv", "email,name\nf@example.org,\"=HYPERLINK(\"\"http://evil\"\")\"\n");
    ok(assign("formula.csv"));
    let csv = ok(vouchers(dir, Some(database), &["list", "--conference", "pycon", "--format", "csv"]));
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
}

fn import_round_trips_an_export(backend: Backend) {
    let (database, other) = (backend.database(), backend.database());
    let (database, other) = (database.url(), other.url());
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    batch(dir, database, 4);
    write(dir, "r.csv", "email,name,team\na@example.org,A,=red\nb@example.org,B,\n");
    ok(vouchers(dir, Some(database), &["assign", "--conference", "pycon", "--batch", "1", "--recipients", "r.csv"]));
    let exported = ok(vouchers(dir, Some(database), &["list", "--conference", "pycon", "--format", "csv"]));
    write(dir, "export.csv", &exported);
    create_conference(dir, Some(other), "pycon", "PyCon US 2027");
    let out = ok(vouchers(dir, Some(other), &["import", "--conference", "pycon", "export.csv", "--format", "json"]));
    let imported: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((imported["imported"].as_i64(), imported["assigned"].as_i64()), (Some(4), Some(2)));
    let listed = |db: &str| {
        let out = ok(vouchers(dir, Some(db), &["list", "--conference", "pycon", "--format", "json"]));
        let mut rows: Vec<(String, Value, Value)> = serde_json::from_str::<Vec<Value>>(&out)
            .unwrap()
            .into_iter()
            .map(|v| (v["code"].as_str().unwrap().to_owned(), v["recipient"].clone(), v["valid_until"].clone()))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    };
    assert_eq!(listed(database), listed(other));
    // Importing it again: every code exists; nothing is written, every line is named.
    let e = input_error(vouchers(dir, Some(other), &["import", "--conference", "pycon", "export.csv"]));
    for line in 2..=5 {
        assert!(e.contains(&format!("line {line}, code")), "{e}");
    }
}

both_backends!(
    delivers_each_recipient_their_own_code,
    waits_for_a_server_that_is_down,
    a_killed_sender_never_sends_a_different_code,
    sigterm_finishes_the_email_in_flight,
    two_senders_send_each_email_once,
    import_round_trips_an_export,
);
