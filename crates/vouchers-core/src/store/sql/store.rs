//! [`Store`] for every [`Engine`]: the reads, and the writes that need no transaction of the
//! caller's, written once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{allotments, args, batch_columns, code_match, has_nul, reports, voucher_columns, webhooks, Conn, Engine};
use crate::domain::Delivery;
use crate::domain::{
    fold_key, Account, Actor, AddOn, Allotment, ApiToken, Attendee, AuditRecord, Batch, BatchFunnel, CodeFormat,
    Conference, Money, OutboxMessage, RedemptionEntry, TicketType, UseState, Voucher, Webhook,
};
use crate::store::rows::{
    self, RestrictionSets, StoredRow, ACCOUNT_COLUMNS, AUDIT_COLUMNS, CLAIMED_COLUMNS, CONFERENCE_COLUMNS,
    OUTBOX_SELECT, SESSION_COLUMNS, TOKEN_SELECT,
};
use crate::store::{
    AuditFilter, Backend, CheckoutKey, CheckoutView, ClaimedMessage, ClaimedWebhook, DeliveryFilter, DeliveryResult,
    DueDelivery, NewRedemption, OutboxFilter, RedeemOutcome, RedemptionFilter, RedemptionRecord, Store, StoreError,
    StoreTx, StoredAccount, StoredPasswordLink, StoredSession, StoredSponsorSession, UsageRow, VoucherFilter,
    VoucherOrder,
};

/// The conference with this slug.
pub(super) async fn conference_by_slug<C: Conn>(conn: &mut C, slug: &str) -> Result<Option<Conference>, StoreError> {
    if has_nul(slug) {
        return Ok(None);
    }
    let sql = format!("SELECT {CONFERENCE_COLUMNS} FROM conference WHERE slug = $1");
    conn.first(&sql, args![slug]).await?.as_ref().map(rows::conference).transpose()
}

/// The slugs of the conferences an account is granted, sorted.
pub(super) async fn account_conferences<C: Conn>(conn: &mut C, account_id: i64) -> Result<Vec<String>, StoreError> {
    let sql = "SELECT c.slug FROM account_conference ac JOIN conference c ON c.id = ac.conference_id
                WHERE ac.account_id = $1 ORDER BY c.slug";
    conn.all(sql, args![account_id]).await?.iter().map(|row| row.text("slug")).collect()
}

/// The slugs of the restriction sets of `found` rows, in one query.
pub(super) async fn restriction_slugs<E: Engine, C: Conn<Row = E::Row>>(
    conn: &mut C,
    found: &[E::Row],
) -> Result<RestrictionSets, StoreError> {
    let set_ids = rows::set_ids_of(found)?;
    if set_ids.is_empty() {
        return Ok(RestrictionSets::new());
    }
    let within = (E::DIALECT.in_list)("$1");
    let sql = format!(
        "SELECT l.restriction_set_id AS set_id, false AS is_addon, t.slug
           FROM restriction_set_ticket_type l JOIN ticket_type t ON t.id = l.ticket_type_id
          WHERE l.restriction_set_id {within}
         UNION ALL
         SELECT l.restriction_set_id, true, a.slug
           FROM restriction_set_addon l JOIN addon a ON a.id = l.addon_id
          WHERE l.restriction_set_id {within}"
    );
    let found = conn.all(&sql, args![set_ids.as_slice()]).await?;
    let slugs: Vec<(i64, bool, String)> = found
        .iter()
        .map(|row| Ok((row.int("set_id")?, row.flag("is_addon")?, row.text("slug")?)))
        .collect::<Result<_, StoreError>>()?;
    Ok(rows::group_restrictions(slugs))
}

/// An account row (`ACCOUNT_COLUMNS`) with its conferences.
async fn account_of<C: Conn>(conn: &mut C, row: &C::Row) -> Result<Account, StoreError> {
    let conferences = account_conferences(conn, row.int("id")?).await?;
    rows::account(row, conferences)
}

#[async_trait]
impl<E: Engine> Store for E {
    fn backend(&self) -> Backend {
        E::BACKEND
    }

