//! Every page and form: catalog, generate (validation keeping values, double submit), batch
//! (CSV, deactivation), vouchers (search, filters, add, edit), tokens, try a code, dashboard.

use axum::http::{header, StatusCode};

use crate::support::*;

async fn catalog_forms_create_and_refuse(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let page = c.get("/console/c/pycon/catalog").await;
    let body = page.ok(StatusCode::OK);
    assert!(body.contains("New ticket type") && body.contains("New add-on") && body.contains("Requires voucher"));
    let made = c
        .submit(
            "/console/c/pycon/ticket-types",
            &[("slug", "corporate"), ("name", "Corporate"), ("price", "750.50"), ("requires_voucher", "on")],
        )
        .await;
    assert_eq!(made.redirect(), "/console/c/pycon/catalog");
    let body = c.get("/console/c/pycon/catalog").await.body;
    assert!(body.contains("<td>corporate</td><td>Corporate</td><td>750.50</td><td>yes"), "{body}");
    let dup = c.submit("/console/c/pycon/addons", &[("slug", "tshirt"), ("name", "Shirt <b>"), ("price", "abc")]).await;
    let body = dup.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Price must be a decimal number"), "{body}");
    assert!(body.contains("Shirt &#60;b&#62;") || body.contains("Shirt &lt;b&gt;"), "escaped: {body}");
    let dup = c.submit("/console/c/pycon/addons", &[("slug", "tshirt"), ("name", "Shirt"), ("price", "1")]).await;
    assert!(dup.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("already exists"));
}

pub(crate) fn generate_form<'a>(key: &'a str, count: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("idempotency_key", key),
        ("prefix", "SPONSOR-"),
        ("count", count),
        ("voucher_type", "percentage"),
        ("discount_value", "25"),
        ("max_uses", "2"),
        ("valid_from", "2026-01-01T09:00"),
        ("valid_until", "2030-05-22T18:00"),
        ("applicable_ticket_types", "individual"),
        ("applicable_addons", "tshirt"),
    ]
}

