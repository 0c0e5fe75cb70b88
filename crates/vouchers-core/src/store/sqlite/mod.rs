//! The SQLite store: the embedded default, one file, created on first use.
//!
//! WAL journal (readers never wait for the writer), `synchronous = NORMAL` (a committed batch
//! survives a crash of the process; in WAL mode only a power loss can take the last commits),
//! foreign keys on, and every write transaction opened with `BEGIN IMMEDIATE` so it holds the
//! write lock from its first read.
//!
//! Reads go through a pool of reader connections; write transactions go through one writer
//! connection, taken in turn (the pool's waiters are served first come, first served). So this
//! process's writers wait in an in-process FIFO line instead of sleeping in SQLite's busy handler,
//! which retries on a growing sleep and made the slowest redemptions hundreds of times slower
//! than the median. The busy timeout still lets another process's writer (a `vouchers` command
//! next to `serve`) take its turn.
//! Instants are stored as microseconds since the epoch, amounts as cents, dates as text.
//!
//! This file opens the store and answers the reads; `tx.rs` is the write transaction and
//! `insert.rs` the bulk insert of a chunk of codes.

mod insert;
mod outbox;
mod tx;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteRow, SqliteSynchronous};
use sqlx::{Executor, Sqlite, SqlitePool};

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

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The columns of a voucher, the amount renamed as the shared mapper reads it.
const VOUCHER_COLUMNS: &str = "id, code, voucher_type, discount_cents AS discount, max_uses, times_used, \
     valid_from, valid_until, unlocks_hidden_tickets, is_active, restriction_set_id, batch_id, created_at, \
     recipient_email, recipient_name, recipient_tags";

/// The columns of a batch, the amount renamed as the shared mapper reads it.
const BATCH_COLUMNS: &str = "id, prefix, count, voucher_type, discount_cents AS discount, max_uses, valid_from, \
     valid_until, unlocks_hidden_tickets, restriction_set_id, created_at, source, alphabet, code_length, check_char";

/// `id = ` the voucher of conference `?1` named by the code `?2` as typed (ignoring ASCII case:
/// the column's NOCASE collation, through the unique index) or, among readable codes, by its
/// folded key `?3`.
pub(super) static CODE_MATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("id = {}", rows::voucher_id_match("?1", "o.code = ?2", "?3")));

/// SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Reader connections.
    pool: SqlitePool,
    /// The one writer connection.
    writer: writer::Writer,
    /// Dropped with the last clone of the store, which ends its checkpoint task.
    _checkpoints: std::sync::Arc<tokio::sync::oneshot::Sender<()>>,
}

impl SqliteStore {
    /// Opens (creating if missing) the file named by a `sqlite://` URL and migrates it.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        Self::connect_with(url, super::DEFAULT_TIMEOUT).await
    }

    /// [`SqliteStore::connect`], a request waiting at most `timeout` for a connection.
    ///
    /// Any number of processes may open the same file at once: while one sets the file up
    /// (WAL mode, migrations) it holds an exclusive `flock` on the file's directory, and the
    /// others wait for it, then find the work done.
    pub async fn connect_with(url: &DatabaseUrl, timeout: Duration) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url.expose())
            .map_err(|e| StoreError::Url(format!("{url}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT.to_string());
        let setup = SetupLock::take(options.get_filename()).await?;
        create_private(options.get_filename()).map_err(StoreError::CreateFile)?;
        // The writer never checkpoints at commit (see `checkpoints`).
        let mut writer = tokio::time::timeout(
            timeout,
            sqlx::ConnectOptions::connect(&options.clone().pragma("wal_autocheckpoint", "0")),
        )
        .await
        .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))??;
        MIGRATOR.run(&mut writer).await?;
        // A writer waits its turn behind queued writers at least as long as SQLite's busy handler
        // would wait for another process's; `timeout` is for a database that does not answer.
        let writer = writer::Writer::new(writer, timeout.max(BUSY_TIMEOUT));
        let truncating = options.clone().busy_timeout(TRUNCATE_WAIT);
        let pool = super::pool_options().max_connections(8).acquire_timeout(timeout).connect_with(options).await?;
        drop(setup);
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(checkpoints(pool.clone(), truncating, stopped));
        Ok(Self { pool, writer, _checkpoints: std::sync::Arc::new(stop) })
    }

    /// The reader connections, for tools that measure the database itself (the benchmark's
    /// floor opens its own `BEGIN IMMEDIATE` transactions on them).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Creates the database file, when it does not exist yet, readable and writable by its owner only
