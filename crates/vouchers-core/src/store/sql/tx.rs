//! [`StoreTx`] for every [`Engine`]: every write of a use case, inside one transaction (SQLite:
//! `BEGIN IMMEDIATE`, holding the database's write lock from its first statement; PostgreSQL:
//! READ COMMITTED, with `FOR UPDATE` where a row read decides a write).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::store::{account_conferences, conference_by_slug, restriction_slugs};
use super::{allotments, args, batch_columns, code_match, has_nul, json_rows, voucher_columns, webhooks, Conn, Engine};
use crate::domain::{
    Account, Actor, AddOn, Allotment, Batch, CodeFormat, Conference, Money, NewAddOn, NewConference, NewTicketType,
    OutboxMessage, OwnHold, Recipient, Role, TicketType, UseState, Voucher, WebhookSecret,
};
use crate::store::rows::{
    self, restriction_key, StoredRow, ACCOUNT_COLUMNS, CONFERENCE_COLUMNS, OUTBOX_SELECT, VOUCHER_STATE_COLUMNS,
};
use crate::store::{
    AttemptResult, AuditEntry, CustomerClaim, DeliveryResult, IdempotencyClaim, LockedVoucher, MessageVoucher,
    NewAllotment, NewBatch, NewEvent, NewHold, NewMessage, NewToken, NewWebhook, OrderClaim, RestrictionIds,
    StoreError, StoreTx, UseTaken, VoucherChange, VoucherState, VoucherTemplate,
};

/// A write transaction of engine `E`, whose audit records name `actor`.
pub(super) struct SqlTx<E: Engine> {
    tx: E::Tx,
    actor: Actor,
}

impl<E: Engine> SqlTx<E> {
    pub(super) fn new(tx: E::Tx, actor: Actor) -> Self {
        Self { tx, actor }
    }

    /// Claims `customer`'s scope for the voucher's hold or redemption (exactly one of them), first
    /// dropping a claim whose hold ended. False when the customer holds it: the primary key
    /// refuses a second row, whatever runs at once (PostgreSQL waits for a concurrent claim's
    /// transaction, then skips the row).
    async fn claim_customer(
        &mut self,
        voucher_id: i64,
        customer: CustomerClaim<'_>,
        now: DateTime<Utc>,
        by: (Option<i64>, Option<i64>),
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let ended = "DELETE FROM customer_use WHERE scope = $1 AND customer = $2 AND expires_at <= $3";
        self.tx.run(ended, args![customer.scope, customer.customer, now]).await?;
        let claim = "INSERT INTO customer_use (scope, customer, voucher_id, hold_id, redemption_id, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
        let args = args![customer.scope, customer.customer, voucher_id, by.0, by.1, expires_at];
        Ok(self.tx.run(claim, args).await? == 1)
    }

    /// Raises the voucher's `holds_until` to `expires_at` (it never goes down: while it is ahead,
    /// redemptions take the locked path).
    async fn raise_holds_until(&mut self, voucher_id: i64, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let raise = "UPDATE voucher SET holds_until = $1 WHERE id = $2 AND (holds_until IS NULL OR holds_until < $1)";
        self.tx.run(raise, args![expires_at, voucher_id]).await?;
        Ok(())
    }
}

#[async_trait]
impl<E: Engine> StoreTx for SqlTx<E> {
    async fn conference(&mut self, slug: &str) -> Result<Option<Conference>, StoreError> {
        conference_by_slug(&mut self.tx, slug).await
    }

    async fn insert_conference(&mut self, new: &NewConference, now: DateTime<Utc>) -> Result<Conference, StoreError> {
        let sql = format!(
            "INSERT INTO conference (slug, name, start_date, end_date, timezone, created_at, hold_seconds)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {CONFERENCE_COLUMNS}"
        );
        let args = args![
            new.slug.as_str(),
            new.name.as_str(),
            new.start_date,
            new.end_date,
            new.timezone.name(),
            now,
            new.hold_seconds.get()
        ];
        let row = self.tx.first(&sql, args).await?;
        rows::conference(&row.ok_or(StoreError::Corrupt("INSERT ... RETURNING returned no row".into()))?)
    }

    async fn lock_conference(&mut self, slug: &str) -> Result<Option<Conference>, StoreError> {
        if has_nul(slug) {
            return Ok(None);
        }
        let sql =
            format!("SELECT {CONFERENCE_COLUMNS} FROM conference WHERE slug = $1{}", E::DIALECT.for_no_key_update);
        self.tx.first(&sql, args![slug]).await?.as_ref().map(rows::conference).transpose()
    }

    async fn update_conference(&mut self, conference: &Conference) -> Result<(), StoreError> {
        let sql = "UPDATE conference SET name = $2, start_date = $3, end_date = $4, hold_seconds = $5 WHERE id = $1";
        let c = conference;
        self.tx.run(sql, args![c.id, c.name.as_str(), c.start_date, c.end_date, c.hold_seconds]).await?;
        Ok(())
    }

