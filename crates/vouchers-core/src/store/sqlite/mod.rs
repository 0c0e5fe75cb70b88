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
//! This file opens the store, says how SQLite runs the shared statements (`crate::store::sql`)
//! and does what only SQLite does: the checkout's query, the redemption, the backup; `insert.rs`
//! is the bulk insert of a chunk of codes and `writer.rs` the one writer connection.

mod insert;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqliteRow, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use super::rows::{self, plain_columns, StoredRow};
use super::sql::{fast_refusal, refused, Arg, Conn, Dialect, Engine};
use super::{
    Backend, CheckoutKey, CheckoutView, DatabaseUrl, NewRedemption, RedeemOutcome, StoreError, VoucherTemplate,
};
use crate::domain::{fold_key, Actor, Money};
use writer::WriterTx;

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for another writer's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

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

    fn opt_money(&self, column: &str) -> Result<Option<Money>, StoreError> {
        Ok(self.opt_int(column)?.map(Money::from_cents))
    }

    fn date(&self, column: &str) -> Result<NaiveDate, StoreError> {
        let value = self.text(column)?;
        NaiveDate::parse_from_str(&value, "%Y-%m-%d")
            .map_err(|_| StoreError::Corrupt(format!("{column}: date {value:?}")))
    }
}

#[async_trait]
impl Conn for SqlitePool {
    type Row = SqliteRow;

    async fn all(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Vec<SqliteRow>, StoreError> {
        Ok(query(sql, args)?.fetch_all(&*self).await?)
    }

    async fn first(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Option<SqliteRow>, StoreError> {
        Ok(query(sql, args)?.fetch_optional(&*self).await?)
    }

    async fn run(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<u64, StoreError> {
        Ok(query(sql, args)?.execute(&*self).await?.rows_affected())
    }
}

#[async_trait]
impl Conn for WriterTx {
    type Row = SqliteRow;

    async fn all(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Vec<SqliteRow>, StoreError> {
        Ok(query(sql, args)?.fetch_all(&mut **self).await?)
    }

    async fn first(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Option<SqliteRow>, StoreError> {
        Ok(query(sql, args)?.fetch_optional(&mut **self).await?)
    }

    async fn run(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<u64, StoreError> {
        Ok(query(sql, args)?.execute(&mut **self).await?.rows_affected())
    }
}

/// A statement with its arguments bound as SQLite stores them.
fn query<'q>(sql: &'q str, args: Vec<Arg<'q>>) -> Result<Query<'q, Sqlite, SqliteArguments<'q>>, StoreError> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(value),
            Arg::Text(value) => query.bind(value),
            Arg::Flag(value) => query.bind(value),
            Arg::Instant(value) => query.bind(value.map(micros)),
            Arg::Money(value) => query.bind(value.map(Money::cents)),
            Arg::Date(value) => query.bind(value.format("%Y-%m-%d").to_string()),
            Arg::Ints(list) => query.bind(json_list(list)?),
            Arg::Texts(list) => query.bind(json_list(list)?),
            Arg::Json(rows) => query.bind(rows),
        };
    }
    Ok(query)
}

/// SQLite's SQL: codes and emails are `NOCASE` columns, so `=` and `LIKE` ignore ASCII case
/// through their indexes; lists are JSON arrays read by `json_each`; a write transaction holds
/// the whole database, so rows need no lock.
const DIALECT: Dialect = Dialect {
    discount: "discount_cents",
    price: "price_cents",
    same_text: |column, param| format!("{column} = {param}"),
    starts_like: |column, pattern| format!("{column} LIKE {pattern} ESCAPE '\\'"),
    in_list: |param| format!("IN (SELECT value FROM json_each({param}))"),
    json_rows: |param| format!("json_each({param})"),
    for_update: "",
    skip_locked: "",
    for_no_key_update: "",
    // total() sums as a float and never overflows (sum() would fail past 2^63); exact below 2^53,
    // and CAST saturates at the largest integer.
    capped_sum: |expression| format!("CAST(total({expression}) AS INTEGER)"),
    now: "CAST(unixepoch('subsec') * 1000000 AS INTEGER)",
    not_by_index: "+",
    bytewise: |column| column.to_owned(),
};

/// The redemption: one INSERT into the view of migration 0019 (0017's, with the discount), whose trigger writes (the use, its
/// audit record, its event) or aborts with the refusal computed here from the voucher row and the cart's verdict
/// ('' when it can be used; 'locked' for a voucher that needs the locked path).
static REDEEM_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO redeem_request (voucher_id, order_ref, at, response, audit_at, conference_id, actor_kind,
                                     actor_id, actor_name, action, target, changes, refusal, event_id,
                                     event_type, event_body, event_bit, discount)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                CASE WHEN v.id IS NULL THEN 'not_found' ELSE coalesce({}, '') END, $14, $15, $16, $17, $18
           FROM (SELECT 1) one LEFT JOIN voucher v ON v.id = $1",
        fast_refusal("v", "$3", "$13")
    )
});

