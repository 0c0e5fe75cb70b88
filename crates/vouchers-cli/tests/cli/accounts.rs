//! `vouchers user`: organizer accounts of the console, the password read from stdin.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::support::*;

/// `vouchers ARGS` with `stdin` written to its standard input (not a terminal).
fn with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = command(dir, None)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    output
}

#[test]
fn accounts_are_created_listed_granted_and_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for slug in ["pycon", "djangocon"] {
        create_conference(d, None, slug, slug);
    }
    let secret = "correct horse battery";
    let created = with_stdin(
        d,
        &["user", "create", "--email", "Admin@Example.org", "--role", "admin", "--format", "json"],
        &format!("{secret}\n"),
    );
    let stdout = ok(created);
    let admin: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((admin["email"].as_str(), admin["role"].as_str()), (Some("admin@example.org"), Some("admin")));
    assert!(!stdout.contains(secret) && admin.get("password").is_none() && admin.get("password_hash").is_none());

    let err =
        input_error(with_stdin(d, &["user", "create", "--email", "m@example.org", "--role", "manage"], "short\n"));
    assert!(err.contains("password must be at least 12 characters"), "{err}");
    let err = refused(with_stdin(
        d,
        &["user", "create", "--email", "ADMIN@example.org", "--role", "manage"],
        &format!("{secret}\n"),
    ));
    assert!(err.contains("already exists"), "{err}");
    let err = input_error(with_stdin(
        d,
        &["user", "create", "--email", "not-an-email", "--role", "manage"],
        &format!("{secret}\n"),
    ));
    assert!(err.contains("--email"), "{err}");
    let err = input_error(with_stdin(
        d,
        &["user", "create", "--email", "m@example.org", "--role", "manage", "--conference", "nope"],
        &format!("{secret}\n"),
    ));
    assert!(err.contains("nope"), "{err}");

    let made = with_stdin(
        d,
        &[
            "user",
            "create",
            "--email",
            "m@example.org",
            "--role",
            "manage",
            "--conference",
            "pycon",
            "--format",
            "json",
        ],
        &format!("{secret}\n"),
    );
    let manager: Value = serde_json::from_str(&ok(made)).unwrap();
    assert_eq!(manager["conferences"], serde_json::json!(["pycon"]));
    let granted: Value = serde_json::from_str(&ok(vouchers(
        d,
        None,
        &["user", "grant", "m@example.org", "--conference", "djangocon", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(granted["conferences"], serde_json::json!(["djangocon", "pycon"]));
    ok(with_stdin(d, &["user", "set-password", "m@example.org"], "another long password\n"));
    let disabled: Value =
        serde_json::from_str(&ok(vouchers(d, None, &["user", "disable", "m@example.org", "--format", "json"])))
            .unwrap();
    assert!(disabled["disabled_at"].is_string());
    let listed = ok(vouchers(d, None, &["user", "list"]));
    assert!(listed.contains("admin@example.org") && listed.contains("m@example.org"));
    assert!(!listed.contains(secret) && !listed.contains("argon2"));
    let missing = vouchers(d, None, &["user", "disable", "nobody@example.org"]);
    assert_ne!(missing.status.code(), Some(0));
}

fn json(output: Output) -> Value {
    serde_json::from_str(&ok(output)).unwrap()
}

/// `user create --link` and `user link` print a one-time set-password link (under `--public-url`
/// when set), which `serve`'s console page takes once, never logging its secret; `user revoke`
/// takes a conference away.
fn links_and_revoke(backend: Backend) {
    let database = backend.database();
    let url = database.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for slug in ["pycon", "djangocon"] {
        create_conference(d, Some(url), slug, slug);
    }
    let create = ["user", "create", "--email", "Ana@Example.org", "--role", "manage", "--link"];
    let shown = vouchers(
        d,
        Some(url),
        &[
            &create[..],
            &["--conference", "pycon", "--conference", "djangocon", "--public-url", "https://t.example.org/"],
        ]
        .concat(),
    );
    let stderr = String::from_utf8_lossy(&shown.stderr).into_owned();
    let first = ok(shown).trim().to_owned();
    assert!(first.starts_with("https://t.example.org/console/set-password/") && first.len() > 60, "{first}");
    assert!(stderr.contains("ana@example.org created") && stderr.contains("shown only this once"), "{stderr}");
    let again = refused(vouchers(d, Some(url), &create));
    assert!(again.contains("already exists"), "{again}");
    let err = input_error(vouchers(
        d,
        Some(url),
        &["user", "create", "--email", "x@example.org", "--role", "admin", "--link", "--conference", "pycon"],
    ));
    assert!(err.contains("conference"), "{err}");

    let listed = json(vouchers(d, Some(url), &["user", "list", "--format", "json"]));
    assert_eq!(listed[0]["has_password"], false);
    let table = ok(vouchers(d, Some(url), &["user", "list"]));
    assert!(table.contains("waiting for a password"), "{table}");

    // A new link replaces the first; without --public-url it is the path alone.
    let made = json(vouchers(d, Some(url), &["user", "link", "ana@example.org", "--format", "json"]));
    let link = made["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("/console/set-password/"), "{link}");
    assert!(made["expires_at"].is_string() && made["account"]["email"] == "ana@example.org");
    let missing = not_found(vouchers(d, Some(url), &["user", "link", "nobody@example.org"]));
    assert!(missing.contains("nobody@example.org"), "{missing}");

    // Revoke: at once, harmless twice, refused for an unknown account or conference.
    let revoked = json(vouchers(
        d,
        Some(url),
        &["user", "revoke", "ana@example.org", "--conference", "djangocon", "--format", "json"],
    ));
    assert_eq!(revoked["conferences"], serde_json::json!(["pycon"]));
    let twice = vouchers(d, Some(url), &["user", "revoke", "ana@example.org", "--conference", "djangocon"]);
    assert!(String::from_utf8_lossy(&twice.stderr).contains("nothing changed"));
    ok(twice);
    not_found(vouchers(d, Some(url), &["user", "revoke", "nobody@example.org", "--conference", "pycon"]));
    let err = input_error(vouchers(d, Some(url), &["user", "revoke", "ana@example.org", "--conference", "nope"]));
    assert!(err.contains("nope"), "{err}");

    // The link on a real server: the replaced one opens nothing, the new one sets the password
    // once; the request log never shows a secret.
    let server = Server::start(d, url, "serve.log");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let old_path = first.trim_start_matches("https://t.example.org");
    let get = |path: &str| {
        let request = client.get(format!("{}{path}", server.base));
        runtime.block_on(async { request.send().await.unwrap().status().as_u16() })
    };
    assert_eq!(get(old_path), 404, "replaced");
    assert_eq!(get(&link), 200);
    let post = |path: &str, fields: &[(&str, &str)]| {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request = client
            .post(format!("{}{path}", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        runtime.block_on(async {
            let response = request.send().await.unwrap();
            let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
            (response.status().as_u16(), location)
        })
    };
    let pw = "a passphrase of my own";
    assert_eq!(post(&link, &[("password", pw), ("repeat", pw)]), (303, Some("/console/login".to_owned())));
    assert_eq!(post(&link, &[("password", pw), ("repeat", pw)]).0, 404, "once");
    let signed = post("/console/login", &[("email", "ana@example.org"), ("password", pw)]);
    assert_eq!(signed, (303, Some("/console".to_owned())));
    let logs = server.logs();
    assert!(logs.contains("/console/set-password/{secret}"), "the requests are logged: {logs}");
    for secret in
        [link.trim_start_matches("/console/set-password/"), old_path.trim_start_matches("/console/set-password/")]
    {
        assert!(!logs.contains(secret), "a link's secret is never logged: {logs}");
    }
}

both_backends!(links_and_revoke);
