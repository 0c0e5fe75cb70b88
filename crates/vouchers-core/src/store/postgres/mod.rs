//! The PostgreSQL store: what a deployment with several service instances uses.
//!
//! Native types (`timestamptz`, `numeric(10,2)`, `date`, `boolean`). Migrations run under an
//! advisory lock, so instances starting together apply each once. Write transactions run at READ
//! COMMITTED; every rule a race could break is decided by a unique index or one conditional
//! UPDATE, and a statement that meets a row held by a concurrent transaction waits for it.
//!
//! This file opens the store, says how PostgreSQL runs the shared statements (`crate::store::sql`)
//! and does what only PostgreSQL does: the checkout's query; `redeem.rs` is the redemption in one
//! statement and `insert.rs` the bulk insert of a chunk of codes.

mod insert;
mod redeem;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};

use super::rows::{self, plain_columns, StoredRow};
use super::sql::{has_nul, Arg, Conn, Dialect, Engine};
use super::{
    Backend, CheckoutKey, CheckoutView, DatabaseUrl, NewRedemption, RedeemOutcome, StoreError, VoucherTemplate,
};
use crate::domain::{fold_key, Actor, Money};

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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
static CHECKOUT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| rows::checkout_sql(&DIALECT));

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

    fn opt_money(&self, column: &str) -> Result<Option<Money>, StoreError> {
        let value: Option<Decimal> = sqlx::Row::try_get(self, column)?;
        value
            .map(|v| Money::parse("stored amount", v))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("{column}: {}", e.message)))
    }

    fn date(&self, column: &str) -> Result<NaiveDate, StoreError> {
        Ok(sqlx::Row::try_get(self, column)?)
    }
}

#[async_trait]
impl Conn for PgPool {
    type Row = PgRow;

    async fn all(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Vec<PgRow>, StoreError> {
        Ok(query(sql, args).fetch_all(&*self).await?)
    }

    async fn first(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Option<PgRow>, StoreError> {
        Ok(query(sql, args).fetch_optional(&*self).await?)
    }

    async fn run(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<u64, StoreError> {
        Ok(query(sql, args).execute(&*self).await?.rows_affected())
    }
}

#[async_trait]
impl Conn for Transaction<'static, Postgres> {
    type Row = PgRow;

    async fn all(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Vec<PgRow>, StoreError> {
        Ok(query(sql, args).fetch_all(&mut **self).await?)
    }

    async fn first(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Option<PgRow>, StoreError> {
        Ok(query(sql, args).fetch_optional(&mut **self).await?)
    }

    async fn run(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<u64, StoreError> {
        Ok(query(sql, args).execute(&mut **self).await?.rows_affected())
    }
}

/// A statement with its arguments bound in PostgreSQL's native types.
fn query<'q>(sql: &'q str, args: Vec<Arg<'q>>) -> Query<'q, Postgres, PgArguments> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(value),
            Arg::Text(value) => query.bind(value),
            Arg::Flag(value) => query.bind(value),
            Arg::Instant(value) => query.bind(value),
            Arg::Money(value) => query.bind(value.map(Money::amount)),
            Arg::Date(value) => query.bind(value),
            Arg::Ints(list) => query.bind(list),
            Arg::Texts(list) => query.bind(list),
            Arg::Json(rows) => query.bind(rows),
        };
    }
    query
}

/// PostgreSQL's SQL: codes and emails match ignoring case through their `lower(...)` unique
/// indexes; lists are arrays; rows read to decide a write are locked with `FOR UPDATE`.
const DIALECT: Dialect = Dialect {
    discount: "discount_value",
    price: "price",
    same_text: |column, param| format!("lower({column}) = lower({param})"),
    starts_like: |column, pattern| format!("lower({column}) LIKE lower({pattern}) ESCAPE '\\'"),
    in_list: |param| format!("= ANY({param})"),
    json_rows: |param| format!("jsonb_array_elements(CAST({param} AS jsonb))"),
    for_update: " FOR UPDATE",
    skip_locked: " FOR UPDATE SKIP LOCKED",
    for_no_key_update: " FOR NO KEY UPDATE",
    capped_sum: |expression| format!("least(coalesce(sum({expression}), 0), 9223372036854775807)::bigint"),
    now: "statement_timestamp()",
    not_by_index: "",
    bytewise: |column| format!("{column} COLLATE \"C\""),
};

#[async_trait]
impl Engine for PostgresStore {
    type Row = PgRow;
    type Reader = PgPool;
    type Tx = Transaction<'static, Postgres>;
    type Writer = PgPool;
    const BACKEND: Backend = Backend::Postgres;
    const DIALECT: Dialect = DIALECT;

    fn reader(&self) -> PgPool {
        self.pool.clone()
    }

    async fn begin(&self) -> Result<Self::Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    async fn commit(tx: Self::Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    async fn rollback(tx: Self::Tx) -> Result<(), StoreError> {
        Ok(tx.rollback().await?)
    }

    async fn writer(&self) -> Result<PgPool, StoreError> {
        Ok(self.pool.clone())
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

    async fn redeem_as(&self, actor: &Actor, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError> {
        redeem::redeem(&self.pool, actor, new).await
    }

    async fn insert_vouchers(
        tx: &mut Self::Tx,
        template: &VoucherTemplate,
        codes: &[String],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        insert::insert_vouchers(tx, template, codes).await
    }

    async fn backup_into(&self, _path: &str) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "a PostgreSQL database is backed up with its own tools: pg_dump --format=custom for a copy while it \
             runs (restore with pg_restore), or continuous archiving for point-in-time recovery",
        ))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
