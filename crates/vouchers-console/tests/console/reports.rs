//! The Reports and Redemptions pages: the funnel and the timeline (chart and table) show what
//! happened, the list pages by cursor with its filters and downloads as CSV; a bad filter is a
//! message, another conference is not found.

use axum::http::{header, StatusCode};
use vouchers_core::domain::{LineItem, OrderRef, Quantity, VoucherType};
use vouchers_core::service::checkout::{self, CartLine, UseOptions};
use vouchers_core::{generate_voucher_codes, Limits, VoucherBulkConfig};

use crate::support::*;

async fn reports_and_redemptions_pages(mut c: Console) {
    let db = std::sync::Arc::clone(&c.db);
    let store = &*db.store;
    let empty = {
        c.sign_in(MANAGER).await.redirect();
        c.get("/console/c/pycon/reports").await.ok(StatusCode::OK).to_owned()
    };
    assert!(empty.contains("No vouchers yet"), "{empty}");
    let config = VoucherBulkConfig::new(CONF, "REP-", 51, VoucherType::Percentage, 25.into());
    let batch = generate_voucher_codes(store, &Limits::default(), &config).await.unwrap();
    let lines = vec![CartLine { item: LineItem::TicketType("individual".into()), quantity: Quantity::new(1).unwrap() }];
    for (i, v) in batch.vouchers.iter().enumerate() {
        let order = OrderRef::parse(&format!("order-{i:02}")).unwrap();
        checkout::redeem_voucher(
            store,
            CONF,
            &v.code,
            &order,
            Some(&lines),
            &UseOptions::default(),
            vouchers_core::now(),
        )
        .await
        .unwrap();
    }

    let page = c.get("/console/c/pycon/reports").await.ok(StatusCode::OK).to_owned();
    // 51 redemptions of 25 % off 400.00.
    assert!(page.contains("Batch 1 (REP-)") && page.contains("5100.00"), "{page}");
    assert!(
        page.contains("<svg role=\"img\"") && page.contains("51 redemptions and 5100.00 discount in the last 30 days")
    );
    assert!(page.contains("America/New_York"));
    let hourly = c.get("/console/c/pycon/reports?interval=hour").await.ok(StatusCode::OK).to_owned();
    assert!(hourly.contains("in the last 48 hours"), "{hourly}");

    let list = c.get("/console/c/pycon/redemptions").await.ok(StatusCode::OK).to_owned();
    assert!(list.contains("order-50") && !list.contains("order-00"), "newest first, 50 a page");
    let start = list.find("redemptions?before=").expect("a link to the older page");
    let older: String = list[start..].chars().take_while(|ch| *ch != '"').collect();
    let older = c.get(&format!("/console/c/pycon/{}", older.replace("&amp;", "&"))).await.ok(StatusCode::OK).to_owned();
    assert!(older.contains("order-00") && !older.contains("order-50"), "{older}");
    let filtered = c.get("/console/c/pycon/redemptions?search=ORDER-07").await.ok(StatusCode::OK).to_owned();
    assert!(filtered.contains("order-07") && !filtered.contains("order-08"));
    let bad = c.get("/console/c/pycon/redemptions?batch=abc").await;
    assert!(bad.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("batch must be"));

    let csv = c.get("/console/c/pycon/redemptions.csv?released=no").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(csv.body.lines().count(), 52, "the header and 51 redemptions");
    assert!(csv.body.starts_with("id,redeemed_at,code,batch_id,order_ref,customer_email,discount,released_at\n"));

    // Another conference is not found; signed out, the pages ask to sign in.
    assert_eq!(c.get("/console/c/djangocon/reports").await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.get("/console/c/djangocon/redemptions.csv").await.status, StatusCode::NOT_FOUND);
    let mut stranger = c.another_browser();
    assert!(stranger.get("/console/c/pycon/reports").await.status.is_redirection());
}

both_backends!(reports_and_redemptions_pages);
