//! A redemption in one autocommitted statement: one round trip, no `BEGIN`/`COMMIT`.

use sqlx::PgPool;

use crate::domain::Actor;
use crate::store::sql::{fast_refusal, refused};
use crate::store::{NewRedemption, RedeemOutcome, StoreError};

/// The statement. The claim comes first: a concurrent claim of the same order waits on the unique
/// index until the other statement ends, then finds its row. `locked` reads the voucher under a
/// row lock (READ COMMITTED: after waiting for a concurrent writer, the newest version) and
/// decides, with the one expression [`fast_refusal`], whether a use can be consumed and if not why
/// (or that the voucher needs the locked path: `'locked'`, answered as [`RedeemOutcome::NeedsLock`]).
/// The use is consumed only when the claim took a row (new, or a released one taken back: `DO
/// UPDATE ... WHERE released_at IS NOT NULL` returns nothing for an unreleased one) and that
/// decision is "usable"; the audit record follows the consumed use. When the claim took a row but
/// no use was consumed, the last column calls `vouchers_refuse_redemption(reason)` (migration
/// 0012), whose exception undoes the whole statement and carries the reason. Otherwise it answers
/// the claim, the use, and the stored answer of an unreleased order (a replay). The
/// `voucher.redeemed` event, when given, is written for every subscription that wants it, after
/// the consumed use and with the count it left.
static REDEEM: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH claim AS (
        INSERT INTO redemption (voucher_id, order_ref, redeemed_at, response, discount) VALUES ($1, $2, $3, $4, $18)
        ON CONFLICT (voucher_id, order_ref) DO UPDATE
           SET redeemed_at = EXCLUDED.redeemed_at, released_at = NULL, response = EXCLUDED.response,
               discount = EXCLUDED.discount
         WHERE redemption.released_at IS NOT NULL
        RETURNING id),
    locked AS (SELECT {refusal} AS refusal FROM voucher v WHERE v.id = $1 FOR UPDATE),
    consume AS (
        UPDATE voucher SET times_used = times_used + 1, updated_at = $3
         WHERE id = $1 AND EXISTS (SELECT 1 FROM claim) AND EXISTS (SELECT 1 FROM locked WHERE refusal IS NULL)
        RETURNING times_used),
    logged AS (
        INSERT INTO audit_log (at, conference_id, actor_kind, actor_id, actor_name, action, target, changes)
        SELECT $5, $6, $7, $8, $9, $10, $11, $12 FROM consume),
    delivered AS (
        INSERT INTO webhook_delivery (webhook_id, conference_id, event_id, event_type, body, status, attempts,
                                      next_attempt_at, created_at)
        SELECT w.id, w.conference_id, $14, $15,
               replace($16, '\"times_used\":__TIMES_USED__', '\"times_used\":' || c.times_used),
               'pending', 0, $3, $3
          FROM consume c JOIN webhook w ON w.conference_id = $6 AND w.enabled AND (w.events & $17) <> 0
         WHERE $14 IS NOT NULL)
    SELECT (SELECT id FROM claim) AS claimed, (SELECT times_used FROM consume) AS consumed,
           (SELECT response FROM redemption
             WHERE voucher_id = $1 AND order_ref = $2 AND NOT EXISTS (SELECT 1 FROM claim)) AS replay,
           CASE WHEN EXISTS (SELECT 1 FROM claim) AND NOT EXISTS (SELECT 1 FROM consume)
                THEN vouchers_refuse_redemption(coalesce((SELECT refusal FROM locked), 'not_found')) END AS aborted",
        refusal = fast_refusal("v", "$3", "$13")
    )
});

/// What [`REDEEM`] answers: the claimed redemption, the use consumed, a replay's stored answer,
/// and the abort column (always null when the statement succeeds).
type Answer = (Option<i64>, Option<i64>, Option<String>, Option<i32>);

/// Runs [`REDEEM`] as `actor`.
pub(super) async fn redeem(pool: &PgPool, actor: &Actor, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError> {
    let found: Result<Answer, sqlx::Error> = sqlx::query_as(&REDEEM)
        .bind(new.voucher_id)
        .bind(new.order_ref)
        .bind(new.now)
        .bind(new.response)
        .bind(new.audit.at)
        .bind(new.audit.conference_id)
        .bind(actor.kind())
        .bind(actor.id())
        .bind(actor.name().map(|n| n.replace('\0', "")))
        .bind(new.audit.action)
        .bind(new.audit.target.replace('\0', ""))
        .bind(new.audit.changes.to_string())
        .bind(new.cart_refusal.map(|r| r.as_str()))
        .bind(new.event.as_ref().map(|e| e.event_id))
        .bind(new.event.as_ref().map(|e| e.event_type.as_str()))
        .bind(new.event.as_ref().map(|e| e.body))
        .bind(new.event.as_ref().map(|e| e.event_type.bit()))
        .bind(new.discount.amount())
        .fetch_one(pool)
        .await;
    let (claimed, consumed, replay, _) = match found {
        Ok(row) => row,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("P0001") && refused(e.message()).is_some() => {
            return refused(e.message()).ok_or_else(|| StoreError::Corrupt("a refusal without its reason".into()))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(match (claimed, consumed, replay) {
        (Some(_), Some(_), _) => RedeemOutcome::Redeemed,
        (None, _, Some(response)) => RedeemOutcome::Replay(response),
        // A concurrent claim of this order committed while this statement waited on the unique
        // index: its row is newer than this statement's snapshot. Read it now.
        (None, _, None) => {
            let response: String =
                sqlx::query_scalar("SELECT response FROM redemption WHERE voucher_id = $1 AND order_ref = $2")
                    .bind(new.voucher_id)
                    .bind(new.order_ref)
                    .fetch_one(pool)
                    .await?;
            RedeemOutcome::Replay(response)
        }
        (Some(_), None, _) => return Err(StoreError::Corrupt("a claimed redemption was not undone".to_owned())),
    })
}