async fn generate_validates_keeps_values_and_makes_one_batch_per_form(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let form = c.get("/console/c/pycon/generate").await;
    let body = form.ok(StatusCode::OK).to_owned();
    for label in [
        "Prefix",
        "Count",
        "Voucher type",
        "Discount value",
        "Max uses",
        "Valid from",
        "Valid until",
        "Unlocks hidden tickets",
        "Minimum qualifying items",
        "Minimum qualifying subtotal",
    ] {
        assert!(body.contains(&format!(">{label}</label>")), "{label}");
    }
    for legend in ["Applicable ticket types", "Applicable add-ons"] {
        assert!(body.contains(&format!("<legend>{legend}</legend>")), "{legend}");
    }
    assert!(body.contains("America/New_York") && body.contains(">Generate</button>"));
    let key = form.hidden("idempotency_key");

    // Invalid: every value kept, each rule's message beside its field, nothing written.
    let mut bad = generate_form(&key, "abc");
    bad[4] = ("discount_value", "150");
    let page = c.submit("/console/c/pycon/generate", &bad).await;
    let body = page.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("count must be a whole number"), "{body}");
    assert!(
        body.contains(r#"value="abc""#)
            && body.contains(r#"value="SPONSOR-""#)
            && body.contains(r#"value="2030-05-22T18:00""#)
    );
    assert!(body.contains(r#"aria-invalid="true""#) && body.contains("count-error"));
    let too_big = generate_form(&key, "501");
    let mut too_big = too_big;
    too_big[4] = ("discount_value", "150");
    let body = c.submit("/console/c/pycon/generate", &too_big).await.body;
    assert!(
        body.contains("Count must be between 1 and 500, got 501"),
        "the rule's message, naming the field by its label"
    );
    let mut bad_minimums = generate_form(&key, "3");
    bad_minimums.extend([("min_quantity", "0"), ("min_subtotal", "12.345")]);
    let body = c.submit("/console/c/pycon/generate", &bad_minimums).await.body;
    assert!(body.contains("Minimum qualifying items must be from 1 to 10000, got 0"), "{body}");
    assert!(body.contains(r#"value="12.345""#) && body.contains("min_quantity-error"), "values kept, errors shown");
    // A bad prefix is told with the other fields' mistakes, in one submit.
    let mut bad_prefix = generate_form(&key, "many");
    bad_prefix[1] = ("prefix", "-SPONSOR");
    let body = c.submit("/console/c/pycon/generate", &bad_prefix).await.body;
    assert!(body.contains(r#"id="prefix-error""#) && body.contains(r#"id="count-error""#), "{body}");
    assert!(body.contains("Prefix must"), "{body}");
    assert_eq!(c.batches().await, 0);

    // Valid, sent twice with the form's key (a double click, a reload): one batch.
    let first = c.submit("/console/c/pycon/generate", &generate_form(&key, "3")).await;
    let batch_page = first.redirect().to_owned();
    assert!(batch_page.starts_with("/console/c/pycon/batches/"), "{batch_page}");
    let again = c.submit("/console/c/pycon/generate", &generate_form(&key, "3")).await;
    assert_eq!(again.redirect(), batch_page, "the same batch, not a second one");
    assert_eq!(c.batches().await, 1);

    // The batch page: configuration, usage, codes, CSV, deactivation after confirming.
    let page = c.get(&batch_page).await;
    let body = page.ok(StatusCode::OK).to_owned();
    assert!(
        body.contains("<h1>Batch")
            && body.contains("25% off")
            && body.contains("Download CSV")
            && body.contains("Deactivate batch")
    );
    assert_eq!(body.matches("<td><code>SPONSOR-").count(), 3, "{body}");
    assert!(body.contains("<dt>Minimum cart</dt><dd>none</dd>"), "{body}");
    let csv = c.get(&format!("{batch_page}/codes.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.body.starts_with("id,conference,code,") && csv.body.lines().count() == 4, "{}", csv.body);
    let confirm = c.get(&format!("{batch_page}/deactivate")).await;
    assert!(confirm.ok(StatusCode::OK).contains(">Deactivate</button>"));
    let done = c.submit(&format!("{batch_page}/deactivate"), &[]).await;
    assert_eq!(done.redirect(), batch_page);
    let body = c.get(&batch_page).await.body;
    assert_eq!(body.matches(">inactive</span>").count(), 3, "every code shows inactive");
    let dash = c.get("/console/c/pycon").await;
    let body = dash.ok(StatusCode::OK);
    assert!(body.contains(r#"<svg role="img""#) && body.contains("3 issued, 0 active"), "{body}");

    // Unknown and other conferences' batches are 404 pages.
    for id in ["999", "abc", "0"] {
        c.get(&format!("/console/c/pycon/batches/{id}")).await.ok(StatusCode::NOT_FOUND);
    }
}

async fn vouchers_list_add_show_and_edit(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let key = c.get("/console/c/pycon/generate").await.hidden("idempotency_key");
    c.submit("/console/c/pycon/generate", &generate_form(&key, "2")).await.redirect();
    let add = [
        ("code", "PYCON-KEYNOTE"),
        ("voucher_type", "comp"),
        ("max_uses", "1"),
        ("unlocks_hidden_tickets", "on"),
        ("applicable_ticket_types", "student"),
    ];
    let made = c.submit("/console/c/pycon/vouchers/new", &add).await;
    assert_eq!(made.redirect(), "/console/c/pycon/vouchers/PYCON-KEYNOTE");
    let dup = c.submit("/console/c/pycon/vouchers/new", &[("code", "pycon-keynote"), ("voucher_type", "comp")]).await;
    assert!(dup.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("already exists"));

    let list = c.get("/console/c/pycon/vouchers").await.body;
    assert_eq!(list.matches("/console/c/pycon/vouchers/SPONSOR-").count(), 2);
    assert!(list.contains("PYCON-KEYNOTE") && list.contains("0 / 1") && list.contains("0 / 2"));
    let search = c.get("/console/c/pycon/vouchers?q=sponsor-").await.body;
    assert!(!search.contains("PYCON-KEYNOTE") && search.matches("SPONSOR-").count() >= 2);
    let by_hand = c.get("/console/c/pycon/vouchers?status=inactive").await.body;
    assert!(by_hand.contains("No vouchers match"));
    c.get("/console/c/pycon/vouchers?status=bogus").await.ok(StatusCode::UNPROCESSABLE_ENTITY);
    c.get("/console/c/pycon/vouchers?q=%25").await.ok(StatusCode::UNPROCESSABLE_ENTITY);

    // Redeem once, then the page shows the redemption and refuses max uses below it.
    let store = &*c.db.store;
    let order = vouchers_core::domain::OrderRef::parse("ORDER-1").unwrap();
    vouchers_core::service::checkout::redeem_voucher(
        store,
        CONF,
        "PYCON-KEYNOTE",
        &order,
        None,
        &Default::default(),
        vouchers_core::now(),
    )
    .await
    .unwrap();
    let page = c.get("/console/c/pycon/vouchers/pycon-keynote").await;
    let body = page.ok(StatusCode::OK);
    assert!(body.contains("ORDER-1") && body.contains("1 / 1") && body.contains("used up"), "{body}");
    let bad = c.submit("/console/c/pycon/vouchers/PYCON-KEYNOTE", &[("is_active", "on"), ("max_uses", "0")]).await;
    assert!(bad.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("Max uses must be at least 1"));
    let saved = c
        .submit("/console/c/pycon/vouchers/PYCON-KEYNOTE", &[("max_uses", "5"), ("valid_until", "2030-01-01T10:00")])
        .await;
    assert_eq!(saved.redirect(), "/console/c/pycon/vouchers/PYCON-KEYNOTE?saved=1");
    let body = c.get("/console/c/pycon/vouchers/PYCON-KEYNOTE?saved=1").await.body;
    assert!(
        body.contains("Saved.")
            && body.contains("1 / 5")
            && body.contains("inactive")
            && body.contains("2030-01-01 10:00"),
        "{body}"
    );
    c.get("/console/c/pycon/vouchers/NOPE").await.ok(StatusCode::NOT_FOUND);
}

/// The rows of a vouchers list of `pycon`: each voucher's code and its Status column.
fn listed(body: &str) -> Vec<(String, String)> {
    body.split("</td><td><a href=\"/console/c/pycon/vouchers/")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap()];
            let code = row[..row.find('"').unwrap()].to_owned();
            let cells: Vec<&str> = row.split("</td><td>").collect();
            assert_eq!(cells.len(), 9, "code, type, discount, uses, window, status, batch, recipient, applies: {row}");
            // The status cell is a coloured badge: its text is the status.
            let status = cells[5].split('>').nth(1).and_then(|t| t.split('<').next()).unwrap_or(cells[5]);
            (code, status.to_owned())
        })
        .collect()
}

/// The status filter, for each status it accepts: the list shows exactly the vouchers in that
/// status and none of the others (nor another conference's). A voucher that breaks several
/// rules is in the status of the first it breaks: deactivated, then used up, then outside its
/// window. The unfiltered list shows each voucher with the status the filter put it in.
async fn status_filter_lists_exactly_the_vouchers_in_each_status(mut c: Console) {
    use vouchers_core::domain::{OrderRef, VoucherType, When};
    use vouchers_core::service::add::{add_voucher, AddVoucher};
    use vouchers_core::service::checkout::redeem_voucher;
    use vouchers_core::service::manage::{update_voucher, VoucherUpdate};

    c.sign_in(MANAGER).await.redirect();
    let store = &*c.db.store;
    let at = |text: &str| -> chrono::DateTime<chrono::Utc> { text.parse().unwrap() };
    let now = vouchers_core::now();
    let (older, past, later) = (at("2019-01-01T00:00:00Z"), at("2020-01-01T00:00:00Z"), at("2020-06-01T00:00:00Z"));
    let (future, farther) = (at("2090-01-01T00:00:00Z"), at("2091-01-01T00:00:00Z"));
    // Code, uses allowed, valid from, valid until, redeemed at (one use each), deactivated, and
    // the status it is in now.
    #[allow(clippy::type_complexity)]
    let vouchers: [(&str, i64, Option<_>, Option<_>, &[chrono::DateTime<chrono::Utc>], bool, &str); 12] = [
        ("ACTIVE-PLAIN", 1, None, None, &[], false, "active"),
        ("ACTIVE-WINDOW", 3, Some(past), Some(future), &[now], false, "active"),
        ("INACTIVE-PLAIN", 1, None, None, &[], true, "inactive"),
        ("INACTIVE-EXPIRED", 1, None, Some(past), &[], true, "inactive"),
        ("USED-PLAIN", 1, None, None, &[now], false, "used_up"),
        // The window is judged before the uses: a used-up voucher out of its window is expired or
        // not yet valid.
        ("USED-EXPIRED", 1, None, Some(later), &[past], false, "expired"),
        ("USED-NOT-YET", 2, Some(future), None, &[future, future], false, "not_yet_valid"),
        ("USED-WINDOW", 1, Some(past), Some(future), &[later], false, "used_up"),
        ("EXPIRED-PLAIN", 1, None, Some(past), &[], false, "expired"),
        ("EXPIRED-WINDOW", 5, Some(older), Some(past), &[past], false, "expired"),
        ("NOT-YET-PLAIN", 1, Some(future), None, &[], false, "not_yet_valid"),
        ("NOT-YET-WINDOW", 1, Some(future), Some(farther), &[], false, "not_yet_valid"),
    ];
    for (code, max_uses, from, until, redeemed, deactivated, _) in vouchers {
        let mut request = AddVoucher::new(CONF, code, VoucherType::Comp, None);
        request.terms.max_uses = max_uses;
        request.terms.valid_from = from.map(When::Instant);
        request.terms.valid_until = until.map(When::Instant);
        add_voucher(store, &request).await.unwrap();
        for (i, when) in redeemed.iter().enumerate() {
            let order = OrderRef::parse(&format!("{code}-{i}")).unwrap();
            redeem_voucher(store, CONF, code, &order, None, &Default::default(), *when).await.unwrap();
        }
        if deactivated {
            let update = VoucherUpdate { is_active: Some(false), ..VoucherUpdate::default() };
            update_voucher(store, CONF, code, &update).await.unwrap();
        }
    }
    // Another conference's vouchers (one active, one expired) are never listed.
    let mut other = AddVoucher::new(OTHER, "DJANGO-ACTIVE", VoucherType::Comp, None);
    add_voucher(store, &other).await.unwrap();
    other.code = "DJANGO-EXPIRED".to_owned();
    other.terms.valid_until = Some(When::Instant(past));
    add_voucher(store, &other).await.unwrap();

    let statuses = [
        ("active", "active"),
        ("inactive", "inactive"),
        ("used_up", "used up"),
        ("expired", "expired"),
        ("not_yet_valid", "not yet valid"),
    ];
    let everything = c.get("/console/c/pycon/vouchers").await;
    let body = everything.ok(StatusCode::OK);
    for (status, label) in statuses {
        assert!(body.contains(&format!("<option value=\"{status}\">{label}</option>")), "{status} offered: {body}");
    }
    let mut all = listed(body);
    all.sort();
    let mut expected: Vec<(String, String)> =
        vouchers.iter().map(|v| (v.0.to_owned(), statuses.iter().find(|s| s.0 == v.6).unwrap().1.to_owned())).collect();
    expected.sort();
    assert_eq!(all, expected, "every voucher of pycon, each with its status");

    for (status, label) in statuses {
        let page = c.get(&format!("/console/c/pycon/vouchers?status={status}")).await;
        let body = page.ok(StatusCode::OK);
        assert!(body.contains(&format!("<option value=\"{status}\" selected>{label}</option>")), "{body}");
        let mut shown = listed(body);
        shown.sort();
        let mut wanted: Vec<(String, String)> =
            vouchers.iter().filter(|v| v.6 == status).map(|v| (v.0.to_owned(), label.to_owned())).collect();
        wanted.sort();
        assert!(wanted.len() >= 2, "{status}: at least two vouchers to find");
        assert_eq!(shown, wanted, "?status={status} lists exactly its vouchers");
        assert!(!body.contains("DJANGO-"), "{status}: another conference's voucher: {body}");
    }
}

async fn tokens_are_shown_once_and_revoked(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let made = c.submit("/console/c/pycon/tokens", &[("scope", "checkout"), ("name", "web shop")]).await;
    let body = made.ok(StatusCode::OK).to_owned();
    let start = body.find("vch_").unwrap();
    let secret: String = body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || "_-".contains(*c)).collect();
    assert!(secret.len() > 40);
    let listed = c.get("/console/c/pycon/tokens").await.body;
    assert!(listed.contains("web shop") && !listed.contains(&secret), "the secret is shown once");
    let token = vouchers_core::domain::TokenSecret::new(secret.clone());
    let found = vouchers_core::service::tokens::authenticate(&*c.db.store, &token).await.unwrap().unwrap();
    c.submit("/console/c/pycon/tokens", &[("scope", "admin")]).await.ok(StatusCode::UNPROCESSABLE_ENTITY);
    let revoked = c.submit(&format!("/console/c/pycon/tokens/{}/revoke", found.id), &[]).await;
    assert_eq!(revoked.redirect(), "/console/c/pycon/tokens");
    assert!(vouchers_core::service::tokens::authenticate(&*c.db.store, &token).await.unwrap().is_none());
    c.submit("/console/c/pycon/tokens/999999/revoke", &[]).await.ok(StatusCode::NOT_FOUND);
}

/// The webhooks page: a refused target keeps the form with the rule; a created webhook's secret
/// is shown once; its deliveries are listed with a Redeliver button that queues the same event;
/// disable and enable; a webhook the sender disabled says why.
async fn webhooks_page_lists_deliveries_and_redelivers(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let page = c.get("/console/c/pycon/webhooks").await;
    assert!(page.ok(StatusCode::OK).contains("No webhooks yet"));
    let refused = c.submit("/console/c/pycon/webhooks", &[("url", "https://169.254.169.254/latest")]).await;
    let body = refused.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("link-local") && body.contains("https://169.254.169.254/latest"), "{body}");
    let form = [("url", "https://93.184.216.34/hooks"), ("event", "voucher.redeemed"), ("event", "voucher.released")];
    let made = c.submit("/console/c/pycon/webhooks", &form).await;
    let body = made.ok(StatusCode::OK).to_owned();
    let start = body.find("whsec_").unwrap();
    let secret: String = body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || "_-".contains(*c)).collect();
    assert!(secret.len() > 40);
    assert!(body.contains("voucher.redeemed, voucher.released"), "{body}");
    let shared = c.db.store.clone();
    let store = &*shared;
    let hooks = vouchers_core::service::webhooks::list_webhooks(store, "pycon").await.unwrap();
    assert_eq!(hooks.len(), 1);
    let id = hooks[0].id;

    // A redemption: its delivery is listed, pending, with a Redeliver button.
    let mut add =
        vouchers_core::service::add::AddVoucher::new("pycon", "HOOKED", vouchers_core::domain::VoucherType::Comp, None);
    add.terms.max_uses = 2;
    vouchers_core::service::add::add_voucher(store, &add).await.unwrap();
    let order = vouchers_core::domain::OrderRef::parse("o-1").unwrap();
    let none = vouchers_core::service::checkout::UseOptions::default();
    vouchers_core::service::checkout::redeem_voucher(
        store,
        "pycon",
        "HOOKED",
        &order,
        None,
        &none,
        vouchers_core::now(),
    )
    .await
    .unwrap();
    let listed = c.get("/console/c/pycon/webhooks").await.body;
    assert!(!listed.contains(&secret), "the secret is shown once");
    assert!(listed.contains("voucher.redeemed") && listed.contains("pending"), "{listed}");
    let filter = vouchers_core::store::DeliveryFilter { limit: 10, ..Default::default() };
    let delivery = vouchers_core::service::webhooks::list_deliveries(store, "pycon", &filter).await.unwrap()[0].clone();
    assert!(listed.contains(&format!("/console/c/pycon/webhooks/deliveries/{}/redeliver", delivery.id)));
    assert!(listed.contains(&delivery.event_id));
    let again = c.submit(&format!("/console/c/pycon/webhooks/deliveries/{}/redeliver", delivery.id), &[]).await;
    assert_eq!(again.redirect(), "/console/c/pycon/webhooks");
    c.submit("/console/c/pycon/webhooks/deliveries/999999/redeliver", &[]).await.ok(StatusCode::NOT_FOUND);

    // Disable, enable; the sender's note.
    let off = c.submit(&format!("/console/c/pycon/webhooks/{id}/disable"), &[]).await;
    assert_eq!(off.redirect(), "/console/c/pycon/webhooks");
    assert!(!vouchers_core::service::webhooks::list_webhooks(store, "pycon").await.unwrap()[0].enabled);
    c.submit(&format!("/console/c/pycon/webhooks/{id}/enable"), &[]).await.redirect();
    let conference = vouchers_core::service::catalog::conference(store, "pycon").await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let note = "disabled on 2027-05-01T00:00:00Z: deliveries failed for 3 days";
    tx.set_webhook_enabled(conference.id, id, false, Some(note), vouchers_core::now()).await.unwrap();
    tx.commit().await.unwrap();
    assert!(c.get("/console/c/pycon/webhooks").await.body.contains(note));
    let rotated = c.submit(&format!("/console/c/pycon/webhooks/{id}/rotate"), &[]).await;
    let body = rotated.ok(StatusCode::OK);
    assert!(body.contains("whsec_") && !body.contains(&secret));
}

async fn try_a_code_answers_like_check(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let key = c.get("/console/c/pycon/generate").await.hidden("idempotency_key");
    let batch = c.submit("/console/c/pycon/generate", &generate_form(&key, "1")).await.redirect().to_owned();
    let code = {
        let body = c.get(&batch).await.body;
        let start = body.find("<td><code>SPONSOR-").unwrap() + 10;
        body[start..].split('<').next().unwrap().to_owned()
    };
    let form = c.get("/console/c/pycon/try").await;
    assert!(form.ok(StatusCode::OK).contains(">Try</button>"));
    let answer =
        c.get(&format!("/console/c/pycon/try?code={}&ticket_type=individual&quantity=2", code.to_lowercase())).await;
    let body = answer.ok(StatusCode::OK);
    assert!(
        body.contains("valid: this code can be used now") && body.contains("800.00") && body.contains("600.00"),
        "{body}"
    );
    let unknown = c.get("/console/c/pycon/try?code=NOPE-123&ticket_type=individual").await.body;
    assert!(unknown.contains("not usable: no voucher with this code"), "{unknown}");
    c.get("/console/c/pycon/try?code=X&ticket_type=individual&quantity=0").await.ok(StatusCode::UNPROCESSABLE_ENTITY);
}

async fn generate_readable_codes_with_a_check_and_a_guessing_figure(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let body = c.get("/console/c/pycon/generate").await.ok(StatusCode::OK).to_owned();
    for label in ["Alphabet", "Length"] {
        assert!(body.contains(&format!(">{label}</label>")), "{label}");
    }
    assert!(body.contains(r#"name="check_char""#) && body.contains(r#"name="allow_weak_codes""#));
    let key = c.get("/console/c/pycon/generate").await.hidden("idempotency_key");

    // Too guessable: refused beside the length field, values kept, nothing written.
    let mut weak = generate_form(&key, "500");
    weak.extend([("alphabet", "readable"), ("length", "6"), ("check_char", "on")]);
    let body = c.submit("/console/c/pycon/generate", &weak).await.ok(StatusCode::UNPROCESSABLE_ENTITY).to_owned();
    assert!(body.contains("length-error") && body.contains("longer codes (length 7 or more)"), "{body}");
    assert!(body.contains(r#"value="6""#));
    let bad_length = {
        let mut form = generate_form(&key, "5");
        form.extend([("alphabet", "readable"), ("length", "40")]);
        form
    };
    let body = c.submit("/console/c/pycon/generate", &bad_length).await.body;
    assert!(body.contains("Length must be between 6 and 32, got 40"), "{body}");
    assert_eq!(c.batches().await, 0);

    let mut good = generate_form(&key, "5");
    good.extend([("alphabet", "readable"), ("length", "10"), ("check_char", "on")]);
    let batch_page = c.submit("/console/c/pycon/generate", &good).await.redirect().to_owned();
    let body = c.get(&batch_page).await.ok(StatusCode::OK).to_owned();
    assert!(body.contains("readable, 10 characters + check"), "{body}");
    assert!(
        body.contains("<dt>Guessing</dt>")
            && body.contains("One guesser would need about ")
            && body.contains("at the limit of 100 failed lookups a minute"),
        "{body}"
    );
}

both_backends!(
    generate_readable_codes_with_a_check_and_a_guessing_figure,
    catalog_forms_create_and_refuse,
    generate_validates_keeps_values_and_makes_one_batch_per_form,
    vouchers_list_add_show_and_edit,
    status_filter_lists_exactly_the_vouchers_in_each_status,
    tokens_are_shown_once_and_revoked,
    webhooks_page_lists_deliveries_and_redelivers,
    try_a_code_answers_like_check,
);
