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

    // Sorted by a column's header: most codes first, the current column marked for screen readers.
    let by_codes = c.get("/console/c/pycon/batches?sort=codes&dir=desc").await.ok(StatusCode::OK).to_owned();
    let (stu, spk) = (by_codes.find("STU-").unwrap(), by_codes.find("SPK-").unwrap());
    assert!(stu < spk, "3 codes before 2: {by_codes}");
    let header = by_codes.split("aria-sort=\"descending\">").nth(1).unwrap();
    assert!(
        header.starts_with("<a class=\"sort\" href=\"/console/c/pycon/batches?sort=codes&#38;dir=asc\">Codes"),
        "{header}"
    );
    let by_id = c.get("/console/c/pycon/batches?sort=nonsense&dir=desc").await.ok(StatusCode::OK).to_owned();
    assert!(by_id.find("SPK-").unwrap() > by_id.find("STU-").unwrap(), "an unknown column: the default, by batch");
    let list = c.get("/console/c/pycon/batches").await.ok(StatusCode::OK).to_owned();
    assert!(
        list.contains(&format!("Batch {}</a> <small><code>SPK-</code>", speakers.id))
            && list.contains(&format!("Batch {}</a> <small><code>STU-</code>", students.id)),
        "{list}"
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

/// A batch named on the generate form is known by its name on its page, in the batches list and
/// in the voucher list's menu; its name and note change on its page, with a flash; a bad name is
/// refused next to the form and changes nothing.
async fn a_batch_is_known_by_its_name(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let key = c.get("/console/c/pycon/generate").await.hidden("idempotency_key");
    let mut form = crate::pages::generate_form(&key, "2");
    form.extend([("name", "Speakers 2027"), ("note", "Asked for by Ana <ana@example.org>")]);
    let page = c.submit("/console/c/pycon/generate", &form).await.redirect().to_owned();
    let id: i64 = page.rsplit('/').next().unwrap().parse().unwrap();
    let body = c.get(&page).await.ok(StatusCode::OK).to_owned();
    assert!(body.contains(&format!("<h1>Speakers 2027 (batch {id})")), "{body}");
    assert!(body.contains("Asked for by Ana &#60;ana@example.org&#62;"), "the note, escaped: {body}");
    let list = c.get("/console/c/pycon/batches").await.ok(StatusCode::OK).to_owned();
    assert!(list.contains(&format!("batches/{id}\">Speakers 2027</a>")), "{list}");
    let vouchers = c.get("/console/c/pycon/vouchers").await.ok(StatusCode::OK).to_owned();
    assert!(vouchers.contains(&format!(">Speakers 2027 (batch {id}) (SPONSOR-)</option>")), "{vouchers}");

    let label = format!("/console/c/pycon/batches/{id}/label");
    let back = c.submit(&label, &[("name", "Keynote speakers"), ("note", "")]).await.redirect().to_owned();
    let renamed = c.get(&back).await.ok(StatusCode::OK).to_owned();
    assert!(renamed.contains(&format!("Keynote speakers (batch {id}) saved")), "a flash: {renamed}");
    assert!(!renamed.contains("Asked for by Ana"), "the note was emptied");

    let too_long = "x".repeat(101);
    let refused = c.submit(&label, &[("name", too_long.as_str())]).await;
    assert!(refused.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("Name must be at most 100 characters"));
    let forged = c.post(&label, &[("name", "Forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(c.submit("/console/c/djangocon/batches/1/label", &[("name", "x")]).await.status, StatusCode::NOT_FOUND);
    let batch = vouchers_core::service::query::batch(&*c.db.store, CONF, id).await.unwrap().unwrap();
    assert_eq!(batch.name, "Keynote speakers", "refusals changed nothing");
}

/// The codes of a list page, in the order shown.
fn codes_shown(page: &str) -> Vec<String> {
    page.split("name=\"code\" value=\"").skip(1).map(|s| s.split('"').next().unwrap().to_owned()).collect()
}

/// The `after` of a page's Next page link (unescaped), if it has one.
fn next_after(page: &str) -> Option<String> {
    let link = page.split("\">Next page</a>").next()?.rsplit("after=").next()?.to_owned();
    page.contains(">Next page</a>").then(|| link.replace("%2D", "-").replace("&#38;", "&"))
}

/// The voucher list in its three orders (oldest first, newest first, by code), each paged by
/// its own cursor: every code once, in that order, across the pages.
async fn the_voucher_list_in_three_orders(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let db = std::sync::Arc::clone(&c.db);
    let store = &*db.store;
    let config = VoucherBulkConfig::new(CONF, "ORD-", 60, VoucherType::Percentage, 10.into());
    let made: Vec<String> = generate_voucher_codes(store, &Limits::default(), &config)
        .await
        .unwrap()
        .vouchers
        .into_iter()
        .map(|v| v.code)
        .collect();
    let mut by_code = made.clone();
    by_code.sort();
    let mut newest = made.clone();
    newest.reverse();
    for (order, expected) in [("", &made), ("newest", &newest), ("code", &by_code)] {
        let first = c.get(&format!("/console/c/pycon/vouchers?order={order}")).await.ok(StatusCode::OK).to_owned();
        if !order.is_empty() {
            assert!(first.contains(&format!("<option value=\"{order}\" selected>")), "{first}");
            assert!(first.contains(&format!("<input type=\"hidden\" name=\"order\" value=\"{order}\">")));
        }
        let mut shown = codes_shown(&first);
        assert_eq!(shown.len(), 50, "a page of 50");
        let after = next_after(&first).expect("a second page");
        let second = c.get(&format!("/console/c/pycon/vouchers?order={order}&after={after}")).await;
        let second = second.ok(StatusCode::OK).to_owned();
        assert!(next_after(&second).is_none(), "two pages in all");
        shown.extend(codes_shown(&second));
        assert_eq!(&shown, expected, "order {order:?}");
    }
    let odd = c.get("/console/c/pycon/vouchers?order=code&after=%00").await;
    assert_eq!(odd.status, StatusCode::OK, "a cursor with a NUL finds nothing, quietly");
}

both_backends!(
    the_batches_list_and_the_voucher_columns,
    a_batch_is_known_by_its_name,
    the_voucher_list_in_three_orders
);
