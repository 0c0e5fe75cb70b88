//! Recipients, the outbox and imports, on both backends: assignment in one transaction, one
//! message per voucher, senders that never share a claim, and imports that write all or nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Barrier;
use vouchers_core::domain::{MessageStatus, MessageTemplate, Voucher};
use vouchers_core::service::assign::{assign_recipients, RecipientInput, RecipientList};
use vouchers_core::service::import::import_vouchers;
use vouchers_core::service::outbox::{self, MailError, Mailer, SenderSettings};
use vouchers_core::service::{query, send};
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::{ClaimedMessage, VoucherFilter};
use vouchers_core::{generate_voucher_codes, generate_voucher_codes_with, GenerateOptions, Limits, VoucherError};

use crate::support::*;

fn list(n: usize, domain: &str) -> RecipientList {
    let inputs: Vec<RecipientInput> = (0..n)
        .map(|i| RecipientInput {
            email: format!("person{i}@{domain}"),
            name: format!("Person {i}"),
            tags: BTreeMap::from([("company".to_owned(), format!("Co {i}"))]),
        })
        .collect();
    RecipientList::from_inputs(&inputs).unwrap()
}

fn template() -> MessageTemplate {
    MessageTemplate::parse(
        "{{ conference }}: your code",
        "Hi {{ name }}, use {{ code }} for {{ discount }} ({{ tags.company }}).",
        Some("<p>Hi {{ name }}: <b>{{ code }}</b></p>"),
    )
    .unwrap()
}

async fn batch_vouchers(db: &TestDb, batch: i64) -> Vec<Voucher> {
    let filter = VoucherFilter { batch_id: Some(batch), ..Default::default() };
    query::list_vouchers(&*db.store, CONF, &filter).await.unwrap()
}

async fn assign_gives_each_recipient_one_code(db: TestDb) {
    fixture(&*db.store).await;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &config(5)).await.unwrap().batch;
    let assigned = assign_recipients(&*db.store, CONF, batch.id, &list(3, "example.org"), None).await.unwrap();
    assert_eq!(assigned.assignments.len(), 3);
    assert_eq!(assigned.queued, None);
    let vouchers = batch_vouchers(&db, batch.id).await;
    let by_code: HashMap<&str, &Voucher> = vouchers.iter().map(|v| (v.code.as_str(), v)).collect();
    for a in &assigned.assignments {
        let stored = by_code[a.code.as_str()].recipient.as_ref().unwrap();
        assert_eq!(stored, &a.recipient);
        assert_eq!(stored.tags["company"], a.recipient.tags["company"]);
    }
    assert_eq!(vouchers.iter().filter(|v| v.recipient.is_none()).count(), 2);
    // The list filters by recipient.
    let filter = VoucherFilter { recipient_email: Some("person1@example.org".into()), ..Default::default() };
    let found = query::list_vouchers(&*db.store, CONF, &filter).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].recipient.as_ref().unwrap().name, "Person 1");

    // Not enough codes left: nothing is assigned.
    let e = assign_recipients(&*db.store, CONF, batch.id, &list(3, "other.org"), None).await.unwrap_err();
    assert!(matches!(e, VoucherError::NotEnoughCodes { needed: 3, available: 2, .. }), "{e:?}");
    assert_eq!(batch_vouchers(&db, batch.id).await.iter().filter(|v| v.recipient.is_none()).count(), 2);
    // An email that holds a code of the batch already: nothing is assigned, and it is named.
    let again = RecipientList::from_inputs(&[
        RecipientInput { email: "new@example.org".into(), name: "New".into(), tags: BTreeMap::new() },
        RecipientInput { email: "PERSON0@example.org".into(), name: "P".into(), tags: BTreeMap::new() },
    ])
    .unwrap();
    let e = assign_recipients(&*db.store, CONF, batch.id, &again, None).await.unwrap_err();
    assert!(matches!(e, VoucherError::Duplicate { .. }), "{e:?}");
    assert!(e.to_string().contains("person0@example.org"), "{e}");
    assert_eq!(batch_vouchers(&db, batch.id).await.iter().filter(|v| v.recipient.is_none()).count(), 2);
    assert_tallies(&db).await;
}

