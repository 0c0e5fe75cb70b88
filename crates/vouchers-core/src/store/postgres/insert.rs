//! The bulk insert of a chunk of codes on PostgreSQL: one `INSERT ... SELECT FROM UNNEST` of a
//! `text[]`, the shared fields bound once.
//!
//! A code that collides with a committed one is skipped (`ON CONFLICT DO NOTHING`), and one held
//! by a concurrent uncommitted transaction makes the insert wait for that transaction, so two
//! organizers generating at once never produce a duplicate and never abort each other.

use sqlx::{Postgres, Transaction};

use crate::domain::{fold_key, Money};
use crate::store::{StoreError, VoucherTemplate};

/// The first key of the advisory lock that keeps readable and alnum inserts of one conference
/// apart (`vouc`); the second is the conference's id.
const FOLD_LOCK: i32 = 0x766f_7563;

/// Chunks at least this large try the plain INSERT first (see `insert_vouchers`).
const SAVEPOINT_FROM: usize = 64;

/// One `INSERT ... SELECT FROM UNNEST` of a chunk of codes sharing `template`'s fields, with an
/// optional conflict clause; returns `(id, code)` of the rows inserted.
async fn insert_voucher_rows(
    tx: &mut Transaction<'static, Postgres>,
    template: &VoucherTemplate,
    codes: &[String],
    on_conflict: &str,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let t = template;
    // A readable code is refused by any code with its key, an alnum code by a readable one (both
    // through `voucher_fold_key`).
    let taken = if t.readable { "true" } else { "o.readable" };
    let sql = format!(
        "INSERT INTO voucher (conference_id, code, voucher_type, discount_value, max_uses, times_used,
             valid_from, valid_until, unlocks_hidden_tickets, is_active, restriction_set_id, batch_id,
             created_at, updated_at, readable, fold_key, min_quantity, min_subtotal, budget, once_per_customer,
             applies_none)
         SELECT $1, c, $2, $3, $4, 0, $5, $6, $7, true, $8, $9, $10, $10, $13, k, $14, $15, $16, $17, $18
           FROM UNNEST($11::text[], $12::text[]) AS u (c, k)
          WHERE NOT EXISTS (SELECT 1 FROM voucher o WHERE {taken} AND o.conference_id = $1 AND o.fold_key = k)
         {on_conflict}
         RETURNING id, code"
    );
    sqlx::query_as(&sql)
        .bind(t.conference_id)
        .bind(t.discount.voucher_type().as_str())
        .bind(t.discount.value().amount())
        .bind(t.max_uses)
        .bind(t.window.from())
        .bind(t.window.until())
        .bind(t.unlocks_hidden_tickets)
        .bind(t.restriction_set_id)
        .bind(t.batch_id)
        .bind(t.created_at)
        .bind(codes)
        .bind(codes.iter().map(|c| fold_key(c)).collect::<Vec<_>>())
        .bind(t.readable)
        .bind(t.min_quantity)
        .bind(t.min_subtotal.map(Money::amount))
        .bind(t.budget.map(Money::amount))
        .bind(t.once_per_customer)
        .bind(t.applies_none as i16)
        .fetch_all(&mut **tx)
        .await
}

/// Inserts one voucher per code with the template's fields, skipping the codes a unique index
/// refuses, and returns `(id, code)` of the rows inserted.
///
/// A code is also skipped when a code of the other kind (or any code, for a readable one) has
/// its folded key: folded uniqueness "when either is readable", which no index can say. This
/// function is the only writer of codes. It first takes the conference's advisory lock for the
/// rest of the transaction, shared for alnum codes and exclusive for readable ones: transactions
/// inserting the two kinds into one conference never overlap, so the `NOT EXISTS` of each
/// statement (which sees what was committed before it started) sees the other kind's codes.
pub(super) async fn insert_vouchers(
    tx: &mut Transaction<'static, Postgres>,
    template: &VoucherTemplate,
    codes: &[String],
) -> Result<Vec<(i64, String)>, StoreError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let lock = if template.readable { "pg_advisory_xact_lock" } else { "pg_advisory_xact_lock_shared" };
    sqlx::query(&format!("SELECT {lock}($1, ($2 % 2147483647)::int4)"))
        .bind(FOLD_LOCK)
        .bind(template.conference_id)
        .execute(&mut **tx)
        .await?;
    // Large chunks first try a plain INSERT inside a savepoint: ON CONFLICT's speculative
    // insertion costs about 1.1 ms per 500 rows (measured), while a collision is rare. On a
    // unique violation the savepoint is rolled back and the chunk goes again with
    // ON CONFLICT DO NOTHING, which skips the taken codes. Small chunks skip the savepoint:
    // its two extra round trips would cost more than they save.
    if codes.len() >= SAVEPOINT_FROM {
        sqlx::query("SAVEPOINT insert_vouchers").execute(&mut **tx).await?;
        match insert_voucher_rows(tx, template, codes, "").await {
            Ok(rows) => {
                sqlx::query("RELEASE SAVEPOINT insert_vouchers").execute(&mut **tx).await?;
                return Ok(rows);
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                sqlx::query("ROLLBACK TO SAVEPOINT insert_vouchers").execute(&mut **tx).await?;
                sqlx::query("RELEASE SAVEPOINT insert_vouchers").execute(&mut **tx).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(insert_voucher_rows(tx, template, codes, "ON CONFLICT DO NOTHING").await?)
}
