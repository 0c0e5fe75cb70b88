//! Hostile input to the recipient and mail use cases, on both backends: templates that would
//! render without bound, a CSV header too wide to compare, recipients that are not addresses, a
//! subject no mail server takes, and cells the spreadsheet quote must give back exactly. Each is
//! refused whole, naming the field, and writes nothing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use vouchers_core::domain::{MessageTemplate, Voucher};
use vouchers_core::service::assign::{assign_recipients, RecipientInput, RecipientList};
use vouchers_core::service::import::import_vouchers;
use vouchers_core::service::{query, send};
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, Limits, VoucherError};

use crate::support::*;

async fn assigned_batch(db: &TestDb, tags: BTreeMap<String, String>) -> i64 {
    fixture(&*db.store).await;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &config(3)).await.unwrap().batch;
    let list = RecipientList::from_inputs(&[
        RecipientInput { email: "ana@example.org".into(), name: "Ana".into(), tags: tags.clone() },
        RecipientInput { email: "bo@example.org".into(), name: "Bo".into(), tags },
    ])
    .unwrap();
    assign_recipients(&*db.store, CONF, batch.id, &list, None).await.unwrap();
    batch.id
}

async fn outbox_count(db: &TestDb) -> i64 {
    Raw::connect(db).await.scalar("SELECT count(*) FROM outbox_message").await
}

async fn unbounded_templates_are_refused_and_large_messages_queue_nothing(db: TestDb) {
    let tags = BTreeMap::from([("company".to_owned(), "<".repeat(200))]);
    let batch = assigned_batch(&db, tags).await;
    // What the probe sent: refused when given, before anything renders.
    let started = Instant::now();
    for source in [
        "{% macro m(n) %}{% if n > 0 %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}{% endmacro %}{{ m(22) }}",
        r#"{{ "x" * 100000000 }}"#,
        "{% set x = code %}{% set x = x ~ x %}{{ x }}",
        "{% for a in code %}{% for b in code %}{{ name }}{% endfor %}{% endfor %}",
    ] {
        let e = MessageTemplate::parse("Hi", source, None).unwrap_err();
        assert_eq!(e.field, "template", "{source}");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "refusing is immediate");
    // A template within the rules whose messages fill in past 256 KiB: nothing is queued, and the
    // preview says the same.
    let many = "{{ tags.company }}".repeat(1_000);
    let large = MessageTemplate::parse("Hi {{ name }}", "Your code: {{ code }}", Some(&many)).unwrap();
    let e = send::queue_messages(&*db.store, CONF, batch, &large).await.unwrap_err();
    assert_eq!(e.field(), Some("html_template"), "{e}");
    assert!(e.to_string().contains("256 KiB"), "{e}");
    let e = send::preview_first_message(&*db.store, CONF, batch, &large).await.unwrap_err();
    assert!(e.to_string().contains("256 KiB"), "{e}");
    assert_eq!(outbox_count(&db).await, 0);
    // The same batch with a template of the right size queues both.
    let fine = MessageTemplate::parse("Hi {{ name }}", "Your code: {{ code }}", None).unwrap();
    assert_eq!(send::queue_messages(&*db.store, CONF, batch, &fine).await.unwrap().queued, 2);
}

async fn a_subject_no_server_takes_is_refused_at_queue_time(db: TestDb) {
    let tags = BTreeMap::from([("company".to_owned(), "x".repeat(200))]);
    let batch = assigned_batch(&db, tags).await;
    // Short as a template, 1,001 characters once filled in, without a space.
    let template = MessageTemplate::parse(
        "{{ tags.company }}{{ tags.company }}{{ tags.company }}{{ tags.company }}{{ tags.company }}X",
        "x",
        None,
    )
    .unwrap();
    let e = send::queue_messages(&*db.store, CONF, batch, &template).await.unwrap_err();
    assert_eq!(e.field(), Some("subject"), "{e}");
    assert!(e.to_string().contains("1001 characters") && e.to_string().contains("at most 250"), "{e}");
    assert_eq!(outbox_count(&db).await, 0);
}

