//! The reports' counts: each batch's funnel, redemptions in 15-minute buckets, and the
//! redemptions one by one, for one conference. Each is a few grouped reads over the conference's
//! rows (never a row per voucher in memory); the folding into local days is the domain's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{args, Conn, Dialect};
use crate::domain::{BatchFunnel, Money, RedemptionEntry, BUCKET_SECONDS};
use crate::store::rows::StoredRow;
use crate::store::{RedemptionFilter, StoreError};

/// Each batch's funnel (the vouchers added by hand as `batch_id` NULL), by batch.
pub(super) async fn batch_funnel<C: Conn>(
    conn: &mut C,
    d: &Dialect,
    conference_id: i64,
) -> Result<Vec<BatchFunnel>, StoreError> {
    let vouchers = format!(
        "SELECT v.batch_id, b.prefix, b.name, count(*) AS issued,
                count(*) FILTER (WHERE v.recipient_email IS NOT NULL) AS assigned,
                {held} AS held
           FROM voucher v LEFT JOIN voucher_batch b ON b.id = v.batch_id
           LEFT JOIN (SELECT h.voucher_id, count(*) AS n FROM voucher_hold h WHERE h.expires_at > {now}
                       GROUP BY h.voucher_id) lh ON lh.voucher_id = v.id
          WHERE v.conference_id = $1
          GROUP BY v.batch_id, b.prefix, b.name",
        held = (d.capped_sum)("coalesce(lh.n, 0)"),
        now = d.now,
    );
    let mut funnels: BTreeMap<Option<i64>, BatchFunnel> = BTreeMap::new();
    for row in conn.all(&vouchers, args![conference_id]).await? {
        let batch_id = row.opt_int("batch_id")?;
        funnels.insert(
            batch_id,
            BatchFunnel {
                batch_id,
                prefix: row.opt_text("prefix")?,
                name: row.opt_text("name")?,
                issued: row.int("issued")?,
                assigned: row.int("assigned")?,
                emailed: 0,
                held: row.int("held")?,
                redeemed: 0,
                released: 0,
                discount_given: Money::ZERO,
            },
        );
    }
    let redemptions = "SELECT v.batch_id,
                              count(*) FILTER (WHERE r.released_at IS NULL) AS redeemed,
                              count(*) FILTER (WHERE r.released_at IS NOT NULL) AS released,
                              coalesce(sum(CASE WHEN r.released_at IS NULL THEN r.discount END), 0) AS discount
                         FROM redemption r JOIN voucher v ON v.id = r.voucher_id
                        WHERE v.conference_id = $1
                        GROUP BY v.batch_id";
    for row in conn.all(redemptions, args![conference_id]).await? {
        if let Some(funnel) = funnels.get_mut(&row.opt_int("batch_id")?) {
            funnel.redeemed = row.int("redeemed")?;
            funnel.released = row.int("released")?;
            funnel.discount_given = row.money("discount")?;
        }
    }
    let emailed = "SELECT batch_id, count(*) AS emailed FROM outbox_message
                    WHERE conference_id = $1 AND status = 'sent' AND voucher_id IS NOT NULL
                    GROUP BY batch_id";
    for row in conn.all(emailed, args![conference_id]).await? {
        if let Some(funnel) = funnels.get_mut(&Some(row.int("batch_id")?)) {
            funnel.emailed = row.int("emailed")?;
        }
    }
    // Batches first by id, the hand-added vouchers (no batch) last.
    let mut all: Vec<BatchFunnel> = funnels.into_values().collect();
    all.sort_by_key(|f| (f.batch_id.is_none(), f.batch_id));
    Ok(all)
}

/// Standing redemptions made in `[from, to)`, per 15-minute bucket (`(index since the epoch,
/// count, discount)`), by bucket.
pub(super) async fn redemption_buckets<C: Conn>(
    conn: &mut C,
    d: &Dialect,
    conference_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, i64, Money)>, StoreError> {
    let sql = format!(
        "SELECT {epoch} / {BUCKET_SECONDS} AS bucket, count(*) AS n, coalesce(sum(r.discount), 0) AS discount
           FROM redemption r JOIN voucher v ON v.id = r.voucher_id
          WHERE v.conference_id = $1 AND r.released_at IS NULL AND r.redeemed_at >= $2 AND r.redeemed_at < $3
          GROUP BY 1 ORDER BY 1",
        epoch = (d.epoch_seconds)("r.redeemed_at"),
    );
    let found = conn.all(&sql, args![conference_id, from, to]).await?;
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
    let sql = format!(
        "SELECT r.id, r.redeemed_at, v.code, v.batch_id, r.order_ref, cu.customer, r.discount, r.released_at
           FROM redemption r JOIN voucher v ON v.id = r.voucher_id
           LEFT JOIN customer_use cu ON cu.redemption_id = r.id
          WHERE v.conference_id = $1 AND ($2 IS NULL OR r.id < $2) AND ($3 IS NULL OR v.batch_id = $3)
            AND ($4 IS NULL OR ($4 = 1 AND r.released_at IS NOT NULL) OR ($4 = 0 AND r.released_at IS NULL))
            AND ($5 IS NULL OR r.redeemed_at >= $5) AND ($6 IS NULL OR r.redeemed_at < $6)
            AND ($7 IS NULL OR {code} OR {order})
          ORDER BY r.id DESC LIMIT $8",
        code = (d.starts_like)("v.code", "$7"),
        order = (d.starts_like)("r.order_ref", "$7"),
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
