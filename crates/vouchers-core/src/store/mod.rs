//! Storage: the only module that writes SQL.
//!
//! [`Store`] is deliberately narrow: reads, and a write transaction ([`StoreTx`]) with the handful
//! of bulk operations the use cases need. Rules (validation, code generation, retries) live in
//! [`crate::service`], written once.
//!
//! - `rows`: how a row becomes a record, written once for both backends over [`sqlx::Row`]; each
//!   backend only says how it stores instants, amounts and dates.
//! - `sqlite/` and `postgres/`: one folder per backend, each split into the store and its reads
//!   (`mod.rs`), the write transaction (`tx.rs`) and the bulk insert of a chunk of codes
//!   (`insert.rs`). Each keeps its native column types and its fastest bulk path: SQLite binds a
//!   chunk's codes as one JSON array read by `json_each` and reads large chunks back as one JSON
//!   row; PostgreSQL binds one `text[]` read by `UNNEST` and tries a plain INSERT inside a
//!   savepoint before falling back to `ON CONFLICT DO NOTHING`. Either way a colliding code is
//!   skipped by the unique index instead of aborting the transaction.
//! - `error`: [`StoreError`], the kinds of database failure a use case tells apart.
//! - `url`: [`DatabaseUrl`], which never shows its password.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Account, Actor, AddOn, ApiToken, AuditRecord, Batch, BatchSource, CodeFormat, CodePrefix, Conference, DiscountSpec,
    MessageStatus, NewAddOn, NewConference, NewTicketType, OutboxMessage, Recipient, RenderedMessage, Role, Scope,
    TicketType, ValidityWindow, Voucher,
};

mod acting;
pub use acting::acting;

mod error;
mod postgres;
mod rows;
mod sqlite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod url;

pub use error::StoreError;
pub use postgres::PostgresStore;
pub use sqlite::{SqliteStore, WAL_TRUNCATE_ABOVE};
pub use url::{Backend, DatabaseUrl};

/// Opens the database behind `url`, creating a SQLite file on first use, and applies the schema
/// migrations (safe when several processes start at once on PostgreSQL: they take an advisory
/// lock).
pub async fn connect(url: &DatabaseUrl) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(url, DEFAULT_TIMEOUT).await
}

/// How long a request waits for the database by default before it is answered as unavailable.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// [`connect`], waiting at most `timeout` for a connection (at start and for every request).
pub async fn connect_with(url: &DatabaseUrl, timeout: std::time::Duration) -> Result<Arc<dyn Store>, StoreError> {
    let backend = url.backend().map_err(|e| StoreError::Url(e.message))?;
    Ok(match backend {
        Backend::Sqlite => Arc::new(SqliteStore::connect_with(url, timeout).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect_with(url, timeout).await?),
    })
}

/// Pool settings of both backends. sqlx tests a connection with a round trip before every use
/// by default; here only a connection idle for more than a second is tested (a restarted server
/// leaves dead ones behind), because one used moments ago was tested when it was given back
/// (sqlx pings on release and closes a broken connection). On the checkout path that saves one
/// round trip per request.
///
/// No idle timeout and no maximum lifetime: with either, sqlx 0.8 runs a maintenance task per
/// pool that can spin at 100% CPU for ever, and hang the runtime's shutdown, after a rare race in
/// its idle count (sqlx issue #3645, fixed after 0.8.6). Without them there is no such task; a
/// pool keeps at most its `max_connections`, and a connection left idle is tested before use.
pub(crate) fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    no_maintenance(sqlx::pool::PoolOptions::new()).test_before_acquire(false).before_acquire(|conn, meta| {
        Box::pin(async move {
            if meta.idle_for > std::time::Duration::from_secs(1) {
                sqlx::Connection::ping(conn).await?;
            }
            Ok(true)
        })
    })
}

/// `options` without the settings that make sqlx run a pool maintenance task (see
/// [`pool_options`]); for every pool this project opens, tests' pools included.
pub fn no_maintenance<DB: sqlx::Database>(options: sqlx::pool::PoolOptions<DB>) -> sqlx::pool::PoolOptions<DB> {
    options.idle_timeout(None).max_lifetime(None).min_connections(0)
}

