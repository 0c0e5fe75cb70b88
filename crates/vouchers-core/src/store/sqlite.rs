//! The SQLite store: the embedded default, one file, created on first use.
//!
//! WAL journal (readers never wait for the writer), `synchronous = NORMAL` (a committed batch
//! survives a crash of the process; in WAL mode only a power loss can take the last commits),
//! a busy timeout so concurrent writers queue instead of failing, foreign keys on, and every write
//! transaction opened with `BEGIN IMMEDIATE` so it holds the write lock from its first read.
//! Instants are stored as microseconds since the epoch, amounts as cents.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Executor, Row, Sqlite, SqlitePool, Transaction};

use super::{
    group_restrictions, like_prefix, restriction_key, restrictions_of, set_ids_of, Backend, DatabaseUrl,
    IdempotencyClaim, NewBatch, NewToken, RedemptionClaim, RestrictionIds, RestrictionSets, Store, StoreError, StoreTx,
    UsageRow, VoucherChange, VoucherFilter, VoucherState, VoucherTemplate,
};
use crate::domain::{
    AddOn, ApiToken, Batch, Conference, DiscountSpec, Money, NewAddOn, NewConference, NewTicketType, TicketType,
    ValidityWindow, Voucher, VoucherType,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the file named by a `sqlite://` URL and migrates it.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url.expose())
            .map_err(|e| StoreError::Url(format!("{url}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for tools that measure the database itself (the benchmark's floor).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn instant(value: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| StoreError::Corrupt(format!("instant {value}")))
}

fn opt_instant(value: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    value.map(instant).transpose()
}

fn date(value: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("date {value:?}")))
}

fn voucher_type(value: &str) -> Result<VoucherType, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt(format!("voucher_type {value:?}")))
}

fn conference_row(row: &SqliteRow) -> Result<Conference, StoreError> {
    let timezone: String = row.try_get("timezone")?;
    Ok(Conference {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        start_date: date(row.try_get("start_date")?)?,
        end_date: date(row.try_get("end_date")?)?,
        timezone: timezone.parse().map_err(|_| StoreError::Corrupt(format!("timezone {timezone:?}")))?,
        created_at: instant(row.try_get("created_at")?)?,
    })
}

const CONFERENCE_COLUMNS: &str = "id, slug, name, start_date, end_date, timezone, created_at";

async fn conference_by_slug<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    slug: &str,
) -> Result<Option<Conference>, StoreError> {
    let sql = format!("SELECT {CONFERENCE_COLUMNS} FROM conference WHERE slug = ?");
    let row = sqlx::query(&sql).bind(slug).fetch_optional(e).await?;
    row.as_ref().map(conference_row).transpose()
}

fn ticket_type_row(conference: &Conference, row: &SqliteRow) -> Result<TicketType, StoreError> {
    Ok(TicketType {
        id: row.try_get("id")?,
        conference: conference.slug.clone(),
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        price: Money::from_cents(row.try_get("price_cents")?),
        requires_voucher: row.try_get("requires_voucher")?,
        is_active: row.try_get("is_active")?,
    })
}

fn addon_row(conference: &Conference, row: &SqliteRow) -> Result<AddOn, StoreError> {
    Ok(AddOn {
        id: row.try_get("id")?,
        conference: conference.slug.clone(),
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        price: Money::from_cents(row.try_get("price_cents")?),
        is_active: row.try_get("is_active")?,
    })
}

const VOUCHER_COLUMNS: &str = "id, code, voucher_type, discount_cents, max_uses, times_used, valid_from, \
     valid_until, unlocks_hidden_tickets, is_active, restriction_set_id, batch_id, created_at, updated_at";

