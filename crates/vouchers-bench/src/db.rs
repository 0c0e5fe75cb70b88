//! Fresh databases for one case: a SQLite file with the product's settings, or a PostgreSQL
//! database created for the case and dropped after.

use std::sync::Arc;

use anyhow::{Context, Result};
use sqlx::Connection;
use vouchers_core::store::{DatabaseUrl, PostgresStore, SqliteStore};
use vouchers_core::Store;

/// The store under test, and a handle to its raw pool for seeding and the floor.
pub enum BenchDb {
    Sqlite { store: Arc<SqliteStore>, _dir: tempfile::TempDir },
    Postgres { store: Arc<PostgresStore>, admin_url: String, name: String },
}

impl BenchDb {
    pub async fn open(db: &str, postgres_url: &str) -> Result<Self> {
        match db {
            "sqlite" => {
                // A real file on disk (not tmpfs-backed /dev/shm), as a deployment has.
                let dir = tempfile::Builder::new().prefix("vouchers-bench").tempdir_in(std::env::temp_dir())?;
                let url = DatabaseUrl::new(format!("sqlite://{}", dir.path().join("bench.db").display()));
                let store = Arc::new(SqliteStore::connect(&url).await?);
                Ok(BenchDb::Sqlite { store, _dir: dir })
            }
            _ => {
                let name = format!("vouchers_bench_{}_{}", std::process::id(), rand::random::<u32>());
                let mut admin = sqlx::PgConnection::connect(postgres_url)
                    .await
                    .with_context(|| format!("connecting to {}", DatabaseUrl::new(postgres_url)))?;
                sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str()).await?;
                admin.close().await?;
                let mut url = url::Url::parse(postgres_url)?;
                url.set_path(&name);
                let store = Arc::new(PostgresStore::connect(&DatabaseUrl::new(url.to_string())).await?);
                Ok(BenchDb::Postgres { store, admin_url: postgres_url.to_owned(), name })
            }
        }
    }

    /// The store, shared (for a router).
    pub fn shared(&self) -> Arc<dyn Store> {
        match self {
            BenchDb::Sqlite { store, .. } => Arc::clone(store) as Arc<dyn Store>,
            BenchDb::Postgres { store, .. } => Arc::clone(store) as Arc<dyn Store>,
        }
    }

    pub fn store(&self) -> &dyn Store {
        match self {
            BenchDb::Sqlite { store, .. } => store.as_ref(),
            BenchDb::Postgres { store, .. } => store.as_ref(),
        }
    }

    pub async fn close(self) -> Result<()> {
        if let BenchDb::Postgres { store, admin_url, name } = self {
            store.close().await;
            let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
            sqlx::Executor::execute(&mut admin, format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await?;
        }
        Ok(())
    }
}

use chrono::Utc;
use sqlx::{QueryBuilder, Row};
use vouchers_core::domain::Conference;

use crate::cases::CaseSpec;

/// Rows per multi-row INSERT in the floor: 12 parameters a row, under SQLite's 32,766 and
/// PostgreSQL's 65,535 bind limits.
const FLOOR_ROWS_PER_STATEMENT: usize = 2_000;