/// The fields shared by every voucher of one insert: a batch, or one voucher added by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct VoucherTemplate {
    /// Owning conference.
    pub conference_id: i64,
    /// Type and value.
    pub discount: DiscountSpec,
    /// Uses per voucher.
    pub max_uses: i64,
    /// Validity window.
    pub window: ValidityWindow,
    /// Reveals hidden ticket types.
    pub unlocks_hidden_tickets: bool,
    /// Shared restriction set, `None` when it applies to everything.
    pub restriction_set_id: Option<i64>,
    /// The batch, `None` for a voucher added by hand.
    pub batch_id: Option<i64>,
    /// Creation time, the same for the whole insert.
    pub created_at: DateTime<Utc>,
    /// The codes are matched by their folded key ([`crate::domain::fold_key`]) and unique by it.
    pub readable: bool,
}

/// The batch row written by one `generate` call.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBatch<'a> {
    /// The batch's prefix.
    pub prefix: &'a str,
    /// How many vouchers it creates.
    pub count: i64,
    /// The configuration shared by its vouchers (its `batch_id` is ignored).
    pub template: &'a VoucherTemplate,
    /// Generated or imported.
    pub source: BatchSource,
    /// How its codes look (the seed's format for an import).
    pub format: CodeFormat,
}

/// Ids found by [`StoreTx::restriction_ids`]: `(id, slug)` pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestrictionIds {
    /// Ticket types found.
    pub ticket_types: Vec<(i64, String)>,
    /// Add-ons found.
    pub addons: Vec<(i64, String)>,
}

impl RestrictionIds {
    /// Sorts `(kind, id, slug)` rows (kind `false` = ticket type, `true` = add-on) into the two lists.
    pub(crate) fn from_rows(rows: Vec<(bool, i64, String)>) -> Self {
        let mut ids = Self::default();
        for (is_addon, id, slug) in rows {
            if is_addon {
                ids.addons.push((id, slug))
            } else {
                ids.ticket_types.push((id, slug))
            }
        }
        ids
    }
}

/// One redemption to write with [`Store::redeem_as`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewRedemption<'a> {
    /// The voucher.
    pub voucher_id: i64,
    /// The order.
    pub order_ref: &'a str,
    /// The answer to store with it (replayed to every retry of the order).
    pub response: &'a str,
    /// When.
    pub now: DateTime<Utc>,
    /// The audit record of the consumed use.
    pub audit: AuditEntry<'a>,
}

/// What [`Store::redeem_as`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// The order's redemption is written, one use consumed and the audit record appended.
    Redeemed,
    /// The order was redeemed before and not released: nothing was consumed; its stored answer.
    Replay(String),
    /// The voucher cannot be used now (inactive, no use left, outside its window): nothing was
    /// written.
    NotUsable,
}

/// Voucher counts of one batch, as [`Store::usage`] reads them (both backends name the columns
/// after the fields).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageRow {
    /// The batch (`None`: vouchers added by hand).
    pub batch_id: Option<i64>,
    /// The batch's prefix (`None` for vouchers added by hand).
    pub prefix: Option<String>,
    /// The batch's source, `generate` or `import` (`None` for vouchers added by hand).
    pub source: Option<String>,
    /// The batch's alphabet, `seed` or `readable` (`None` for vouchers added by hand).
    pub alphabet: Option<String>,
    /// The batch's number of random characters.
    pub code_length: Option<i64>,
    /// The batch's codes end with a check character.
    pub check_char: Option<bool>,
    /// Vouchers.
    pub issued: i64,
    /// Active vouchers.
    pub active: i64,
    /// Vouchers with no use left.
    pub fully_used: i64,
    /// Uses consumed.
    pub uses_consumed: i64,
    /// Uses left on active vouchers.
    pub uses_left: i64,
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoucherFilter {
    /// Only codes starting with this text, ignoring ASCII case.
    pub prefix: Option<CodePrefix>,
    /// Only vouchers of this batch.
    pub batch_id: Option<i64>,
    /// Only active (true) or inactive (false) vouchers.
    pub active: Option<bool>,
    /// Only vouchers with this status at this moment (the precedence of
    /// [`crate::domain::validity`]: inactive, used up, not yet valid, expired, else active).
    pub status: Option<(crate::domain::VoucherStatus, DateTime<Utc>)>,
    /// Only vouchers assigned to this recipient email (lower-case).
    pub recipient_email: Option<String>,
    /// Only assigned vouchers that have no message in the outbox yet.
    pub awaiting_message: bool,
    /// Only vouchers with a larger id (cursor pagination).
    pub after_id: Option<i64>,
    /// At most this many.
    pub limit: Option<i64>,
}

