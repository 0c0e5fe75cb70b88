//! PostgreSQL: recipients and the mail outbox. Senders claim rows with `FOR UPDATE SKIP LOCKED`,
//! so several `serve` instances never claim one message at once; bulk writes bind arrays read by
//! `UNNEST`, one statement per call.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::domain::{OutboxMessage, Recipient};
use crate::store::rows::{self, CLAIMED_COLUMNS, OUTBOX_SELECT};
use crate::store::{ClaimedMessage, DeliveryResult, MessageVoucher, NewMessage, OutboxFilter, StoreError};

pub(super) async fn outbox(
    conn: &mut PgConnection,
    conference_id: i64,
    filter: &OutboxFilter,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let sql = format!(
        "{OUTBOX_SELECT} WHERE m.conference_id = $1 AND ($2::bigint IS NULL OR m.batch_id = $2)
            AND ($3::text IS NULL OR m.status = $3) AND m.id > $4 ORDER BY m.id LIMIT $5"
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
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ClaimedMessage>, StoreError> {
    let sql = format!(
        "UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, lease_until = $2, updated_at = $1
          WHERE id IN (SELECT id FROM outbox_message
                        WHERE (status = 'queued' AND next_attempt_at <= $1)
                           OR (status = 'sending' AND lease_until < $1)
                        ORDER BY id LIMIT $3
                        FOR UPDATE SKIP LOCKED)
         RETURNING {CLAIMED_COLUMNS}"
    );
    let found = sqlx::query(&sql).bind(now).bind(lease_until).bind(limit).fetch_all(conn).await?;
    let mut claimed: Vec<ClaimedMessage> = found.iter().map(rows::claimed_message).collect::<Result<_, _>>()?;
    claimed.sort_by_key(|m| m.id);
    Ok(claimed)
}

pub(super) async fn finish(
    conn: &mut PgConnection,
    id: i64,
    attempt: i64,
    result: &DeliveryResult<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let (status, sent_at, next, error) = match result {
        DeliveryResult::Sent => ("sent", Some(now), None, None),
        DeliveryResult::Retry { error, at } => ("queued", None, Some(*at), Some(clean(error))),
        DeliveryResult::Failed { error } => ("failed", None, None, Some(clean(error))),
    };
    let done = sqlx::query(
        "UPDATE outbox_message
            SET status = $3, sent_at = $4, next_attempt_at = coalesce($5, next_attempt_at), last_error = $6,
                lease_until = NULL, updated_at = $7
          WHERE id = $1 AND attempts = $2 AND status = 'sending'",
    )
    .bind(id)
    .bind(attempt)
    .bind(status)
    .bind(sent_at)
    .bind(next)
    .bind(error)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A server's answer as text PostgreSQL takes (it refuses NUL).
fn clean(text: &str) -> String {
    text.replace('\0', " ")
}

pub(super) async fn unassigned(
    conn: &mut PgConnection,
    batch_id: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, code FROM voucher
          WHERE batch_id = $1 AND recipient_email IS NULL AND is_active AND times_used = 0
          ORDER BY id LIMIT $2
          FOR UPDATE SKIP LOCKED",
    )
    .bind(batch_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

pub(super) async fn assign(
    conn: &mut PgConnection,
    assignments: &[(i64, &Recipient)],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let ids: Vec<i64> = assignments.iter().map(|(id, _)| *id).collect();
    let emails: Vec<&str> = assignments.iter().map(|(_, r)| r.email.as_str()).collect();
    let names: Vec<&str> = assignments.iter().map(|(_, r)| r.name.as_str()).collect();
    let tags: Vec<String> = assignments.iter().map(|(_, r)| r.tags_json()).collect();
    let done = sqlx::query(
        "UPDATE voucher v
            SET recipient_email = a.email, recipient_name = a.name, recipient_tags = a.tags, assigned_at = $5,
                updated_at = $5
           FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[]) AS a (id, email, name, tags)
          WHERE v.id = a.id AND v.recipient_email IS NULL",
    )
    .bind(&ids)
    .bind(&emails)
    .bind(&names)
    .bind(&tags)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn awaiting_message(
    conn: &mut PgConnection,
    batch_id: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<MessageVoucher>, StoreError> {
    sqlx::query(
        "SELECT id, batch_id, code, voucher_type, discount_value AS discount, valid_until, recipient_email, recipient_name,
                recipient_tags
           FROM voucher
          WHERE batch_id = $1 AND recipient_email IS NOT NULL AND id > $2
            AND NOT EXISTS (SELECT 1 FROM outbox_message m WHERE m.voucher_id = voucher.id)
          ORDER BY id LIMIT $3",
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
    conn: &mut PgConnection,
    messages: &[NewMessage<'_>],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if messages.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&NewMessage<'_>) -> String| messages.iter().map(f).collect::<Vec<String>>();
    let conferences: Vec<i64> = messages.iter().map(|m| m.conference_id).collect();
    let batches: Vec<i64> = messages.iter().map(|m| m.batch_id).collect();
    let vouchers: Vec<i64> = messages.iter().map(|m| m.voucher_id).collect();
    let limits: Vec<i64> = messages.iter().map(|m| m.attempt_limit).collect();
    let html: Vec<Option<String>> = messages.iter().map(|m| m.rendered.html.clone()).collect();
    let done = sqlx::query(
        "INSERT INTO outbox_message (conference_id, batch_id, voucher_id, recipient_email, recipient_name, subject,
             body_text, body_html, message_key, status, attempts, attempt_limit, next_attempt_at, created_at,
             updated_at)
         SELECT c, b, v, e, n, s, t, h, k, 'queued', 0, l, $11, $11, $11
           FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::bigint[]) AS m (c, b, v, e, n, s, t, h, k, l)
         ON CONFLICT (voucher_id) DO NOTHING",
    )
    .bind(&conferences)
    .bind(&batches)
    .bind(&vouchers)
    .bind(column(|m| m.recipient.email.clone()))
    .bind(column(|m| m.recipient.name.clone()))
    .bind(column(|m| m.rendered.subject.clone()))
    .bind(column(|m| m.rendered.text.clone()))
    .bind(&html)
    .bind(column(|m| m.message_key.clone()))
    .bind(&limits)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn retry(
    conn: &mut PgConnection,
    conference_id: i64,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox_message
            SET status = 'queued', next_attempt_at = $3, attempt_limit = attempts + attempt_limit, updated_at = $3
          WHERE conference_id = $1 AND id = $2 AND status = 'failed'",
    )
    .bind(conference_id)
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_usage(conn: &mut PgConnection, usage: &[(i64, i64, bool)]) -> Result<(), StoreError> {
    if usage.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = usage.iter().map(|u| u.0).collect();
    let used: Vec<i64> = usage.iter().map(|u| u.1).collect();
    let active: Vec<bool> = usage.iter().map(|u| u.2).collect();
    sqlx::query(
        "UPDATE voucher v SET times_used = u.used, is_active = u.active
           FROM UNNEST($1::bigint[], $2::bigint[], $3::boolean[]) AS u (id, used, active)
          WHERE v.id = u.id",
    )
    .bind(&ids)
    .bind(&used)
    .bind(&active)
    .execute(conn)
    .await?;
    Ok(())
}