/// (0600, whatever the umask): it holds every code, the password and token hashes and the
/// recipients. SQLite gives its `-wal` and `-shm` files the database file's mode. An existing
/// file is left as it is.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
        return Ok(());
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// How often the write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Past this size the write-ahead log is checkpointed to its end and truncated (16 MiB).
pub const WAL_TRUNCATE_ABOVE: u64 = 16 * 1024 * 1024;

/// How long a truncating checkpoint waits for readers and the writer before trying again at the
/// next tick: writers wait behind it at most this long.
const TRUNCATE_WAIT: Duration = Duration::from_millis(250);

/// A log file that SQLite resets is cut back to this size (64 MiB), whatever it had grown to.
const JOURNAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Copies the write-ahead log back into the database file every [`CHECKPOINT_EVERY`], until the
/// store is closed or dropped. SQLite's default has the committing writer do it (every 1,000
/// pages), with an `fsync` of the database file, while every queued writer waits; a `PASSIVE`
/// checkpoint, from a reader connection, never blocks a writer or a reader.
///
/// A passive checkpoint never reaches the end of the log while readers overlap, and a log that
/// is never checkpointed to its end never restarts: under sustained load it grew without bound
/// (850 MB in 3 minutes). So once the log passes [`WAL_TRUNCATE_ABOVE`], a `TRUNCATE` checkpoint
/// on a connection of its own waits up to [`TRUNCATE_WAIT`] for readers to move to the newest
/// snapshot (every read is one short statement), copies the whole log and truncates it to zero
/// bytes; if it cannot within that wait it tries again at the next tick. The log of a process that
/// exits is checkpointed by SQLite when its last connection closes.
async fn checkpoints(
    pool: SqlitePool,
    truncating: SqliteConnectOptions,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let mut wal = truncating.get_filename().as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::path::PathBuf::from(wal);
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut own: Option<sqlx::SqliteConnection> = None;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = &mut stopped => return,
        }
        if pool.is_closed() {
            return;
        }
        let size = tokio::fs::metadata(&wal).await.map(|m| m.len()).unwrap_or(0);
        if size > WAL_TRUNCATE_ABOVE {
            if own.is_none() {
                own = sqlx::ConnectOptions::connect(&truncating).await.ok();
            }
            if let Some(connection) = own.as_mut() {
                match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&mut *connection)
                    .await
                {
                    Ok((0, _, _)) => {
                        tracing::debug!(wal_bytes = size, "write-ahead log checkpointed and truncated");
                        continue;
                    }
                    Ok(_) => tracing::debug!(wal_bytes = size, "truncating checkpoint busy; trying again"),
                    Err(error) => {
                        tracing::debug!(%error, "truncating checkpoint failed");
                        own = None;
                    }
                }
            }
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::debug!(%error, "checkpoint skipped");
        }
    }
}

/// An exclusive `flock` on the database file's directory while one process sets the file up.
///
/// Not on the database file itself: SQLite's own locks are POSIX `fcntl` locks, which a process
/// loses on *every* descriptor of the file the moment it closes *any* descriptor of it. Closing a
/// lock handle on the file would silently drop the locks that tell other processes this one is
/// still using the database, and the next process to close its last connection would checkpoint
/// and delete the write-ahead log under this one's feet (the online-backup fault test caught
/// exactly that: writes acknowledged, then lost).
struct SetupLock(Option<std::fs::File>);

impl SetupLock {
    /// Waits for the lock on the directory holding `path`.
    async fn take(path: &std::path::Path) -> Result<Self, StoreError> {
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => std::path::PathBuf::from("."),
        };
        let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let file = std::fs::File::open(&directory)?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(|e| StoreError::Setup(std::io::Error::other(e)))?
        .map_err(StoreError::Setup)?;
        Ok(Self(Some(file)))
    }
}

impl Drop for SetupLock {
    fn drop(&mut self) {
        if let Some(file) = self.0.take() {
            let _ = file.unlock();
        }
    }
}

/// An instant as SQLite stores it: microseconds since the epoch.
fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A list bound as one JSON array parameter (read by `json_each`).
fn json_list<T: serde::Serialize>(items: &[T]) -> Result<String, StoreError> {
    serde_json::to_string(items).map_err(StoreError::Encode)
}

impl StoredRow for SqliteRow {
    plain_columns!();

