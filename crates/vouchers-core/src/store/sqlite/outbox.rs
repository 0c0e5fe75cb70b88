//! SQLite: recipients and the mail outbox. Claims go through the one writer connection, so two
//! senders of one process, or of two processes (the file's write lock), never claim one row twice.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::{json_list, micros};
use crate::domain::{OutboxMessage, Recipient};
use crate::store::rows::{self, CLAIMED_COLUMNS, OUTBOX_SELECT};
use crate::store::{ClaimedMessage, DeliveryResult, MessageVoucher, NewMessage, OutboxFilter, StoreError};

pub(super) async fn outbox(
    conn: &mut SqliteConnection,
    conference_id: i64,
    filter: &OutboxFilter,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let sql = format!(
        "{OUTBOX_SELECT} WHERE m.conference_id = ?1 AND (?2 IS NULL OR m.batch_id = ?2)
            AND (?3 IS NULL OR m.status = ?3) AND m.id > ?4 ORDER BY m.id LIMIT ?5"
    );
    sqlx::query(&sql)
        .bind(conference_id)
        .bind(filter.batch_id)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.after_id)
        .bind(filter.limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(rows::outbox_message)
        .collect()
}

pub(super) async fn claim(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ClaimedMessage>, StoreError> {
    let sql = format!(
        "UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, lease_until = ?2, updated_at = ?1
          WHERE id IN (SELECT id FROM outbox_message
                        WHERE (status = 'queued' AND next_attempt_at <= ?1)
                           OR (status = 'sending' AND lease_until < ?1)
                        ORDER BY id LIMIT ?3)
         RETURNING {CLAIMED_COLUMNS}"
    );
    let found = sqlx::query(&sql).bind(micros(now)).bind(micros(lease_until)).bind(limit).fetch_all(conn).await?;
    let mut claimed: Vec<ClaimedMessage> = found.iter().map(rows::claimed_message).collect::<Result<_, _>>()?;
    claimed.sort_by_key(|m| m.id);
    Ok(claimed)
}

pub(super) async fn finish(
    conn: &mut SqliteConnection,
    id: i64,
    attempt: i64,
    result: &DeliveryResult<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let (status, sent_at, next, error) = match result {
        DeliveryResult::Sent => ("sent", Some(micros(now)), None, None),
        DeliveryResult::Retry { error, at } => ("queued", None, Some(micros(*at)), Some(*error)),
        DeliveryResult::Failed { error } => ("failed", None, None, Some(*error)),
    };
    let done = sqlx::query(
        "UPDATE outbox_message
            SET status = ?3, sent_at = ?4, next_attempt_at = coalesce(?5, next_attempt_at), last_error = ?6,
                lease_until = NULL, updated_at = ?7
          WHERE id = ?1 AND attempts = ?2 AND status = 'sending'",
    )
    .bind(id)
    .bind(attempt)
    .bind(status)
    .bind(sent_at)
    .bind(next)
    .bind(error)
    .bind(micros(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn unassigned(
    conn: &mut SqliteConnection,
    batch_id: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, code FROM voucher
          WHERE batch_id = ? AND recipient_email IS NULL AND is_active AND times_used = 0
          ORDER BY id LIMIT ?",
    )
    .bind(batch_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

pub(super) async fn assign(
    conn: &mut SqliteConnection,
    assignments: &[(i64, &Recipient)],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    // One statement: the rows go in as one JSON array read by json_each.
    let rows: Vec<(i64, &str, &str, String)> =
        assignments.iter().map(|(id, r)| (*id, r.email.as_str(), r.name.as_str(), r.tags_json())).collect();
    let done = sqlx::query(
        "UPDATE voucher
            SET recipient_email = a.email, recipient_name = a.name, recipient_tags = a.tags, assigned_at = ?2,
                updated_at = ?2
           FROM (SELECT value ->> 0 AS id, value ->> 1 AS email, value ->> 2 AS name, value ->> 3 AS tags
                   FROM json_each(?1)) AS a
          WHERE voucher.id = a.id AND voucher.recipient_email IS NULL",
    )
    .bind(json_list(&rows)?)
    .bind(micros(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn awaiting_message(
    conn: &mut SqliteConnection,
    batch_id: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<MessageVoucher>, StoreError> {
    sqlx::query(
        "SELECT id, batch_id, code, voucher_type, discount_cents AS discount, valid_until, recipient_email, recipient_name,
                recipient_tags
           FROM voucher
          WHERE batch_id = ?1 AND recipient_email IS NOT NULL AND id > ?2
            AND NOT EXISTS (SELECT 1 FROM outbox_message m WHERE m.voucher_id = voucher.id)
          ORDER BY id LIMIT ?3",
    )
    .bind(batch_id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(rows::message_voucher)
    .collect()
}

pub(super) async fn queue(
    conn: &mut SqliteConnection,
    messages: &[NewMessage<'_>],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if messages.is_empty() {
        return Ok(0);
    }
    let rows: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!([
                m.conference_id,
                m.batch_id,
                m.voucher_id,
                m.recipient.email,
                m.recipient.name,
                m.rendered.subject,
                m.rendered.text,
                m.rendered.html,
                m.message_key,
                m.attempt_limit
            ])
        })
        .collect();
    // `WHERE true`: SQLite's parser needs it before an upsert clause after a SELECT.
    let done = sqlx::query(
        "INSERT INTO outbox_message (conference_id, batch_id, voucher_id, recipient_email, recipient_name, subject,
             body_text, body_html, message_key, status, attempts, attempt_limit, next_attempt_at, created_at,
             updated_at)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6,
                value ->> 7, value ->> 8, 'queued', 0, value ->> 9, ?2, ?2, ?2
           FROM json_each(?1) WHERE true
         ON CONFLICT (voucher_id) DO NOTHING",
    )
    .bind(json_list(&rows)?)
    .bind(micros(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn retry(
    conn: &mut SqliteConnection,
    conference_id: i64,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox_message
            SET status = 'queued', next_attempt_at = ?3, attempt_limit = attempts + attempt_limit, updated_at = ?3
          WHERE conference_id = ?1 AND id = ?2 AND status = 'failed'",
    )
    .bind(conference_id)
    .bind(id)
    .bind(micros(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_usage(conn: &mut SqliteConnection, usage: &[(i64, i64, bool)]) -> Result<(), StoreError> {
    if usage.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE voucher SET times_used = u.value ->> 1, is_active = u.value ->> 2
           FROM json_each(?1) AS u
          WHERE voucher.id = u.value ->> 0",
    )
    .bind(json_list(usage)?)
    .execute(conn)
    .await?;
    Ok(())
}
