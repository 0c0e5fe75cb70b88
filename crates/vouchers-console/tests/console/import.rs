//! Import codes from a file: a preview that writes nothing (the first rows, or every bad line),
//! then the confirmation that imports the same file as one named batch; recipients from a file on
//! Assign recipients. Files are sent as a browser sends them (`multipart/form-data`).

use axum::http::StatusCode;
use vouchers_core::domain::VoucherType;
use vouchers_core::{generate_voucher_codes, Limits, VoucherBulkConfig};

use crate::support::*;

const GOOD: &str = "code,voucher_type,discount_value,max_uses,recipient_email,recipient_name\n\
                    BADGE-0001,percentage,25,1,ana@example.org,Ana Lima\n\
                    BADGE-0002,percentage,25,1,,\n\
                    BADGE-0003,comp,,2,,\n";

async fn vouchers(c: &Console) -> usize {
    vouchers_core::service::query::list_vouchers(&*c.db.store, CONF, &Default::default()).await.unwrap().len()
}

async fn preview_then_import(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let form = c.get("/console/c/pycon/import").await.ok(StatusCode::OK).to_owned();
    assert!(form.contains("<label for=\"file\">CSV file</label>") && form.contains("enctype=\"multipart/form-data\""));

    let fields = [("name", "Partner badges"), ("note", "From the badge printer")];
    let preview = c.upload("/console/c/pycon/import", &fields, &[("file", "badges.csv", GOOD)]).await;
    let body = preview.ok(StatusCode::OK).to_owned();
    assert!(body.contains("3 vouchers are ready to import, 1 with a recipient"), "{body}");
    assert!(body.contains("<code>BADGE-0001</code>") && body.contains("ana@example.org"));
    assert!(body.contains("25% off") && body.contains("free"));
    assert_eq!(vouchers(&c).await, 0, "a preview writes nothing");
    assert_eq!(c.batches().await, 0);

    let file = preview.hidden("file_base64");
    let confirm = [("file_base64", file.as_str()), ("name", "Partner badges"), ("note", "From the badge printer")];
    let batch = c.submit("/console/c/pycon/import/confirm", &confirm).await.redirect().to_owned();
    let page = c.get(&batch).await.ok(StatusCode::OK).to_owned();
    assert!(page.contains("3 vouchers imported into Partner badges (batch"), "a flash: {page}");
    assert!(page.contains("From the badge printer"));
    assert_eq!(vouchers(&c).await, 3);

    // The same confirmation again: every code exists now, so nothing more is written.
    let again = c.submit("/console/c/pycon/import/confirm", &confirm).await;
    let body = again.ok(StatusCode::UNPROCESSABLE_ENTITY).to_owned();
    assert!(body.contains("Nothing was imported: 3 lines break a rule") && body.contains("exists already"), "{body}");
    assert_eq!(vouchers(&c).await, 3);
    assert_eq!(c.batches().await, 1);
}

async fn every_bad_line_is_listed_and_nothing_written(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let bad = "code,voucher_type,discount_value\nOK-1,percentage,25\nBAD CODE,percentage,25\nOK-2,percentage,101\nOK-3,free,\n";
    let answer = c.upload("/console/c/pycon/import", &[], &[("file", "bad.csv", bad)]).await;
    let body = answer.ok(StatusCode::UNPROCESSABLE_ENTITY).to_owned();
    assert!(body.contains("Nothing was imported: 3 lines break a rule"), "{body}");
    for line in ["line 3, code:", "line 4, discount_value:", "line 5, voucher_type:"] {
        assert!(body.contains(line), "{line} in {body}");
    }
    let unknown = c
        .upload("/console/c/pycon/import", &[], &[("file", "x.csv", "code,voucher_type,colour\nA-1,comp,red\n")])
        .await;
    assert!(unknown.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("unknown column"));
    let none = c.upload("/console/c/pycon/import", &[], &[("file", "", "")]).await;
    assert!(none.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("Choose a CSV file to import."));
    let long_name = "x".repeat(101);
    let named = c.upload("/console/c/pycon/import", &[("name", long_name.as_str())], &[("file", "g.csv", GOOD)]).await;
    assert!(named.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("Name must be at most 100 characters"));
    let big = format!("code,voucher_type\n{}", "A-1,comp\n".repeat(2 * 1024 * 1024 / 9 + 10));
    let too_big = c.upload("/console/c/pycon/import", &[], &[("file", "big.csv", big.as_str())]).await;
    assert!(too_big.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("a form takes files of at most 2048 KB"));
    let broken = c.submit("/console/c/pycon/import/confirm", &[("file_base64", "not base64!")]).await;
    assert!(broken.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("upload it again"));
    // Without the session's token (a forged upload): refused.
    let forged = c.post("/console/c/pycon/import/confirm", &[("file_base64", "Y29kZQ")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        c.upload("/console/c/djangocon/import", &[], &[("file", "g.csv", GOOD)]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(vouchers(&c).await, 0);
    assert_eq!(c.batches().await, 0);
}

async fn recipients_from_a_file(mut c: Console) {
    let config = VoucherBulkConfig::new(CONF, "FILE-", 3, VoucherType::Comp, 0.into());
    let batch = generate_voucher_codes(&*c.db.store, &Limits::default(), &config).await.unwrap().batch;
    c.sign_in(MANAGER).await.redirect();
    let uri = format!("/console/c/pycon/batches/{}/assign", batch.id);
    let form = c.get(&uri).await.ok(StatusCode::OK).to_owned();
    assert!(form.contains("<label for=\"recipients_file\">Or a CSV file</label>"));
    let file = "\u{feff}email,name,company\nana@example.org,Ana Lima,ACME\nbo@example.org,Bo Chen,Initech\n";
    let done = c.upload(&uri, &[("recipients", "")], &[("recipients_file", "people.csv", file)]).await;
    assert!(done.redirect().contains("assigned=2"), "{}", done.body);
    let bad = c.upload(&uri, &[], &[("recipients_file", "people.csv", "email,name\nnot-an-email,X\n")]).await;
    assert!(bad.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("line 2"), "{}", bad.body);
    let empty = c.upload(&uri, &[], &[("recipients_file", "people.csv", "email,name\n")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY, "a file with no recipient: {}", empty.body);
}

both_backends!(preview_then_import, every_bad_line_is_listed_and_nothing_written, recipients_from_a_file);
