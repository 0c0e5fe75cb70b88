//! The PostgreSQL write transaction: every write of a use case, inside one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::{
    account_conferences, conference_by_slug, has_nul, insert, outbox, ADDON_COLUMNS, CODE_MATCH, TICKET_TYPE_COLUMNS,
};
use crate::domain::{
    Account, Actor, AddOn, CodeFormat, Conference, NewAddOn, NewConference, NewTicketType, Recipient, Role, TicketType,
};
use crate::store::rows::{
    self, restriction_key, StoredRow, ACCOUNT_COLUMNS, CONFERENCE_COLUMNS, VOUCHER_STATE_COLUMNS,
};
use crate::store::{
    AuditEntry, IdempotencyClaim, MessageVoucher, NewBatch, NewMessage, NewToken, RestrictionIds, StoreError, StoreTx,
    VoucherChange, VoucherState, VoucherTemplate,
};

/// A PostgreSQL write transaction (READ COMMITTED).
pub(super) struct PostgresTx {
    tx: Transaction<'static, Postgres>,
    actor: Actor,
}

impl PostgresTx {
    /// Starts a write transaction.
    pub(super) async fn begin(pool: &PgPool, actor: Actor) -> Result<Self, StoreError> {
        Ok(Self { tx: pool.begin().await?, actor })
    }
}

#[async_trait]
impl StoreTx for PostgresTx {
    async fn conference(&mut self, slug: &str) -> Result<Option<Conference>, StoreError> {
        conference_by_slug(&mut *self.tx, slug).await
    }

