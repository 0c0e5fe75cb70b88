//! Bulk actions on the voucher list: ticked rows or every voucher matching the search,
//! deactivated after a confirmation page, reactivated, exported; each ends with a flash message
//! shown once; a refusal or a forged form changes nothing.

use axum::http::StatusCode;
use vouchers_core::domain::VoucherType;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, Limits, VoucherBulkConfig};

use crate::support::*;

async fn batch_of(c: &Console, conference: &str, prefix: &str, n: i64) -> (i64, Vec<String>) {
    let config = VoucherBulkConfig::new(conference, prefix, n, VoucherType::Comp, 0.into());
    let made = generate_voucher_codes(&*c.db.store, &Limits::default(), &config).await.unwrap();
    (made.batch.id, made.vouchers.into_iter().map(|v| v.code).collect())
}

async fn active(c: &Console, conference: &str) -> usize {
    let filter = VoucherFilter { active: Some(true), ..VoucherFilter::default() };
    vouchers_core::service::query::list_vouchers(&*c.db.store, conference, &filter).await.unwrap().len()
}

async fn ticked_rows_are_deactivated_after_a_confirmation(mut c: Console) {
    let (batch, codes) = batch_of(&c, CONF, "BULK-", 4).await;
    c.sign_in(MANAGER).await.redirect();
    let list = c.get("/console/c/pycon/vouchers").await.ok(StatusCode::OK).to_owned();
    assert_eq!(list.matches("type=\"checkbox\" name=\"code\"").count(), 4, "a box per row");
    assert!(list.contains(&format!("aria-label=\"Select {}\"", codes[0])));

    let batch_text = batch.to_string();
    let form = [
        ("action", "deactivate"),
        ("scope", "selected"),
        ("batch", batch_text.as_str()),
        ("code", codes[0].as_str()),
        ("code", codes[1].as_str()),
    ];
    let confirm = c.submit("/console/c/pycon/bulk", &form).await.ok(StatusCode::OK).to_owned();
    assert!(confirm.contains("<h1>Deactivate 2 vouchers?</h1>"), "{confirm}");
    assert!(confirm.contains(&format!("<code>{}</code>", codes[1])));
    assert_eq!(active(&c, CONF).await, 4, "asking changes nothing");

    let confirmed = [("batch", batch_text.as_str()), ("code", codes[0].as_str()), ("code", codes[1].as_str())];
    let back = c.submit("/console/c/pycon/bulk/deactivate", &confirmed).await.redirect().to_owned();
    assert!(back.starts_with("/console/c/pycon/vouchers?") && back.contains(&format!("batch={batch}")), "{back}");
    assert_eq!(active(&c, CONF).await, 2);
    let shown = c.get(&back).await.ok(StatusCode::OK).to_owned();
    assert!(shown.contains("role=\"status\">2 vouchers deactivated</p>"), "{shown}");
    let again = c.get(&back).await.ok(StatusCode::OK).to_owned();
    assert!(!again.contains("vouchers deactivated"), "the flash is shown once");

    // The confirmation submitted twice (Back, submit again) deactivates nothing more.
    c.submit("/console/c/pycon/bulk/deactivate", &confirmed).await.redirect();
    let twice = c.get("/console/c/pycon/vouchers").await.ok(StatusCode::OK).to_owned();
    assert!(twice.contains("0 vouchers deactivated (2 vouchers already inactive)"), "{twice}");
    assert_eq!(active(&c, CONF).await, 2);
}

async fn everything_matching_the_search_is_reactivated_and_exported(mut c: Console) {
    let (batch, codes) = batch_of(&c, CONF, "ALL-", 3).await;
    let (_, others) = batch_of(&c, CONF, "KEEP-", 2).await;
    let store = &*c.db.store;
    let all = vouchers_core::service::manage::Selection::Codes(codes.iter().chain(&others).cloned().collect());
    vouchers_core::service::manage::set_active_many(store, CONF, &all, false).await.unwrap();
    c.sign_in(MANAGER).await.redirect();

    let batch_text = batch.to_string();
    let form = [("action", "reactivate"), ("scope", "matching"), ("batch", batch_text.as_str())];
    c.submit("/console/c/pycon/bulk", &form).await.redirect();
    assert_eq!(active(&c, CONF).await, 3, "only the batch searched for");
    let shown = c.get("/console/c/pycon/vouchers").await.ok(StatusCode::OK).to_owned();
    assert!(shown.contains("3 vouchers reactivated"), "{shown}");

    let export = [("action", "export"), ("scope", "matching"), ("q", "keep-")];
    let csv = c.submit("/console/c/pycon/bulk", &export).await;
    let body = csv.ok(StatusCode::OK);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(body.lines().count(), 3, "a header and the two KEEP- codes: {body}");
    assert!(others.iter().all(|code| body.contains(code.as_str())) && !body.contains("ALL-"));

    let ticked = [("action", "export"), ("scope", "selected"), ("code", codes[2].as_str())];
    let csv = c.submit("/console/c/pycon/bulk", &ticked).await;
    let body = csv.ok(StatusCode::OK);
    assert_eq!(body.lines().count(), 2, "{body}");
    assert!(body.lines().nth(1).unwrap().contains(codes[2].as_str()));
    assert!(csv.headers["content-disposition"].to_str().unwrap().contains("pycon-selected.csv"));
}

async fn refusals_and_forgeries_change_nothing(mut c: Console) {
    let (_, codes) = batch_of(&c, CONF, "SAFE-", 2).await;
    let (_, theirs) = batch_of(&c, OTHER, "THEIRS-", 1).await;
    c.sign_in(MANAGER).await.redirect();

    let none = c.submit("/console/c/pycon/bulk", &[("action", "deactivate"), ("scope", "selected")]).await;
    assert!(none.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("select at least one voucher"));
    let bad_filter = [("action", "reactivate"), ("scope", "matching"), ("status", "lost")];
    assert!(c
        .submit("/console/c/pycon/bulk", &bad_filter)
        .await
        .ok(StatusCode::UNPROCESSABLE_ENTITY)
        .contains("status"));
    let unknown_action = [("action", "delete"), ("code", codes[0].as_str())];
    assert!(c
        .submit("/console/c/pycon/bulk", &unknown_action)
        .await
        .ok(StatusCode::UNPROCESSABLE_ENTITY)
        .contains("Choose Deactivate, Reactivate or Export CSV"));

    // Another conference's code names nothing here (the list says which, and nothing changes);
    // its conference is not reachable at all.
    let mixed = [("code", codes[0].as_str()), ("code", theirs[0].as_str())];
    let refused = c.submit("/console/c/pycon/bulk/deactivate", &mixed).await;
    assert!(refused.ok(StatusCode::UNPROCESSABLE_ENTITY).contains(theirs[0].as_str()));
    let theirs_form = [("code", theirs[0].as_str())];
    assert_eq!(c.submit("/console/c/djangocon/bulk/deactivate", &theirs_form).await.status, StatusCode::NOT_FOUND);

    // Without the session's CSRF token: refused.
    let forged = c.post("/console/c/pycon/bulk/deactivate", &[("code", codes[0].as_str())]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert_eq!(active(&c, CONF).await, 2);
    assert_eq!(active(&c, OTHER).await, 1);
}

both_backends!(
    ticked_rows_are_deactivated_after_a_confirmation,
    everything_matching_the_search_is_reactivated_and_exported,
    refusals_and_forgeries_change_nothing
);