async fn recipient_lists_are_checked_whole(db: TestDb) {
    fixture(&*db.store).await;
    let csv = "email,name,company\nana@example.org,Ana,ACME\nnot-an-email,Bo,\nana@EXAMPLE.org,Ana again,\nc@example.org,\"Cy\r\nBcc: x@evil.org\",\n";
    let e = RecipientList::from_csv(csv.as_bytes()).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, VoucherError::InvalidRows { total: 3, .. }), "{e:?}");
    assert!(text.contains("line 3, email"), "{text}");
    assert!(text.contains("line 4, email") && text.contains("appears again"), "{text}");
    assert!(text.contains("line 5, name"), "{text}");
    let e = RecipientList::from_csv("mail,name\nx@y.org,X\n".as_bytes()).unwrap_err();
    assert_eq!(e.field(), Some("recipients"));
    assert!(e.to_string().contains("no email column"), "{e}");
    let e = RecipientList::from_csv(&b"email,name\n\xff\xfe@x.org,X\n"[..]).unwrap_err();
    assert!(e.to_string().contains("UTF-8"), "{e}");
    // 10 MB of junk stops early with a bounded error.
    let junk: Vec<u8> = (0..10_000_000u32).map(|i| b"a,b\n;=\"x"[(i % 8) as usize]).collect();
    let mut file = b"email,name\n".to_vec();
    file.extend(junk);
    let e = RecipientList::from_csv(&file[..]).unwrap_err();
    assert!(e.to_string().len() < 8_000, "{}", e.to_string().len());
}

async fn generate_with_recipients_assigns_in_the_batch(db: TestDb) {
    fixture(&*db.store).await;
    let recipients = list(4, "example.org");
    let options = GenerateOptions { recipients: Some(&recipients), ..GenerateOptions::default() };
    let out = generate_voucher_codes_with(&*db.store, &Limits::default(), &config(4), options).await.unwrap();
    let got: Vec<String> = out.generated.vouchers.iter().map(|v| v.recipient.clone().unwrap().email).collect();
    assert_eq!(got, (0..4).map(|i| format!("person{i}@example.org")).collect::<Vec<_>>());
    let stored = batch_vouchers(&db, out.generated.batch.id).await;
    assert!(stored.iter().all(|v| v.recipient.is_some()));
    // The count must match the list.
    let options = GenerateOptions { recipients: Some(&recipients), ..GenerateOptions::default() };
    let e = generate_voucher_codes_with(&*db.store, &Limits::default(), &config(5), options).await.unwrap_err();
    assert_eq!(e.field(), Some("recipients"));
}

/// Two organizers assign from one batch at once: no voucher gets two recipients, and each
/// assignment is all or nothing.
async fn concurrent_assignments_never_share_a_voucher(db: TestDb) {
    fixture(&*db.store).await;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &config(30)).await.unwrap().batch;
    let barrier = Arc::new(Barrier::new(4));
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&db.store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let recipients = list(10, &format!("team{t}.org"));
                barrier.wait().await;
                assign_recipients(&*store, CONF, batch.id, &recipients, None).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(a) => {
                assert_eq!(a.assignments.len(), 10);
                ok += 1;
            }
            Err(VoucherError::NotEnoughCodes { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 3, "30 codes serve exactly three lists of 10");
    let assigned: Vec<Voucher> =
        batch_vouchers(&db, batch.id).await.into_iter().filter(|v| v.recipient.is_some()).collect();
    assert_eq!(assigned.len(), 30);
    let emails: HashSet<String> = assigned.iter().map(|v| v.recipient.clone().unwrap().email).collect();
    assert_eq!(emails.len(), 30);
    assert_tallies(&db).await;
}