    fn instant(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        let value = self.int(column)?;
        DateTime::from_timestamp_micros(value).ok_or_else(|| StoreError::Corrupt(format!("{column}: instant {value}")))
    }

    fn opt_instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.opt_int(column)? {
            None => Ok(None),
            Some(value) => DateTime::from_timestamp_micros(value)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt(format!("{column}: instant {value}"))),
        }
    }

    fn money(&self, column: &str) -> Result<Money, StoreError> {
        Ok(Money::from_cents(self.int(column)?))
    }

    fn date(&self, column: &str) -> Result<NaiveDate, StoreError> {
        let value = self.text(column)?;
        NaiveDate::parse_from_str(&value, "%Y-%m-%d")
            .map_err(|_| StoreError::Corrupt(format!("{column}: date {value:?}")))
    }
}

async fn conference_by_slug<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    slug: &str,
) -> Result<Option<Conference>, StoreError> {
    let sql = format!("SELECT {CONFERENCE_COLUMNS} FROM conference WHERE slug = ?");
    let row = sqlx::query(&sql).bind(slug).fetch_optional(e).await?;
    row.as_ref().map(rows::conference).transpose()
}

/// The slugs of the conferences an account is granted, sorted.
async fn account_conferences<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    account_id: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT c.slug FROM account_conference ac JOIN conference c ON c.id = ac.conference_id
          WHERE ac.account_id = ? ORDER BY c.slug",
    )
    .bind(account_id)
    .fetch_all(e)
    .await?)
}

