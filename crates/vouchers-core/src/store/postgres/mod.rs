//! The PostgreSQL store: what a deployment with several service instances uses.
//!
//! Native types (`timestamptz`, `numeric(10,2)`, `date`, `boolean`). Migrations run under an
//! advisory lock, so instances starting together apply each once. Write transactions run at READ
//! COMMITTED; every rule a race could break is decided by a unique index or one conditional
//! UPDATE, and a statement that meets a row held by a concurrent transaction waits for it.
//!
//! This file opens the store and answers the reads; `tx.rs` is the write transaction and
//! `insert.rs` the bulk insert of a chunk of codes.

mod insert;
mod outbox;
mod redeem;
mod tx;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Connection, Executor, PgConnection, PgPool, Postgres};

use super::rows::{
    self, plain_columns, RestrictionSets, StoredRow, ACCOUNT_COLUMNS, AUDIT_COLUMNS, CONFERENCE_COLUMNS,
    SESSION_COLUMNS, TOKEN_SELECT,
};
use super::{
    AuditFilter, Backend, CheckoutKey, CheckoutView, ClaimedMessage, DatabaseUrl, DeliveryResult, NewRedemption,
    OutboxFilter, RedeemOutcome, RedemptionRecord, Store, StoreError, StoreTx, StoredAccount, StoredSession, UsageRow,
    VoucherFilter,
};
use crate::domain::{
    fold_key, Account, Actor, AddOn, ApiToken, AuditRecord, Batch, CodeFormat, Conference, Money, OutboxMessage,
    TicketType, Voucher,
};

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The columns of a voucher, the amount renamed as the shared mapper reads it.
const VOUCHER_COLUMNS: &str = "id, code, voucher_type, discount_value AS discount, max_uses, times_used, \
     valid_from, valid_until, unlocks_hidden_tickets, is_active, restriction_set_id, batch_id, created_at, \
     recipient_email, recipient_name, recipient_tags";

/// The columns of a batch, the amount renamed as the shared mapper reads it.
const BATCH_COLUMNS: &str = "id, prefix, count, voucher_type, discount_value AS discount, max_uses, valid_from, \
     valid_until, unlocks_hidden_tickets, restriction_set_id, created_at, source, alphabet, code_length::int8 AS code_length, \
     check_char";

/// `id = ` the voucher of conference `$1` named by the code `$2` as typed (ignoring ASCII case,
/// through the unique index on `lower(code)`) or, among readable codes, by its folded key `$3`.
pub(super) static CODE_MATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("id = {}", rows::voucher_id_match("$1", "lower(o.code) = lower($2)", "$3")));

/// The columns of a ticket type and of an add-on.
const TICKET_TYPE_COLUMNS: &str = "id, slug, name, price, requires_voucher, is_active";
const ADDON_COLUMNS: &str = "id, slug, name, price, is_active";

/// PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the server named by a `postgres://` URL and migrates the database (under an
    /// advisory lock, so instances starting together apply each migration once).
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        Self::connect_with(url, super::DEFAULT_TIMEOUT).await
    }

    /// [`PostgresStore::connect`], waiting at most `timeout` for the server (at start and for
    /// every request's connection); an unreachable server is [`StoreError::Unavailable`] then,
    /// and the pool reconnects by itself when it is back.
    pub async fn connect_with(url: &DatabaseUrl, timeout: Duration) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url.expose()).map_err(|e| StoreError::Url(format!("{url}: {e}")))?;
        // One direct connection first: an unreachable server or a refused login is reported at
        // once with its real cause, instead of as a pool timeout.
        let first = tokio::time::timeout(timeout, PgConnection::connect_with(&options))
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))??;
        let _ = first.close().await;
        let pool = super::pool_options().max_connections(16).acquire_timeout(timeout).connect_lazy_with(options);
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for tools that measure the database itself (the benchmark's floor).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The one query of a checkout ([`Store::checkout_view`]), for tools that measure the
    /// database itself (the load benchmark runs it under `pgbench`). Parameters: `$1` token hash,
    /// `$2` conference slug, `$3` code, `$4` client address, `$5` start of the guessing window.
    pub fn checkout_statement() -> &'static str {
        &CHECKOUT_SQL
    }
}

/// See [`PostgresStore::checkout_statement`].
static CHECKOUT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    rows::checkout_sql(&rows::Dialect {
        param: |n| format!("${n}"),
        discount: "discount_value",
        price: "price",
        code_match: "lower(o.code) = lower($3)",
    })
});

impl StoredRow for PgRow {
    plain_columns!();

    fn instant(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        Ok(sqlx::Row::try_get(self, column)?)
    }