    async fn insert_conference(&mut self, new: &NewConference, now: DateTime<Utc>) -> Result<Conference, StoreError> {
        let sql = format!(
            "INSERT INTO conference (slug, name, start_date, end_date, timezone, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CONFERENCE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.slug.as_str())
            .bind(new.name.as_str())
            .bind(new.start_date)
            .bind(new.end_date)
            .bind(new.timezone.name())
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
        rows::conference(&row)
    }

    async fn insert_ticket_type(
        &mut self,
        conference: &Conference,
        new: &NewTicketType,
    ) -> Result<TicketType, StoreError> {
        let sql = format!(
            "INSERT INTO ticket_type (conference_id, slug, name, price, requires_voucher)
             VALUES ($1, $2, $3, $4, $5) RETURNING {TICKET_TYPE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(conference.id)
            .bind(new.slug.as_str())
            .bind(new.name.as_str())
            .bind(new.price.amount())
            .bind(new.requires_voucher)
            .fetch_one(&mut *self.tx)
            .await?;
        rows::ticket_type(conference, &row)
    }

    async fn insert_addon(&mut self, conference: &Conference, new: &NewAddOn) -> Result<AddOn, StoreError> {
        let sql = format!(
            "INSERT INTO addon (conference_id, slug, name, price) VALUES ($1, $2, $3, $4) RETURNING {ADDON_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(conference.id)
            .bind(new.slug.as_str())
            .bind(new.name.as_str())
            .bind(new.price.amount())
            .fetch_one(&mut *self.tx)
            .await?;
        rows::addon(conference, &row)
    }

    async fn restriction_ids(
        &mut self,
        conference_id: i64,
        ticket_types: &[String],
        addons: &[String],
    ) -> Result<RestrictionIds, StoreError> {
        let rows: Vec<(bool, i64, String)> = sqlx::query_as(
            "SELECT false, id, slug FROM ticket_type WHERE conference_id = $1 AND slug = ANY($2)
             UNION ALL
             SELECT true, id, slug FROM addon WHERE conference_id = $1 AND slug = ANY($3)",
        )
        .bind(conference_id)
        .bind(ticket_types)
        .bind(addons)
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
        // One round trip: create the set and its link rows, or (the set exists) nothing. A
        // concurrent transaction creating the same set makes the insert wait; if it commits, the
        // insert does nothing and the SELECT below (a new snapshot) sees its row.
        let created: Option<i64> = sqlx::query_scalar(
            "WITH new_set AS (
                 INSERT INTO restriction_set (conference_id, key) VALUES ($1, $2)
                 ON CONFLICT (conference_id, key) DO NOTHING RETURNING id
             ), ticket_types AS (
                 INSERT INTO restriction_set_ticket_type (restriction_set_id, ticket_type_id)
                 SELECT new_set.id, t FROM new_set, UNNEST($3::bigint[]) AS t
             ), addons AS (
                 INSERT INTO restriction_set_addon (restriction_set_id, addon_id)
                 SELECT new_set.id, a FROM new_set, UNNEST($4::bigint[]) AS a
             )
             SELECT id FROM new_set",
        )
        .bind(conference_id)
        .bind(&key)
        .bind(ticket_types)
        .bind(addons)
        .fetch_optional(&mut *self.tx)
        .await?;
        match created {
            Some(id) => Ok(id),
            None => Ok(sqlx::query_scalar("SELECT id FROM restriction_set WHERE conference_id = $1 AND key = $2")
                .bind(conference_id)
                .bind(&key)
                .fetch_one(&mut *self.tx)
                .await?),
        }
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
              WHERE b.conference_id = $1 AND b.source = 'generate' AND b.alphabet = $2
                AND b.code_length = $3 AND b.check_char = $4 AND v.is_active
              GROUP BY b.prefix",
        )
        .bind(conference_id)
        .bind(format.alphabet.as_str())
        .bind(i16::from(format.length))
        .bind(format.check_char)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn insert_batch(&mut self, batch: &NewBatch<'_>) -> Result<i64, StoreError> {
        let t = batch.template;
        let id = sqlx::query_scalar(
            "INSERT INTO voucher_batch (conference_id, prefix, count, voucher_type, discount_value, max_uses,
                 valid_from, valid_until, unlocks_hidden_tickets, restriction_set_id, created_at, source,
                 alphabet, code_length, check_char)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind(t.conference_id)
        .bind(batch.prefix)
        .bind(batch.count)
        .bind(t.discount.voucher_type().as_str())
        .bind(t.discount.value().amount())
        .bind(t.max_uses)
        .bind(t.window.from())
        .bind(t.window.until())
        .bind(t.unlocks_hidden_tickets)
        .bind(t.restriction_set_id)
        .bind(t.created_at)
        .bind(batch.source.as_str())
        .bind(batch.format.alphabet.as_str())
        .bind(i16::from(batch.format.length))
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
            "UPDATE redemption SET released_at = $1 WHERE voucher_id = $2 AND order_ref = $3 AND released_at IS NULL",
        )
        .bind(now)
        .bind(voucher_id)
        .bind(order_ref)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if released == 0 {
            return Ok(false);
        }
        sqlx::query("UPDATE voucher SET times_used = times_used - 1, updated_at = $1 WHERE id = $2 AND times_used > 0")
            .bind(now)
            .bind(voucher_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(true)
    }

    async fn insert_token(&mut self, new: &NewToken<'_>, now: DateTime<Utc>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO api_token (token_hash, scope, conference_id, name, created_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING id",
        )
        .bind(new.hash)
        .bind(new.scope.as_str())
        .bind(new.conference_id)
        .bind(new.name)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn revoke_token(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let revoked = sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
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
        // A concurrent claim of the same key waits here on the unique index until the other
        // transaction ends; if it committed, DO NOTHING applies and the SELECT (a new snapshot)
        // reads its stored response.
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO idempotency_key (conference_id, key, request_hash, response, created_at)
             VALUES ($1, $2, $3, '', $4) ON CONFLICT (conference_id, key) DO NOTHING RETURNING id",
        )
        .bind(conference_id)
        .bind(key)
        .bind(request_hash)
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?;
        if created.is_some() {
            return Ok(IdempotencyClaim::New);
        }
        let (request_hash, response): (String, String) =
            sqlx::query_as("SELECT request_hash, response FROM idempotency_key WHERE conference_id = $1 AND key = $2")
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
        sqlx::query("UPDATE idempotency_key SET response = $1 WHERE conference_id = $2 AND key = $3")
            .bind(response)
            .bind(conference_id)
            .bind(key)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn lock_voucher(&mut self, conference_id: i64, code: &str) -> Result<Option<VoucherState>, StoreError> {
        if has_nul(code) {
            return Ok(None);
        }
        let sql = format!("SELECT {VOUCHER_STATE_COLUMNS} FROM voucher WHERE {} FOR UPDATE", *CODE_MATCH);
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
            "UPDATE voucher SET is_active = $1, max_uses = $2, valid_from = $3, valid_until = $4, updated_at = $5
              WHERE id = $6",
        )
        .bind(change.is_active)
        .bind(change.max_uses)
        .bind(change.window.from())
        .bind(change.window.until())
        .bind(now)
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
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM voucher_batch WHERE conference_id = $1 AND id = $2")
                .bind(conference_id)
                .bind(batch_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let deactivated = sqlx::query(
            "UPDATE voucher SET is_active = false, updated_at = $1
              WHERE batch_id = $2 AND conference_id = $3 AND is_active",
        )
        .bind(now)
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
            "INSERT INTO account (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn lock_account(&mut self, email: &str) -> Result<Option<Account>, StoreError> {
        if has_nul(email) {
            return Ok(None);
        }
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE lower(email) = lower($1) FOR UPDATE");
        let Some(row) = sqlx::query(&sql).bind(email).fetch_optional(&mut *self.tx).await? else { return Ok(None) };
        let conferences = account_conferences(&mut *self.tx, row.int("id")?).await?;
        Ok(Some(rows::account(&row, conferences)?))
    }

    async fn grant_conference(&mut self, account_id: i64, conference_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO account_conference (account_id, conference_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(account_id)
        .bind(conference_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn set_password_hash(&mut self, account_id: i64, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE account SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(account_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn disable_account(&mut self, account_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE account SET disabled_at = coalesce(disabled_at, $1) WHERE id = $2")
            .bind(now)
            .bind(account_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_account_sessions(&mut self, account_id: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM console_session WHERE account_id = $1")
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
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(csrf_token)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn touch_session(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE console_session SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        if has_nul(token_hash) {
            return Ok(());
        }
        sqlx::query("DELETE FROM console_session WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?;
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
        sqlx::query("UPDATE voucher_batch SET count = $2 WHERE id = $1")
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.at)
        .bind(entry.conference_id)
        .bind(self.actor.kind())
        .bind(self.actor.id())
        .bind(self.actor.name().map(|n| n.replace('\0', "")))
        .bind(entry.action)
        .bind(entry.target.replace('\0', ""))
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
