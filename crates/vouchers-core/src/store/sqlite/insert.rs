//! The bulk insert of a chunk of codes on SQLite.
//!
//! Small chunks insert with `RETURNING`. For large ones the driver's hand-over of each result row
//! from its worker thread costs more than the INSERT itself (measured with perf: 35 % of the time
//! in futex wake/wait for 500 rows), so the new rows are read back as one row of two JSON arrays.

use sqlx::Row;

use super::writer::WriterTx;

use super::{json_list, micros};
use crate::domain::{fold_key, Money};
use crate::store::{StoreError, VoucherTemplate};

/// Chunks at least this large are read back as one JSON row instead of with RETURNING.
const READ_BACK_FROM: usize = 64;

// Parameter 11 is a JSON array of `CODE KEY` strings (a code, a space, its folded key; neither
// holds a space, and two string functions are cheaper per row than a JSON pair), 12 whether the
// codes are readable.
const INSERT_VOUCHERS: &str = "INSERT INTO voucher (conference_id, code, voucher_type, discount_cents, max_uses,
         times_used, valid_from, valid_until, unlocks_hidden_tickets, is_active, restriction_set_id, batch_id,
         created_at, updated_at, readable, fold_key, min_quantity, min_subtotal, budget,
         once_per_customer, applies_none)
     SELECT ?1, substr(j.value, 1, instr(j.value, ' ') - 1), ?2, ?3, ?4, 0, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?10, ?12,
            substr(j.value, instr(j.value, ' ') + 1), ?13, ?14, ?15, ?16, ?17
       FROM json_each(?11) AS j WHERE true
     ON CONFLICT DO NOTHING";

const INSERT_VOUCHERS_RETURNING: &str = "INSERT INTO voucher (conference_id, code, voucher_type, discount_cents,
         max_uses, times_used, valid_from, valid_until, unlocks_hidden_tickets, is_active, restriction_set_id,
         batch_id, created_at, updated_at, readable, fold_key, min_quantity, min_subtotal, budget,
         once_per_customer, applies_none)
     SELECT ?1, substr(j.value, 1, instr(j.value, ' ') - 1), ?2, ?3, ?4, 0, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?10, ?12,
            substr(j.value, instr(j.value, ' ') + 1), ?13, ?14, ?15, ?16, ?17
       FROM json_each(?11) AS j WHERE true
     ON CONFLICT DO NOTHING
     RETURNING id, code";

// The folded keys among parameter 2 (a JSON array) that a code of the conference (parameter 1)
// holds (`voucher_fold_key`): any code refuses a new readable code, a readable code (parameter 3
// true) a new alnum code.
const KEYS_TAKEN: &str = "SELECT j.value FROM json_each(?2) AS j
      WHERE EXISTS (SELECT 1 FROM voucher o WHERE o.conference_id = ?1 AND o.fold_key = j.value
                                             AND (o.readable OR NOT ?3))";

// Whether any code of conference 1 has a folded key from 2 (inclusive) to 3 (exclusive): a
// readable chunk's keys share its prefix, so one seek tells when no code can be in its way.
const ANY_KEY_IN_RANGE: &str =
    "SELECT EXISTS (SELECT 1 FROM voucher WHERE conference_id = ?1 AND fold_key >= ?2 AND fold_key < ?3)";

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
    let mut pairs: Vec<(&str, String)> = codes.iter().map(|c| (c.as_str(), fold_key(c))).collect();
    // Folded uniqueness "when either is readable", which no index can say: a code whose key a
    // code of the other kind (or any code, for a readable one) holds is skipped, like a unique
    // conflict. This is the only insert of codes, and this transaction holds the database's one
    // write lock, so the check and the insert are one step. (A read of its own, not a NOT EXISTS
    // inside the INSERT: that made the INSERT dearer, measured with callgrind.)
    //
    // One read first: the highest id (for reading the new rows back) and whether the conference
    // has readable codes at all (`voucher_readable`; an alnum code is checked only then).
    let (before, any_readable): (i64, bool) = sqlx::query_as(
        "SELECT (SELECT coalesce(max(id), 0) FROM voucher),
                EXISTS (SELECT 1 FROM voucher WHERE readable AND conference_id = ?)",
    )
    .bind(t.conference_id)
    .fetch_one(&mut **tx)
    .await?;
    let keys: Vec<&str> = pairs.iter().map(|(_, key)| key.as_str()).collect();
    let check = if t.readable {
        // Only when some code's key starts like this chunk's keys.
        let shared = common_prefix(&keys);
        sqlx::query_scalar(ANY_KEY_IN_RANGE)
            .bind(t.conference_id)
            .bind(shared)
            .bind(format!("{shared}\u{7f}"))
            .fetch_one(&mut **tx)
            .await?
    } else {
        any_readable
    };
    let taken: Vec<String> = if check {
        let keys = json_list(&keys)?;
        sqlx::query_scalar(KEYS_TAKEN).bind(t.conference_id).bind(keys).bind(!t.readable).fetch_all(&mut **tx).await?
    } else {
        Vec::new()
    };
    if !taken.is_empty() {
        pairs.retain(|(_, key)| !taken.contains(key));
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
    }
    let lines: Vec<String> = pairs.iter().map(|(code, key)| format!("{code} {key}")).collect();
    let json = json_list(&lines)?;
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
            .bind(t.min_quantity)
            .bind(t.min_subtotal.map(Money::cents))
            .bind(t.budget.map(Money::cents))
            .bind(t.once_per_customer)
            .bind(t.applies_none)
    };
    // Small chunks take RETURNING: the driver hands result rows over from its worker thread
    // one at a time, which is cheap for a few rows and saves a statement.
    if codes.len() < READ_BACK_FROM {
        let rows = insert(INSERT_VOUCHERS_RETURNING).fetch_all(&mut **tx).await?;
        return rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect();
    }
    // Large chunks: for 500 rows that hand-over cost more than the INSERT itself (measured
    // with perf), so the new (id, code) pairs are read back as one row of two JSON arrays.
    // This transaction holds the write lock (BEGIN IMMEDIATE), so every row with an id above
    // the maximum read before the INSERT is one it inserted.
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

/// The longest text every key starts with (keys are ASCII).
fn common_prefix<'k>(keys: &[&'k str]) -> &'k str {
    let Some((first, rest)) = keys.split_first() else { return "" };
    let len = rest
        .iter()
        .fold(first.len(), |len, key| first.bytes().zip(key.bytes()).take(len).take_while(|(a, b)| a == b).count());
    &first[..len]
}

#[cfg(test)]
mod tests {
    use super::common_prefix;

    #[test]
    fn common_prefix_of_keys() {
        assert_eq!(common_prefix(&["SP0NS0R7K3", "SP0NS0R7Q1", "SP0NS0R9"]), "SP0NS0R");
        assert_eq!(common_prefix(&["ABC"]), "ABC");
        assert_eq!(common_prefix(&["ABC", "XYZ"]), "");
        assert_eq!(common_prefix(&[]), "");
    }
}
