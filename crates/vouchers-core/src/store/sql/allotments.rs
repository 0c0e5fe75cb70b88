//! Sponsor allotments, their attendees, reminders and sponsor sessions: the SQL both backends
//! run (migration 0018 says what the tables hold). Every change of an allotment's counts is one
//! conditional UPDATE of its row, so concurrent adds, removals, resizes and the deadline's close
//! are put in order by the row and never break `0 <= assigned <= seats`.

use chrono::{DateTime, Utc};

use super::{args, Conn};
use crate::domain::{format_reminder_days, parse_reminder_days, Allotment, Attendee, AttendeeStatus};
use crate::store::rows::StoredRow;
use crate::store::{NewAllotment, StoreError, StoredSponsorSession};

/// An allotment's columns (`a`), with its conference's slug and its redeemed passes.
const ALLOTMENT_SELECT: &str = "SELECT a.id, a.conference_id, c.slug AS conference_slug, a.batch_id, a.sponsor,
            a.contact, a.seats, a.assigned, a.deadline, a.closed_at, a.returned, a.reminder_days,
            CAST(CASE WHEN a.link_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_link, a.created_at,
            (SELECT count(*) FROM voucher v
              WHERE v.batch_id = a.batch_id AND v.recipient_email IS NOT NULL AND v.times_used > 0) AS redeemed
       FROM allotment a JOIN conference c ON c.id = a.conference_id";

fn allotment(row: &impl StoredRow) -> Result<Allotment, StoreError> {
    let (seats, assigned) = (row.int("seats")?, row.int("assigned")?);
    let closed_at = row.opt_instant("closed_at")?;
    let days = row.text("reminder_days")?;
    let reminder_days =
        parse_reminder_days(&days).map_err(|_| StoreError::Corrupt(format!("allotment reminder_days {days:?}")))?;
    Ok(Allotment {
        id: row.int("id")?,
        sponsor: row.text("sponsor")?,
        contact: row.text("contact")?,
        seats,
        assigned,
        redeemed: row.int("redeemed")?,
        left: Allotment::left_of(seats, assigned, closed_at.is_some()),
        deadline: row.instant("deadline")?,
        closed: closed_at.is_some(),
        returned: row.int("returned")?,
        conference: row.text("conference_slug")?,
        batch_id: row.int("batch_id")?,
        reminder_days,
        has_link: row.int("has_link")? == 1,
        closed_at,
        created_at: row.instant("created_at")?,
    })
}

/// The conference's allotments (one, with `id`), by id.
pub(super) async fn allotments<C: Conn>(
    conn: &mut C,
    conference_id: i64,
    id: Option<i64>,
) -> Result<Vec<Allotment>, StoreError> {
    let sql = format!("{ALLOTMENT_SELECT} WHERE a.conference_id = $1 AND ($2 IS NULL OR a.id = $2) ORDER BY a.id");
    conn.all(&sql, args![conference_id, id]).await?.iter().map(allotment).collect()
}

/// The allotment with this id, whatever its conference (with its conference's id).
pub(super) async fn allotment_by_id<C: Conn>(conn: &mut C, id: i64) -> Result<Option<(i64, Allotment)>, StoreError> {
    let sql = format!("{ALLOTMENT_SELECT} WHERE a.id = $1");
    match conn.first(&sql, args![id]).await? {
        Some(row) => Ok(Some((row.int("conference_id")?, allotment(&row)?))),
        None => Ok(None),
    }
}

/// Open allotments whose deadline is at or before `until`, every conference, by deadline.
pub(super) async fn open_allotments<C: Conn>(
    conn: &mut C,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(i64, Allotment)>, StoreError> {
    let sql =
        format!("{ALLOTMENT_SELECT} WHERE a.closed_at IS NULL AND a.deadline <= $1 ORDER BY a.deadline, a.id LIMIT $2");
    let found = conn.all(&sql, args![until, limit]).await?;
    found.iter().map(|row| Ok((row.int("conference_id")?, allotment(row)?))).collect()
}

/// The attendees of the allotment whose batch is `batch_id`, by name (a changed attendee keeps
/// its place): every voucher of the batch that has a recipient, with where its message stands.
pub(super) async fn attendees<C: Conn>(conn: &mut C, batch_id: i64) -> Result<Vec<Attendee>, StoreError> {
    let sql = "SELECT v.id, v.recipient_name, v.recipient_email, v.times_used, m.status AS message_status
                 FROM voucher v LEFT JOIN outbox_message m ON m.voucher_id = v.id
                WHERE v.batch_id = $1 AND v.recipient_email IS NOT NULL
                ORDER BY lower(v.recipient_name), v.id";
    let found = conn.all(sql, args![batch_id]).await?;
    found
        .iter()
        .map(|row| {
            let status = if row.int("times_used")? > 0 {
                AttendeeStatus::Redeemed
            } else if row.opt_text("message_status")?.as_deref() == Some("sent") {
                AttendeeStatus::EmailSent
            } else {
                AttendeeStatus::Assigned
            };
            Ok(Attendee {
                id: row.int("id")?,
                name: row.opt_text("recipient_name")?.unwrap_or_default(),
                email: row.text("recipient_email")?,
                status,
            })
        })
        .collect()
}

pub(super) async fn insert_allotment<C: Conn>(conn: &mut C, new: &NewAllotment<'_>) -> Result<i64, StoreError> {
    let sql = "INSERT INTO allotment (conference_id, batch_id, sponsor, contact, seats, assigned, deadline, returned,
                                     link_hash, subject, template, html_template, reminder_days, created_at,
                                     updated_at)
               VALUES ($1, $2, $3, $4, $5, 0, $6, 0, $7, $8, $9, $10, $11, $12, $12) RETURNING id";
    let args = args![
        new.conference_id,
        new.batch_id,
        new.sponsor,
        new.contact,
        new.seats,
        new.deadline,
        new.link_hash,
        new.subject,
        new.template,
        new.html_template,
        format_reminder_days(new.reminder_days),
        new.now
    ];
    conn.first(sql, args).await?.ok_or_else(|| StoreError::Corrupt("INSERT returned no id".into()))?.int("id")
}

/// The organizer's message template of an allotment: subject, text, HTML (each `None` for the
/// built-in one).
pub(super) async fn allotment_template<C: Conn>(
    conn: &mut C,
    id: i64,
) -> Result<(Option<String>, Option<String>, Option<String>), StoreError> {
    let sql = "SELECT subject, template, html_template FROM allotment WHERE id = $1";
    match conn.first(sql, args![id]).await? {
        Some(row) => Ok((row.opt_text("subject")?, row.opt_text("template")?, row.opt_text("html_template")?)),
        None => Err(StoreError::Corrupt(format!("allotment {id} vanished"))),
    }
}

/// Takes `n` passes of an open allotment whose deadline is after `now`, when that many are left;
/// false (nothing changed) otherwise.
pub(super) async fn take_seats<C: Conn>(conn: &mut C, id: i64, n: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let sql = "UPDATE allotment SET assigned = assigned + $2, updated_at = $3
                WHERE id = $1 AND closed_at IS NULL AND deadline > $3 AND assigned + $2 <= seats";
    Ok(conn.run(sql, args![id, n, now]).await? == 1)
}

/// Gives one pass back to an open allotment (an attendee removed).
pub(super) async fn give_back_seat<C: Conn>(conn: &mut C, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let sql = "UPDATE allotment SET assigned = assigned - 1, updated_at = $2
                WHERE id = $1 AND closed_at IS NULL AND deadline > $2 AND assigned >= 1";
    Ok(conn.run(sql, args![id, now]).await? == 1)
}

/// Ends an attendee's code: the voucher of the batch, unredeemed, is deactivated and loses its
/// recipient (so the email may get a new code of the batch), and its message is dropped while it
/// waits. Returns the attendee (name, email) when there was one to end.
pub(super) async fn end_attendee<C: Conn>(
    conn: &mut C,
    batch_id: i64,
    voucher_id: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let found = "SELECT recipient_name, recipient_email FROM voucher
                  WHERE id = $1 AND batch_id = $2 AND recipient_email IS NOT NULL AND times_used = 0";
    let Some(row) = conn.first(found, args![voucher_id, batch_id]).await? else { return Ok(None) };
    let attendee = (row.opt_text("recipient_name")?.unwrap_or_default(), row.text("recipient_email")?);
    let end = "UPDATE voucher SET is_active = false, recipient_email = NULL, recipient_name = NULL,
                      recipient_tags = NULL, assigned_at = NULL
                WHERE id = $1 AND batch_id = $2 AND recipient_email IS NOT NULL AND times_used = 0";
    if conn.run(end, args![voucher_id, batch_id]).await? != 1 {
        return Ok(None);
    }
    let drop_message = "DELETE FROM outbox_message WHERE voucher_id = $1 AND status = 'queued'";
    conn.run(drop_message, args![voucher_id]).await?;
    Ok(Some(attendee))
}

/// Sets a new deadline and opens the allotment again (the passes returned at a close are back,
/// as many as its seats still leave).
pub(super) async fn set_deadline<C: Conn>(
    conn: &mut C,
    conference_id: i64,
    id: i64,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = "UPDATE allotment SET deadline = $3, closed_at = NULL, returned = 0, updated_at = $4
                WHERE conference_id = $1 AND id = $2";
    Ok(conn.run(sql, args![conference_id, id, deadline, now]).await? == 1)
}

/// Sets the seats, when they hold every assigned pass; a closed allotment's returned passes are
/// what the new seats leave. Its batch's count follows. False (nothing changed) when too few.
pub(super) async fn resize<C: Conn>(
    conn: &mut C,
    conference_id: i64,
    id: i64,
    seats: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = "UPDATE allotment
                  SET seats = $3, updated_at = $4,
                      returned = CASE WHEN closed_at IS NULL THEN 0 ELSE $3 - assigned END
                WHERE conference_id = $1 AND id = $2 AND assigned <= $3";
    if conn.run(sql, args![conference_id, id, seats, now]).await? != 1 {
        return Ok(false);
    }
    let count = "UPDATE voucher_batch SET count = $2 WHERE id = (SELECT batch_id FROM allotment WHERE id = $1)";
    conn.run(count, args![id, seats]).await?;
    Ok(true)
}

/// Replaces (or, with `None`, removes) the sponsor link's hash and ends every sponsor session of
/// the allotment.
pub(super) async fn set_link<C: Conn>(
    conn: &mut C,
    conference_id: i64,
    id: i64,
    link_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = "UPDATE allotment SET link_hash = $3, updated_at = $4 WHERE conference_id = $1 AND id = $2";
    if conn.run(sql, args![conference_id, id, link_hash, now]).await? != 1 {
        return Ok(false);
    }
    conn.run("DELETE FROM sponsor_session WHERE allotment_id = $1", args![id]).await?;
    Ok(true)
}

/// Closes an open allotment whose deadline is at or before `now`, returning its unassigned
/// passes; how many were returned, or `None` when it was not due (or closed already).
pub(super) async fn close<C: Conn>(conn: &mut C, id: i64, now: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
    let sql = "UPDATE allotment SET closed_at = $2, returned = seats - assigned, updated_at = $2
                WHERE id = $1 AND closed_at IS NULL AND deadline <= $2
               RETURNING returned";
    match conn.first(sql, args![id, now]).await? {
        Some(row) => Ok(Some(row.int("returned")?)),
        None => Ok(None),
    }
}

/// Records the reminder `days` before `deadline` as sent; false when it was already.
pub(super) async fn record_reminder<C: Conn>(
    conn: &mut C,
    id: i64,
    days: &[i64],
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(first) = days.first() else { return Ok(false) };
    let sql = "INSERT INTO allotment_reminder (allotment_id, days, deadline, sent_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING";
    let sent = conn.run(sql, args![id, *first, deadline, now]).await? == 1;
    if sent {
        for day in &days[1..] {
            conn.run(sql, args![id, *day, deadline, now]).await?;
        }
    }
    Ok(sent)
}

/// The allotment a sponsor link's hash opens.
pub(super) async fn allotment_by_link<C: Conn>(conn: &mut C, link_hash: &str) -> Result<Option<i64>, StoreError> {
    match conn.first("SELECT id FROM allotment WHERE link_hash = $1", args![link_hash]).await? {
        Some(row) => Ok(Some(row.int("id")?)),
        None => Ok(None),
    }
}

pub(super) async fn insert_sponsor_session<C: Conn>(
    conn: &mut C,
    token_hash: &str,
    allotment_id: i64,
    csrf_token: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let sql = "INSERT INTO sponsor_session (token_hash, allotment_id, csrf_token, created_at)
               VALUES ($1, $2, $3, $4) RETURNING id";
    let row = conn.first(sql, args![token_hash, allotment_id, csrf_token, now]).await?;
    row.ok_or_else(|| StoreError::Corrupt("INSERT returned no id".into()))?.int("id")
}

/// The sponsor session a cookie's hash names, while its allotment's link is not revoked.
pub(super) async fn sponsor_session<C: Conn>(
    conn: &mut C,
    token_hash: &str,
) -> Result<Option<StoredSponsorSession>, StoreError> {
    let sql =
        "SELECT s.id, s.allotment_id, s.csrf_token, s.created_at, c.slug AS conference_slug, a.sponsor, a.batch_id
                 FROM sponsor_session s JOIN allotment a ON a.id = s.allotment_id
                 JOIN conference c ON c.id = a.conference_id
                WHERE s.token_hash = $1 AND a.link_hash IS NOT NULL";
    match conn.first(sql, args![token_hash]).await? {
        Some(row) => Ok(Some(StoredSponsorSession {
            id: row.int("id")?,
            allotment_id: row.int("allotment_id")?,
            conference: row.text("conference_slug")?,
            sponsor: row.text("sponsor")?,
            batch_id: row.int("batch_id")?,
            csrf_token: row.text("csrf_token")?,
            created_at: row.instant("created_at")?,
        })),
        None => Ok(None),
    }
}

/// Deletes a sponsor session.
pub(super) async fn delete_sponsor_session<C: Conn>(conn: &mut C, token_hash: &str) -> Result<(), StoreError> {
    conn.run("DELETE FROM sponsor_session WHERE token_hash = $1", args![token_hash]).await?;
    Ok(())
}
