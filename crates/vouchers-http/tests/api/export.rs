//! CSV export, streamed.

use axum::http::StatusCode;

use crate::support::*;

fn rows(csv_text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(csv_text.as_bytes()).records().map(Result::unwrap).collect()
}

async fn export_streams_every_voucher_as_safe_csv(app: TestApp) {
    // More than one store page (1000) so the stream has to continue after the first.
    let mut expected = 0;
    for prefix in ["A-", "B-", "C-"] {
        app.generate(prefix, 400).await;
        expected += 400;
    }
    let r = app.get_vouchers_export(&app.manage, CONF, "format=csv").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    assert!(r.headers["content-disposition"].to_str().unwrap().contains("pycon-vouchers.csv"));
    let text = r.text();
    assert!(text.starts_with("id,conference,code,voucher_type,discount_value,max_uses,times_used,"));
    let all = rows(&text);
    assert_eq!(all.len(), expected, "every voucher once (the header is not a record)");
    let mut ids: Vec<i64> = all.iter().map(|r| r[0].parse().unwrap()).collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n);
    for row in &all {
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "unsafe cell {cell:?}");
        }
    }

    let first_batch = all[0][13].to_owned();
    let only = app.get_vouchers_export(&app.manage, CONF, &format!("batch={first_batch}")).await;
    assert_eq!(rows(&only.text()).len(), 400);
    let e = app.get_vouchers_export(&app.manage, CONF, "format=xlsx").await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "format");
    let empty = app.get_vouchers_export(&app.other_manage, OTHER, "").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.text().lines().count(), 1, "just the header");
}

both_backends!(export_streams_every_voucher_as_safe_csv);