impl BenchDb {
    /// Inserts `n` `SPEAKER-` vouchers into the conference, as fast as the database can (untimed).
    pub async fn seed(&self, conference_id: i64, n: usize) -> Result<()> {
        let n = i64::try_from(n)?;
        match self {
            BenchDb::Sqlite { store, .. } => {
                sqlx::query(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
                     INSERT INTO voucher (conference_id, code, voucher_type, discount_cents, max_uses, times_used,
                         unlocks_hidden_tickets, is_active, created_at, updated_at)
                     SELECT ?1, 'SPEAKER-' || printf('%08d', i), 'percentage', 2500, 1, 0, 0, 1, 0, 0 FROM n",
                )
                .bind(conference_id)
                .bind(n)
                .execute(store.pool())
                .await?;
                sqlx::query("ANALYZE").execute(store.pool()).await?;
            }
            BenchDb::Postgres { store, .. } => {
                sqlx::query(
                    "INSERT INTO voucher (conference_id, code, voucher_type, discount_value, max_uses, times_used,
                         unlocks_hidden_tickets, is_active, created_at, updated_at)
                     SELECT $1, 'SPEAKER-' || lpad(i::text, 8, '0'), 'percentage', 25, 1, 0, false, true, now(), now()
                     FROM generate_series(1, $2::bigint) AS i",
                )
                .bind(conference_id)
                .bind(n)
                .execute(store.pool())
                .await?;
                sqlx::query("VACUUM (ANALYZE) voucher").execute(store.pool()).await?;
            }
        }
        Ok(())
    }

    /// Deletes a batch, its vouchers and its restriction set, so the next repetition sees the
    /// same database (untimed).
    /// PostgreSQL: gathers the planner's statistics, as autovacuum's analyze does within about a
    /// minute of a bulk load (without them, the planner guesses a conference holds 0.5 % of the
    /// vouchers). SQLite: nothing (the product never runs ANALYZE there, so neither does this).
    pub async fn analyze(&self) -> Result<()> {
        if let BenchDb::Postgres { store, .. } = self {
            sqlx::query("ANALYZE").execute(store.pool()).await?;
        }
        Ok(())
    }

    pub async fn delete_batch(&self, batch_id: i64) -> Result<()> {
        macro_rules! delete {
            ($pool:expr, $p:literal) => {{
                let mut tx = $pool.begin().await?;
                let set: Option<i64> =
                    sqlx::query(concat!("SELECT restriction_set_id FROM voucher_batch WHERE id = ", $p, "1"))
                        .bind(batch_id)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get(0)?;
                sqlx::query(concat!("DELETE FROM voucher WHERE batch_id = ", $p, "1"))
                    .bind(batch_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(concat!("DELETE FROM voucher_batch WHERE id = ", $p, "1"))
                    .bind(batch_id)
                    .execute(&mut *tx)
                    .await?;
                if let Some(set) = set {
                    for table in ["restriction_set_ticket_type", "restriction_set_addon"] {
                        sqlx::query(&format!("DELETE FROM {table} WHERE restriction_set_id = {}1", $p))
                            .bind(set)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query(concat!("DELETE FROM restriction_set WHERE id = ", $p, "1"))
                        .bind(set)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }};
        }
        match self {
            BenchDb::Sqlite { store, .. } => delete!(store.pool(), "?"),
            BenchDb::Postgres { store, .. } => delete!(store.pool(), "$"),
        }
        Ok(())
    }

    /// The floor: the rows a batch writes (batch row, restriction set and its links, vouchers),
    /// by the simplest hand-written statements: multi-row `INSERT ... VALUES` of pre-made codes,
    /// in one transaction, on the same connection settings. No generation, no validation.
    pub async fn floor_insert(&self, conference: &Conference, spec: &CaseSpec, codes: &[String]) -> Result<i64> {
        let now = Utc::now();
        macro_rules! floor {
            ($pool:expr, $begin:expr, $p:literal, $discount:expr, $time:expr) => {{
                let mut tx = $begin;
                let ids = |table: &'static str| {
                    format!("SELECT id FROM {table} WHERE conference_id = {}1 ORDER BY id", $p)
                };
                let set_id: Option<i64> = if spec.m2m {
                    let tts: Vec<i64> =
                        sqlx::query_scalar(&ids("ticket_type")).bind(conference.id).fetch_all(&mut *tx).await?;
                    let addons: Vec<i64> =
                        sqlx::query_scalar(&ids("addon")).bind(conference.id).fetch_all(&mut *tx).await?;
                    let set: i64 = sqlx::query_scalar(concat!(
                        "INSERT INTO restriction_set (conference_id, key) VALUES (", $p, "1, ", $p, "2) RETURNING id"
                    ))
                    .bind(conference.id)
                    .bind(format!("floor-{}", rand::random::<u64>()))
                    .fetch_one(&mut *tx)
                    .await?;
                    let mut q = QueryBuilder::new("INSERT INTO restriction_set_ticket_type (restriction_set_id, ticket_type_id) ");
                    q.push_values(&tts, |mut b, id| {
                        b.push_bind(set).push_bind(*id);
                    });
                    q.build().execute(&mut *tx).await?;
                    let mut q = QueryBuilder::new("INSERT INTO restriction_set_addon (restriction_set_id, addon_id) ");
                    q.push_values(&addons, |mut b, id| {
                        b.push_bind(set).push_bind(*id);
                    });
                    q.build().execute(&mut *tx).await?;
                    Some(set)
                } else {
                    None
                };
                let batch_id: i64 = sqlx::query_scalar(&format!(
                    "INSERT INTO voucher_batch (conference_id, prefix, count, voucher_type, {}, max_uses,
                         unlocks_hidden_tickets, restriction_set_id, created_at)
                     VALUES ({p}1, 'FLOOR-', {p}2, 'percentage', {p}3, 1, false, {p}4, {p}5) RETURNING id",
                    if $p == "?" { "discount_cents" } else { "discount_value" },
                    p = $p
                ))
                .bind(conference.id)
                .bind(codes.len() as i64)
                .bind($discount)
                .bind(set_id)
                .bind($time)
                .fetch_one(&mut *tx)
                .await?;
                for chunk in codes.chunks(FLOOR_ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::new(format!(
                        "INSERT INTO voucher (conference_id, code, voucher_type, {}, max_uses, times_used,
                             unlocks_hidden_tickets, is_active, restriction_set_id, batch_id, created_at, updated_at,
                             fold_key) ",
                        if $p == "?" { "discount_cents" } else { "discount_value" }
                    ));
                    q.push_values(chunk, |mut b, code| {
                        b.push_bind(conference.id)
                            .push_bind(code.as_str())
                            .push_bind("percentage")
                            .push_bind($discount)
                            .push_bind(1i64)
                            .push_bind(0i64)
                            .push_bind(false)
                            .push_bind(true)
                            .push_bind(set_id)
                            .push_bind(batch_id)
                            .push_bind($time)
                            .push_bind($time)
                            // Every row carries its folded key, as the product writes it.
                            .push_bind(vouchers_core::domain::fold_key(code));
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                batch_id
            }};
        }
        Ok(match self {
            BenchDb::Sqlite { store, .. } => {
                floor!(
                    store.pool(),
                    store.pool().begin_with("BEGIN IMMEDIATE").await?,
                    "?",
                    2500i64,
                    now.timestamp_micros()
                )
            }
            BenchDb::Postgres { store, .. } => {
                floor!(store.pool(), store.pool().begin().await?, "$", rust_decimal::Decimal::new(2500, 2), now)
            }
        })
    }
}