/// Records what it was asked to send; fails the addresses it is told to.
#[derive(Default)]
struct FakeMailer {
    sent: Mutex<Vec<(String, String, String)>>,
    temporary: HashSet<String>,
    permanent: HashSet<String>,
}

#[async_trait]
impl Mailer for FakeMailer {
    async fn send(&self, message: &ClaimedMessage) -> Result<(), MailError> {
        if self.permanent.contains(&message.to_email) {
            return Err(MailError::Permanent("550 no such mailbox".into()));
        }
        if self.temporary.contains(&message.to_email) {
            return Err(MailError::Temporary("451 try later".into()));
        }
        self.sent.lock().unwrap().push((
            message.to_email.clone(),
            message.rendered.text.clone(),
            message.rendered.html.clone().unwrap_or_default(),
        ));
        Ok(())
    }
}

fn settings() -> SenderSettings {
    SenderSettings { rate_per_second: 10_000.0, lease: Duration::from_secs(60), retry_base: Duration::ZERO, claim: 7 }
}

async fn messages_are_queued_once_and_delivered_once(db: TestDb) {
    fixture(&*db.store).await;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &config(25)).await.unwrap().batch;
    let assigned =
        assign_recipients(&*db.store, CONF, batch.id, &list(20, "example.org"), Some(&template())).await.unwrap();
    assert_eq!(assigned.queued, Some(20));
    // Queueing again finds every assigned voucher with its message already.
    assert_eq!(send::queue_messages(&*db.store, CONF, batch.id, &template()).await.unwrap().queued, 0);
    let listed = outbox::list_outbox(&*db.store, CONF, Some(batch.id), None, 0, 100).await.unwrap();
    assert_eq!(listed.len(), 20);
    assert!(listed.iter().all(|m| m.status == MessageStatus::Queued && m.subject == "PyCon US 2027: your code"));

    // Three senders drain the outbox at once: every message is sent exactly once.
    let mailer = Arc::new(FakeMailer::default());
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let store = Arc::clone(&db.store);
            let mailer = Arc::clone(&mailer);
            tokio::spawn(async move { outbox::drain(&*store, &*mailer, &settings()).await.unwrap() })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        sent += task.await.unwrap().sent;
    }
    assert_eq!(sent, 20);
    let delivered = mailer.sent.lock().unwrap().clone();
    assert_eq!(delivered.len(), 20);
    let codes: HashMap<String, String> =
        assigned.assignments.iter().map(|a| (a.recipient.email.clone(), a.code.clone())).collect();
    for (email, text, html) in &delivered {
        assert!(text.contains(&codes[email]), "{email} got {text}");
        assert!(html.contains(&format!("<b>{}</b>", codes[email])), "{html}");
    }
    assert_eq!(delivered.iter().map(|d| &d.0).collect::<HashSet<_>>().len(), 20);
    let listed = outbox::list_outbox(&*db.store, CONF, None, Some(MessageStatus::Sent), 0, 100).await.unwrap();
    assert_eq!(listed.len(), 20);
    assert!(listed.iter().all(|m| m.sent_at.is_some() && m.attempts == 1));
    assert_tallies(&db).await;
}