    async fn begin_as(&self, actor: &Actor) -> Result<Box<dyn StoreTx>, StoreError> {
        Ok(Box::new(super::tx::SqlTx::<E>::new(self.begin().await?, actor.clone())))
    }

    async fn redeem_as(&self, actor: &Actor, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError> {
        Engine::redeem_as(self, actor, new).await
    }

    async fn audit_log(&self, conference_id: i64, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        if filter.action.as_deref().is_some_and(has_nul) || filter.actor.as_deref().is_some_and(has_nul) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
              WHERE conference_id = $1 AND ($2 IS NULL OR at >= $2) AND ($3 IS NULL OR at < $3)
                AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR {actor}) AND ($6 IS NULL OR id < $6)
              ORDER BY id DESC LIMIT $7",
            actor = (E::DIALECT.starts_like)("actor_name", "$5"),
        );
        let actor = filter.actor.as_deref().map(|a| format!("%{}", rows::like_prefix(a)));
        let limit = filter.limit.clamp(0, AuditFilter::MAX_PAGE);
        let args =
            args![conference_id, filter.since, filter.until, filter.action.as_deref(), actor, filter.before_id, limit];
        self.reader().all(&sql, args).await?.iter().map(rows::audit_record).collect()
    }

    async fn conference(&self, slug: &str) -> Result<Option<Conference>, StoreError> {
        conference_by_slug(&mut self.reader(), slug).await
    }

    async fn conferences(&self) -> Result<Vec<Conference>, StoreError> {
        let sql = format!("SELECT {CONFERENCE_COLUMNS} FROM conference ORDER BY slug");
        self.reader().all(&sql, args![]).await?.iter().map(rows::conference).collect()
    }

    async fn ticket_types(&self, conference: &Conference) -> Result<Vec<TicketType>, StoreError> {
        let sql = format!(
            "SELECT id, slug, name, {} AS price, requires_voucher, is_active FROM ticket_type
              WHERE conference_id = $1 ORDER BY slug",
            E::DIALECT.price
        );
        let found = self.reader().all(&sql, args![conference.id]).await?;
        found.iter().map(|row| rows::ticket_type(conference, row)).collect()
    }

    async fn addons(&self, conference: &Conference) -> Result<Vec<AddOn>, StoreError> {
        let sql = format!(
            "SELECT id, slug, name, {} AS price, is_active FROM addon WHERE conference_id = $1 ORDER BY slug",
            E::DIALECT.price
        );
        let found = self.reader().all(&sql, args![conference.id]).await?;
        found.iter().map(|row| rows::addon(conference, row)).collect()
    }

    async fn vouchers(&self, conference: &Conference, filter: &VoucherFilter) -> Result<Vec<Voucher>, StoreError> {
        let after_code = match &filter.order {
            VoucherOrder::Code { after } => after.as_deref(),
            _ => None,
        };
        if filter.recipient_email.as_deref().is_some_and(has_nul) || after_code.is_some_and(has_nul) {
            return Ok(Vec::new());
        }
        let d = &E::DIALECT;
        let (page, order) = match filter.order {
            VoucherOrder::Oldest => ("id > $5 AND $11 IS NULL".to_owned(), "id".to_owned()),
            VoucherOrder::Newest => {
                let page = if filter.after_id.is_some() { "id < $5" } else { "$5 = 0" };
                (format!("{page} AND $11 IS NULL"), "id DESC".to_owned())
            }
            VoucherOrder::Code { .. } => (
                super::when_given(after_code.is_some(), &format!("{} > $11", (d.bytewise)("code")), "$11"),
                (d.bytewise)("code"),
            ),
        };
        // A batch's vouchers are read through the batch's index, in id order (not the whole
        // conference's, sorted).
        let (in_conference, batch) = match filter.batch_id {
            Some(_) => (format!("{}conference_id = $1", d.not_by_index), "batch_id = $3"),
            None => ("conference_id = $1".to_owned(), "$3 IS NULL"),
        };
        let sql = format!(
            "SELECT {columns} FROM voucher
              WHERE {in_conference}
                AND {prefix}
                AND {batch}
                AND ($4 IS NULL OR is_active = $4)
                AND {page}
                AND ($7 IS NULL OR coalesce({refusal}, 'active') = $7)
                AND ($9 IS NULL OR recipient_email = $9)
                AND (NOT $10 OR (recipient_email IS NOT NULL
                                 AND NOT EXISTS (SELECT 1 FROM outbox_message m WHERE m.voucher_id = voucher.id)))
              ORDER BY {order}
              LIMIT $6",
            columns = voucher_columns(d),
            prefix = super::when_given(filter.prefix.is_some(), &(d.starts_like)("code", "$2"), "$2"),
            refusal = super::refusal("voucher", "$8"),
        );
        let args = args![
            conference.id,
            filter.prefix.as_ref().map(|p| rows::like_prefix(p.as_str())),
            filter.batch_id,
            filter.active,
            filter.after_id.unwrap_or(0),
            filter.limit.unwrap_or(i64::MAX),
            filter.status.map(|(s, _)| s.as_str()),
            filter.status.map(|(_, at)| at),
            filter.recipient_email.as_deref(),
            filter.awaiting_message,
            after_code,
        ];
        let mut reader = self.reader();
        let found = reader.all(&sql, args).await?;
        let sets = restriction_slugs::<E, _>(&mut reader, &found).await?;
        found.iter().map(|row| rows::voucher(conference, &sets, row)).collect()
    }

    async fn checkout_view(&self, key: &CheckoutKey<'_>) -> Result<CheckoutView, StoreError> {
        Engine::checkout_view(self, key).await
    }

    async fn live_holds(&self, voucher_id: i64, now: DateTime<Utc>) -> Result<UseState, StoreError> {
        let sql = "SELECT count(*) AS n, min(expires_at) AS first_end, coalesce(sum(discount), 0) AS reserved
                     FROM voucher_hold WHERE voucher_id = $1 AND expires_at > $2";
        let row =
            self.reader().first(sql, args![voucher_id, now]).await?.ok_or(StoreError::Corrupt("no count".into()))?;
        Ok(UseState {
            other_holds: row.int("n")?,
            other_holds_end: row.opt_instant("first_end")?,
            other_reserved: row.money("reserved")?,
            ..UseState::default()
        })
    }

    async fn voucher_by_code(&self, conference: &Conference, code: &str) -> Result<Option<Voucher>, StoreError> {
        if has_nul(code) {
            return Ok(None);
        }
        let sql = format!("SELECT {} FROM voucher WHERE {}", voucher_columns(&E::DIALECT), code_match(&E::DIALECT));
        let mut reader = self.reader();
        let found = reader.all(&sql, args![conference.id, code, fold_key(code)]).await?;
        let sets = restriction_slugs::<E, _>(&mut reader, &found).await?;
        found.first().map(|row| rows::voucher(conference, &sets, row)).transpose()
    }

    async fn batch(&self, conference: &Conference, id: i64) -> Result<Option<Batch>, StoreError> {
        let sql =
            format!("SELECT {} FROM voucher_batch WHERE conference_id = $1 AND id = $2", batch_columns(&E::DIALECT));
        let mut reader = self.reader();
        let found = reader.all(&sql, args![conference.id, id]).await?;
        let sets = restriction_slugs::<E, _>(&mut reader, &found).await?;
        found.first().map(|row| rows::batch(conference, &sets, row)).transpose()
    }

    async fn batches(&self, conference: &Conference, after_id: i64, limit: i64) -> Result<Vec<Batch>, StoreError> {
        let sql = format!(
            "SELECT {} FROM voucher_batch WHERE conference_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            batch_columns(&E::DIALECT)
        );
        let mut reader = self.reader();
        let found = reader.all(&sql, args![conference.id, after_id, limit]).await?;
        let sets = restriction_slugs::<E, _>(&mut reader, &found).await?;
        found.iter().map(|row| rows::batch(conference, &sets, row)).collect()
    }

    async fn check_formats(&self, conference_id: i64) -> Result<Vec<(String, CodeFormat)>, StoreError> {
        let sql = "SELECT DISTINCT prefix, alphabet, CAST(code_length AS BIGINT) AS code_length, check_char
                     FROM voucher_batch WHERE conference_id = $1 AND check_char AND source = 'generate'";
        let found = self.reader().all(sql, args![conference_id]).await?;
        found
            .iter()
            .map(|row| {
                let format =
                    rows::code_format(&row.text("alphabet")?, row.int("code_length")?, row.flag("check_char")?)?;
                Ok((row.text("prefix")?, format))
            })
            .collect()
    }

    async fn usage(&self, conference: &Conference) -> Result<Vec<UsageRow>, StoreError> {
        reports::usage(&mut self.reader(), &E::DIALECT, conference.id).await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        if has_nul(hash) {
            return Ok(None);
        }
        let sql = format!("{TOKEN_SELECT} WHERE t.token_hash = $1 AND t.revoked_at IS NULL");
        self.reader().first(&sql, args![hash]).await?.as_ref().map(rows::token).transpose()
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("{TOKEN_SELECT} ORDER BY t.id");
        self.reader().all(&sql, args![]).await?.iter().map(rows::token).collect()
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<StoredAccount>, StoreError> {
        if has_nul(email) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, password_hash FROM account WHERE {}",
            (E::DIALECT.same_text)("email", "$1")
        );
        let mut reader = self.reader();
        let Some(row) = reader.first(&sql, args![email]).await? else { return Ok(None) };
        Ok(Some(StoredAccount {
            account: account_of(&mut reader, &row).await?,
            password_hash: row.text("password_hash")?,
        }))
    }

    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = $1");
        let mut reader = self.reader();
        let Some(row) = reader.first(&sql, args![id]).await? else { return Ok(None) };
        Ok(Some(account_of(&mut reader, &row).await?))
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account ORDER BY email");
        let mut reader = self.reader();
        let found = reader.all(&sql, args![]).await?;
        let mut accounts = Vec::with_capacity(found.len());
        for row in &found {
            accounts.push(account_of(&mut reader, row).await?);
        }
        Ok(accounts)
    }

    async fn session_by_hash(&self, hash: &str) -> Result<Option<StoredSession>, StoreError> {
        if has_nul(hash) {
            return Ok(None);
        }
        let sql = format!("SELECT {SESSION_COLUMNS} FROM console_session WHERE token_hash = $1");
        self.reader().first(&sql, args![hash]).await?.as_ref().map(rows::session).transpose()
    }

    async fn password_link(&self, hash: &str) -> Result<Option<StoredPasswordLink>, StoreError> {
        if has_nul(hash) {
            return Ok(None);
        }
        let sql = "SELECT account_id, created_at, expires_at FROM password_link WHERE link_hash = $1";
        let Some(row) = self.reader().first(sql, args![hash]).await? else { return Ok(None) };
        Ok(Some(StoredPasswordLink {
            account_id: row.int("account_id")?,
            created_at: row.instant("created_at")?,
            expires_at: row.instant("expires_at")?,
        }))
    }

    async fn failed_lookups(
        &self,
        token_id: i64,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        let sql = "SELECT count(*) AS n, min(at) AS oldest FROM failed_lookup
                    WHERE token_id = $1 AND address = $2 AND at > $3";
        match self.reader().first(sql, args![token_id, address, since]).await? {
            Some(row) => Ok((row.int("n")?, row.opt_instant("oldest")?)),
            None => Ok((0, None)),
        }
    }

    async fn record_failed_lookup(
        &self,
        token_id: i64,
        address: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let forget = "DELETE FROM failed_lookup WHERE token_id = $1 AND address = $2 AND at < $3";
        writer.run(forget, args![token_id, address, forget_before]).await?;
        let record = "INSERT INTO failed_lookup (token_id, address, at) VALUES ($1, $2, $3)";
        writer.run(record, args![token_id, address, at]).await?;
        Ok(())
    }

    async fn prune_failed_lookups(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.writer().await?.run("DELETE FROM failed_lookup WHERE at < $1", args![before]).await
    }

    async fn failed_sign_ins(
        &self,
        [first, second]: [&str; 2],
        since: DateTime<Utc>,
    ) -> Result<[(i64, Option<DateTime<Utc>>); 2], StoreError> {
        let sql = "SELECT count(CASE WHEN key = $1 THEN 1 END) AS n1, min(CASE WHEN key = $1 THEN at END) AS oldest1,
                          count(CASE WHEN key = $2 THEN 1 END) AS n2, min(CASE WHEN key = $2 THEN at END) AS oldest2
                     FROM failed_sign_in WHERE (key = $1 OR key = $2) AND at > $3";
        match self.reader().first(sql, args![first, second, since]).await? {
            Some(row) => {
                Ok([(row.int("n1")?, row.opt_instant("oldest1")?), (row.int("n2")?, row.opt_instant("oldest2")?)])
            }
            None => Ok([(0, None), (0, None)]),
        }
    }

    async fn record_failed_sign_in(
        &self,
        [first, second]: [&str; 2],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut writer = self.writer().await?;
        let forget = "DELETE FROM failed_sign_in WHERE (key = $1 OR key = $2) AND at < $3";
        writer.run(forget, args![first, second, forget_before]).await?;
        let record = "INSERT INTO failed_sign_in (key, at) VALUES ($1, $3), ($2, $3)";
        writer.run(record, args![first, second, at]).await?;
        Ok(())
    }

    async fn prune_failed_sign_ins(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.writer().await?.run("DELETE FROM failed_sign_in WHERE at < $1", args![before]).await
    }

    async fn prune_holds(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let claims = "DELETE FROM customer_use WHERE hold_id IN (SELECT id FROM voucher_hold WHERE expires_at < $1)";
        tx.run(claims, args![before]).await?;
        let pruned = tx.run("DELETE FROM voucher_hold WHERE expires_at < $1", args![before]).await?;
        E::commit(tx).await?;
        Ok(pruned)
    }

    async fn redemptions(&self, voucher_id: i64) -> Result<Vec<RedemptionRecord>, StoreError> {
        let sql = "SELECT order_ref, redeemed_at, released_at FROM redemption
                    WHERE voucher_id = $1 AND response <> '' ORDER BY redeemed_at DESC, id DESC";
        self.reader().all(sql, args![voucher_id]).await?.iter().map(rows::redemption).collect()
    }

    async fn outbox(&self, conference_id: i64, filter: &OutboxFilter) -> Result<Vec<OutboxMessage>, StoreError> {
        let sql = format!(
            "{OUTBOX_SELECT} WHERE m.conference_id = $1 AND ($2 IS NULL OR m.batch_id = $2)
                AND ($3 IS NULL OR m.status = $3) AND m.id > $4 ORDER BY m.id LIMIT $5"
        );
        let args =
            args![conference_id, filter.batch_id, filter.status.map(|s| s.as_str()), filter.after_id, filter.limit];
        self.reader().all(&sql, args).await?.iter().map(rows::outbox_message).collect()
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let sql = format!(
            "UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, lease_until = $2, updated_at = $1
              WHERE id IN (SELECT id FROM outbox_message
                            WHERE (status = 'queued' AND next_attempt_at <= $1)
                               OR (status = 'sending' AND lease_until < $1)
                            ORDER BY id LIMIT $3{})
             RETURNING {CLAIMED_COLUMNS}",
            E::DIALECT.skip_locked
        );
        let found = self.writer().await?.all(&sql, args![now, lease_until, limit]).await?;
        let mut claimed: Vec<ClaimedMessage> = found.iter().map(rows::claimed_message).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    async fn finish_outbox(
        &self,
        id: i64,
        attempt: i64,
        result: &DeliveryResult<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        finish_outbox(&mut self.writer().await?, id, attempt, result, now).await
    }

    async fn webhooks(&self, conference_id: i64, id: Option<i64>) -> Result<Vec<Webhook>, StoreError> {
        webhooks::webhooks(&mut self.reader(), conference_id, id).await
    }

    async fn deliveries(&self, conference_id: i64, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        webhooks::deliveries(&mut self.reader(), conference_id, filter).await
    }

    async fn claim_webhooks(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedWebhook>, StoreError> {
        webhooks::claim_webhooks(&mut self.writer().await?, &E::DIALECT, owner, now, lease_until, limit).await
    }

    async fn pending_deliveries(
        &self,
        webhook_id: i64,
        owner: &str,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        webhooks::pending_deliveries(&mut self.reader(), webhook_id, owner, limit).await
    }

    async fn release_webhook(&self, webhook_id: i64, owner: &str) -> Result<(), StoreError> {
        webhooks::release_webhook(&mut self.writer().await?, webhook_id, owner).await
    }

    async fn allotments(&self, conference_id: i64, id: Option<i64>) -> Result<Vec<Allotment>, StoreError> {
        allotments::allotments(&mut self.reader(), conference_id, id).await
    }

    async fn allotment_by_id(&self, id: i64) -> Result<Option<(i64, Allotment)>, StoreError> {
        allotments::allotment_by_id(&mut self.reader(), id).await
    }

    async fn open_allotments(&self, until: DateTime<Utc>, limit: i64) -> Result<Vec<(i64, Allotment)>, StoreError> {
        allotments::open_allotments(&mut self.reader(), until, limit).await
    }

    async fn attendees(&self, batch_id: i64) -> Result<Vec<Attendee>, StoreError> {
        allotments::attendees(&mut self.reader(), batch_id).await
    }

    async fn allotment_by_link(&self, link_hash: &str) -> Result<Option<i64>, StoreError> {
        if has_nul(link_hash) {
            return Ok(None);
        }
        allotments::allotment_by_link(&mut self.reader(), link_hash).await
    }

    async fn sponsor_session(&self, token_hash: &str) -> Result<Option<StoredSponsorSession>, StoreError> {
        if has_nul(token_hash) {
            return Ok(None);
        }
        allotments::sponsor_session(&mut self.reader(), token_hash).await
    }

    async fn batch_funnel(&self, conference_id: i64) -> Result<Vec<BatchFunnel>, StoreError> {
        reports::batch_funnel(&mut self.reader(), &E::DIALECT, conference_id).await
    }

    async fn redemption_buckets(
        &self,
        conference_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64, Money)>, StoreError> {
        reports::redemption_buckets(&mut self.reader(), &E::DIALECT, conference_id, from, to).await
    }

    async fn redemption_log(
        &self,
        conference_id: i64,
        filter: &RedemptionFilter,
    ) -> Result<Vec<RedemptionEntry>, StoreError> {
        if filter.search.as_deref().is_some_and(has_nul) {
            return Ok(Vec::new());
        }
        reports::redemption_log(&mut self.reader(), &E::DIALECT, conference_id, filter).await
    }

    async fn backup_into(&self, path: &str) -> Result<(), StoreError> {
        Engine::backup_into(self, path).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.reader().run("SELECT 1", args![]).await?;
        Ok(())
    }

    async fn close(&self) {
        Engine::close(self).await
    }
}

/// Records the result of attempt `attempt` of outbox message `id` (see
/// [`Store::finish_outbox`]), on the writer or in a transaction.
pub(super) async fn finish_outbox<C: Conn>(
    conn: &mut C,
    id: i64,
    attempt: i64,
    result: &DeliveryResult<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // A server's answer may hold NUL, which PostgreSQL text cannot.
    let clean = |text: &str| text.replace('\0', " ");
    let (status, sent_at, next, error) = match result {
        DeliveryResult::Sent => ("sent", Some(now), None, None),
        DeliveryResult::Retry { error, at } => ("queued", None, Some(*at), Some(clean(error))),
        DeliveryResult::Failed { error } => ("failed", None, None, Some(clean(error))),
        DeliveryResult::Unsent => ("queued", None, None, None),
    };
    let unsent = matches!(result, DeliveryResult::Unsent);
    let sql = "UPDATE outbox_message
                  SET status = $3, sent_at = $4, next_attempt_at = coalesce($5, next_attempt_at),
                      last_error = CASE WHEN $8 THEN last_error ELSE $6 END,
                      attempts = attempts - CASE WHEN $8 THEN 1 ELSE 0 END,
                      lease_until = NULL, updated_at = $7
                WHERE id = $1 AND attempts = $2 AND status = 'sending'";
    let done = conn.run(sql, args![id, attempt, status, sent_at, next, error, now, unsent]).await?;
    Ok(done == 1)
}