/// See [`Engine::checkout_view`].
static CHECKOUT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| rows::checkout_sql(&DIALECT));

#[async_trait]
impl Engine for SqliteStore {
    type Row = SqliteRow;
    type Reader = SqlitePool;
    type Tx = WriterTx;
    type Writer = WriterTx;
    const BACKEND: Backend = Backend::Sqlite;
    const DIALECT: Dialect = DIALECT;

    fn reader(&self) -> SqlitePool {
        self.pool.clone()
    }

    async fn begin(&self) -> Result<WriterTx, StoreError> {
        self.writer.begin().await
    }

    async fn commit(tx: WriterTx) -> Result<(), StoreError> {
        tx.commit().await
    }

    async fn rollback(tx: WriterTx) -> Result<(), StoreError> {
        tx.rollback().await
    }

    async fn writer(&self) -> Result<WriterTx, StoreError> {
        self.writer.lock().await
    }

    async fn checkout_view(&self, key: &CheckoutKey<'_>) -> Result<CheckoutView, StoreError> {
        let (address, since) = key.failures_since.unzip();
        let found = sqlx::query(&CHECKOUT_SQL)
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

    async fn redeem_as(&self, actor: &Actor, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError> {
        // One statement, one turn of the writer: it decides why the voucher cannot be used (if it
        // cannot), and the trigger (migration 0017) aborts with that reason, or writes the use,
        // its audit record and its event.
        let mut writer = self.writer.lock().await?;
        let done = sqlx::query(&REDEEM_SQL)
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
            .bind(new.cart_refusal.map(|r| r.as_str()))
            .bind(new.event.as_ref().map(|e| e.event_id))
            .bind(new.event.as_ref().map(|e| e.event_type.as_str()))
            .bind(new.event.as_ref().map(|e| e.body))
            .bind(new.event.as_ref().map(|e| e.event_type.bit()))
            .bind(new.discount.cents())
            .execute(&mut *writer)
            .await;
        match done {
            Ok(_) => Ok(RedeemOutcome::Redeemed),
            Err(sqlx::Error::Database(e)) if e.message() == "vouchers: replay" => {
                let response: String =
                    sqlx::query_scalar("SELECT response FROM redemption WHERE voucher_id = $1 AND order_ref = $2")
                        .bind(new.voucher_id)
                        .bind(new.order_ref)
                        .fetch_one(&mut *writer)
                        .await?;
                Ok(RedeemOutcome::Replay(response))
            }
            Err(sqlx::Error::Database(e)) if refused(e.message()).is_some() => {
                refused(e.message()).ok_or_else(|| StoreError::Corrupt("a refusal without its reason".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn insert_vouchers(
        tx: &mut WriterTx,
        template: &VoucherTemplate,
        codes: &[String],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        insert::insert_vouchers(tx, template, codes).await
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

    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}
