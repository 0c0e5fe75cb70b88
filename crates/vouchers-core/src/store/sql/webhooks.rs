//! Webhook subscriptions and their deliveries: the SQL both backends run (migration 0017 says
//! what the tables hold). [`super::store`] and [`super::tx`] call these on a reader, the writer
//! or a write transaction.

use chrono::{DateTime, Utc};

use super::{args, Conn, Dialect};
use crate::domain::{Delivery, DeliveryStatus, EventSet, Webhook, WebhookSecret};
use crate::store::rows::StoredRow;
use crate::store::{AttemptResult, ClaimedWebhook, DeliveryFilter, DueDelivery, NewEvent, NewWebhook, StoreError};

const WEBHOOK_COLUMNS: &str = "id, url, events, enabled, disabled_reason, created_at";

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_type, status, attempts, last_status_code, \
     next_attempt_at, delivered_at, last_error, response_body, created_at";

fn webhook(row: &impl StoredRow) -> Result<Webhook, StoreError> {
    let bits = row.int("events")?;
    let events = EventSet::from_bits(bits).ok_or_else(|| StoreError::Corrupt(format!("webhook events {bits}")))?;
    Ok(Webhook {
        id: row.int("id")?,
        url: row.text("url")?,
        events: events.names(),
        enabled: row.flag("enabled")?,
        disabled_reason: row.opt_text("disabled_reason")?,
        created_at: row.instant("created_at")?,
    })
}

fn delivery(row: &impl StoredRow) -> Result<Delivery, StoreError> {
    let status = row.text("status")?;
    let status =
        DeliveryStatus::parse(&status).map_err(|_| StoreError::Corrupt(format!("delivery status {status:?}")))?;
    let next = row.instant("next_attempt_at")?;
    Ok(Delivery {
        id: row.int("id")?,
        webhook_id: row.int("webhook_id")?,
        event_id: row.text("event_id")?,
        event_type: row.text("event_type")?,
        status,
        attempts: row.int("attempts")?,
        last_status_code: row.opt_int("last_status_code")?,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(next),
        delivered_at: row.opt_instant("delivered_at")?,
        last_error: row.opt_text("last_error")?,
        response_body: row.opt_text("response_body")?,
        created_at: row.instant("created_at")?,
    })
}

/// The conference's subscriptions (one, with `id`), by id.
pub(super) async fn webhooks<C: Conn>(
    conn: &mut C,
    conference_id: i64,
    id: Option<i64>,
) -> Result<Vec<Webhook>, StoreError> {
    let sql = format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhook WHERE conference_id = $1 AND ($2 IS NULL OR id = $2) ORDER BY id"
    );
    conn.all(&sql, args![conference_id, id]).await?.iter().map(webhook).collect()
}

/// The conference's deliveries matching `filter`, by id.
pub(super) async fn deliveries<C: Conn>(
    conn: &mut C,
    conference_id: i64,
    filter: &DeliveryFilter,
) -> Result<Vec<Delivery>, StoreError> {
    let order = if filter.newest_first { "DESC" } else { "" };
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_delivery
          WHERE conference_id = $1 AND ($2 IS NULL OR webhook_id = $2) AND ($3 IS NULL OR status = $3) AND id > $4
          ORDER BY id {order} LIMIT $5"
    );
    let status = filter.status.map(DeliveryStatus::as_str);
    let found = conn.all(&sql, args![conference_id, filter.webhook_id, status, filter.after_id, filter.limit]).await?;
    found.iter().map(delivery).collect()
}

pub(super) async fn insert_webhook<C: Conn>(conn: &mut C, new: &NewWebhook<'_>) -> Result<i64, StoreError> {
    let sql = "INSERT INTO webhook (conference_id, url, secret, events, enabled, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";
    let args = args![new.conference_id, new.url, new.secret.expose(), new.events, true, new.now];
    conn.first(sql, args).await?.ok_or_else(|| StoreError::Corrupt("INSERT returned no id".into()))?.int("id")
}

/// Enables or disables a subscription of the conference (with why, when the sender disables
/// it); false when the conference has no such subscription.
pub(super) async fn set_webhook_enabled<C: Conn>(
    conn: &mut C,
    conference_id: i64,
    id: i64,
    enabled: bool,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = "UPDATE webhook SET enabled = $3, disabled_reason = $4, updated_at = $5
                WHERE conference_id = $1 AND id = $2";
    Ok(conn.run(sql, args![conference_id, id, enabled, reason, now]).await? == 1)
}

