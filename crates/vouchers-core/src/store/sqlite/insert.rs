//! The bulk insert of a chunk of codes on SQLite.
//!
//! Small chunks insert with `RETURNING`. For large ones the driver's hand-over of each result row
//! from its worker thread costs more than the INSERT itself (measured with perf: 35 % of the time
//! in futex wake/wait for 500 rows), so the new rows are read back as one row of two JSON arrays.

use sqlx::Row;

use super::writer::WriterTx;

use super::{json_list, micros};
use crate::domain::fold_key;
use crate::store::{StoreError, VoucherTemplate};

/// Chunks at least this large are read back as one JSON row instead of with RETURNING.
const READ_BACK_FROM: usize = 64;

// Parameter 11 is a JSON array of `[code, folded key]` pairs.
const INSERT_VOUCHERS: &str = "INSERT INTO voucher (conference_id, code, voucher_type, discount_cents, max_uses,
         times_used, valid_from, valid_until, unlocks_hidden_tickets, is_active, restriction_set_id, batch_id,
         created_at, updated_at, readable, fold_key)
     SELECT ?1, j.value ->> 0, ?2, ?3, ?4, 0, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?10, ?12, j.value ->> 1
       FROM json_each(?11) AS j WHERE true
     ON CONFLICT DO NOTHING";

const INSERT_VOUCHERS_RETURNING: &str = "INSERT INTO voucher (conference_id, code, voucher_type, discount_cents,
         max_uses, times_used, valid_from, valid_until, unlocks_hidden_tickets, is_active, restriction_set_id,
         batch_id, created_at, updated_at, readable, fold_key)
     SELECT ?1, j.value ->> 0, ?2, ?3, ?4, 0, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?10, ?12, j.value ->> 1
       FROM json_each(?11) AS j WHERE true
     ON CONFLICT DO NOTHING
     RETURNING id, code";

/// Inserts one voucher per code with the template's fields, skipping the codes a unique index
/// refuses, and returns `(id, code)` of the rows inserted. One statement for the whole chunk: the
/// codes travel as one JSON array parameter, the shared fields are bound once.
pub(super) async fn insert_vouchers(
    tx: &mut WriterTx,
    template: &VoucherTemplate,
    codes: &[String],
) -> Result<Vec<(i64, String)>, StoreError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let t = template;
    let pairs: Vec<(&str, String)> = codes.iter().map(|c| (c.as_str(), fold_key(c))).collect();
    let json = json_list(&pairs)?;
    // `WHERE true` keeps SQLite's parser from reading the upsert's ON as a join constraint.
    let insert = |sql: &'static str| {
        sqlx::query(sql)
            .bind(t.conference_id)
            .bind(t.discount.voucher_type().as_str())
            .bind(t.discount.value().cents())
            .bind(t.max_uses)
            .bind(t.window.from().map(micros))
            .bind(t.window.until().map(micros))
            .bind(t.unlocks_hidden_tickets)
            .bind(t.restriction_set_id)
            .bind(t.batch_id)
            .bind(micros(t.created_at))
            .bind(json.clone())
            .bind(t.readable)
    };
    // Small chunks take RETURNING: the driver hands result rows over from its worker thread
    // one at a time, which is cheap for a few rows and saves two statements.
    if codes.len() < READ_BACK_FROM {
        let rows = insert(INSERT_VOUCHERS_RETURNING).fetch_all(&mut **tx).await?;
        return rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect();
    }
    // Large chunks: for 500 rows that hand-over cost more than the INSERT itself (measured
    // with perf), so the new (id, code) pairs are read back as one row of two JSON arrays.
    // This transaction holds the write lock (BEGIN IMMEDIATE), so every row with an id above
    // the maximum before the INSERT is one it inserted.
    let before: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM voucher").fetch_one(&mut **tx).await?;
    let inserted = insert(INSERT_VOUCHERS).execute(&mut **tx).await?.rows_affected();
    if inserted == 0 {
        return Ok(Vec::new());
    }
    let (ids, codes): (String, String) = sqlx::query_as(
        "SELECT json_group_array(id), json_group_array(code)
           FROM (SELECT id, code FROM voucher WHERE id > ? ORDER BY id)",
    )
    .bind(before)
    .fetch_one(&mut **tx)
    .await?;
    let ids: Vec<i64> = serde_json::from_str(&ids).map_err(|e| StoreError::Corrupt(format!("read-back ids: {e}")))?;
    let codes: Vec<String> =
        serde_json::from_str(&codes).map_err(|e| StoreError::Corrupt(format!("read-back codes: {e}")))?;
    if ids.len() as u64 != inserted || codes.len() != ids.len() {
        return Err(StoreError::Corrupt(format!("inserted {inserted} vouchers but read back {}", ids.len())));
    }
    Ok(ids.into_iter().zip(codes).collect())
}
