//! The SQLite write transaction: every write of a use case, inside one `BEGIN IMMEDIATE`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::writer::{Writer, WriterTx};
use super::{account_conferences, conference_by_slug, insert, json_list, micros, outbox, CODE_MATCH};
use crate::domain::{
    Account, Actor, AddOn, CodeFormat, Conference, NewAddOn, NewConference, NewTicketType, Recipient, Role, TicketType,
};
use crate::store::rows::{self, restriction_key, StoredRow, ACCOUNT_COLUMNS, VOUCHER_STATE_COLUMNS};
use crate::store::{
    AuditEntry, IdempotencyClaim, MessageVoucher, NewBatch, NewMessage, NewToken, RestrictionIds, StoreError, StoreTx,
    VoucherChange, VoucherState, VoucherTemplate,
};

/// A SQLite write transaction, opened with `BEGIN IMMEDIATE`: it holds the database's write lock
/// from its first statement, so what it reads cannot change before it commits.
pub(super) struct SqliteTx {
    tx: WriterTx,
    actor: Actor,
}

impl SqliteTx {
    /// Starts a write transaction on the writer connection, in turn.
    pub(super) async fn begin(writer: &Writer, actor: Actor) -> Result<Self, StoreError> {
        Ok(Self { tx: writer.begin().await?, actor })
    }
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn conference(&mut self, slug: &str) -> Result<Option<Conference>, StoreError> {
        conference_by_slug(&mut *self.tx, slug).await
    }