/// Replaces a subscription's secret; the old one keeps signing until `old_until`.
pub(super) async fn rotate_webhook_secret<C: Conn>(
    conn: &mut C,
    conference_id: i64,
    id: i64,
    secret: &WebhookSecret,
    old_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = "UPDATE webhook SET previous_secret = secret, previous_secret_until = $4, secret = $3, updated_at = $5
                WHERE conference_id = $1 AND id = $2";
    Ok(conn.run(sql, args![conference_id, id, secret.expose(), old_until, now]).await? == 1)
}

/// Writes the event for every enabled subscription of its conference that wants its type;
/// returns how many deliveries were written.
pub(super) async fn queue_event<C: Conn>(conn: &mut C, event: &NewEvent<'_>) -> Result<u64, StoreError> {
    let sql = "INSERT INTO webhook_delivery (webhook_id, conference_id, event_id, event_type, body, status, attempts,
                                             next_attempt_at, created_at)
               SELECT w.id, w.conference_id, $2, $3, $4, 'pending', 0, $5, $5 FROM webhook w
                WHERE w.conference_id = $1 AND w.enabled AND (w.events & $6) <> 0";
    let args = args![
        event.conference_id,
        event.event_id,
        event.event_type.as_str(),
        event.body,
        event.now,
        event.event_type.bit()
    ];
    conn.run(sql, args).await
}

/// Queues a delivery of the conference again, due at `now`, with three days of attempts again.
pub(super) async fn redeliver<C: Conn>(
    conn: &mut C,
    conference_id: i64,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = "UPDATE webhook_delivery
                  SET status = 'pending', next_attempt_at = $3, first_attempt_at = NULL, delivered_at = NULL
                WHERE conference_id = $1 AND id = $2";
    if conn.run(sql, args![conference_id, id, now]).await? != 1 {
        return Ok(false);
    }
    // Its subscription's pending deliveries start at it again, at the latest.
    let back = "UPDATE webhook SET delivered_through = $2
                 WHERE id = (SELECT webhook_id FROM webhook_delivery WHERE id = $2 AND conference_id = $1)
                   AND delivered_through > $2";
    conn.run(back, args![conference_id, id]).await?;
    Ok(true)
}