    fn opt_instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(sqlx::Row::try_get(self, column)?)
    }

    /// numeric(10,2) and the CHECK (>= 0) keep an amount in range, so a failure here means a
    /// hand-edited database, reported rather than read as zero.
    fn money(&self, column: &str) -> Result<Money, StoreError> {
        let value: Decimal = sqlx::Row::try_get(self, column)?;
        Money::parse("stored amount", value).map_err(|e| StoreError::Corrupt(format!("{column}: {}", e.message)))
    }

    fn date(&self, column: &str) -> Result<NaiveDate, StoreError> {
        Ok(sqlx::Row::try_get(self, column)?)
    }
}

/// PostgreSQL text cannot hold NUL: a value with one matches no row (and binding it would be an
/// error, not an empty answer).
fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

async fn conference_by_slug<'e, E: Executor<'e, Database = Postgres>>(
    e: E,
    slug: &str,
) -> Result<Option<Conference>, StoreError> {
    if has_nul(slug) {
        return Ok(None);
    }
    let sql = format!("SELECT {CONFERENCE_COLUMNS} FROM conference WHERE slug = $1");
    let row = sqlx::query(&sql).bind(slug).fetch_optional(e).await?;
    row.as_ref().map(rows::conference).transpose()
}

/// The slugs of the conferences an account is granted, sorted.
async fn account_conferences<'e, E: Executor<'e, Database = Postgres>>(
    e: E,
    account_id: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT c.slug FROM account_conference ac JOIN conference c ON c.id = ac.conference_id
          WHERE ac.account_id = $1 ORDER BY c.slug",
    )
    .bind(account_id)
    .fetch_all(e)
    .await?)
}

