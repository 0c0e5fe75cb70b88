//! The reports' counts: each batch's usage and funnel, redemptions in 15-minute buckets, and the
//! redemptions one by one, for one conference. The counts are read from the tallies the
//! database keeps as rows change (migration 0022), never by counting every voucher; the folding
//! into local days is the domain's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{args, Conn, Dialect};
use crate::domain::{BatchFunnel, Money, RedemptionEntry, BUCKET_SECONDS};
use crate::store::rows::StoredRow;
use crate::store::{RedemptionFilter, StoreError, UsageRow};

/// Each batch's counts as kept by migration 0022's triggers (`batch_tally`, a row per batch
/// and shard), summed per batch, with the batch's columns; the live holds added from the few
/// rows of `voucher_hold` still ahead. Batches first by id, the vouchers added by hand (no batch)
/// last. A few rows per batch are read, never a row per voucher or redemption.
async fn tallies<C: Conn>(conn: &mut C, d: &Dialect, conference_id: i64) -> Result<Vec<Tally>, StoreError> {
    let sql = format!(
        "SELECT b.id AS batch_id, b.prefix, b.name, b.source, b.alphabet, CAST(b.code_length AS BIGINT) AS code_length,
                b.check_char, {issued} AS issued, {active} AS active, {fully_used} AS fully_used,
                {uses_consumed} AS uses_consumed, {uses_left} AS uses_left, {assigned} AS assigned,
                {emailed} AS emailed, {redeemed} AS redeemed, {released} AS released,
                coalesce(sum(t.discount), 0) AS discount
           FROM batch_tally t LEFT JOIN voucher_batch b ON b.id = t.batch_key
          WHERE t.conference_id = $1
          GROUP BY t.batch_key, b.id, b.prefix, b.name, b.source, b.alphabet, b.code_length, b.check_char
         HAVING sum(t.issued) > 0
          ORDER BY t.batch_key = 0, t.batch_key",
        issued = (d.capped_sum)("t.issued"),
        active = (d.capped_sum)("t.active"),
        fully_used = (d.capped_sum)("t.fully_used"),
        uses_consumed = (d.capped_sum)("t.uses_consumed"),
        uses_left = (d.capped_sum)("t.uses_left"),
        assigned = (d.capped_sum)("t.assigned"),
        emailed = (d.capped_sum)("t.emailed"),
        redeemed = (d.capped_sum)("t.redeemed"),
        released = (d.capped_sum)("t.released"),
    );
    let holds = format!(
        "SELECT v.batch_id, count(*) AS held FROM voucher_hold h JOIN voucher v ON v.id = h.voucher_id
          WHERE h.expires_at > {now} AND v.conference_id = $1
          GROUP BY v.batch_id",
        now = d.now,
    );
    let mut held: BTreeMap<Option<i64>, i64> = BTreeMap::new();
    for row in conn.all(&holds, args![conference_id]).await? {
        held.insert(row.opt_int("batch_id")?, row.int("held")?);
    }
    let found = conn.all(&sql, args![conference_id]).await?;
    found
        .iter()
        .map(|row| {
            let batch_id = row.opt_int("batch_id")?;
            Ok(Tally {
                usage: UsageRow {
                    batch_id,
                    prefix: row.opt_text("prefix")?,
                    source: row.opt_text("source")?,
                    alphabet: row.opt_text("alphabet")?,
                    code_length: row.opt_int("code_length")?,
                    check_char: row.opt_flag("check_char")?,
                    issued: row.int("issued")?,
                    active: row.int("active")?,
                    fully_used: row.int("fully_used")?,
                    uses_consumed: row.int("uses_consumed")?,
                    uses_left: row.int("uses_left")?,
                    uses_held: held.get(&batch_id).copied().unwrap_or(0),
                },
                name: row.opt_text("name")?,
                assigned: row.int("assigned")?,
                emailed: row.int("emailed")?,
                redeemed: row.int("redeemed")?,
                released: row.int("released")?,
                discount_given: row.money("discount")?,
            })
        })
        .collect()
}

/// One batch's kept counts (see [`tallies`]).
struct Tally {
    usage: UsageRow,
    name: Option<String>,
    assigned: i64,
    emailed: i64,
    redeemed: i64,
    released: i64,
    discount_given: Money,
}

/// Per batch: vouchers issued, active, fully used, uses consumed, left and held; the batch's format.
pub(super) async fn usage<C: Conn>(conn: &mut C, d: &Dialect, conference_id: i64) -> Result<Vec<UsageRow>, StoreError> {
    Ok(tallies(conn, d, conference_id).await?.into_iter().map(|t| t.usage).collect())
}