async fn failures_are_retried_marked_and_retryable(db: TestDb) {
    fixture(&*db.store).await;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &config(3)).await.unwrap().batch;
    assign_recipients(&*db.store, CONF, batch.id, &list(3, "example.org"), Some(&template())).await.unwrap();
    let mailer = FakeMailer {
        temporary: HashSet::from(["person1@example.org".to_owned()]),
        permanent: HashSet::from(["person2@example.org".to_owned()]),
        ..Default::default()
    };
    let report = outbox::drain(&*db.store, &mailer, &settings()).await.unwrap();
    // person1 is retried at once (no backoff here) until its 8 attempts are used up.
    assert_eq!((report.sent, report.failed, report.retried), (1, 2, 7));
    let failed = outbox::list_outbox(&*db.store, CONF, None, Some(MessageStatus::Failed), 0, 10).await.unwrap();
    assert_eq!(failed.len(), 2);
    let by_email: HashMap<&str, _> = failed.iter().map(|m| (m.recipient_email.as_str(), m)).collect();
    assert_eq!(by_email["person1@example.org"].attempts, 8);
    assert_eq!(by_email["person1@example.org"].last_error.as_deref(), Some("451 try later"));
    assert_eq!(by_email["person2@example.org"].attempts, 1);
    assert_eq!(by_email["person2@example.org"].last_error.as_deref(), Some("550 no such mailbox"));

    // A retried message goes out once the server takes it.
    let id = by_email["person2@example.org"].id;
    outbox::retry_message(&*db.store, CONF, id).await.unwrap();
    let e = outbox::retry_message(&*db.store, CONF, id).await.unwrap_err();
    assert!(matches!(e, VoucherError::MessageNotFound(_)), "{e:?}");
    let healthy = FakeMailer::default();
    assert_eq!(outbox::drain(&*db.store, &healthy, &settings()).await.unwrap().sent, 1);
    assert_eq!(healthy.sent.lock().unwrap()[0].0, "person2@example.org");
    assert_tallies(&db).await;
}

/// A sender that dies leaves its claim; when the lease ends another takes it over, and the dead
/// sender's late result is not recorded.
async fn an_ended_lease_is_claimed_again_and_fences_the_old_claim(db: TestDb) {
    fixture(&*db.store).await;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &config(1)).await.unwrap().batch;
    assign_recipients(&*db.store, CONF, batch.id, &list(1, "example.org"), Some(&template())).await.unwrap();
    let now = vouchers_core::now();
    let first = db.store.claim_outbox(now, now + chrono::Duration::seconds(30), 10).await.unwrap();
    assert_eq!(first.len(), 1);
    // Within the lease nobody else gets it.
    assert!(db.store.claim_outbox(now, now + chrono::Duration::seconds(30), 10).await.unwrap().is_empty());
    let later = now + chrono::Duration::seconds(31);
    let second = db.store.claim_outbox(later, later + chrono::Duration::seconds(30), 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempt, first[0].attempt + 1);
    assert_eq!(second[0].message_key, first[0].message_key, "the same message, the same Message-ID");
    use vouchers_core::store::DeliveryResult;
    assert!(!db.store.finish_outbox(first[0].id, first[0].attempt, &DeliveryResult::Sent, later).await.unwrap());
    assert!(db.store.finish_outbox(second[0].id, second[0].attempt, &DeliveryResult::Sent, later).await.unwrap());
    assert_tallies(&db).await;
}

async fn import_round_trips_an_export(db: TestDb) {
    fixture(&*db.store).await;
    let mut cfg = restricted_config(3);
    cfg.terms.valid_until = Some(vouchers_core::domain::When::parse("valid_until", "2027-05-22T18:00").unwrap());
    cfg.terms.max_uses = 2;
    let batch = generate_voucher_codes(&*db.store, &Limits::default(), &cfg).await.unwrap().batch;
    let mut recipients = list(1, "example.org");
    let odd =
        RecipientInput { email: "eve@example.org".into(), name: "=HYPERLINK(\"x\")".into(), tags: BTreeMap::new() };
    recipients = RecipientList::from_inputs(&[
        RecipientInput {
            email: recipients.recipients()[0].email.clone(),
            name: "Person 0".into(),
            tags: recipients.recipients()[0].tags.clone(),
        },
        odd,
    ])
    .unwrap();
    assign_recipients(&*db.store, CONF, batch.id, &recipients, None).await.unwrap();
    let exported = batch_vouchers(&db, batch.id).await;
    let mut file = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut file);
        w.write_record(Voucher::CSV_COLUMNS).unwrap();
        for v in &exported {
            w.write_record(v.csv_record().map(vouchers_core::domain::spreadsheet_safe)).unwrap();
        }
    }
    // Into a fresh database with the same conference and catalogue.
    let db2 = match db.store.backend() {
        vouchers_core::store::Backend::Sqlite => TestDb::sqlite().await,
        vouchers_core::store::Backend::Postgres => TestDb::postgres().await,
    };
    fixture(&*db2.store).await;
    let imported = import_vouchers(&*db2.store, CONF, &file[..]).await.unwrap();
    assert_eq!((imported.imported, imported.assigned), (3, 2));
    let filter = VoucherFilter { batch_id: Some(imported.batch.id), ..Default::default() };
    let back = query::list_vouchers(&*db2.store, CONF, &filter).await.unwrap();
    let strip = |v: &Voucher| {
        let mut v = v.clone();
        (v.id, v.batch_id, v.created_at) = (0, None, chrono::DateTime::UNIX_EPOCH);
        v
    };
    let mut a: Vec<Voucher> = exported.iter().map(strip).collect();
    let mut b: Vec<Voucher> = back.iter().map(strip).collect();
    a.sort_by(|x, y| x.code.cmp(&y.code));
    b.sort_by(|x, y| x.code.cmp(&y.code));
    assert_eq!(a, b);
    assert!(b.iter().any(|v| v.recipient.as_ref().is_some_and(|r| r.name == "=HYPERLINK(\"x\")")));
    assert_tallies(&db).await;
}