/// Reads the slugs of the restriction sets of `found` rows in one query.
async fn restriction_slugs(pool: &PgPool, found: &[PgRow]) -> Result<RestrictionSets, StoreError> {
    let set_ids = rows::set_ids_of(found)?;
    if set_ids.is_empty() {
        return Ok(RestrictionSets::new());
    }
    let slugs: Vec<(i64, bool, String)> = sqlx::query_as(
        "SELECT l.restriction_set_id, false, t.slug
           FROM restriction_set_ticket_type l JOIN ticket_type t ON t.id = l.ticket_type_id
          WHERE l.restriction_set_id = ANY($1)
         UNION ALL
         SELECT l.restriction_set_id, true, a.slug
           FROM restriction_set_addon l JOIN addon a ON a.id = l.addon_id
          WHERE l.restriction_set_id = ANY($1)",
    )
    .bind(&set_ids)
    .fetch_all(pool)
    .await?;
    Ok(rows::group_restrictions(slugs))
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn begin_as(&self, actor: &Actor) -> Result<Box<dyn StoreTx>, StoreError> {
        Ok(Box::new(tx::PostgresTx::begin(&self.pool, actor.clone()).await?))
    }

    async fn redeem_as(&self, actor: &Actor, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError> {
        redeem::redeem(&self.pool, actor, new).await
    }

    async fn audit_log(&self, conference_id: i64, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
              WHERE conference_id = $1 AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::text IS NULL OR action = $3)
                AND ($4::bigint IS NULL OR id < $4)
              ORDER BY id DESC LIMIT $5"
        );
        if filter.action.as_deref().is_some_and(has_nul) {
            return Ok(Vec::new());
        }
        sqlx::query(&sql)
            .bind(conference_id)
            .bind(filter.since)
            .bind(filter.action.as_deref())
            .bind(filter.before_id)
            .bind(filter.limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::audit_record)
            .collect()
    }

    async fn conference(&self, slug: &str) -> Result<Option<Conference>, StoreError> {
        conference_by_slug(&self.pool, slug).await
    }

    async fn conferences(&self) -> Result<Vec<Conference>, StoreError> {
        let sql = format!("SELECT {CONFERENCE_COLUMNS} FROM conference ORDER BY slug");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(rows::conference).collect()
    }

    async fn ticket_types(&self, conference: &Conference) -> Result<Vec<TicketType>, StoreError> {
        let sql = format!("SELECT {TICKET_TYPE_COLUMNS} FROM ticket_type WHERE conference_id = $1 ORDER BY slug");
        sqlx::query(&sql)
            .bind(conference.id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| rows::ticket_type(conference, r))
            .collect()
    }

    async fn addons(&self, conference: &Conference) -> Result<Vec<AddOn>, StoreError> {
        let sql = format!("SELECT {ADDON_COLUMNS} FROM addon WHERE conference_id = $1 ORDER BY slug");
        sqlx::query(&sql)
            .bind(conference.id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| rows::addon(conference, r))
            .collect()
    }

    async fn vouchers(&self, conference: &Conference, filter: &VoucherFilter) -> Result<Vec<Voucher>, StoreError> {
        let sql = format!(
            "SELECT {VOUCHER_COLUMNS} FROM voucher
              WHERE conference_id = $1
                AND ($2::text IS NULL OR lower(code) LIKE lower($2) ESCAPE '\\')
                AND ($3::bigint IS NULL OR batch_id = $3)
                AND ($4::boolean IS NULL OR is_active = $4)
                AND id > $5
                AND ($7::text IS NULL OR (CASE WHEN NOT is_active THEN 'inactive'
                                               WHEN times_used >= max_uses THEN 'used_up'
                                               WHEN valid_from > $8 THEN 'not_yet_valid'
                                               WHEN valid_until < $8 THEN 'expired'
                                               ELSE 'active' END) = $7)
                AND ($9::text IS NULL OR recipient_email = $9)
                AND (NOT $10 OR (recipient_email IS NOT NULL
                                 AND NOT EXISTS (SELECT 1 FROM outbox_message m WHERE m.voucher_id = voucher.id)))
              ORDER BY id
              LIMIT $6"
        );
        let found = sqlx::query(&sql)
            .bind(conference.id)
            .bind(filter.prefix.as_ref().map(|p| rows::like_prefix(p.as_str())))
            .bind(filter.batch_id)
            .bind(filter.active)
            .bind(filter.after_id.unwrap_or(0))
            .bind(filter.limit)
            .bind(filter.status.map(|(s, _)| s.as_str()))
            .bind(filter.status.map(|(_, at)| at))
            .bind(filter.recipient_email.as_deref().filter(|e| !has_nul(e)))
            .bind(filter.awaiting_message)
            .fetch_all(&self.pool)
            .await?;
        let sets = restriction_slugs(&self.pool, &found).await?;
        found.iter().map(|r| rows::voucher(conference, &sets, r)).collect()
    }

    async fn checkout_view(&self, key: &CheckoutKey<'_>) -> Result<CheckoutView, StoreError> {
        // PostgreSQL refuses NUL in text; no slug or code holds one, so nothing can match.
        let clean = |text: &str| if has_nul(text) { String::new() } else { text.to_owned() };
        let (address, since) = key.failures_since.unzip();
        let found = sqlx::query(&CHECKOUT_SQL)
            .bind(key.token_hash.map(clean))
            .bind(clean(key.conference))
            .bind(clean(key.code))
            .bind(address.map(clean))
            .bind(since)
            .bind(clean(&fold_key(key.code)))
            .fetch_all(&self.pool)
            .await?;
        rows::checkout_view(&found)
    }

    async fn voucher_by_code(&self, conference: &Conference, code: &str) -> Result<Option<Voucher>, StoreError> {
        if has_nul(code) {
            return Ok(None);
        }
        let sql = format!("SELECT {VOUCHER_COLUMNS} FROM voucher WHERE {}", *CODE_MATCH);
        let found = sqlx::query(&sql).bind(conference.id).bind(code).bind(fold_key(code)).fetch_all(&self.pool).await?;
        let sets = restriction_slugs(&self.pool, &found).await?;
        found.first().map(|r| rows::voucher(conference, &sets, r)).transpose()
    }

    async fn batch(&self, conference: &Conference, id: i64) -> Result<Option<Batch>, StoreError> {
        let sql = format!("SELECT {BATCH_COLUMNS} FROM voucher_batch WHERE conference_id = $1 AND id = $2");
        let found = sqlx::query(&sql).bind(conference.id).bind(id).fetch_all(&self.pool).await?;
        let sets = restriction_slugs(&self.pool, &found).await?;
        found.first().map(|r| rows::batch(conference, &sets, r)).transpose()
    }

    async fn batches(&self, conference: &Conference, after_id: i64, limit: i64) -> Result<Vec<Batch>, StoreError> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM voucher_batch WHERE conference_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let found = sqlx::query(&sql).bind(conference.id).bind(after_id).bind(limit).fetch_all(&self.pool).await?;
        let sets = restriction_slugs(&self.pool, &found).await?;
        found.iter().map(|r| rows::batch(conference, &sets, r)).collect()
    }

    async fn check_formats(&self, conference_id: i64) -> Result<Vec<(String, CodeFormat)>, StoreError> {
        let found: Vec<(String, String, i64, bool)> = sqlx::query_as(
            "SELECT DISTINCT prefix, alphabet, code_length::int8, check_char FROM voucher_batch
              WHERE conference_id = $1 AND check_char AND source = 'generate'",
        )
        .bind(conference_id)
        .fetch_all(&self.pool)
        .await?;
        found
            .into_iter()
            .map(|(prefix, alphabet, length, check)| Ok((prefix, rows::code_format(&alphabet, length, check)?)))
            .collect()
    }

    async fn usage(&self, conference: &Conference) -> Result<Vec<UsageRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT v.batch_id, b.prefix, b.source, b.alphabet, b.code_length::int8 AS code_length, b.check_char,
                    count(*) AS issued, count(*) FILTER (WHERE v.is_active) AS active,
                    count(*) FILTER (WHERE v.times_used >= v.max_uses) AS fully_used,
                    least(sum(v.times_used), 9223372036854775807)::bigint AS uses_consumed,
                    least(coalesce(sum(v.max_uses - v.times_used) FILTER (WHERE v.is_active), 0),
                          9223372036854775807)::bigint AS uses_left
               FROM voucher v LEFT JOIN voucher_batch b ON b.id = v.batch_id
              WHERE v.conference_id = $1
              GROUP BY v.batch_id, b.prefix, b.source, b.alphabet, b.code_length, b.check_char
              ORDER BY v.batch_id",
        )
        .bind(conference.id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        if has_nul(hash) {
            return Ok(None);
        }
        let sql = format!("{TOKEN_SELECT} WHERE t.token_hash = $1 AND t.revoked_at IS NULL");
        let row = sqlx::query(&sql).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::token).transpose()
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("{TOKEN_SELECT} ORDER BY t.id");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(rows::token).collect()
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<StoredAccount>, StoreError> {
        if has_nul(email) {
            return Ok(None);
        }
        let sql = format!("SELECT {ACCOUNT_COLUMNS}, password_hash FROM account WHERE lower(email) = lower($1)");
        let Some(row) = sqlx::query(&sql).bind(email).fetch_optional(&self.pool).await? else { return Ok(None) };
        let conferences = account_conferences(&self.pool, row.int("id")?).await?;
        Ok(Some(StoredAccount {
            account: rows::account(&row, conferences)?,
            password_hash: row.text("password_hash")?,
        }))
    }

    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = $1");
        let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await? else { return Ok(None) };
        Ok(Some(rows::account(&row, account_conferences(&self.pool, id).await?)?))
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account ORDER BY email");
        let found = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut accounts = Vec::with_capacity(found.len());
        for row in &found {
            accounts.push(rows::account(row, account_conferences(&self.pool, row.int("id")?).await?)?);
        }
        Ok(accounts)
    }

    async fn session_by_hash(&self, hash: &str) -> Result<Option<StoredSession>, StoreError> {
        if has_nul(hash) {
            return Ok(None);
        }
        let sql = format!("SELECT {SESSION_COLUMNS} FROM console_session WHERE token_hash = $1");
        let row = sqlx::query(&sql).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn failed_lookups(
        &self,
        token_id: i64,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        Ok(sqlx::query_as(
            "SELECT count(*), min(at) FROM failed_lookup WHERE token_id = $1 AND address = $2 AND at > $3",
        )
        .bind(token_id)
        .bind(address)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn prune_failed_lookups(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM failed_lookup WHERE at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    async fn record_failed_lookup(
        &self,
        token_id: i64,
        address: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "WITH forgotten AS (DELETE FROM failed_lookup WHERE token_id = $1 AND address = $2 AND at < $4)
             INSERT INTO failed_lookup (token_id, address, at) VALUES ($1, $2, $3)",
        )
        .bind(token_id)
        .bind(address)
        .bind(at)
        .bind(forget_before)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn redemptions(&self, voucher_id: i64) -> Result<Vec<RedemptionRecord>, StoreError> {
        sqlx::query(
            "SELECT order_ref, redeemed_at, released_at FROM redemption
              WHERE voucher_id = $1 AND response <> '' ORDER BY redeemed_at DESC, id DESC",
        )
        .bind(voucher_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::redemption)
        .collect()
    }

    async fn outbox(&self, conference_id: i64, filter: &OutboxFilter) -> Result<Vec<OutboxMessage>, StoreError> {
        outbox::outbox(&mut *self.pool.acquire().await?, conference_id, filter).await
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        outbox::claim(&mut *self.pool.acquire().await?, now, lease_until, limit).await
    }

    async fn finish_outbox(
        &self,
        id: i64,
        attempt: i64,
        result: &DeliveryResult<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        outbox::finish(&mut *self.pool.acquire().await?, id, attempt, result, now).await
    }

    async fn backup_into(&self, _path: &str) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "a PostgreSQL database is backed up with its own tools: pg_dump --format=custom for a copy while it \
             runs (restore with pg_restore), or continuous archiving for point-in-time recovery",
        ))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
