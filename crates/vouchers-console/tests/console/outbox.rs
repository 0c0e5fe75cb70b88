//! The Outbox page across batches, and whether the server can send email on every page that
//! queues it.

use axum::http::StatusCode;
use vouchers_console::ConsoleSettings;
use vouchers_core::domain::{MessageTemplate, VoucherType};
use vouchers_core::service::assign::{assign_recipients, RecipientInput, RecipientList};
use vouchers_core::store::testing::TestDb;
use vouchers_core::{generate_voucher_codes, Limits, VoucherBulkConfig};

use crate::support::*;

async fn queue_two(c: &Console) -> i64 {
    let store = &*c.db.store;
    let config = VoucherBulkConfig::new(CONF, "MAIL-", 3, VoucherType::Comp, 0.into());
    let batch = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap().batch;
    let inputs: Vec<RecipientInput> = ["ana", "bo"]
        .iter()
        .map(|n| RecipientInput { email: format!("{n}@example.org"), name: n.to_string(), tags: Default::default() })
        .collect();
    let template = MessageTemplate::parse("Your code", "{{ code }}", None).unwrap();
    assign_recipients(store, CONF, batch.id, &RecipientList::from_inputs(&inputs).unwrap(), Some(&template))
        .await
        .unwrap();
    batch.id
}

async fn the_outbox_across_batches(mut c: Console) {
    let batch = queue_two(&c).await;
    c.sign_in(MANAGER).await.redirect();
    let page = c.get("/console/c/pycon/outbox").await.ok(StatusCode::OK).to_owned();
    assert!(page.contains("ana@example.org") && page.contains("bo@example.org"), "{page}");
    assert_eq!(page.matches(">queued</span>").count(), 2);
    assert!(page.contains("no mail server set"), "the server says it cannot send: {page}");
    let sent = c.get("/console/c/pycon/outbox?status=sent").await.ok(StatusCode::OK).to_owned();
    assert!(sent.contains("No email matches these filters"));
    let of_batch = c.get(&format!("/console/c/pycon/outbox?batch={batch}")).await.ok(StatusCode::OK).to_owned();
    assert_eq!(of_batch.matches(">queued</span>").count(), 2);
    let bad = c.get("/console/c/pycon/outbox?status=lost").await;
    assert!(bad.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("status must be"));
    assert_eq!(c.get("/console/c/djangocon/outbox").await.status, StatusCode::NOT_FOUND);
    let send = c.get(&format!("/console/c/pycon/batches/{batch}/send")).await.ok(StatusCode::OK).to_owned();
    assert!(send.contains("no mail server set"), "the Send emails page says it too");
}

async fn a_server_with_smtp_says_it_sends(db: TestDb) {
    let settings = ConsoleSettings { mail_configured: true, ..ConsoleSettings::default() };
    let mut c = Console::with_settings(db, settings).await;
    queue_two(&c).await;
    c.sign_in(MANAGER).await.redirect();
    let page = c.get("/console/c/pycon/outbox").await.ok(StatusCode::OK).to_owned();
    assert!(page.contains("This server sends email") && !page.contains("no mail server set"), "{page}");
    let form = c.get("/console/c/pycon/allotments/new").await.ok(StatusCode::OK).to_owned();
    assert!(form.contains("This server sends email"));
}

vouchers_core::both_backends!(a_server_with_smtp_says_it_sends);

mod pages {
    both_backends!(the_outbox_across_batches);
    use super::the_outbox_across_batches;
}