async fn a_header_too_wide_is_refused_at_once(db: TestDb) {
    fixture(&*db.store).await;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &config(3)).await.unwrap().batch;
    // What the probe sent: 100,000 columns (689 KB), which took 12 s to compare pairwise.
    let mut file = String::from("email,name");
    for i in 0..100_000 {
        file.push_str(&format!(",c{i}"));
    }
    file.push_str("\nana@example.org,Ana\n");
    let started = Instant::now();
    let e = RecipientList::from_csv(file.as_bytes()).err().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(e.field(), Some("recipients"));
    assert!(e.to_string().contains("100002 columns") && e.to_string().contains("at most 100"), "{e}");
    let e = import_vouchers(&*db.store, CONF, file.as_bytes()).await.unwrap_err();
    assert!(e.to_string().contains("at most 100"), "{e}");
    let filter = VoucherFilter { batch_id: Some(batch.id), ..Default::default() };
    let vouchers = query::list_vouchers(&*db.store, CONF, &filter).await.unwrap();
    assert!(vouchers.iter().all(|v| v.recipient.is_none()));
    assert_eq!(Raw::connect(&db).await.counts().await.voucher_batch, 1, "no batch imported");
}

async fn recipients_that_are_not_addresses_consume_no_code(db: TestDb) {
    fixture(&*db.store).await;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &config(30)).await.unwrap().batch;
    let bad = [
        "a<b>@example.org",
        "a,b@example.org",
        ".a@example.org",
        "a..b@example.org",
        "a@-x-.org",
        "a@ex/ample.org",
        "a(b)@example.org",
        "a@[127.0.0.1]",
    ];
    for email in bad {
        let mut file = format!("email,name\nok@example.org,Ok\n\"{email}\",Eve\n");
        file.push_str("also@example.org,Also\n");
        let e = RecipientList::from_csv(file.as_bytes()).err().unwrap();
        assert!(matches!(e, VoucherError::InvalidRows { .. }), "{email}: {e:?}");
        assert!(e.to_string().contains("line 3") && e.to_string().contains("email address"), "{email}: {e}");
        // The same list given as values (the API's JSON) is refused too.
        let inputs = [RecipientInput { email: email.into(), name: "Eve".into(), tags: BTreeMap::new() }];
        assert!(RecipientList::from_inputs(&inputs).is_err(), "{email}");
    }
    let file =
        format!("code,voucher_type,discount_value,recipient_email,recipient_name\nIMP-1,comp,0,{},Eve\n", bad[0]);
    let e = import_vouchers(&*db.store, CONF, file.as_bytes()).await.unwrap_err();
    assert!(e.to_string().contains("email address"), "{e}");
    let raw = Raw::connect(&db).await;
    assert_eq!(raw.scalar("SELECT count(*) FROM voucher WHERE recipient_email IS NOT NULL").await, 0);
    assert_eq!(raw.counts().await.voucher, 30, "nothing imported");
    // An unusual address that is one is taken, and comes back as it went in.
    let odd = RecipientList::from_inputs(&[RecipientInput {
        email: "o'brien+pycon@example.co.uk".into(),
        name: "O'Brien".into(),
        tags: BTreeMap::new(),
    }])
    .unwrap();
    let assigned = assign_recipients(&*db.store, CONF, batch.id, &odd, None).await.unwrap();
    assert_eq!(assigned.assignments[0].recipient.email, "o'brien+pycon@example.co.uk");
}