async fn a_bad_import_writes_nothing(db: TestDb) {
    fixture(&*db.store).await;
    vouchers_core::service::add::add_voucher(&*db.store, &crate::add::request(CONF, "TAKEN-1")).await.unwrap();
    let raw = Raw::connect(&db).await;
    let before = raw.counts().await;
    let file = "code,voucher_type,discount_value,max_uses,applicable_ticket_types\n\
                GOOD-1,percentage,25,1,student\n\
                taken-1,comp,,1,\n\
                GOOD-2,percentage,,1,\n\
                BAD CODE,comp,,1,\n\
                GOOD-3,comp,,0,\n\
                GOOD-4,comp,,1,nope\n\
                good-1,comp,,1,\n";
    let e = import_vouchers(&*db.store, CONF, file.as_bytes()).await.unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, VoucherError::InvalidRows { total: 6, .. }), "{e:?}");
    for expected in [
        "line 3, code",
        "line 4, discount_value",
        "line 5, code",
        "line 6, max_uses",
        "line 7, applicable_ticket_types",
        "line 8, code",
    ] {
        assert!(text.contains(expected), "{expected} missing in {text}");
    }
    assert_eq!(raw.counts().await, before, "nothing was written");
    let e = import_vouchers(&*db.store, CONF, "code,type\nX,comp\n".as_bytes()).await.unwrap_err();
    assert!(e.to_string().contains("no voucher_type column") || e.to_string().contains("unknown column"), "{e}");
    assert_tallies(&db).await;
}

async fn a_large_import_is_one_batch(db: TestDb) {
    fixture(&*db.store).await;
    let mut file = String::from("code,voucher_type,discount_value,recipient_email,recipient_name\n");
    for i in 0..12_000 {
        file.push_str(&format!("IMP-{i:06},percentage,10,p{i}@example.org,P {i}\n"));
    }
    let imported = import_vouchers(&*db.store, CONF, file.as_bytes()).await.unwrap();
    assert_eq!((imported.imported, imported.assigned, imported.batch.count), (12_000, 12_000, 12_000));
    let raw = Raw::connect(&db).await;
    assert_eq!(raw.scalar("SELECT count(*) FROM voucher WHERE recipient_email IS NOT NULL").await, 12_000);
    assert_tallies(&db).await;
}

both_backends!(
    assign_gives_each_recipient_one_code,
    recipient_lists_are_checked_whole,
    generate_with_recipients_assigns_in_the_batch,
    concurrent_assignments_never_share_a_voucher,
    messages_are_queued_once_and_delivered_once,
    failures_are_retried_marked_and_retryable,
    an_ended_lease_is_claimed_again_and_fences_the_old_claim,
    import_round_trips_an_export,
    a_bad_import_writes_nothing,
    a_large_import_is_one_batch,
);
