//! A batch's name and note: given at generation (in the idempotency fingerprint) or import,
//! listed and reported with the batch, changed later with an audit record; a bad one is refused
//! naming its field, and nothing is written. An import's preview writes nothing.

use vouchers_core::service::idempotent::IdempotencyKey;
use vouchers_core::service::manage::label_batch;
use vouchers_core::service::{query, reports};
use vouchers_core::store::testing::TestDb;
use vouchers_core::{generate_voucher_codes, generate_voucher_codes_with, GenerateOptions, Limits, VoucherError};

use crate::support::*;

async fn a_batch_has_a_name_and_a_note(db: TestDb) {
    fixture(&*db.store).await;
    let store = &*db.store;
    let raw = Raw::connect(&db).await;
    let mut named = config(2);
    named.name = "  Speakers 2027 ".into();
    named.note = "Asked for by Ana.\r\nSent May 2.".into();
    let batch = generate_voucher_codes(store, &Limits::default(), &named).await.unwrap().batch;
    assert_eq!((batch.name.as_str(), batch.note.as_str()), ("Speakers 2027", "Asked for by Ana.\nSent May 2."));
    assert_eq!(batch.title(), format!("Speakers 2027 (batch {})", batch.id));
    let stored = query::batch(store, CONF, batch.id).await.unwrap().unwrap();
    assert_eq!(stored, batch, "stored as answered");
    let plain = generate_voucher_codes(store, &Limits::default(), &config(1)).await.unwrap().batch;
    assert_eq!((plain.name.as_str(), plain.title()), ("", format!("Batch {}", plain.id)));
    let funnels = reports::batches(store, CONF).await.unwrap();
    assert_eq!(funnels.iter().find(|f| f.batch_id == Some(batch.id)).unwrap().name.as_deref(), Some("Speakers 2027"));

    let audit_before = raw.count("audit_log").await;
    let renamed = label_batch(store, CONF, plain.id, "Students", "").await.unwrap();
    assert_eq!(renamed.name, "Students");
    assert_eq!(raw.count("audit_log").await, audit_before + 1);
    assert_eq!(
        raw.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'batch.label' AND target LIKE 'batch %'").await,
        1
    );

    let long = label_batch(store, CONF, plain.id, &"x".repeat(101), "").await.unwrap_err();
    assert_eq!(long.field(), Some("name"));
    assert!(long.to_string().contains("at most 100 characters"), "{long}");
    assert_eq!(label_batch(store, CONF, plain.id, "ok", "bell\u{7}").await.unwrap_err().field(), Some("note"));
    assert!(matches!(label_batch(store, CONF, 999_999, "x", "").await, Err(VoucherError::BatchNotFound { .. })));
    assert!(matches!(label_batch(store, OTHER, plain.id, "x", "").await, Err(VoucherError::BatchNotFound { .. })));
    assert_eq!(query::batch(store, CONF, plain.id).await.unwrap().unwrap().name, "Students", "refusals wrote nothing");
    assert_eq!(raw.count("audit_log").await, audit_before + 1);

    let mut bad = config(1);
    bad.name = "two\nlines".into();
    let batches = raw.count("voucher_batch").await;
    assert_eq!(generate_voucher_codes(store, &Limits::default(), &bad).await.unwrap_err().field(), Some("name"));
    assert_eq!(raw.count("voucher_batch").await, batches);
}

async fn the_name_is_part_of_what_a_key_remembers(db: TestDb) {
    fixture(&*db.store).await;
    let store = &*db.store;
    let key = IdempotencyKey::parse("named-1").unwrap();
    let mut first = config(1);
    first.name = "Sponsors".into();
    let options = || GenerateOptions { idempotency_key: Some(&key), ..GenerateOptions::default() };
    let made = generate_voucher_codes_with(store, &Limits::default(), &first, options()).await.unwrap();
    let replay = generate_voucher_codes_with(store, &Limits::default(), &first, options()).await.unwrap();
    assert!(replay.replayed && replay.generated.batch.name == "Sponsors");
    assert_eq!(replay.generated.batch.id, made.generated.batch.id);
    let mut other = first.clone();
    other.name = "Students".into();
    assert!(matches!(
        generate_voucher_codes_with(store, &Limits::default(), &other, options()).await,
        Err(VoucherError::IdempotencyKeyReused { .. })
    ));
}

/// A preview runs the import's every check and writes nothing: the same answer as the import,
/// then the import (named) writes exactly what the preview said.
async fn an_import_preview_writes_nothing(db: TestDb) {
    use vouchers_core::domain::BatchLabel;
    use vouchers_core::service::import::{import_named, preview_import, PREVIEW_ROWS};
    fixture(&*db.store).await;
    let store = &*db.store;
    let raw = Raw::connect(&db).await;
    let mut file = String::from("code,voucher_type,discount_value,recipient_email,recipient_name\n");
    for i in 0..12 {
        file.push_str(&format!("IMP-{i:04},percentage,10,{}\n", if i == 0 { "ana@example.org,Ana" } else { "," }));
    }
    let before = raw.counts().await;
    let audit = raw.count("audit_log").await;
    let preview = preview_import(store, CONF, file.as_bytes()).await.unwrap();
    assert_eq!((preview.rows, preview.assigned, preview.first.len()), (12, 1, PREVIEW_ROWS));
    assert_eq!((preview.first[0].line, preview.first[0].code.as_str()), (2, "IMP-0000"));
    assert_eq!(preview.first[0].recipient.as_deref(), Some("ana@example.org"));
    assert_eq!(raw.counts().await, before, "nothing written");
    assert_eq!(raw.count("audit_log").await, audit);

    let label = BatchLabel::parse("Printed badges", "").unwrap();
    let imported = import_named(store, CONF, &label, file.as_bytes()).await.unwrap();
    assert_eq!((imported.imported, imported.assigned, imported.batch.name.as_str()), (12, 1, "Printed badges"));
    let again = preview_import(store, CONF, file.as_bytes()).await.unwrap_err();
    match again {
        VoucherError::InvalidRows { total, .. } => assert_eq!(total, 12, "every code exists now"),
        other => panic!("{other}"),
    }
}

both_backends!(
    a_batch_has_a_name_and_a_note,
    the_name_is_part_of_what_a_key_remembers,
    an_import_preview_writes_nothing
);