/// Each batch's funnel (the vouchers added by hand as `batch_id` NULL, last).
pub(super) async fn batch_funnel<C: Conn>(
    conn: &mut C,
    d: &Dialect,
    conference_id: i64,
) -> Result<Vec<BatchFunnel>, StoreError> {
    Ok(tallies(conn, d, conference_id)
        .await?
        .into_iter()
        .map(|t| BatchFunnel {
            batch_id: t.usage.batch_id,
            prefix: t.usage.prefix,
            name: t.name,
            issued: t.usage.issued,
            assigned: t.assigned,
            emailed: t.emailed,
            held: t.usage.uses_held,
            redeemed: t.redeemed,
            released: t.released,
            discount_given: t.discount_given,
        })
        .collect())
}

/// Standing redemptions made in `[from, to)`, per 15-minute bucket (`(index since the epoch,
/// count, discount)`), by bucket: the buckets kept by migration 0022's triggers
/// (`redemption_tally`), a few rows per bucket with redemptions.
pub(super) async fn redemption_buckets<C: Conn>(
    conn: &mut C,
    d: &Dialect,
    conference_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, i64, Money)>, StoreError> {
    debug_assert_eq!(BUCKET_SECONDS, 900, "migration 0022 keeps 15-minute buckets");
    // The buckets that overlap [from, to): `from`'s own and each one starting before `to`.
    let first = from.timestamp().div_euclid(BUCKET_SECONDS);
    let last = (to.timestamp() - 1).div_euclid(BUCKET_SECONDS);
    let sql = format!(
        "SELECT bucket, {n} AS n, coalesce(sum(discount), 0) AS discount FROM redemption_tally
          WHERE conference_id = $1 AND bucket >= $2 AND bucket <= $3
          GROUP BY bucket HAVING sum(redeemed) <> 0 ORDER BY bucket",
        n = (d.capped_sum)("redeemed"),
    );
    let found = conn.all(&sql, args![conference_id, first, last]).await?;
    found.iter().map(|row| Ok((row.int("bucket")?, row.int("n")?, row.money("discount")?))).collect()
}

/// The conference's redemptions matching `filter`, newest first.
pub(super) async fn redemption_log<C: Conn>(
    conn: &mut C,
    d: &Dialect,
    conference_id: i64,
    filter: &RedemptionFilter,
) -> Result<Vec<RedemptionEntry>, StoreError> {
    let search = filter
        .search
        .as_deref()
        .map(|s| format!("{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    // Newest first: the redemptions are read backwards by id, each one's voucher by its key
    // (not the whole conference's vouchers, sorted).
    let given = |set: bool, condition: &str, param: &str| super::when_given(set, condition, param);
    let sql = format!(
        "SELECT r.id, r.redeemed_at, v.code, v.batch_id, r.order_ref, cu.customer, r.discount, r.released_at
           FROM redemption r JOIN voucher v ON v.id = r.voucher_id
           LEFT JOIN customer_use cu ON cu.redemption_id = r.id
          WHERE {not_by_index}v.conference_id = $1 AND {before} AND {batch}
            AND {released} AND {from} AND {to} AND {search}
          ORDER BY r.id DESC LIMIT $8",
        not_by_index = d.not_by_index,
        before = given(filter.before_id.is_some(), "r.id < $2", "$2"),
        batch = given(filter.batch_id.is_some(), "v.batch_id = $3", "$3"),
        released = given(
            filter.released.is_some(),
            "(($4 = 1 AND r.released_at IS NOT NULL) OR ($4 = 0 AND r.released_at IS NULL))",
            "$4"
        ),
        from = given(filter.from.is_some(), "r.redeemed_at >= $5", "$5"),
        to = given(filter.to.is_some(), "r.redeemed_at < $6", "$6"),
        search = given(
            search.is_some(),
            &format!("({} OR {})", (d.starts_like)("v.code", "$7"), (d.starts_like)("r.order_ref", "$7")),
            "$7"
        ),
    );
    let released = filter.released.map(i64::from);
    let args =
        args![conference_id, filter.before_id, filter.batch_id, released, filter.from, filter.to, search, filter.limit];
    let found = conn.all(&sql, args).await?;
    found
        .iter()
        .map(|row| {
            Ok(RedemptionEntry {
                id: row.int("id")?,
                redeemed_at: row.instant("redeemed_at")?,
                code: row.text("code")?,
                batch_id: row.opt_int("batch_id")?,
                order_ref: row.text("order_ref")?,
                customer_email: row.opt_text("customer")?,
                discount: row.money("discount")?,
                released_at: row.opt_instant("released_at")?,
            })
        })
        .collect()
}