    async fn insert_conference(&mut self, new: &NewConference, now: DateTime<Utc>) -> Result<Conference, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conference (slug, name, start_date, end_date, timezone, created_at)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(new.slug.as_str())
        .bind(new.name.as_str())
        .bind(new.start_date.format("%Y-%m-%d").to_string())
        .bind(new.end_date.format("%Y-%m-%d").to_string())
        .bind(new.timezone.name())
        .bind(micros(now))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(Conference {
            id,
            slug: new.slug.to_string(),
            name: new.name.as_str().to_owned(),
            start_date: new.start_date,
            end_date: new.end_date,
            timezone: new.timezone,
            created_at: now,
        })
    }

    async fn insert_ticket_type(
        &mut self,
        conference: &Conference,
        new: &NewTicketType,
    ) -> Result<TicketType, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_type (conference_id, slug, name, price_cents, requires_voucher)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(conference.id)
        .bind(new.slug.as_str())
        .bind(new.name.as_str())
        .bind(new.price.cents())
        .bind(new.requires_voucher)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(TicketType {
            id,
            conference: conference.slug.clone(),
            slug: new.slug.to_string(),
            name: new.name.as_str().to_owned(),
            price: new.price,
            requires_voucher: new.requires_voucher,
            is_active: true,
        })
    }

    async fn insert_addon(&mut self, conference: &Conference, new: &NewAddOn) -> Result<AddOn, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO addon (conference_id, slug, name, price_cents) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(conference.id)
        .bind(new.slug.as_str())
        .bind(new.name.as_str())
        .bind(new.price.cents())
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(AddOn {
            id,
            conference: conference.slug.clone(),
            slug: new.slug.to_string(),
            name: new.name.as_str().to_owned(),
            price: new.price,
            is_active: true,
        })
    }

    async fn restriction_ids(
        &mut self,
        conference_id: i64,
        ticket_types: &[String],
        addons: &[String],
    ) -> Result<RestrictionIds, StoreError> {
        let rows: Vec<(bool, i64, String)> = sqlx::query_as(
            "SELECT 0, id, slug FROM ticket_type
              WHERE conference_id = ?1 AND slug IN (SELECT value FROM json_each(?2))
             UNION ALL
             SELECT 1, id, slug FROM addon
              WHERE conference_id = ?1 AND slug IN (SELECT value FROM json_each(?3))",
        )
        .bind(conference_id)
        .bind(json_list(ticket_types)?)
        .bind(json_list(addons)?)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(RestrictionIds::from_rows(rows))
    }

    async fn restriction_set(
        &mut self,
        conference_id: i64,
        ticket_types: &[i64],
        addons: &[i64],
    ) -> Result<i64, StoreError> {
        let key = restriction_key(ticket_types, addons);
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO restriction_set (conference_id, key) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(conference_id)
        .bind(&key)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(id) = created else {
            let id = sqlx::query_scalar("SELECT id FROM restriction_set WHERE conference_id = ? AND key = ?")
                .bind(conference_id)
                .bind(&key)
                .fetch_one(&mut *self.tx)
                .await?;
            return Ok(id);
        };
        for (table, column, ids) in [
            ("restriction_set_ticket_type", "ticket_type_id", ticket_types),
            ("restriction_set_addon", "addon_id", addons),
        ] {
            if ids.is_empty() {
                continue;
            }
            let json = json_list(ids)?;
            let sql = format!("INSERT INTO {table} (restriction_set_id, {column}) SELECT ?, value FROM json_each(?)");
            sqlx::query(&sql).bind(id).bind(json).execute(&mut *self.tx).await?;
        }
        Ok(id)
    }

    async fn active_codes_by_prefix(
        &mut self,
        conference_id: i64,
        format: &CodeFormat,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        // Through the batch rows of this format, then each one's vouchers by `voucher_batch_id`:
        // codes of other formats, and codes added by hand, are never read.
        Ok(sqlx::query_as(
            "SELECT b.prefix, count(v.id) FROM voucher_batch b JOIN voucher v ON v.batch_id = b.id
              WHERE b.conference_id = ?1 AND b.source = 'generate' AND b.alphabet = ?2
                AND b.code_length = ?3 AND b.check_char = ?4 AND v.is_active
              GROUP BY b.prefix",
        )
        .bind(conference_id)
        .bind(format.alphabet.as_str())
        .bind(i64::from(format.length))
        .bind(format.check_char)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn insert_batch(&mut self, batch: &NewBatch<'_>) -> Result<i64, StoreError> {
        let t = batch.template;
        let id = sqlx::query_scalar(
            "INSERT INTO voucher_batch (conference_id, prefix, count, voucher_type, discount_cents, max_uses,
                 valid_from, valid_until, unlocks_hidden_tickets, restriction_set_id, created_at, source,
                 alphabet, code_length, check_char)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(t.conference_id)
        .bind(batch.prefix)
        .bind(batch.count)
        .bind(t.discount.voucher_type().as_str())
        .bind(t.discount.value().cents())
        .bind(t.max_uses)
        .bind(t.window.from().map(micros))
        .bind(t.window.until().map(micros))
        .bind(t.unlocks_hidden_tickets)
        .bind(t.restriction_set_id)
        .bind(micros(t.created_at))
        .bind(batch.source.as_str())
        .bind(batch.format.alphabet.as_str())
        .bind(i64::from(batch.format.length))
        .bind(batch.format.check_char)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn insert_vouchers(
        &mut self,
        template: &VoucherTemplate,
        codes: &[String],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        insert::insert_vouchers(&mut self.tx, template, codes).await
    }

    async fn release_redemption(
        &mut self,
        voucher_id: i64,
        order_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let released = sqlx::query(
            "UPDATE redemption SET released_at = ? WHERE voucher_id = ? AND order_ref = ? AND released_at IS NULL",
        )
        .bind(micros(now))
        .bind(voucher_id)
        .bind(order_ref)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if released == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE voucher SET times_used = times_used - 1, updated_at = ? WHERE id = ? AND times_used > 0")
            .bind(micros(now))
            .bind(voucher_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(true)
    }

    async fn insert_token(&mut self, new: &NewToken<'_>, now: DateTime<Utc>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO api_token (token_hash, scope, conference_id, name, created_at) VALUES (?, ?, ?, ?, ?)
             RETURNING id",
        )
        .bind(new.hash)
        .bind(new.scope.as_str())
        .bind(new.conference_id)
        .bind(new.name)
        .bind(micros(now))
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn revoke_token(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let revoked = sqlx::query("UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(micros(now))
            .bind(id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(revoked == 1)
    }

    async fn claim_idempotency_key(
        &mut self,
        conference_id: i64,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyClaim, StoreError> {
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO idempotency_key (conference_id, key, request_hash, response, created_at)
             VALUES (?, ?, ?, '', ?) ON CONFLICT (conference_id, key) DO NOTHING RETURNING id",
        )
        .bind(conference_id)
        .bind(key)
        .bind(request_hash)
        .bind(micros(now))
        .fetch_optional(&mut *self.tx)
        .await?;
        if created.is_some() {
            return Ok(IdempotencyClaim::New);
        }
        let (request_hash, response): (String, String) =
            sqlx::query_as("SELECT request_hash, response FROM idempotency_key WHERE conference_id = ? AND key = ?")
                .bind(conference_id)
                .bind(key)
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(IdempotencyClaim::Existing { request_hash, response })
    }

    async fn record_idempotent_response(
        &mut self,
        conference_id: i64,
        key: &str,
        response: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE idempotency_key SET response = ? WHERE conference_id = ? AND key = ?")
            .bind(response)
            .bind(conference_id)
            .bind(key)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn lock_voucher(&mut self, conference_id: i64, code: &str) -> Result<Option<VoucherState>, StoreError> {
        // BEGIN IMMEDIATE already holds the database's write lock: the row cannot change under us.
        let sql = format!("SELECT {VOUCHER_STATE_COLUMNS} FROM voucher WHERE {}", *CODE_MATCH);
        let row = sqlx::query(&sql)
            .bind(conference_id)
            .bind(code)
            .bind(crate::domain::fold_key(code))
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::voucher_state).transpose()
    }

    async fn update_voucher(&mut self, id: i64, change: &VoucherChange, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE voucher SET is_active = ?, max_uses = ?, valid_from = ?, valid_until = ?, updated_at = ?
              WHERE id = ?",
        )
        .bind(change.is_active)
        .bind(change.max_uses)
        .bind(change.window.from().map(micros))
        .bind(change.window.until().map(micros))
        .bind(micros(now))
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn deactivate_batch(
        &mut self,
        conference_id: i64,
        batch_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM voucher_batch WHERE conference_id = ? AND id = ?")
            .bind(conference_id)
            .bind(batch_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let deactivated = sqlx::query(
            "UPDATE voucher SET is_active = 0, updated_at = ? WHERE batch_id = ? AND conference_id = ? AND is_active = 1",
        )
        .bind(micros(now))
        .bind(batch_id)
        .bind(conference_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(Some(deactivated))
    }

    async fn insert_account(
        &mut self,
        email: &str,
        password_hash: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO account (email, password_hash, role, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(micros(now))
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn lock_account(&mut self, email: &str) -> Result<Option<Account>, StoreError> {
        // BEGIN IMMEDIATE already holds the database's write lock.
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE email = ?");
        let Some(row) = sqlx::query(&sql).bind(email).fetch_optional(&mut *self.tx).await? else { return Ok(None) };
        let conferences = account_conferences(&mut *self.tx, row.int("id")?).await?;
        Ok(Some(rows::account(&row, conferences)?))
    }

    async fn grant_conference(&mut self, account_id: i64, conference_id: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO account_conference (account_id, conference_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(account_id)
            .bind(conference_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_password_hash(&mut self, account_id: i64, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE account SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(account_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn disable_account(&mut self, account_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE account SET disabled_at = coalesce(disabled_at, ?) WHERE id = ?")
            .bind(micros(now))
            .bind(account_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_account_sessions(&mut self, account_id: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM console_session WHERE account_id = ?")
            .bind(account_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected())
    }

    async fn insert_session(
        &mut self,
        token_hash: &str,
        account_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO console_session (token_hash, account_id, csrf_token, created_at, last_seen_at)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(csrf_token)
        .bind(micros(now))
        .bind(micros(now))
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn touch_session(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE console_session SET last_seen_at = ? WHERE id = ?")
            .bind(micros(now))
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_session WHERE token_hash = ?").bind(token_hash).execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn unassigned_vouchers(&mut self, batch_id: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        outbox::unassigned(&mut self.tx, batch_id, limit).await
    }

    async fn assign_recipients(
        &mut self,
        assignments: &[(i64, &Recipient)],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        outbox::assign(&mut self.tx, assignments, now).await
    }

    async fn vouchers_awaiting_message(
        &mut self,
        batch_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<MessageVoucher>, StoreError> {
        outbox::awaiting_message(&mut self.tx, batch_id, after_id, limit).await
    }

    async fn queue_messages(&mut self, messages: &[NewMessage<'_>], now: DateTime<Utc>) -> Result<u64, StoreError> {
        outbox::queue(&mut self.tx, messages, now).await
    }

    async fn retry_message(&mut self, conference_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        outbox::retry(&mut self.tx, conference_id, id, now).await
    }

    async fn set_batch_count(&mut self, batch_id: i64, count: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE voucher_batch SET count = ?2 WHERE id = ?1")
            .bind(batch_id)
            .bind(count)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_usage(&mut self, usage: &[(i64, i64, bool)]) -> Result<(), StoreError> {
        outbox::set_usage(&mut self.tx, usage).await
    }

    async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, conference_id, actor_kind, actor_id, actor_name, action, target, changes)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(micros(entry.at))
        .bind(entry.conference_id)
        .bind(self.actor.kind())
        .bind(self.actor.id())
        .bind(self.actor.name())
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.changes.to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