/// Reads the slugs of the given restriction sets in one query.
async fn restriction_slugs(pool: &SqlitePool, rows: &[SqliteRow]) -> Result<RestrictionSets, StoreError> {
    let set_ids = rows::set_ids_of(rows)?;
    if set_ids.is_empty() {
        return Ok(RestrictionSets::new());
    }
    let found: Vec<(i64, bool, String)> = sqlx::query_as(
        "SELECT l.restriction_set_id, 0, t.slug
           FROM restriction_set_ticket_type l JOIN ticket_type t ON t.id = l.ticket_type_id
          WHERE l.restriction_set_id IN (SELECT value FROM json_each(?1))
         UNION ALL
         SELECT l.restriction_set_id, 1, a.slug
           FROM restriction_set_addon l JOIN addon a ON a.id = l.addon_id
          WHERE l.restriction_set_id IN (SELECT value FROM json_each(?1))",
    )
    .bind(json_list(&set_ids)?)
    .fetch_all(pool)
    .await?;
    Ok(rows::group_restrictions(found))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn begin_as(&self, actor: &Actor) -> Result<Box<dyn StoreTx>, StoreError> {
        Ok(Box::new(tx::SqliteTx::begin(&self.writer, actor.clone()).await?))
    }

    async fn redeem_as(&self, actor: &Actor, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError> {
        // One statement, one turn of the writer: the trigger of migration 0008 checks and writes.
        let mut writer = self.writer.lock().await?;
        let done = sqlx::query(
            "INSERT INTO redeem_request (voucher_id, order_ref, at, response, audit_at, conference_id, actor_kind,
                                         actor_id, actor_name, action, target, changes)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(new.voucher_id)
        .bind(new.order_ref)
        .bind(micros(new.now))
        .bind(new.response)
        .bind(micros(new.audit.at))
        .bind(new.audit.conference_id)
        .bind(actor.kind())
        .bind(actor.id())
        .bind(actor.name())
        .bind(new.audit.action)
        .bind(new.audit.target)
        .bind(new.audit.changes.to_string())
        .execute(&mut *writer)
        .await;
        match done {
            Ok(_) => Ok(RedeemOutcome::Redeemed),
            Err(sqlx::Error::Database(e)) if e.message() == "vouchers: not usable" => Ok(RedeemOutcome::NotUsable),
            Err(sqlx::Error::Database(e)) if e.message() == "vouchers: replay" => {
                let response: String =
                    sqlx::query_scalar("SELECT response FROM redemption WHERE voucher_id = ? AND order_ref = ?")
                        .bind(new.voucher_id)
                        .bind(new.order_ref)
                        .fetch_one(&mut *writer)
                        .await?;
                Ok(RedeemOutcome::Replay(response))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn audit_log(&self, conference_id: i64, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
              WHERE conference_id = ?1 AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR action = ?3)
                AND (?4 IS NULL OR id < ?4)
              ORDER BY id DESC LIMIT ?5"
        );
        sqlx::query(&sql)
            .bind(conference_id)
            .bind(filter.since.map(micros))
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
        sqlx::query(
            "SELECT id, slug, name, price_cents AS price, requires_voucher, is_active FROM ticket_type
              WHERE conference_id = ? ORDER BY slug",
        )
        .bind(conference.id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| rows::ticket_type(conference, r))
        .collect()
    }

    async fn addons(&self, conference: &Conference) -> Result<Vec<AddOn>, StoreError> {
        sqlx::query(
            "SELECT id, slug, name, price_cents AS price, is_active FROM addon WHERE conference_id = ? ORDER BY slug",
        )
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
              WHERE conference_id = ?1
                AND (?2 IS NULL OR code LIKE ?2 ESCAPE '\\')
                AND (?3 IS NULL OR batch_id = ?3)
                AND (?4 IS NULL OR is_active = ?4)
                AND id > ?5
                AND (?7 IS NULL OR (CASE WHEN NOT is_active THEN 'inactive'
                                         WHEN times_used >= max_uses THEN 'used_up'
                                         WHEN valid_from > ?8 THEN 'not_yet_valid'
                                         WHEN valid_until < ?8 THEN 'expired'
                                         ELSE 'active' END) = ?7)
                AND (?9 IS NULL OR recipient_email = ?9)
                AND (NOT ?10 OR (recipient_email IS NOT NULL
                                 AND NOT EXISTS (SELECT 1 FROM outbox_message m WHERE m.voucher_id = voucher.id)))
              ORDER BY id
              LIMIT ?6"
        );
        let found = sqlx::query(&sql)
            .bind(conference.id)
            .bind(filter.prefix.as_ref().map(|p| rows::like_prefix(p.as_str())))
            .bind(filter.batch_id)
            .bind(filter.active)
            .bind(filter.after_id.unwrap_or(0))
            .bind(filter.limit.unwrap_or(-1))
            .bind(filter.status.map(|(s, _)| s.as_str()))
            .bind(filter.status.map(|(_, at)| micros(at)))
            .bind(filter.recipient_email.as_deref())
            .bind(filter.awaiting_message)
            .fetch_all(&self.pool)
            .await?;
        let sets = restriction_slugs(&self.pool, &found).await?;
        found.iter().map(|r| rows::voucher(conference, &sets, r)).collect()
    }

    async fn checkout_view(&self, key: &CheckoutKey<'_>) -> Result<CheckoutView, StoreError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            rows::checkout_sql(&rows::Dialect {
                param: |n| format!("?{n}"),
                discount: "discount_cents",
                price: "price_cents",
                // The column's NOCASE collation makes '=' ignore ASCII case, using the unique index.
                code_match: "o.code = ?3",
            })
        });
        let (address, since) = key.failures_since.unzip();
        let found = sqlx::query(&SQL)
            .bind(key.token_hash)
            .bind(key.conference)
            .bind(key.code)
            .bind(address)
            .bind(since.map(micros))
            .bind(fold_key(key.code))
            .fetch_all(&self.pool)
            .await?;
        rows::checkout_view(&found)
    }

    async fn voucher_by_code(&self, conference: &Conference, code: &str) -> Result<Option<Voucher>, StoreError> {
        let sql = format!("SELECT {VOUCHER_COLUMNS} FROM voucher WHERE {}", *CODE_MATCH);
        let found = sqlx::query(&sql).bind(conference.id).bind(code).bind(fold_key(code)).fetch_all(&self.pool).await?;
        let sets = restriction_slugs(&self.pool, &found).await?;
        found.first().map(|r| rows::voucher(conference, &sets, r)).transpose()
    }

    async fn batch(&self, conference: &Conference, id: i64) -> Result<Option<Batch>, StoreError> {
        let sql = format!("SELECT {BATCH_COLUMNS} FROM voucher_batch WHERE conference_id = ? AND id = ?");
        let found = sqlx::query(&sql).bind(conference.id).bind(id).fetch_all(&self.pool).await?;
        let sets = restriction_slugs(&self.pool, &found).await?;
        found.first().map(|r| rows::batch(conference, &sets, r)).transpose()
    }

    async fn batches(&self, conference: &Conference, after_id: i64, limit: i64) -> Result<Vec<Batch>, StoreError> {
        let sql =
            format!("SELECT {BATCH_COLUMNS} FROM voucher_batch WHERE conference_id = ? AND id > ? ORDER BY id LIMIT ?");
        let found = sqlx::query(&sql).bind(conference.id).bind(after_id).bind(limit).fetch_all(&self.pool).await?;
        let sets = restriction_slugs(&self.pool, &found).await?;
        found.iter().map(|r| rows::batch(conference, &sets, r)).collect()
    }

    async fn check_formats(&self, conference_id: i64) -> Result<Vec<(String, CodeFormat)>, StoreError> {
        let found: Vec<(String, String, i64, bool)> = sqlx::query_as(
            "SELECT DISTINCT prefix, alphabet, code_length, check_char FROM voucher_batch
              WHERE conference_id = ? AND check_char AND source = 'generate'",
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
            // total() sums as a float and never overflows (sum() would fail past 2^63); exact
            // below 2^53, and CAST saturates at the largest integer.
            "SELECT v.batch_id, b.prefix, b.source, b.alphabet, b.code_length, b.check_char,
                    count(*) AS issued, sum(v.is_active) AS active,
                    sum(v.times_used >= v.max_uses) AS fully_used,
                    CAST(total(v.times_used) AS INTEGER) AS uses_consumed,
                    CAST(total(CASE WHEN v.is_active THEN v.max_uses - v.times_used ELSE 0 END) AS INTEGER)
                        AS uses_left
               FROM voucher v LEFT JOIN voucher_batch b ON b.id = v.batch_id
              WHERE v.conference_id = ?
              GROUP BY v.batch_id, b.prefix, b.source, b.alphabet, b.code_length, b.check_char
              ORDER BY v.batch_id",
        )
        .bind(conference.id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let sql = format!("{TOKEN_SELECT} WHERE t.token_hash = ? AND t.revoked_at IS NULL");
        let row = sqlx::query(&sql).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::token).transpose()
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("{TOKEN_SELECT} ORDER BY t.id");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(rows::token).collect()
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<StoredAccount>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS}, password_hash FROM account WHERE email = ?");
        let Some(row) = sqlx::query(&sql).bind(email).fetch_optional(&self.pool).await? else { return Ok(None) };
        let conferences = account_conferences(&self.pool, row.int("id")?).await?;
        Ok(Some(StoredAccount {
            account: rows::account(&row, conferences)?,
            password_hash: row.text("password_hash")?,
        }))
    }

    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE id = ?");
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
        let sql = format!("SELECT {SESSION_COLUMNS} FROM console_session WHERE token_hash = ?");
        let row = sqlx::query(&sql).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn failed_lookups(
        &self,
        token_id: i64,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        let (count, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT count(*), min(at) FROM failed_lookup WHERE token_id = ? AND address = ? AND at > ?")
                .bind(token_id)
                .bind(address)
                .bind(micros(since))
                .fetch_one(&self.pool)
                .await?;
        Ok((count, oldest.and_then(DateTime::from_timestamp_micros)))
    }

    async fn prune_failed_lookups(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM failed_lookup WHERE at < ?").bind(micros(before)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn record_failed_lookup(
        &self,
        token_id: i64,
        address: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM failed_lookup WHERE token_id = ? AND address = ? AND at < ?")
            .bind(token_id)
            .bind(address)
            .bind(micros(forget_before))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO failed_lookup (token_id, address, at) VALUES (?, ?, ?)")
            .bind(token_id)
            .bind(address)
            .bind(micros(at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn redemptions(&self, voucher_id: i64) -> Result<Vec<RedemptionRecord>, StoreError> {
        sqlx::query(
            "SELECT order_ref, redeemed_at, released_at FROM redemption
              WHERE voucher_id = ? AND response <> '' ORDER BY redeemed_at DESC, id DESC",
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
        outbox::claim(&mut *self.writer.lock().await?, now, lease_until, limit).await
    }

    async fn finish_outbox(
        &self,
        id: i64,
        attempt: i64,
        result: &DeliveryResult<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        outbox::finish(&mut *self.writer.lock().await?, id, attempt, result, now).await
    }

    async fn backup_into(&self, path: &str) -> Result<(), StoreError> {
        // The copy is created empty with mode 0600 first (VACUUM INTO fills an empty file), and
        // `create_new` refuses a path that exists, a dangling symbolic link included.
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(StoreError::BackupFile)?;
        }
        // A read transaction of its own: the copy is one consistent snapshot, and writers go on
        // (WAL mode).
        if let Err(e) = sqlx::query("VACUUM INTO ?").bind(path).execute(&self.pool).await {
            let _ = std::fs::remove_file(path);
            return Err(e.into());
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}