/// A token row to insert: only the hash of its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken<'a> {
    /// Hex SHA-256 of the secret.
    pub hash: &'a str,
    /// What it may do.
    pub scope: Scope,
    /// The conference it is bound to (`None` for admin).
    pub conference_id: Option<i64>,
    /// A label for people.
    pub name: Option<&'a str>,
}

impl fmt::Debug for NewToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is not the secret, but there is no reason to log it either.
        f.debug_struct("NewToken")
            .field("scope", &self.scope)
            .field("conference_id", &self.conference_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An idempotency key found or claimed by [`StoreTx::claim_idempotency_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new; this transaction holds it until it commits or rolls back.
    New,
    /// The key was used by a committed request.
    Existing {
        /// Fingerprint of that request.
        request_hash: String,
        /// Its stored answer (JSON).
        response: String,
    },
}

/// The fields of a voucher that an update checks, read under a row lock.
#[derive(Debug, Clone, PartialEq)]
pub struct VoucherState {
    /// Database id.
    pub id: i64,
    /// Uses allowed.
    pub max_uses: i64,
    /// Uses consumed.
    pub times_used: i64,
    /// Can be used at all.
    pub is_active: bool,
    /// Validity window.
    pub window: ValidityWindow,
}

/// New values for a voucher's changeable fields (all written; the service fills in the ones the
/// caller left alone from [`VoucherState`]).
#[derive(Debug, Clone, PartialEq)]
pub struct VoucherChange {
    /// Can be used at all.
    pub is_active: bool,
    /// Uses allowed, at least `times_used` and 1.
    pub max_uses: i64,
    /// Validity window.
    pub window: ValidityWindow,
}

/// An account with its password hash, for signing in. `Debug` never prints the hash.
#[derive(Clone, PartialEq)]
pub struct StoredAccount {
    /// The account.
    pub account: Account,
    /// Its Argon2id hash in PHC string form.
    pub password_hash: String,
}

impl fmt::Debug for StoredAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredAccount").field("account", &self.account).finish_non_exhaustive()
    }
}

/// A console session row, found by the hash of its secret.
#[derive(Clone, PartialEq)]
pub struct StoredSession {
    /// Database id.
    pub id: i64,
    /// The account's id.
    pub account_id: i64,
    /// The CSRF token of its forms.
    pub csrf_token: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_seen_at: DateTime<Utc>,
}

impl fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSession")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}

/// One redemption of a voucher, for its page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RedemptionRecord {
    /// The order.
    pub order_ref: String,
    /// When it was (last) redeemed.
    pub redeemed_at: DateTime<Utc>,
    /// When its use was given back, if it was.
    pub released_at: Option<DateTime<Utc>>,
}

/// One write, for the audit log (the transaction adds who).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry<'a> {
    /// When.
    pub at: DateTime<Utc>,
    /// The conference it concerns (`None`: accounts, admin tokens).
    pub conference_id: Option<i64>,
    /// What: `voucher.redeem`, ...
    pub action: &'a str,
    /// On what.
    pub target: &'a str,
    /// The values written (never a secret).
    pub changes: &'a serde_json::Value,
}

/// Which audit records to read: newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Only records at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only this action.
    pub action: Option<String>,
    /// Only records with a smaller id (paging, newest first).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// What one checkout request looks up, in one round trip ([`Store::checkout_view`]).
#[derive(Clone, Copy)]
pub struct CheckoutKey<'a> {
    /// Hex SHA-256 of the caller's token secret (`None`: the command line, no token).
    pub token_hash: Option<&'a str>,
    /// The conference's slug.
    pub conference: &'a str,
    /// The code, as [`crate::domain::VoucherCode::parse_lookup`] left it (matched ignoring ASCII
    /// case, and by its folded key against readable codes).
    pub code: &'a str,
    /// Count the token's failed lookups from this client address since this instant (the
    /// guessing limit's shared window).
    pub failures_since: Option<(&'a str, DateTime<Utc>)>,
}

impl fmt::Debug for CheckoutKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is not the secret, but there is no reason to log it either.
        f.debug_struct("CheckoutKey")
            .field("conference", &self.conference)
            .field("code", &self.code)
            .field("failures_since", &self.failures_since)
            .finish_non_exhaustive()
    }
}

/// What [`Store::checkout_view`] found: everything a check needs, read at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckoutView {
    /// The unrevoked token with that hash.
    pub token: Option<ApiToken>,
    /// The conference with that slug.
    pub conference: Option<Conference>,
    /// Its voucher with that code, with its restriction sets.
    pub voucher: Option<Voucher>,
    /// The conference's ticket types by slug (read only when the voucher exists).
    pub ticket_types: Vec<TicketType>,
    /// The conference's add-ons by slug (read only when the voucher exists).
    pub addons: Vec<AddOn>,
    /// The token's failed lookups from the address in the window: how many, and the oldest.
    pub failures: (i64, Option<DateTime<Utc>>),
    /// The token's failed lookups from every address in the window: how many, and the oldest.
    pub token_failures: (i64, Option<DateTime<Utc>>),
    /// No voucher was found and the code has the shape of a check-character batch's codes with a
    /// wrong check character (set by the checkout use case, not read by the store).
    pub mistyped: bool,
}

/// A message to put in the outbox ([`StoreTx::queue_messages`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage<'a> {
    /// The conference.
    pub conference_id: i64,
    /// The voucher's batch.
    pub batch_id: i64,
    /// The voucher whose code it carries (one message per voucher).
    pub voucher_id: i64,
    /// Who it goes to.
    pub recipient: &'a Recipient,
    /// What it says.
    pub rendered: &'a RenderedMessage,
    /// The random part of its `Message-ID`, fixed when it is queued.
    pub message_key: String,
    /// How many attempts it gets before a temporary failure fails it.
    pub attempt_limit: i64,
}

/// An assigned voucher with what its message says of it ([`StoreTx::vouchers_awaiting_message`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageVoucher {
    /// Database id.
    pub id: i64,
    /// Its batch.
    pub batch_id: i64,
    /// The code.
    pub code: String,
    /// Kind of discount.
    pub voucher_type: crate::domain::VoucherType,
    /// Percentage or amount.
    pub discount_value: crate::domain::Money,
    /// End of its validity window.
    pub valid_until: Option<DateTime<Utc>>,
    /// Who it is assigned to.
    pub recipient: Recipient,
}

/// Which outbox messages to list, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxFilter {
    /// Only this batch's.
    pub batch_id: Option<i64>,
    /// Only messages with this status.
    pub status: Option<MessageStatus>,
    /// Only messages with a larger id (paging).
    pub after_id: i64,
    /// At most this many.
    pub limit: i64,
}

/// A message a sender claimed ([`Store::claim_outbox`]): everything needed to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    /// Database id.
    pub id: i64,
    /// This claim's attempt number: only it may record the result.
    pub attempt: i64,
    /// The attempt at which a temporary failure fails the message.
    pub attempt_limit: i64,
    /// The random part of its `Message-ID`.
    pub message_key: String,
    /// Who it goes to.
    pub to_email: String,
    /// Their name.
    pub to_name: String,
    /// What it says.
    pub rendered: RenderedMessage,
}

impl fmt::Debug for ClaimedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body carries the voucher code: not for logs.
        f.debug_struct("ClaimedMessage").field("id", &self.id).field("attempt", &self.attempt).finish_non_exhaustive()
    }
}

/// What became of one delivery attempt ([`Store::finish_outbox`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult<'a> {
    /// The server accepted the message.
    Sent,
    /// A temporary failure: try again at this instant.
    Retry {
        /// The server's answer, or why it could not be reached.
        error: &'a str,
        /// When.
        at: DateTime<Utc>,
    },
    /// A permanent failure, or the last attempt failed.
    Failed {
        /// The server's answer.
        error: &'a str,
    },
}

/// Reads, and the way into a write transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE`, taking the write lock up front)
    /// whose audit records name `actor`.
    async fn begin_as(&self, actor: &Actor) -> Result<Box<dyn StoreTx>, StoreError>;
    /// [`Store::begin_as`] the store's own actor: [`Actor::System`], or the actor an
    /// [`acting`] store was made for.
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        self.begin_as(&Actor::System).await
    }
    /// A redemption by `actor` as one atomic statement: it claims the order's redemption (new, or
    /// a released one taken back) with its answer, consumes one use only when the claim took a
    /// row and the voucher is active, has a use left and `now` is inside its window, and appends
    /// the audit record; or it changes nothing (a replay, or a voucher that cannot be used now).
    /// A concurrent redemption of the same order waits for the first and is answered as a replay.
    async fn redeem_as(&self, actor: &Actor, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError>;
    /// [`Store::redeem_as`] the store's own actor.
    async fn redeem(&self, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError> {
        self.redeem_as(&Actor::System, new).await
    }
    /// The conference's audit records matching `filter`, newest first.
    async fn audit_log(&self, conference_id: i64, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError>;
    /// The conference with this slug.
    async fn conference(&self, slug: &str) -> Result<Option<Conference>, StoreError>;
    /// All conferences, by slug.
    async fn conferences(&self) -> Result<Vec<Conference>, StoreError>;
    /// The conference's ticket types, by slug.
    async fn ticket_types(&self, conference: &Conference) -> Result<Vec<TicketType>, StoreError>;
    /// The conference's add-ons, by slug.
    async fn addons(&self, conference: &Conference) -> Result<Vec<AddOn>, StoreError>;
    /// The conference's vouchers matching `filter`, in creation order (by id).
    async fn vouchers(&self, conference: &Conference, filter: &VoucherFilter) -> Result<Vec<Voucher>, StoreError>;
    /// Everything one checkout request reads, in one query: the token, the conference, the
    /// voucher with its restriction sets, the catalogue when the voucher exists, and the
    /// caller's recent failed lookups.
    async fn checkout_view(&self, key: &CheckoutKey<'_>) -> Result<CheckoutView, StoreError>;
    /// The voucher with this code, ignoring ASCII case.
    async fn voucher_by_code(&self, conference: &Conference, code: &str) -> Result<Option<Voucher>, StoreError>;
    /// A batch of the conference.
    async fn batch(&self, conference: &Conference, id: i64) -> Result<Option<Batch>, StoreError>;
    /// The conference's batches with an id above `after_id`, by id, at most `limit`.
    async fn batches(&self, conference: &Conference, after_id: i64, limit: i64) -> Result<Vec<Batch>, StoreError>;
    /// Voucher counts per batch (vouchers added by hand form one group with no batch).
    async fn usage(&self, conference: &Conference) -> Result<Vec<UsageRow>, StoreError>;
    /// The distinct `(prefix, format)` of the conference's generated batches whose codes end with
    /// a check character.
    async fn check_formats(&self, conference_id: i64) -> Result<Vec<(String, CodeFormat)>, StoreError>;
    /// The unrevoked token whose secret hashes to `hash` (hex SHA-256), found through the unique
    /// index on the hash: no secret is compared byte by byte.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError>;
    /// Every token, revoked ones included, by id.
    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;
    /// The account with this email (ignoring case), with its password hash.
    async fn account_by_email(&self, email: &str) -> Result<Option<StoredAccount>, StoreError>;
    /// The account with this id.
    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError>;
    /// Every account, by email.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// The session whose secret hashes to `hash` (hex SHA-256).
    async fn session_by_hash(&self, hash: &str) -> Result<Option<StoredSession>, StoreError>;
    /// A caller's failed code lookups since `since`: how many, and when the oldest was.
    async fn failed_lookups(
        &self,
        token_id: i64,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), StoreError>;
    /// Records a caller's failed lookup at `at`, dropping its records older than `forget_before`,
    /// in one statement.
    async fn record_failed_lookup(
        &self,
        token_id: i64,
        address: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Deletes every caller's failed lookups older than `before` (callers that never came back
    /// leave theirs otherwise); returns how many.
    async fn prune_failed_lookups(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// A voucher's redemptions, newest first.
    async fn redemptions(&self, voucher_id: i64) -> Result<Vec<RedemptionRecord>, StoreError>;
    /// The conference's outbox messages matching `filter`, by id.
    async fn outbox(&self, conference_id: i64, filter: &OutboxFilter) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Claims at most `limit` messages due at `now` (queued ones whose next attempt has come, and
    /// sending ones whose sender's lease ended before `now`) in one statement: each becomes
    /// `sending` with a lease until `lease_until` and one more attempt. Several senders never
    /// claim the same row at once (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the one writer).
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>, StoreError>;
    /// Records the result of attempt `attempt` of message `id`; false (and nothing changes) when
    /// that attempt is no longer the message's current one (its lease ended and another sender
    /// claimed it).
    async fn finish_outbox(
        &self,
        id: i64,
        attempt: i64,
        result: &DeliveryResult<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Writes a consistent copy of the whole database to a new file at `path` while the database
    /// keeps taking writes (SQLite: `VACUUM INTO`). PostgreSQL has `pg_dump` for that:
    /// [`StoreError::Unsupported`].
    async fn backup_into(&self, path: &str) -> Result<(), StoreError>;
    /// Succeeds when the database answers a `SELECT 1`.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Waits for open connections to close.
    async fn close(&self);
}

/// One write transaction. Dropping it without [`StoreTx::commit`] rolls everything back.
#[async_trait]
pub trait StoreTx: Send {
    /// The conference with this slug.
    async fn conference(&mut self, slug: &str) -> Result<Option<Conference>, StoreError>;
    /// Inserts a conference.
    async fn insert_conference(&mut self, new: &NewConference, now: DateTime<Utc>) -> Result<Conference, StoreError>;
    /// Inserts a ticket type.
    async fn insert_ticket_type(
        &mut self,
        conference: &Conference,
        new: &NewTicketType,
    ) -> Result<TicketType, StoreError>;
    /// Inserts an add-on.
    async fn insert_addon(&mut self, conference: &Conference, new: &NewAddOn) -> Result<AddOn, StoreError>;
    /// `(id, slug)` of the conference's ticket types among `ticket_types` and of its add-ons among
    /// `addons`, in one query; slugs the conference does not have are left out.
    async fn restriction_ids(
        &mut self,
        conference_id: i64,
        ticket_types: &[String],
        addons: &[String],
    ) -> Result<RestrictionIds, StoreError>;
    /// The id of the restriction set holding exactly these ticket types and add-ons (sorted,
    /// distinct, not both empty), creating it with its link rows if no such set exists yet.
    async fn restriction_set(
        &mut self,
        conference_id: i64,
        ticket_types: &[i64],
        addons: &[i64],
    ) -> Result<i64, StoreError>;
    /// Inserts a batch row and returns its id.
    async fn insert_batch(&mut self, batch: &NewBatch<'_>) -> Result<i64, StoreError>;
    /// Active codes of the conference's generated batches of `format`, per batch prefix: what a
    /// guess at a new batch of that format can hit (the caller compares the prefixes).
    async fn active_codes_by_prefix(
        &mut self,
        conference_id: i64,
        format: &CodeFormat,
    ) -> Result<Vec<(String, i64)>, StoreError>;
    /// Inserts one voucher per code with the template's fields, skipping every code that a unique
    /// index refuses (an existing code ignoring case, or a duplicate within `codes`). Returns
    /// `(id, code)` of the rows inserted, in no particular order.
    async fn insert_vouchers(
        &mut self,
        template: &VoucherTemplate,
        codes: &[String],
    ) -> Result<Vec<(i64, String)>, StoreError>;
    /// Marks the order's redemption released and gives the use back, once. Returns false (and
    /// changes nothing) when there is no unreleased redemption for this order.
    async fn release_redemption(
        &mut self,
        voucher_id: i64,
        order_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Inserts a token and returns its id.
    async fn insert_token(&mut self, new: &NewToken<'_>, now: DateTime<Utc>) -> Result<i64, StoreError>;
    /// Marks a token revoked. Returns false when no unrevoked token has this id.
    async fn revoke_token(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Claims an idempotency key of the conference for this transaction (inserting it with an
    /// empty response, filled in by [`StoreTx::record_idempotent_response`]) or returns the
    /// committed request that used it. A concurrent claim of the same key waits until the
    /// other transaction ends (PostgreSQL: the unique index; SQLite: the write lock).
    async fn claim_idempotency_key(
        &mut self,
        conference_id: i64,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyClaim, StoreError>;
    /// Stores the answer (JSON) of the request holding a claimed key.
    async fn record_idempotent_response(
        &mut self,
        conference_id: i64,
        key: &str,
        response: &str,
    ) -> Result<(), StoreError>;
    /// The voucher with this code (ignoring ASCII case), locked until the transaction ends.
    async fn lock_voucher(&mut self, conference_id: i64, code: &str) -> Result<Option<VoucherState>, StoreError>;
    /// Writes a voucher's changeable fields.
    async fn update_voucher(&mut self, id: i64, change: &VoucherChange, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Deactivates every active voucher of a batch with one UPDATE; `None` when the conference
    /// has no such batch, otherwise how many vouchers were deactivated.
    async fn deactivate_batch(
        &mut self,
        conference_id: i64,
        batch_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError>;
    /// Inserts an account and returns its id.
    async fn insert_account(
        &mut self,
        email: &str,
        password_hash: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// The account with this email (ignoring case), locked until the transaction ends.
    async fn lock_account(&mut self, email: &str) -> Result<Option<Account>, StoreError>;
    /// Lets a `manage` account see a conference (nothing when it already may).
    async fn grant_conference(&mut self, account_id: i64, conference_id: i64) -> Result<(), StoreError>;
    /// Replaces an account's password hash.
    async fn set_password_hash(&mut self, account_id: i64, password_hash: &str) -> Result<(), StoreError>;
    /// Marks an account disabled.
    async fn disable_account(&mut self, account_id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Ends every session of an account; returns how many there were.
    async fn delete_account_sessions(&mut self, account_id: i64) -> Result<u64, StoreError>;
    /// Inserts a session (only the hash of its secret) and returns its id.
    async fn insert_session(
        &mut self,
        token_hash: &str,
        account_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Records that a session was used at `now`.
    async fn touch_session(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Ends the session whose secret hashes to `hash`.
    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// `(id, code)` of at most `limit` vouchers of the batch that are active, unused and not assigned, by
    /// id, locked until the transaction ends (PostgreSQL skips rows another transaction holds).
    async fn unassigned_vouchers(&mut self, batch_id: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError>;
    /// Assigns each voucher its recipient at `now`, skipping a voucher that has one already;
    /// returns how many were assigned. An email that holds a code of the batch already is a
    /// [`StoreError::UniqueViolation`] of `voucher_batch_recipient`.
    async fn assign_recipients(
        &mut self,
        assignments: &[(i64, &Recipient)],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// At most `limit` vouchers of the batch with an id above `after_id` that are assigned and
    /// have no message in the outbox, by id, as this transaction sees them.
    async fn vouchers_awaiting_message(
        &mut self,
        batch_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<MessageVoucher>, StoreError>;
    /// Puts messages in the outbox as `queued`, due at `now`, skipping a voucher that has a
    /// message already; returns how many were queued.
    async fn queue_messages(&mut self, messages: &[NewMessage<'_>], now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Queues a failed message of the conference again, due at `now`, with as many attempts
    /// again as it had; false when the conference has no failed message with this id.
    async fn retry_message(&mut self, conference_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Sets the `count` of a batch written in this transaction (an import knows it at its end).
    async fn set_batch_count(&mut self, batch_id: i64, count: i64) -> Result<(), StoreError>;
    /// Sets `times_used` and `is_active` of vouchers just inserted (an import).
    async fn set_usage(&mut self, usage: &[(i64, i64, bool)]) -> Result<(), StoreError>;
    /// Appends an audit record naming this transaction's actor.
    async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), StoreError>;
    /// Makes everything durable.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

#[cfg(test)]
mod migration_tests {
    /// Every migration file as it landed, by backend and version: sqlx refuses to migrate a
    /// database whose applied migration's checksum (SHA-384 of the file) differs, so a landed
    /// file must never change. A new migration adds its line here when it lands.
    const LANDED: [(&str, i64, &str); 20] = [
        (
            "sqlite",
            1,
            "0eceaf674f7951ab0c78aa9d16d705bf3cd4becfe4c8653b0c4fe98756b74d5141169a7208d00e085a2666e0a7470ced",
        ),
        (
            "sqlite",
            2,
            "516b8c2dd418b1d9bb7b43d47790b44e3354540fad12d37c18bcfb08614b60666a00c82d2037a383f98643f375a73418",
        ),
        (
            "sqlite",
            3,
            "2b6a8144cf9e4476eb872928529e594da268f0cfd947c5796e745c1f73d17a53cbd49d7a573b65378d701ed9abd33a05",
        ),
        (
            "sqlite",
            4,
            "8bc87a474669d8401453a8c40927f72d342ab2ca274bf6f969d8aeb4b50589f7335357b683df08cc76d056939492a379",
        ),
        (
            "sqlite",
            5,
            "21c01c0dd918900ffcbc6dbee18a56e25384074622c44c24ad6f52ce1e5810c7f018a3c987b7b92fde4cbdd3d5d82d41",
        ),
        (
            "postgres",
            1,
            "527055c3adee9ead56e35e4ad549113d0e82bb8ac69cdb0fa5b110b598a37620003c137f40f47eea2001f05aebb31aa5",
        ),
        (
            "postgres",
            2,
            "d7957fb658546f79bd31ffb69dbf23f9c8943a9c6c1549b5c2d315e7b3ae260aa64c7da2b597d12c692a7de357d7f1a7",
        ),
        (
            "postgres",
            3,
            "02642823b2521c8ca26c9cc2fa7ec1ff4c73a8a2290978d14f47190fffe24ee7c415d57c10b44d3f8251bebe15383d7f",
        ),
        (
            "postgres",
            4,
            "9b57c8e0a6bb27db3fa3d53d0ec80a2ab405b53a1df7daf1fd5751a814ec7b1d67f9272c99a03f63a4eb7dbcb4f54d54",
        ),
        (
            "postgres",
            5,
            "ee46847e2e01fb27c3fc52475e7b064f5a36c6c2618c9092d341b709e1553401abbb682d0c57e7a17c336e7dfec65eee",
        ),
        (
            "sqlite",
            6,
            "bd20a62f7086f58fabdedf4fc7d3cf1b9af37447c32f5299df50a8ce04a952628760e26451d02444b547b37c74fb3ed5",
        ),
        (
            "sqlite",
            7,
            "7049e9e6c1b12d98befbbed21b0ecd360bf2b05d78db006ba9bc0be45235cf028adfa3ccbad97a2713a69c0bc3358777",
        ),
        (
            "postgres",
            6,
            "1c08faecb7bc800cdea26e4d57df37ada38ce87cac6089e0373b62ff6a24300b84b6ec278ffff7f3e7373955805bec55",
        ),
        (
            "postgres",
            7,
            "5605e5e0128e530969f6500a1e1f980ec4f05ee1272f795988220cfb9d65ac049d21ecceb329a680d13af48c18ed27d5",
        ),
        (
            "sqlite",
            8,
            "5bc6ddc082bd7ee202f6ca5102d3b0e2818b017455cdf25bd1d6b6e8248dcf83bf9622101640deaef431516053e884d5",
        ),
        (
            "postgres",
            8,
            "1efdb388ab55a5ecaeef92ec9948ce17d39c0a84ff1f94c3a1b8fa86d2e9a1861f534bf13f02a78be1fa985723df5b32",
        ),
        (
            "sqlite",
            9,
            "81913f41c129ff188aca33e0d191530b7154b02bdf915a6b3e49a9ab10d953e93b42b325bfd79381c5761129c6d8e0c9",
        ),
        (
            "postgres",
            9,
            "c55a7c96d5060f7cb3967fbfbff5e6b8b1dbca49c3e22e0a1eeca6055d253b2e9fbfd9a5574ab7921f6adc622825f641",
        ),
        (
            "sqlite",
            10,
            "23e2c7ac26a0451737112f5319939b57ad3d9d3672d2ae54271b3d7d24f42b0f818cfa904bca0d43872975f97dd2bf20",
        ),
        (
            "postgres",
            10,
            "2fb1fad88d0adb9f8fb2918ac1cbebbbc38c850e96c2d9119a3c78f91df857df9fee63a97a5d5b432a9b7c9f2dbbe87c",
        ),
    ];

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn landed_migrations_never_change() {
        let mut seen = Vec::new();
        for (backend, migrator) in [("sqlite", &super::sqlite::MIGRATOR), ("postgres", &super::postgres::MIGRATOR)] {
            for migration in migrator.iter() {
                seen.push((backend, migration.version, hex(&migration.checksum)));
            }
        }
        for (backend, version, checksum) in &seen {
            let pinned = LANDED.iter().find(|(b, v, _)| b == backend && v == version);
            let Some((_, _, pinned)) = pinned else {
                panic!("{backend} migration {version} is not pinned in LANDED: add it when it lands");
            };
            assert_eq!(checksum, pinned, "{backend} migration {version} was edited after it landed; add a new one");
        }
        assert_eq!(seen.len(), LANDED.len(), "a landed migration file is missing");
    }
}