/// Reads the slugs of the given restriction sets in one query.
async fn restriction_slugs<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    set_ids: &[i64],
) -> Result<RestrictionSets, StoreError> {
    if set_ids.is_empty() {
        return Ok(Default::default());
    }
    let ids = serde_json::to_string(set_ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let rows = sqlx::query(
        "SELECT l.restriction_set_id AS set_id, 0 AS is_addon, t.slug AS slug
           FROM restriction_set_ticket_type l JOIN ticket_type t ON t.id = l.ticket_type_id
          WHERE l.restriction_set_id IN (SELECT value FROM json_each(?1))
         UNION ALL
         SELECT l.restriction_set_id, 1, a.slug
           FROM restriction_set_addon l JOIN addon a ON a.id = l.addon_id
          WHERE l.restriction_set_id IN (SELECT value FROM json_each(?1))",
    )
    .bind(ids)
    .fetch_all(e)
    .await?;
    let rows = rows
        .iter()
        .map(|r| Ok((r.try_get("set_id")?, r.try_get("is_addon")?, r.try_get("slug")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(group_restrictions(rows))
}

/// Turns voucher rows into vouchers, filling in their restriction slugs.
async fn vouchers_from_rows(
    pool: &SqlitePool,
    conference: &Conference,
    rows: Vec<SqliteRow>,
) -> Result<Vec<Voucher>, StoreError> {
    let sets = restriction_slugs(pool, &set_ids_of(&rows)).await?;
    rows.iter()
        .map(|row| {
            let (ticket_types, addons) = restrictions_of(&sets, row.try_get("restriction_set_id")?);
            let kind = voucher_type(row.try_get("voucher_type")?)?;
            let discount = DiscountSpec::from_stored(kind, Money::from_cents(row.try_get("discount_cents")?).amount());
            Ok(Voucher {
                id: row.try_get("id")?,
                conference: conference.slug.clone(),
                code: row.try_get("code")?,
                voucher_type: kind,
                discount_value: discount.value(),
                max_uses: row.try_get("max_uses")?,
                times_used: row.try_get("times_used")?,
                valid_from: opt_instant(row.try_get("valid_from")?)?,
                valid_until: opt_instant(row.try_get("valid_until")?)?,
                unlocks_hidden_tickets: row.try_get("unlocks_hidden_tickets")?,
                is_active: row.try_get("is_active")?,
                applicable_ticket_types: ticket_types,
                applicable_addons: addons,
                batch_id: row.try_get("batch_id")?,
                created_at: instant(row.try_get("created_at")?)?,
                updated_at: instant(row.try_get("updated_at")?)?,
            })
        })
        .collect()
}

/// Turns batch rows into batches, filling in their restriction slugs.
async fn batches_from_rows(
    pool: &SqlitePool,
    conference: &Conference,
    rows: Vec<SqliteRow>,
) -> Result<Vec<Batch>, StoreError> {
    let sets = restriction_slugs(pool, &set_ids_of(&rows)).await?;
    rows.iter()
        .map(|row| {
            let (ticket_types, addons) = restrictions_of(&sets, row.try_get("restriction_set_id")?);
            Ok(Batch {
                id: row.try_get("id")?,
                conference: conference.slug.clone(),
                prefix: row.try_get("prefix")?,
                count: row.try_get("count")?,
                voucher_type: voucher_type(row.try_get("voucher_type")?)?,
                discount_value: Money::from_cents(row.try_get("discount_cents")?),
                max_uses: row.try_get("max_uses")?,
                valid_from: opt_instant(row.try_get("valid_from")?)?,
                valid_until: opt_instant(row.try_get("valid_until")?)?,
                unlocks_hidden_tickets: row.try_get("unlocks_hidden_tickets")?,
                applicable_ticket_types: ticket_types,
                applicable_addons: addons,
                created_at: instant(row.try_get("created_at")?)?,
            })
        })
        .collect()
}

const TOKEN_SELECT: &str = "SELECT t.id, t.scope, t.conference_id, c.slug AS conference, t.name, t.created_at, \
     t.revoked_at FROM api_token t LEFT JOIN conference c ON c.id = t.conference_id";

fn token_row(row: &SqliteRow) -> Result<ApiToken, StoreError> {
    let scope: String = row.try_get("scope")?;
    Ok(ApiToken {
        id: row.try_get("id")?,
        scope: scope.parse().map_err(|_| StoreError::Corrupt(format!("scope {scope:?}")))?,
        conference_id: row.try_get("conference_id")?,
        conference: row.try_get("conference")?,
        name: row.try_get("name")?,
        created_at: instant(row.try_get("created_at")?)?,
        revoked_at: opt_instant(row.try_get("revoked_at")?)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Box::new(SqliteTx { tx }))
    }

    async fn conference(&self, slug: &str) -> Result<Option<Conference>, StoreError> {
        conference_by_slug(&self.pool, slug).await
    }

    async fn conferences(&self) -> Result<Vec<Conference>, StoreError> {
        let sql = format!("SELECT {CONFERENCE_COLUMNS} FROM conference ORDER BY slug");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(conference_row).collect()
    }

    async fn ticket_types(&self, conference: &Conference) -> Result<Vec<TicketType>, StoreError> {
        sqlx::query("SELECT * FROM ticket_type WHERE conference_id = ? ORDER BY slug")
            .bind(conference.id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| ticket_type_row(conference, r))
            .collect()
    }

    async fn addons(&self, conference: &Conference) -> Result<Vec<AddOn>, StoreError> {
        sqlx::query("SELECT * FROM addon WHERE conference_id = ? ORDER BY slug")
            .bind(conference.id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| addon_row(conference, r))
            .collect()
    }

    async fn vouchers(&self, conference: &Conference, filter: &VoucherFilter) -> Result<Vec<Voucher>, StoreError> {
        let sql = format!(
            "SELECT {VOUCHER_COLUMNS} FROM voucher
              WHERE conference_id = ?1
                AND (?2 IS NULL OR code LIKE ?2 ESCAPE '\\')
                AND (?3 IS NULL OR batch_id = ?3)
                AND (?4 IS NULL OR is_active = ?4)
                AND id > ?5
              ORDER BY id
              LIMIT ?6"
        );
        let rows = sqlx::query(&sql)
            .bind(conference.id)
            .bind(filter.prefix.as_deref().map(like_prefix))
            .bind(filter.batch_id)
            .bind(filter.active)
            .bind(filter.after_id.unwrap_or(0))
            .bind(filter.limit.unwrap_or(-1))
            .fetch_all(&self.pool)
            .await?;
        vouchers_from_rows(&self.pool, conference, rows).await
    }

    async fn voucher_by_code(&self, conference: &Conference, code: &str) -> Result<Option<Voucher>, StoreError> {
        // The column's NOCASE collation makes '=' ignore ASCII case, using the unique index.
        let sql = format!("SELECT {VOUCHER_COLUMNS} FROM voucher WHERE conference_id = ? AND code = ?");
        let rows = sqlx::query(&sql).bind(conference.id).bind(code).fetch_all(&self.pool).await?;
        Ok(vouchers_from_rows(&self.pool, conference, rows).await?.pop())
    }

    async fn batch(&self, conference: &Conference, id: i64) -> Result<Option<Batch>, StoreError> {
        let rows = sqlx::query("SELECT * FROM voucher_batch WHERE conference_id = ? AND id = ?")
            .bind(conference.id)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(batches_from_rows(&self.pool, conference, rows).await?.pop())
    }

    async fn batches(&self, conference: &Conference, after_id: i64, limit: i64) -> Result<Vec<Batch>, StoreError> {
        let rows = sqlx::query("SELECT * FROM voucher_batch WHERE conference_id = ? AND id > ? ORDER BY id LIMIT ?")
            .bind(conference.id)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        batches_from_rows(&self.pool, conference, rows).await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!("{TOKEN_SELECT} WHERE t.token_hash = ? AND t.revoked_at IS NULL");
        let row = sqlx::query(&sql).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(token_row).transpose()
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("{TOKEN_SELECT} ORDER BY t.id");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(token_row).collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn usage(&self, conference: &Conference) -> Result<Vec<UsageRow>, StoreError> {
        let rows: Vec<(Option<i64>, Option<String>, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT v.batch_id, b.prefix, count(*), sum(v.is_active), sum(v.times_used >= v.max_uses),
                    sum(v.times_used), sum(CASE WHEN v.is_active THEN v.max_uses - v.times_used ELSE 0 END)
               FROM voucher v LEFT JOIN voucher_batch b ON b.id = v.batch_id
              WHERE v.conference_id = ?
              GROUP BY v.batch_id, b.prefix
              ORDER BY v.batch_id",
        )
        .bind(conference.id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(batch_id, prefix, issued, active, fully_used, uses_consumed, uses_left)| UsageRow {
                batch_id,
                prefix,
                issued,
                active,
                fully_used,
                uses_consumed,
                uses_left,
            })
            .collect())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// Chunks at least this large are read back as one JSON row instead of with RETURNING.
const READ_BACK_FROM: usize = 64;

const INSERT_VOUCHERS: &str = "INSERT INTO voucher (conference_id, code, voucher_type, discount_cents, max_uses,
         times_used, valid_from, valid_until, unlocks_hidden_tickets, is_active, restriction_set_id, batch_id,
         created_at, updated_at)
     SELECT ?1, j.value, ?2, ?3, ?4, 0, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?10 FROM json_each(?11) AS j WHERE true
     ON CONFLICT DO NOTHING";

const INSERT_VOUCHERS_RETURNING: &str = "INSERT INTO voucher (conference_id, code, voucher_type, discount_cents,
         max_uses, times_used, valid_from, valid_until, unlocks_hidden_tickets, is_active, restriction_set_id,
         batch_id, created_at, updated_at)
     SELECT ?1, j.value, ?2, ?3, ?4, 0, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?10 FROM json_each(?11) AS j WHERE true
     ON CONFLICT DO NOTHING
     RETURNING id, code";

/// A SQLite write transaction.
struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
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
            created_at: instant(micros(now))?,
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
        let json = |slugs: &[String]| serde_json::to_string(slugs).map_err(|e| StoreError::Corrupt(e.to_string()));
        let rows: Vec<(bool, i64, String)> = sqlx::query_as(
            "SELECT 0, id, slug FROM ticket_type
              WHERE conference_id = ?1 AND slug IN (SELECT value FROM json_each(?2))
             UNION ALL
             SELECT 1, id, slug FROM addon
              WHERE conference_id = ?1 AND slug IN (SELECT value FROM json_each(?3))",
        )
        .bind(conference_id)
        .bind(json(ticket_types)?)
        .bind(json(addons)?)
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
            let json = serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let sql = format!("INSERT INTO {table} (restriction_set_id, {column}) SELECT ?, value FROM json_each(?)");
            sqlx::query(&sql).bind(id).bind(json).execute(&mut *self.tx).await?;
        }
        Ok(id)
    }

    async fn insert_batch(&mut self, batch: &NewBatch<'_>) -> Result<i64, StoreError> {
        let t = batch.template;
        let id = sqlx::query_scalar(
            "INSERT INTO voucher_batch (conference_id, prefix, count, voucher_type, discount_cents, max_uses,
                 valid_from, valid_until, unlocks_hidden_tickets, restriction_set_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn insert_vouchers(
        &mut self,
        template: &VoucherTemplate,
        codes: &[String],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let t = template;
        let json = serde_json::to_string(codes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // One statement for the whole chunk: the codes travel as one JSON array parameter, the
        // shared fields are bound once. `WHERE true` keeps SQLite's parser from reading the
        // upsert's ON as a join constraint.
        let insert = |sql: &'static str| {
            sqlx::query(sql)
                .bind(t.conference_id)
                .bind(t.discount.voucher_type().as_str())
                .bind(t.discount.value().cents())
                .bind(t.max_uses)
                .bind(t.window.from().map(micros))
                .bind(t.window.until().map(micros))
                .bind(t.unlocks_hidden_tickets)
                .bind(t.restriction_set_id)
                .bind(t.batch_id)
                .bind(micros(t.created_at))
                .bind(json.clone())
        };
        // Small chunks take RETURNING: the driver hands result rows over from its worker thread
        // one at a time, which is cheap for a few rows and saves two statements.
        if codes.len() < READ_BACK_FROM {
            let rows = insert(INSERT_VOUCHERS_RETURNING).fetch_all(&mut *self.tx).await?;
            return rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect();
        }
        // Large chunks: for 500 rows that hand-over cost more than the INSERT itself (measured
        // with perf), so the new (id, code) pairs are read back as one row of two JSON arrays.
        // This transaction holds the write lock (BEGIN IMMEDIATE), so every row with an id above
        // the maximum before the INSERT is one it inserted.
        let before: i64 =
            sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM voucher").fetch_one(&mut *self.tx).await?;
        let inserted = insert(INSERT_VOUCHERS).execute(&mut *self.tx).await?.rows_affected();
        if inserted == 0 {
            return Ok(Vec::new());
        }
        let (ids, codes): (String, String) = sqlx::query_as(
            "SELECT json_group_array(id), json_group_array(code)
               FROM (SELECT id, code FROM voucher WHERE id > ? ORDER BY id)",
        )
        .bind(before)
        .fetch_one(&mut *self.tx)
        .await?;
        let ids: Vec<i64> = serde_json::from_str(&ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let codes: Vec<String> = serde_json::from_str(&codes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if ids.len() as u64 != inserted || codes.len() != ids.len() {
            return Err(StoreError::Corrupt(format!("inserted {inserted} vouchers but read back {}", ids.len())));
        }
        Ok(ids.into_iter().zip(codes).collect())
    }

    async fn claim_redemption(
        &mut self,
        voucher_id: i64,
        order_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<RedemptionClaim, StoreError> {
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO redemption (voucher_id, order_ref, redeemed_at, response) VALUES (?, ?, ?, '')
             ON CONFLICT (voucher_id, order_ref) DO NOTHING RETURNING id",
        )
        .bind(voucher_id)
        .bind(order_ref)
        .bind(micros(now))
        .fetch_optional(&mut *self.tx)
        .await?;
        if let Some(id) = created {
            return Ok(RedemptionClaim::New(id));
        }
        let (id, released, response): (i64, bool, String) = sqlx::query_as(
            "SELECT id, released_at IS NOT NULL, response FROM redemption WHERE voucher_id = ? AND order_ref = ?",
        )
        .bind(voucher_id)
        .bind(order_ref)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(RedemptionClaim::Existing { id, released, response })
    }

    async fn consume_use(&mut self, voucher_id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE voucher SET times_used = times_used + 1, updated_at = ?2
              WHERE id = ?1 AND is_active = 1 AND times_used < max_uses
                AND (valid_from IS NULL OR valid_from <= ?2) AND (valid_until IS NULL OR valid_until >= ?2)",
        )
        .bind(voucher_id)
        .bind(micros(now))
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn record_redemption(
        &mut self,
        redemption_id: i64,
        response: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE redemption SET response = ?, redeemed_at = ?, released_at = NULL WHERE id = ?")
            .bind(response)
            .bind(micros(now))
            .bind(redemption_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
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
            "INSERT INTO idempotency_key (conference_id, key, request_hash, status, response, created_at)
             VALUES (?, ?, ?, 0, '', ?) ON CONFLICT (conference_id, key) DO NOTHING RETURNING id",
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
        let (request_hash, status, response): (String, i64, String) = sqlx::query_as(
            "SELECT request_hash, status, response FROM idempotency_key WHERE conference_id = ? AND key = ?",
        )
        .bind(conference_id)
        .bind(key)
        .fetch_one(&mut *self.tx)
        .await?;
        let status = u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("status {status}")))?;
        Ok(IdempotencyClaim::Existing { request_hash, status, response })
    }

    async fn record_idempotent_response(
        &mut self,
        conference_id: i64,
        key: &str,
        status: u16,
        response: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE idempotency_key SET status = ?, response = ? WHERE conference_id = ? AND key = ?")
            .bind(i64::from(status))
            .bind(response)
            .bind(conference_id)
            .bind(key)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn lock_voucher(&mut self, conference_id: i64, code: &str) -> Result<Option<VoucherState>, StoreError> {
        // BEGIN IMMEDIATE already holds the database's write lock: the row cannot change under us.
        let row = sqlx::query(
            "SELECT id, max_uses, times_used, is_active, valid_from, valid_until FROM voucher
              WHERE conference_id = ? AND code = ?",
        )
        .bind(conference_id)
        .bind(code)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let window =
            ValidityWindow::new(opt_instant(row.try_get("valid_from")?)?, opt_instant(row.try_get("valid_until")?)?)
                .map_err(|e| StoreError::Corrupt(e.message))?;
        Ok(Some(VoucherState {
            id: row.try_get("id")?,
            max_uses: row.try_get("max_uses")?,
            times_used: row.try_get("times_used")?,
            is_active: row.try_get("is_active")?,
            window,
        }))
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

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