async fn an_export_comes_back_exactly_whatever_its_cells_start_with(db: TestDb) {
    fixture(&*db.store).await;
    let mut cfg = config(4);
    cfg.terms.max_uses = 1;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &cfg).await.unwrap().batch;
    // A mailbox whose name starts with a quote and a minus is another mailbox without the quote.
    let people = [
        ("'-bob@example.org", "'=not a formula", "'@tag"),
        ("-carol@example.org", "''two quotes", "+1"),
        ("'dan@example.org", "'plain", "'"),
    ];
    let inputs: Vec<RecipientInput> = people
        .iter()
        .map(|(email, name, tag)| RecipientInput {
            email: (*email).into(),
            name: (*name).into(),
            tags: BTreeMap::from([("company".to_owned(), (*tag).to_owned())]),
        })
        .collect();
    let list = RecipientList::from_inputs(&inputs).unwrap();
    assign_recipients(&*db.store, CONF, batch.id, &list, None).await.unwrap();
    let filter = VoucherFilter { batch_id: Some(batch.id), ..Default::default() };
    let exported = query::list_vouchers(&*db.store, CONF, &filter).await.unwrap();
    let mut file = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut file);
        w.write_record(Voucher::CSV_COLUMNS).unwrap();
        for v in &exported {
            w.write_record(v.csv_record().map(vouchers_core::domain::spreadsheet_safe)).unwrap();
        }
    }
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(text.contains("''-bob@example.org") && text.contains("'-carol@example.org"), "{text}");
    // Imported as a new batch of the other conference's twin: the codes are taken in this one.
    let db2 = match db.store.backend() {
        vouchers_core::store::Backend::Sqlite => TestDb::sqlite().await,
        vouchers_core::store::Backend::Postgres => TestDb::postgres().await,
    };
    fixture(&*db2.store).await;
    let imported = import_vouchers(&*db2.store, CONF, &file[..]).await.unwrap();
    assert_eq!((imported.imported, imported.assigned), (4, 3));
    let filter = VoucherFilter { batch_id: Some(imported.batch.id), ..Default::default() };
    let back = query::list_vouchers(&*db2.store, CONF, &filter).await.unwrap();
    let recipients = |vouchers: &[Voucher]| {
        let mut r: Vec<_> = vouchers.iter().map(|v| (v.code.clone(), v.recipient.clone())).collect();
        r.sort_by(|a, b| a.0.cmp(&b.0));
        r
    };
    assert_eq!(recipients(&back), recipients(&exported));
    let emails: Vec<String> = back.iter().filter_map(|v| v.recipient.as_ref().map(|r| r.email.clone())).collect();
    for (email, _, _) in people {
        assert!(emails.contains(&email.to_owned()), "{email} in {emails:?}");
    }
}

/// Failed lookups of callers that never come back are pruned with the window: a flood of
/// one-time addresses used to leave its rows for ever.
async fn failed_lookups_of_callers_that_never_return_are_pruned(db: TestDb) {
    use vouchers_core::service::guessing;
    let window = Duration::from_secs(60);
    let now = vouchers_core::now();
    let old = now - chrono::Duration::seconds(61);
    for i in 0..50 {
        guessing::record_failure(&*db.store, 1, &format!("203.0.113.{i}"), window, old).await.unwrap();
    }
    guessing::record_failure(&*db.store, 1, "198.51.100.1", window, now).await.unwrap();
    let raw = Raw::connect(&db).await;
    assert_eq!(raw.count("failed_lookup").await, 51);
    assert_eq!(guessing::prune_failures(&*db.store, window, now).await.unwrap(), 50);
    assert_eq!(raw.count("failed_lookup").await, 1, "the caller inside the window keeps its failure");
    let since = guessing::window_start(window, now - chrono::Duration::seconds(1));
    assert_eq!(db.store.failed_lookups(1, "198.51.100.1", since).await.unwrap().0, 1);
}

both_backends!(
    failed_lookups_of_callers_that_never_return_are_pruned,
    unbounded_templates_are_refused_and_large_messages_queue_nothing,
    a_subject_no_server_takes_is_refused_at_queue_time,
    a_header_too_wide_is_refused_at_once,
    recipients_that_are_not_addresses_consume_no_code,
    an_export_comes_back_exactly_whatever_its_cells_start_with,
);