/// Leases at most `limit` enabled subscriptions whose next delivery is due at `now` and that no
/// other sender holds, to `owner` until `lease_until`, in one statement (PostgreSQL skips rows
/// another claim holds).
pub(super) async fn claim_webhooks<C: Conn>(
    conn: &mut C,
    d: &Dialect,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ClaimedWebhook>, StoreError> {
    // `FOR NO KEY UPDATE`: a delivery being written holds the subscription's key share, which a
    // claim need not wait for.
    let lock = if d.skip_locked.is_empty() { String::new() } else { format!("{} SKIP LOCKED", d.for_no_key_update) };
    let sql = format!(
        "UPDATE webhook SET lease_owner = $1, lease_until = $3
          WHERE id IN (SELECT w.id FROM webhook w
                        WHERE w.enabled AND (w.lease_until IS NULL OR w.lease_until < $2)
                          AND (SELECT h.next_attempt_at FROM webhook_delivery h
                                WHERE h.id >= w.delivered_through AND h.webhook_id = w.id AND h.status = 'pending'
                                ORDER BY h.id LIMIT 1) <= $2
                        ORDER BY w.id LIMIT $4{lock})
         RETURNING id, conference_id, url, secret, previous_secret, previous_secret_until"
    );
    let found = conn.all(&sql, args![owner, now, lease_until, limit]).await?;
    let mut claimed = Vec::with_capacity(found.len());
    for row in &found {
        let mut secrets = vec![WebhookSecret::new(row.text("secret")?)];
        if let (Some(old), Some(until)) = (row.opt_text("previous_secret")?, row.opt_instant("previous_secret_until")?)
        {
            if until > now {
                secrets.push(WebhookSecret::new(old));
            }
        }
        claimed.push(ClaimedWebhook {
            id: row.int("id")?,
            conference_id: row.int("conference_id")?,
            url: row.text("url")?,
            secrets,
        });
    }
    claimed.sort_by_key(|w| w.id);
    Ok(claimed)
}

/// The first `limit` pending deliveries of a subscription `owner` still leases, by id, due or not.
pub(super) async fn pending_deliveries<C: Conn>(
    conn: &mut C,
    webhook_id: i64,
    owner: &str,
    limit: i64,
) -> Result<Vec<DueDelivery>, StoreError> {
    // From the subscription's `delivered_through` along the primary key (a join could scan every
    // delivery instead).
    let sql = "SELECT d.id, d.event_id, d.event_type, d.body, d.attempts, d.first_attempt_at, d.next_attempt_at,
                      d.created_at
                 FROM webhook_delivery d
                WHERE d.id >= (SELECT w.delivered_through FROM webhook w
                                WHERE w.id = $1 AND w.lease_owner = $2 AND w.enabled)
                  AND d.webhook_id = $1 AND d.status = 'pending'
                ORDER BY d.id LIMIT $3";
    let found = conn.all(sql, args![webhook_id, owner, limit]).await?;
    found
        .iter()
        .map(|row| {
            Ok(DueDelivery {
                id: row.int("id")?,
                event_id: row.text("event_id")?,
                event_type: row.text("event_type")?,
                body: row.text("body")?,
                attempts: row.int("attempts")?,
                first_attempt_at: row.opt_instant("first_attempt_at")?,
                next_attempt_at: row.instant("next_attempt_at")?,
                created_at: row.instant("created_at")?,
            })
        })
        .collect()
}

/// Ends `owner`'s lease of a subscription.
pub(super) async fn release_webhook<C: Conn>(conn: &mut C, webhook_id: i64, owner: &str) -> Result<(), StoreError> {
    let sql = "UPDATE webhook SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2";
    conn.run(sql, args![webhook_id, owner]).await?;
    Ok(())
}

/// Records attempts made at `now` on pending deliveries of a subscription `owner` still leases,
/// in the order they were sent (all delivered but perhaps the last), extends the lease to
/// `lease_until`, and moves the subscription's `delivered_through` past the last one finished;
/// false (nothing written) when the lease was lost.
pub(super) async fn record_attempts<C: Conn>(
    conn: &mut C,
    d: &Dialect,
    owner: &str,
    webhook_id: i64,
    attempts: &[(i64, AttemptResult<'_>)],
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some((last_id, last)) = attempts.last() else { return Ok(true) };
    let lease = "UPDATE webhook SET lease_until = $3 WHERE id = $1 AND lease_owner = $2";
    if conn.run(lease, args![webhook_id, owner, lease_until]).await? != 1 {
        return Ok(false);
    }
    // A receiver's answer may hold NUL, which PostgreSQL text cannot.
    let clean = |text: &str| text.replace('\0', " ");
    // The delivered ones, in one statement.
    let delivered: Vec<(i64, i64, String)> = attempts
        .iter()
        .filter_map(|(id, result)| match result {
            AttemptResult::Delivered { status_code, response } => Some((*id, *status_code, clean(response))),
            AttemptResult::NotDelivered { .. } => None,
        })
        .collect();
    if !delivered.is_empty() {
        let sql = format!(
            "UPDATE webhook_delivery
                SET status = 'delivered', attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, $2),
                    last_status_code = r.code, last_error = NULL, response_body = r.response, delivered_at = $2
               FROM (SELECT CAST(value ->> 0 AS BIGINT) AS id, CAST(value ->> 1 AS BIGINT) AS code,
                            value ->> 2 AS response
                       FROM {}) AS r
              WHERE webhook_delivery.id = r.id AND webhook_delivery.webhook_id = $3
                AND webhook_delivery.status = 'pending'",
            (d.json_rows)("$1")
        );
        conn.run(&sql, vec![super::json_rows(&delivered)?, now.into(), webhook_id.into()]).await?;
    }
    // One not delivered, last: tried again at `at`, or failed.
    let mut through = last_id + 1;
    if let AttemptResult::NotDelivered { status_code, error, response, at } = last {
        let status = if at.is_some() { "pending" } else { "failed" };
        if at.is_some() {
            through = *last_id;
        }
        let sql = "UPDATE webhook_delivery
                      SET status = $3, attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, $4),
                          next_attempt_at = coalesce($5, next_attempt_at), last_status_code = $6, last_error = $7,
                          response_body = $8
                    WHERE id = $1 AND webhook_id = $2 AND status = 'pending'";
        let args = args![*last_id, webhook_id, status, now, *at, *status_code, clean(error), response.map(clean)];
        conn.run(sql, args).await?;
    }
    let moved = "UPDATE webhook SET delivered_through = $2 WHERE id = $1 AND delivered_through < $2";
    conn.run(moved, args![webhook_id, through]).await?;
    Ok(true)
}