    async fn lock_ticket_type(
        &mut self,
        conference: &Conference,
        slug: &str,
    ) -> Result<Option<TicketType>, StoreError> {
        if has_nul(slug) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT id, slug, name, {} AS price, requires_voucher, is_active FROM ticket_type
              WHERE conference_id = $1 AND slug = $2{}",
            E::DIALECT.price,
            E::DIALECT.for_no_key_update
        );
        let row = self.tx.first(&sql, args![conference.id, slug]).await?;
        row.as_ref().map(|row| rows::ticket_type(conference, row)).transpose()
    }

    async fn update_ticket_type(&mut self, t: &TicketType) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE ticket_type SET name = $2, {} = $3, requires_voucher = $4, is_active = $5 WHERE id = $1",
            E::DIALECT.price
        );
        self.tx.run(&sql, args![t.id, t.name.as_str(), t.price, t.requires_voucher, t.is_active]).await?;
        Ok(())
    }

    async fn lock_addon(&mut self, conference: &Conference, slug: &str) -> Result<Option<AddOn>, StoreError> {
        if has_nul(slug) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT id, slug, name, {} AS price, is_active FROM addon WHERE conference_id = $1 AND slug = $2{}",
            E::DIALECT.price,
            E::DIALECT.for_no_key_update
        );
        let row = self.tx.first(&sql, args![conference.id, slug]).await?;
        row.as_ref().map(|row| rows::addon(conference, row)).transpose()
    }

    async fn update_addon(&mut self, a: &AddOn) -> Result<(), StoreError> {
        let sql = format!("UPDATE addon SET name = $2, {} = $3, is_active = $4 WHERE id = $1", E::DIALECT.price);
        self.tx.run(&sql, args![a.id, a.name.as_str(), a.price, a.is_active]).await?;
        Ok(())
    }

    async fn insert_ticket_type(
        &mut self,
        conference: &Conference,
        new: &NewTicketType,
    ) -> Result<TicketType, StoreError> {
        let sql = format!(
            "INSERT INTO ticket_type (conference_id, slug, name, {price}, requires_voucher)
             VALUES ($1, $2, $3, $4, $5) RETURNING id, slug, name, {price} AS price, requires_voucher, is_active",
            price = E::DIALECT.price
        );
        let args = args![conference.id, new.slug.as_str(), new.name.as_str(), new.price, new.requires_voucher];
        let row = self.tx.first(&sql, args).await?;
        rows::ticket_type(conference, &row.ok_or(StoreError::Corrupt("INSERT ... RETURNING returned no row".into()))?)
    }

    async fn insert_addon(&mut self, conference: &Conference, new: &NewAddOn) -> Result<AddOn, StoreError> {
        let sql = format!(
            "INSERT INTO addon (conference_id, slug, name, {price}) VALUES ($1, $2, $3, $4)
             RETURNING id, slug, name, {price} AS price, is_active",
            price = E::DIALECT.price
        );
        let row = self.tx.first(&sql, args![conference.id, new.slug.as_str(), new.name.as_str(), new.price]).await?;
        rows::addon(conference, &row.ok_or(StoreError::Corrupt("INSERT ... RETURNING returned no row".into()))?)
    }

    async fn restriction_ids(
        &mut self,
        conference_id: i64,
        ticket_types: &[String],
        addons: &[String],
    ) -> Result<RestrictionIds, StoreError> {
        if ticket_types.iter().chain(addons).any(|slug| has_nul(slug)) {
            return Ok(RestrictionIds::default());
        }
        let sql = format!(
            "SELECT false AS is_addon, id, slug FROM ticket_type WHERE conference_id = $1 AND slug {}
             UNION ALL
             SELECT true, id, slug FROM addon WHERE conference_id = $1 AND slug {}",
            (E::DIALECT.in_list)("$2"),
            (E::DIALECT.in_list)("$3"),
        );
        let found = self.tx.all(&sql, args![conference_id, ticket_types, addons]).await?;
        let found = found
            .iter()
            .map(|row| Ok((row.flag("is_addon")?, row.int("id")?, row.text("slug")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(RestrictionIds::from_rows(found))
    }

    async fn restriction_set(
        &mut self,
        conference_id: i64,
        ticket_types: &[i64],
        addons: &[i64],
    ) -> Result<i64, StoreError> {
        let key = restriction_key(ticket_types, addons);
        // A concurrent transaction creating the same set makes this insert wait (PostgreSQL: the
        // unique index; SQLite: the write lock); if it commits, the insert does nothing and the
        // SELECT below (a new snapshot on PostgreSQL) sees its row.
        let created = self
            .tx
            .first(
                "INSERT INTO restriction_set (conference_id, key) VALUES ($1, $2)
                 ON CONFLICT (conference_id, key) DO NOTHING RETURNING id",
                args![conference_id, key.as_str()],
            )
            .await?;
        let Some(created) = created else {
            let sql = "SELECT id FROM restriction_set WHERE conference_id = $1 AND key = $2";
            let found = self.tx.first(sql, args![conference_id, key.as_str()]).await?;
            return found.ok_or(StoreError::Corrupt("a restriction set vanished".into()))?.int("id");
        };
        let id = created.int("id")?;
        let rows_of = E::DIALECT.json_rows;
        for (table, column, ids) in [
            ("restriction_set_ticket_type", "ticket_type_id", ticket_types),
            ("restriction_set_addon", "addon_id", addons),
        ] {
            if ids.is_empty() {
                continue;
            }
            let sql = format!(
                "INSERT INTO {table} (restriction_set_id, {column})
                 SELECT $1, CAST(value ->> 0 AS BIGINT) FROM {}",
                rows_of("$2")
            );
            let ids: Vec<[i64; 1]> = ids.iter().map(|id| [*id]).collect();
            self.tx.run(&sql, vec![id.into(), json_rows(&ids)?]).await?;
        }
        Ok(id)
    }

    async fn insert_batch(&mut self, batch: &NewBatch<'_>) -> Result<i64, StoreError> {
        let t = batch.template;
        let sql = format!(
            "INSERT INTO voucher_batch (conference_id, prefix, count, voucher_type, {}, max_uses,
                 valid_from, valid_until, unlocks_hidden_tickets, restriction_set_id, created_at, source,
                 alphabet, code_length, check_char, min_quantity, min_subtotal, budget, once_per_customer,
                 applies_none, name, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                     $21, $22)
             RETURNING id",
            E::DIALECT.discount
        );
        let args = args![
            t.conference_id,
            batch.prefix,
            batch.count,
            t.discount.voucher_type().as_str(),
            t.discount.value(),
            t.max_uses,
            t.window.from(),
            t.window.until(),
            t.unlocks_hidden_tickets,
            t.restriction_set_id,
            t.created_at,
            batch.source.as_str(),
            batch.format.alphabet.as_str(),
            i64::from(batch.format.length),
            batch.format.check_char,
            t.min_quantity,
            t.min_subtotal,
            t.budget,
            t.once_per_customer,
            t.applies_none,
            batch.label.name.as_str(),
            batch.label.note.as_str(),
        ];
        self.tx
            .first(&sql, args)
            .await?
            .ok_or(StoreError::Corrupt("INSERT ... RETURNING returned no row".into()))?
            .int("id")
    }

    async fn active_codes_by_prefix(
        &mut self,
        conference_id: i64,
        format: &CodeFormat,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        // Through the batch rows of this format, then each one's vouchers by `voucher_batch_id`:
        // codes of other formats, and codes added by hand, are never read.
        let sql = "SELECT b.prefix, count(v.id) AS active FROM voucher_batch b JOIN voucher v ON v.batch_id = b.id
                    WHERE b.conference_id = $1 AND b.source = 'generate' AND b.alphabet = $2
                      AND b.code_length = $3 AND b.check_char = $4 AND v.is_active
                    GROUP BY b.prefix";
        let args = args![conference_id, format.alphabet.as_str(), i64::from(format.length), format.check_char];
        let found = self.tx.all(sql, args).await?;
        found.iter().map(|row| Ok((row.text("prefix")?, row.int("active")?))).collect()
    }

    async fn insert_vouchers(
        &mut self,
        template: &VoucherTemplate,
        codes: &[String],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        E::insert_vouchers(&mut self.tx, template, codes).await
    }

    async fn claim_order(
        &mut self,
        voucher_id: i64,
        order_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<OrderClaim, StoreError> {
        let claim = "INSERT INTO redemption (voucher_id, order_ref, redeemed_at, response) VALUES ($1, $2, $3, '')
                     ON CONFLICT (voucher_id, order_ref) DO UPDATE
                        SET redeemed_at = EXCLUDED.redeemed_at, released_at = NULL, response = '', discount = 0
                      WHERE redemption.released_at IS NOT NULL
                     RETURNING id";
        if let Some(row) = self.tx.first(claim, args![voucher_id, order_ref, now]).await? {
            return Ok(OrderClaim::Claimed(row.int("id")?));
        }
        // An unreleased redemption (committed: a concurrent claim waited for it).
        let stored = "SELECT response FROM redemption WHERE voucher_id = $1 AND order_ref = $2";
        let row = self.tx.first(stored, args![voucher_id, order_ref]).await?;
        Ok(OrderClaim::Replay(row.ok_or(StoreError::Corrupt("a claimed order has no row".into()))?.text("response")?))
    }

    async fn lock_use(
        &mut self,
        voucher_id: i64,
        cart_ref: Option<&str>,
        customer: Option<CustomerClaim<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Option<(LockedVoucher, UseState)>, StoreError> {
        let lock = format!(
            "SELECT is_active, max_uses, times_used, valid_from, valid_until, budget, budget_used
               FROM voucher WHERE id = $1{}",
            E::DIALECT.for_no_key_update
        );
        let Some(row) = self.tx.first(&lock, args![voucher_id]).await? else { return Ok(None) };
        let locked = LockedVoucher {
            is_active: row.flag("is_active")?,
            max_uses: row.int("max_uses")?,
            times_used: row.int("times_used")?,
            valid_from: row.opt_instant("valid_from")?,
            valid_until: row.opt_instant("valid_until")?,
            budget: row.opt_money("budget")?,
            budget_used: row.money("budget_used")?,
        };
        // A statement of its own, after the lock: on PostgreSQL it sees every hold and claim that
        // an earlier holder of the lock committed.
        let others =
            "FROM voucher_hold o WHERE o.voucher_id = $1 AND o.expires_at > $2 AND ($3 IS NULL OR o.cart_ref <> $3)";
        let state = format!(
            "SELECT (SELECT count(*) {others}) AS other_holds, (SELECT min(o.expires_at) {others}) AS other_end,
                    (SELECT coalesce(sum(o.discount), 0) {others}) AS other_reserved,
                    h.id AS own_id, h.expires_at AS own_end, h.discount AS own_discount,
                    EXISTS (SELECT 1 FROM customer_use u
                             WHERE u.scope = $4 AND u.customer = $5 AND (u.expires_at IS NULL OR u.expires_at > $2)
                               AND (h.id IS NULL OR u.hold_id IS NULL OR u.hold_id <> h.id)) AS customer_taken
               FROM (SELECT 1 AS one) one
               LEFT JOIN voucher_hold h ON h.voucher_id = $1 AND h.cart_ref = $3 AND h.expires_at > $2"
        );
        let (scope, who) = customer.map(|c| (c.scope, c.customer)).unzip();
        let args = args![voucher_id, now, cart_ref, scope, who];
        let row = self.tx.first(&state, args).await?.ok_or(StoreError::Corrupt("no hold state".into()))?;
        let own_hold = match row.opt_int("own_id")? {
            Some(id) => Some(OwnHold { id, expires_at: row.instant("own_end")?, discount: row.money("own_discount")? }),
            None => None,
        };
        let state = UseState {
            other_holds: row.int("other_holds")?,
            other_holds_end: row.opt_instant("other_end")?,
            other_reserved: row.money("other_reserved")?,
            own_hold,
            customer_taken: row.flag("customer_taken")?,
        };
        Ok(Some((locked, state)))
    }

    async fn put_hold(&mut self, hold: &NewHold<'_>) -> Result<Option<i64>, StoreError> {
        let expired = "SELECT id FROM voucher_hold WHERE voucher_id = $1 AND cart_ref = $2";
        if let Some(row) = self.tx.first(expired, args![hold.voucher_id, hold.cart_ref]).await? {
            self.drop_hold(row.int("id")?).await?;
        }
        let insert = "INSERT INTO voucher_hold (voucher_id, cart_ref, created_at, expires_at, discount)
                      VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let args = args![hold.voucher_id, hold.cart_ref, hold.now, hold.expires_at, hold.discount];
        let id = self.tx.first(insert, args).await?.ok_or(StoreError::Corrupt("no hold id".into()))?.int("id")?;
        if let Some(customer) = hold.customer {
            let by = (Some(id), None);
            if !self.claim_customer(hold.voucher_id, customer, hold.now, by, Some(hold.expires_at)).await? {
                return Ok(None);
            }
        }
        self.raise_holds_until(hold.voucher_id, hold.expires_at).await?;
        Ok(Some(id))
    }

    async fn change_hold(
        &mut self,
        voucher_id: i64,
        hold_id: i64,
        expires_at: DateTime<Utc>,
        discount: Money,
    ) -> Result<(), StoreError> {
        let hold = "UPDATE voucher_hold SET expires_at = $1, discount = $2 WHERE id = $3";
        self.tx.run(hold, args![expires_at, discount, hold_id]).await?;
        self.tx.run("UPDATE customer_use SET expires_at = $1 WHERE hold_id = $2", args![expires_at, hold_id]).await?;
        self.raise_holds_until(voucher_id, expires_at).await
    }

    async fn drop_hold(&mut self, hold_id: i64) -> Result<(), StoreError> {
        self.tx.run("DELETE FROM customer_use WHERE hold_id = $1", args![hold_id]).await?;
        self.tx.run("DELETE FROM voucher_hold WHERE id = $1", args![hold_id]).await?;
        Ok(())
    }

    async fn take_use(&mut self, taken: &UseTaken<'_>) -> Result<bool, StoreError> {
        if let Some(hold_id) = taken.hold_id {
            let moved =
                "UPDATE customer_use SET hold_id = NULL, redemption_id = $1, expires_at = NULL WHERE hold_id = $2";
            self.tx.run(moved, args![taken.redemption_id, hold_id]).await?;
            self.tx.run("DELETE FROM voucher_hold WHERE id = $1", args![hold_id]).await?;
        } else if let Some(customer) = taken.customer {
            let by = (None, Some(taken.redemption_id));
            if !self.claim_customer(taken.voucher_id, customer, taken.now, by, None).await? {
                return Ok(false);
            }
        }
        let consume = "UPDATE voucher SET times_used = times_used + 1, budget_used = budget_used + $1, updated_at = $2
                        WHERE id = $3";
        self.tx.run(consume, args![taken.discount, taken.now, taken.voucher_id]).await?;
        let answer = "UPDATE redemption SET response = $1, discount = $2 WHERE id = $3";
        self.tx.run(answer, args![taken.response, taken.discount, taken.redemption_id]).await?;
        Ok(true)
    }

    async fn release_redemption(
        &mut self,
        voucher_id: i64,
        order_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if has_nul(order_ref) {
            return Ok(false);
        }
        let release = "UPDATE redemption SET released_at = $1
                        WHERE voucher_id = $2 AND order_ref = $3 AND released_at IS NULL AND response <> ''
                        RETURNING id, discount";
        let Some(row) = self.tx.first(release, args![now, voucher_id, order_ref]).await? else { return Ok(false) };
        let (id, discount) = (row.int("id")?, row.money("discount")?);
        let give_back = "UPDATE voucher SET times_used = times_used - 1, updated_at = $1,
                                budget_used = CASE WHEN budget_used > $3 THEN budget_used - $3 ELSE 0 END
                          WHERE id = $2 AND times_used > 0";
        self.tx.run(give_back, args![now, voucher_id, discount]).await?;
        self.tx.run("DELETE FROM customer_use WHERE redemption_id = $1", args![id]).await?;
        Ok(true)
    }

    async fn insert_token(&mut self, new: &NewToken<'_>, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let sql = "INSERT INTO api_token (token_hash, scope, conference_id, name, created_at)
                   VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let args = args![new.hash, new.scope.as_str(), new.conference_id, new.name, now];
        self.tx
            .first(sql, args)
            .await?
            .ok_or(StoreError::Corrupt("INSERT ... RETURNING returned no row".into()))?
            .int("id")
    }

    async fn revoke_token(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql = "UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        Ok(self.tx.run(sql, args![now, id]).await? == 1)
    }

    async fn claim_idempotency_key(
        &mut self,
        conference_id: i64,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyClaim, StoreError> {
        // A concurrent claim of the same key waits here until the other transaction ends
        // (PostgreSQL: on the unique index; SQLite: for the write lock); if it committed, DO
        // NOTHING applies and the SELECT (a new snapshot) reads its stored response.
        let claim = "INSERT INTO idempotency_key (conference_id, key, request_hash, response, created_at)
                     VALUES ($1, $2, $3, '', $4) ON CONFLICT (conference_id, key) DO NOTHING RETURNING id";
        if self.tx.first(claim, args![conference_id, key, request_hash, now]).await?.is_some() {
            return Ok(IdempotencyClaim::New);
        }
        let stored = "SELECT request_hash, response FROM idempotency_key WHERE conference_id = $1 AND key = $2";
        let row = self.tx.first(stored, args![conference_id, key]).await?;
        let row = row.ok_or(StoreError::Corrupt("an idempotency key vanished".into()))?;
        Ok(IdempotencyClaim::Existing { request_hash: row.text("request_hash")?, response: row.text("response")? })
    }

    async fn record_idempotent_response(
        &mut self,
        conference_id: i64,
        key: &str,
        response: &str,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE idempotency_key SET response = $1 WHERE conference_id = $2 AND key = $3";
        self.tx.run(sql, args![response, conference_id, key]).await?;
        Ok(())
    }

    async fn lock_voucher(&mut self, conference_id: i64, code: &str) -> Result<Option<VoucherState>, StoreError> {
        if has_nul(code) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {VOUCHER_STATE_COLUMNS} FROM voucher WHERE {}{}",
            code_match(&E::DIALECT),
            E::DIALECT.for_update
        );
        let row = self.tx.first(&sql, args![conference_id, code, crate::domain::fold_key(code)]).await?;
        row.as_ref().map(rows::voucher_state).transpose()
    }

    async fn update_voucher(&mut self, id: i64, change: &VoucherChange, now: DateTime<Utc>) -> Result<(), StoreError> {
        let sql =
            "UPDATE voucher SET is_active = $1, max_uses = $2, valid_from = $3, valid_until = $4, updated_at = $5,
                                      budget = $7
                    WHERE id = $6";
        let args = args![
            change.is_active,
            change.max_uses,
            change.window.from(),
            change.window.until(),
            now,
            id,
            change.budget
        ];
        self.tx.run(sql, args).await?;
        Ok(())
    }

    async fn deactivate_batch(
        &mut self,
        conference_id: i64,
        batch_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let exists = "SELECT id FROM voucher_batch WHERE conference_id = $1 AND id = $2";
        if self.tx.first(exists, args![conference_id, batch_id]).await?.is_none() {
            return Ok(None);
        }
        let sql = "UPDATE voucher SET is_active = false, updated_at = $1
                    WHERE batch_id = $2 AND conference_id = $3 AND is_active";
        Ok(Some(self.tx.run(sql, args![now, batch_id, conference_id]).await?))
    }

    async fn insert_account(
        &mut self,
        email: &str,
        password_hash: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let sql = "INSERT INTO account (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
        let row = self.tx.first(sql, args![email, password_hash, role.as_str(), now]).await?;
        row.ok_or(StoreError::Corrupt("INSERT ... RETURNING returned no row".into()))?.int("id")
    }

    async fn lock_account(&mut self, email: &str) -> Result<Option<Account>, StoreError> {
        if has_nul(email) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM account WHERE {}{}",
            (E::DIALECT.same_text)("email", "$1"),
            E::DIALECT.for_update
        );
        let Some(row) = self.tx.first(&sql, args![email]).await? else { return Ok(None) };
        let conferences = account_conferences(&mut self.tx, row.int("id")?).await?;
        Ok(Some(rows::account(&row, conferences)?))
    }

    async fn lock_account_by_id(&mut self, id: i64) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = $1{}", E::DIALECT.for_update);
        let Some(row) = self.tx.first(&sql, args![id]).await? else { return Ok(None) };
        let conferences = account_conferences(&mut self.tx, id).await?;
        Ok(Some(rows::account(&row, conferences)?))
    }

    async fn revoke_conference(&mut self, account_id: i64, conference_id: i64) -> Result<bool, StoreError> {
        let sql = "DELETE FROM account_conference WHERE account_id = $1 AND conference_id = $2";
        Ok(self.tx.run(sql, args![account_id, conference_id]).await? > 0)
    }

    async fn replace_password_link(
        &mut self,
        account_id: i64,
        link_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.tx.run("DELETE FROM password_link WHERE account_id = $1", args![account_id]).await?;
        let sql = "INSERT INTO password_link (link_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        self.tx.run(sql, args![link_hash, account_id, now, expires_at]).await?;
        Ok(())
    }

    async fn take_password_link(&mut self, link_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        if has_nul(link_hash) {
            return Ok(None);
        }
        let sql = "DELETE FROM password_link WHERE link_hash = $1 AND expires_at > $2 RETURNING account_id";
        self.tx.first(sql, args![link_hash, now]).await?.map(|row| row.int("account_id")).transpose()
    }

    async fn delete_password_links(&mut self, account_id: i64) -> Result<u64, StoreError> {
        self.tx.run("DELETE FROM password_link WHERE account_id = $1", args![account_id]).await
    }

    async fn grant_conference(&mut self, account_id: i64, conference_id: i64) -> Result<(), StoreError> {
        let sql = "INSERT INTO account_conference (account_id, conference_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        self.tx.run(sql, args![account_id, conference_id]).await?;
        Ok(())
    }

    async fn set_password_hash(&mut self, account_id: i64, password_hash: &str) -> Result<(), StoreError> {
        self.tx.run("UPDATE account SET password_hash = $1 WHERE id = $2", args![password_hash, account_id]).await?;
        Ok(())
    }

    async fn disable_account(&mut self, account_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let sql = "UPDATE account SET disabled_at = coalesce(disabled_at, $1) WHERE id = $2";
        self.tx.run(sql, args![now, account_id]).await?;
        Ok(())
    }

    async fn enable_account(&mut self, account_id: i64) -> Result<(), StoreError> {
        self.tx.run("UPDATE account SET disabled_at = NULL WHERE id = $1", args![account_id]).await?;
        Ok(())
    }

    async fn delete_account_sessions(&mut self, account_id: i64) -> Result<u64, StoreError> {
        self.tx.run("DELETE FROM console_session WHERE account_id = $1", args![account_id]).await
    }

    async fn insert_session(
        &mut self,
        token_hash: &str,
        account_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let sql = "INSERT INTO console_session (token_hash, account_id, csrf_token, created_at, last_seen_at)
                   VALUES ($1, $2, $3, $4, $4) RETURNING id";
        let row = self.tx.first(sql, args![token_hash, account_id, csrf_token, now]).await?;
        row.ok_or(StoreError::Corrupt("INSERT ... RETURNING returned no row".into()))?.int("id")
    }

    async fn touch_session(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.tx.run("UPDATE console_session SET last_seen_at = $1 WHERE id = $2", args![now, id]).await?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        if has_nul(token_hash) {
            return Ok(());
        }
        self.tx.run("DELETE FROM console_session WHERE token_hash = $1", args![token_hash]).await?;
        Ok(())
    }

    async fn unassigned_vouchers(&mut self, batch_id: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let sql = format!(
            "SELECT id, code FROM voucher
              WHERE batch_id = $1 AND recipient_email IS NULL AND is_active AND times_used = 0
              ORDER BY id LIMIT $2{}",
            E::DIALECT.skip_locked
        );
        let found = self.tx.all(&sql, args![batch_id, limit]).await?;
        found.iter().map(|row| Ok((row.int("id")?, row.text("code")?))).collect()
    }

    async fn assign_recipients(
        &mut self,
        assignments: &[(i64, &Recipient)],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if assignments.is_empty() {
            return Ok(0);
        }
        // One statement: the rows go in as one JSON array.
        let rows: Vec<(i64, &str, &str, String)> =
            assignments.iter().map(|(id, r)| (*id, r.email.as_str(), r.name.as_str(), r.tags_json())).collect();
        let sql = format!(
            "UPDATE voucher
                SET recipient_email = a.email, recipient_name = a.name, recipient_tags = a.tags, assigned_at = $2,
                    updated_at = $2
               FROM (SELECT CAST(value ->> 0 AS BIGINT) AS id, CAST(value ->> 1 AS TEXT) AS email,
                            CAST(value ->> 2 AS TEXT) AS name, CAST(value ->> 3 AS TEXT) AS tags
                       FROM {}) AS a
              WHERE voucher.id = a.id AND voucher.recipient_email IS NULL",
            (E::DIALECT.json_rows)("$1")
        );
        self.tx.run(&sql, vec![json_rows(&rows)?, now.into()]).await
    }

    async fn vouchers_awaiting_message(
        &mut self,
        batch_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<MessageVoucher>, StoreError> {
        let sql = format!(
            "SELECT id, batch_id, code, voucher_type, {} AS discount, valid_until, recipient_email, recipient_name,
                    recipient_tags
               FROM voucher
              WHERE batch_id = $1 AND recipient_email IS NOT NULL AND id > $2
                AND NOT EXISTS (SELECT 1 FROM outbox_message m WHERE m.voucher_id = voucher.id)
              ORDER BY id LIMIT $3",
            E::DIALECT.discount
        );
        self.tx.all(&sql, args![batch_id, after_id, limit]).await?.iter().map(rows::message_voucher).collect()
    }

    async fn queue_messages(&mut self, messages: &[NewMessage<'_>], now: DateTime<Utc>) -> Result<u64, StoreError> {
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
        let sql = format!(
            "INSERT INTO outbox_message (conference_id, batch_id, voucher_id, recipient_email, recipient_name,
                 subject, body_text, body_html, message_key, status, attempts, attempt_limit, next_attempt_at,
                 created_at, updated_at)
             SELECT CAST(value ->> 0 AS BIGINT), CAST(value ->> 1 AS BIGINT), CAST(value ->> 2 AS BIGINT),
                    CAST(value ->> 3 AS TEXT), CAST(value ->> 4 AS TEXT), CAST(value ->> 5 AS TEXT),
                    CAST(value ->> 6 AS TEXT), CAST(value ->> 7 AS TEXT), CAST(value ->> 8 AS TEXT), 'queued', 0,
                    CAST(value ->> 9 AS BIGINT), $2, $2, $2
               FROM {} WHERE true
             ON CONFLICT (voucher_id) DO NOTHING",
            (E::DIALECT.json_rows)("$1")
        );
        self.tx.run(&sql, vec![json_rows(&rows)?, now.into()]).await
    }

    async fn retry_message(&mut self, conference_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let sql = "UPDATE outbox_message
                      SET status = 'queued', next_attempt_at = $3, attempt_limit = attempts + attempt_limit,
                          updated_at = $3
                    WHERE conference_id = $1 AND id = $2 AND status = 'failed'";
        Ok(self.tx.run(sql, args![conference_id, id, now]).await? == 1)
    }

    async fn catalog_slugs(&mut self, conference_id: i64) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut slugs = (Vec::new(), Vec::new());
        for (table, into) in [("ticket_type", &mut slugs.0), ("addon", &mut slugs.1)] {
            let sql = format!("SELECT slug FROM {table} WHERE conference_id = $1 ORDER BY slug");
            for row in self.tx.all(&sql, args![conference_id]).await? {
                into.push(row.text("slug")?);
            }
        }
        Ok(slugs)
    }

    async fn set_batch_label(
        &mut self,
        conference_id: i64,
        batch_id: i64,
        label: &crate::domain::BatchLabel,
    ) -> Result<bool, StoreError> {
        let changed = self
            .tx
            .run(
                "UPDATE voucher_batch SET name = $3, note = $4 WHERE conference_id = $1 AND id = $2",
                args![conference_id, batch_id, label.name.as_str(), label.note.as_str()],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn set_batch_count(&mut self, batch_id: i64, count: i64) -> Result<(), StoreError> {
        self.tx.run("UPDATE voucher_batch SET count = $2 WHERE id = $1", args![batch_id, count]).await?;
        Ok(())
    }

    async fn set_usage(&mut self, usage: &[(i64, i64, bool)]) -> Result<(), StoreError> {
        if usage.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE voucher SET times_used = u.used, is_active = u.active
               FROM (SELECT CAST(value ->> 0 AS BIGINT) AS id, CAST(value ->> 1 AS BIGINT) AS used,
                            CAST(value ->> 2 AS BOOLEAN) AS active
                       FROM {}) AS u
              WHERE voucher.id = u.id",
            (E::DIALECT.json_rows)("$1")
        );
        self.tx.run(&sql, vec![json_rows(usage)?]).await?;
        Ok(())
    }

    async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO audit_log (at, conference_id, actor_kind, actor_id, actor_name, action, target, changes)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let args = args![
            entry.at,
            entry.conference_id,
            self.actor.kind(),
            self.actor.id(),
            self.actor.name().map(|n| n.replace('\0', "")),
            entry.action,
            entry.target.replace('\0', ""),
            entry.changes.to_string(),
        ];
        self.tx.run(sql, args).await?;
        Ok(())
    }

    async fn finish_outbox(
        &mut self,
        id: i64,
        attempt: i64,
        result: &DeliveryResult<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        super::store::finish_outbox(&mut self.tx, id, attempt, result, now).await
    }

    async fn outbox_message(&mut self, id: i64) -> Result<Option<(i64, String, OutboxMessage)>, StoreError> {
        let sql = format!("{OUTBOX_SELECT} JOIN conference c ON c.id = m.conference_id WHERE m.id = $1");
        let Some(row) = self
            .tx
            .first(&sql.replacen("SELECT ", "SELECT c.id AS conference_id, c.slug AS conference_slug, ", 1), args![id])
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((row.int("conference_id")?, row.text("conference_slug")?, rows::outbox_message(&row)?)))
    }

    async fn voucher(&mut self, conference: &Conference, id: i64) -> Result<Option<Voucher>, StoreError> {
        let sql = format!("SELECT {} FROM voucher WHERE conference_id = $1 AND id = $2", voucher_columns(&E::DIALECT));
        let found = self.tx.all(&sql, args![conference.id, id]).await?;
        let sets = restriction_slugs::<E, _>(&mut self.tx, &found).await?;
        found.first().map(|row| rows::voucher(conference, &sets, row)).transpose()
    }

    async fn batch(&mut self, conference: &Conference, id: i64) -> Result<Option<Batch>, StoreError> {
        let sql =
            format!("SELECT {} FROM voucher_batch WHERE conference_id = $1 AND id = $2", batch_columns(&E::DIALECT));
        let found = self.tx.all(&sql, args![conference.id, id]).await?;
        let sets = restriction_slugs::<E, _>(&mut self.tx, &found).await?;
        found.first().map(|row| rows::batch(conference, &sets, row)).transpose()
    }

    async fn insert_allotment(&mut self, new: &NewAllotment<'_>) -> Result<i64, StoreError> {
        allotments::insert_allotment(&mut self.tx, new).await
    }

    async fn allotment(&mut self, conference_id: i64, id: i64) -> Result<Option<Allotment>, StoreError> {
        Ok(allotments::allotments(&mut self.tx, conference_id, Some(id)).await?.pop())
    }

    async fn allotment_template(
        &mut self,
        id: i64,
    ) -> Result<(Option<String>, Option<String>, Option<String>), StoreError> {
        allotments::allotment_template(&mut self.tx, id).await
    }

    async fn take_seats(&mut self, id: i64, n: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        allotments::take_seats(&mut self.tx, id, n, now).await
    }

    async fn give_back_seat(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        allotments::give_back_seat(&mut self.tx, id, now).await
    }

    async fn end_attendee(&mut self, batch_id: i64, voucher_id: i64) -> Result<Option<(String, String)>, StoreError> {
        allotments::end_attendee(&mut self.tx, batch_id, voucher_id).await
    }

    async fn set_allotment_deadline(
        &mut self,
        conference_id: i64,
        id: i64,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        allotments::set_deadline(&mut self.tx, conference_id, id, deadline, now).await
    }

    async fn resize_allotment(
        &mut self,
        conference_id: i64,
        id: i64,
        seats: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        allotments::resize(&mut self.tx, conference_id, id, seats, now).await
    }

    async fn set_allotment_link(
        &mut self,
        conference_id: i64,
        id: i64,
        link_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        allotments::set_link(&mut self.tx, conference_id, id, link_hash, now).await
    }

    async fn close_allotment(&mut self, id: i64, now: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        allotments::close(&mut self.tx, id, now).await
    }

    async fn record_reminder(
        &mut self,
        id: i64,
        days: &[i64],
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        allotments::record_reminder(&mut self.tx, id, days, deadline, now).await
    }

    async fn insert_sponsor_session(
        &mut self,
        token_hash: &str,
        allotment_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        allotments::insert_sponsor_session(&mut self.tx, token_hash, allotment_id, csrf_token, now).await
    }

    async fn delete_sponsor_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        if has_nul(token_hash) {
            return Ok(());
        }
        allotments::delete_sponsor_session(&mut self.tx, token_hash).await
    }

    async fn insert_webhook(&mut self, new: &NewWebhook<'_>) -> Result<i64, StoreError> {
        webhooks::insert_webhook(&mut self.tx, new).await
    }

    async fn set_webhook_enabled(
        &mut self,
        conference_id: i64,
        id: i64,
        enabled: bool,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        webhooks::set_webhook_enabled(&mut self.tx, conference_id, id, enabled, reason, now).await
    }

    async fn rotate_webhook_secret(
        &mut self,
        conference_id: i64,
        id: i64,
        secret: &WebhookSecret,
        old_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        webhooks::rotate_webhook_secret(&mut self.tx, conference_id, id, secret, old_until, now).await
    }

    async fn queue_event(&mut self, event: &NewEvent<'_>) -> Result<u64, StoreError> {
        webhooks::queue_event(&mut self.tx, event).await
    }

    async fn redeliver(&mut self, conference_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        webhooks::redeliver(&mut self.tx, conference_id, id, now).await
    }

    async fn record_attempts(
        &mut self,
        owner: &str,
        webhook_id: i64,
        attempts: &[(i64, AttemptResult<'_>)],
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        webhooks::record_attempts(&mut self.tx, &E::DIALECT, owner, webhook_id, attempts, now, lease_until).await
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        E::commit(self.tx).await
    }

    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        E::rollback(self.tx).await
    }
}
