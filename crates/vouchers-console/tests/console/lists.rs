//! The Batches list, and the voucher list's batch menu, recipient and "applies to" columns.

use axum::http::StatusCode;
use vouchers_core::domain::{Applies, MessageTemplate, VoucherType};
use vouchers_core::service::assign::{assign_recipients, RecipientInput, RecipientList};
use vouchers_core::{generate_voucher_codes, Limits, VoucherBulkConfig};

use crate::support::*;

async fn the_batches_list_and_the_voucher_columns(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let empty = c.get("/console/c/pycon/batches").await.ok(StatusCode::OK).to_owned();
    assert!(empty.contains("No batches yet"), "{empty}");
    let vouchers = c.get("/console/c/pycon/vouchers").await.ok(StatusCode::OK).to_owned();
    assert!(vouchers.contains("No vouchers yet"), "an empty list says what to do next");

    let db = std::sync::Arc::clone(&c.db);
    let store = &*db.store;
    let mut config = VoucherBulkConfig::new(CONF, "SPK-", 2, VoucherType::Comp, 0.into());
    config.terms.applicable_ticket_types = Applies::these(vec!["individual".into()]);
    config.terms.applicable_addons = Applies::Nothing;
    let speakers = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap().batch;
    let other = VoucherBulkConfig::new(CONF, "STU-", 3, VoucherType::Percentage, 50.into());
    let students = generate_voucher_codes(store, &Limits::default(), &other).await.unwrap().batch;
    let ana =
        vec![RecipientInput { email: "ana@example.org".into(), name: "Ana Lima".into(), tags: Default::default() }];
    let template = MessageTemplate::parse("S", "{{ code }}", None).unwrap();
    assign_recipients(store, CONF, speakers.id, &RecipientList::from_inputs(&ana).unwrap(), Some(&template))
        .await
        .unwrap();

    let list = c.get("/console/c/pycon/batches").await.ok(StatusCode::OK).to_owned();
    assert!(
        list.contains(&format!("Batch {} (SPK-)", speakers.id))
            && list.contains(&format!("Batch {} (STU-)", students.id))
    );
    assert!(list.contains("individual tickets; no add-on") && list.contains("50% off"), "{list}");

    let vouchers = c.get("/console/c/pycon/vouchers").await.ok(StatusCode::OK).to_owned();
    assert!(vouchers.contains("<select id=\"batch\" name=\"batch\">"), "a batch menu, not a text box");
    assert!(vouchers.contains(&format!("<option value=\"{}\">Batch {} (SPK-)</option>", speakers.id, speakers.id)));
    assert!(vouchers.contains("Ana Lima<br><small class=\"email\">ana@example.org</small>"), "{vouchers}");
    let chosen = c.get(&format!("/console/c/pycon/vouchers?batch={}", students.id)).await.ok(StatusCode::OK).to_owned();
    assert!(chosen.contains(&format!("<option value=\"{}\" selected>", students.id)));
    assert_eq!(chosen.matches("<code>STU-").count(), 3);
    assert!(!chosen.contains("<code>SPK-"));
    assert_eq!(c.get("/console/c/djangocon/batches").await.status, StatusCode::NOT_FOUND);
}

both_backends!(the_batches_list_and_the_voucher_columns);
