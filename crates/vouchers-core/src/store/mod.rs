//! Storage: the only module that writes SQL.
//!
//! [`Store`] is deliberately narrow: reads, and a write transaction ([`StoreTx`]) with the handful
//! of bulk operations the use cases need. Rules (validation, code generation, retries) live in
//! [`crate::service`], written once. Where to look:
//!
//! - this file: the two traits, and [`connect`];
//! - `records`: the records they take and answer;
//! - `sql/`: both traits implemented once, for both backends, in SQL both accept (`sql/store.rs`
//!   the reads, `sql/tx.rs` the write transaction); a backend only says how it binds values and
//!   the few words of SQL that differ (its `Dialect`);
//! - `rows`: how a row becomes a record, written once over [`sqlx::Row`];
//! - `sqlite/` and `postgres/`: what truly differs: opening the database, the checkout's one
//!   query, the redemption as one atomic statement, and the bulk insert of a chunk of codes
//!   (SQLite binds a chunk's codes as one JSON array read by `json_each`; PostgreSQL binds one
//!   `text[]` read by `UNNEST` and tries a plain INSERT inside a savepoint before falling back to
//!   `ON CONFLICT DO NOTHING`: either way a colliding code is skipped by the unique index instead
//!   of aborting the transaction);
//! - `migrations`: the landed migration files, pinned by checksum;
//! - `error`: [`StoreError`], the kinds of database failure a use case tells apart;
//! - `url`: [`DatabaseUrl`], which never shows its password.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::Delivery;
use crate::domain::{
    Account, Actor, AddOn, Allotment, ApiToken, Attendee, AuditRecord, Batch, BatchFunnel, CodeFormat, Conference,
    Money, NewAddOn, NewConference, NewTicketType, OutboxMessage, Recipient, RedemptionEntry, Role, TicketType,
    UseState, Voucher, Webhook, WebhookSecret,
};

mod acting;
pub use acting::acting;

mod records;
pub use records::*;
#[cfg(test)]
mod migrations;

mod error;
mod postgres;
mod rows;
mod sql;
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
    /// The conference's audit records matching `filter`, newest first, at most
    /// [`AuditFilter::MAX_PAGE`] of them.
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
    /// A voucher's holds live at `now`: how many, when the first ends, the discount they reserve.
    async fn live_holds(&self, voucher_id: i64, now: DateTime<Utc>) -> Result<UseState, StoreError>;
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
    /// The set-password link whose secret hashes to `hash` (hex SHA-256), expired or not.
    async fn password_link(&self, hash: &str) -> Result<Option<StoredPasswordLink>, StoreError>;
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
    /// Failed console sign-ins counted against each of `keys` since `since`: how many, and when
    /// the oldest was.
    async fn failed_sign_ins(
        &self,
        keys: [&str; 2],
        since: DateTime<Utc>,
    ) -> Result<[(i64, Option<DateTime<Utc>>); 2], StoreError>;
    /// Records one failed sign-in against each of `keys` at `at`, dropping their records older
    /// than `forget_before`.
    async fn record_failed_sign_in(
        &self,
        keys: [&str; 2],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Deletes every key's failed sign-ins older than `before`; returns how many.
    async fn prune_failed_sign_ins(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Deletes the holds that ended before `before` (with their customer claims); returns how
    /// many. They stopped counting when they ended; this only keeps the table small.
    async fn prune_holds(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
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
    /// The conference's webhook subscriptions (only the one with `id`, when given), by id.
    async fn webhooks(&self, conference_id: i64, id: Option<i64>) -> Result<Vec<Webhook>, StoreError>;
    /// The conference's webhook deliveries matching `filter`, by id.
    async fn deliveries(&self, conference_id: i64, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError>;
    /// Leases at most `limit` enabled subscriptions whose first pending delivery is due at `now`
    /// and that no sender leases, to `owner` until `lease_until`, in one statement: several
    /// senders never lease one subscription at once (PostgreSQL: `SKIP LOCKED`; SQLite: the one
    /// writer).
    async fn claim_webhooks(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedWebhook>, StoreError>;
    /// The first `limit` pending deliveries of a subscription `owner` leases, by id, due or
    /// not; none when there are none or the lease was lost.
    async fn pending_deliveries(
        &self,
        webhook_id: i64,
        owner: &str,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Ends `owner`'s lease of a subscription.
    async fn release_webhook(&self, webhook_id: i64, owner: &str) -> Result<(), StoreError>;
    /// The conference's allotments (one, with `id`), by id.
    async fn allotments(&self, conference_id: i64, id: Option<i64>) -> Result<Vec<Allotment>, StoreError>;
    /// The allotment with this id, whatever its conference, with its conference's id.
    async fn allotment_by_id(&self, id: i64) -> Result<Option<(i64, Allotment)>, StoreError>;
    /// Open allotments (every conference) whose deadline is at or before `until`, by deadline,
    /// with their conference's id.
    async fn open_allotments(&self, until: DateTime<Utc>, limit: i64) -> Result<Vec<(i64, Allotment)>, StoreError>;
    /// The attendees of the allotment whose batch is `batch_id`, by name.
    async fn attendees(&self, batch_id: i64) -> Result<Vec<Attendee>, StoreError>;
    /// The allotment a sponsor link's hash opens (none once revoked or replaced).
    async fn allotment_by_link(&self, link_hash: &str) -> Result<Option<i64>, StoreError>;
    /// The sponsor session a cookie's hash names, while its allotment's link is set.
    async fn sponsor_session(&self, token_hash: &str) -> Result<Option<StoredSponsorSession>, StoreError>;
    /// Each batch's funnel in the conference (vouchers added by hand last, with no batch).
    async fn batch_funnel(&self, conference_id: i64) -> Result<Vec<BatchFunnel>, StoreError>;
    /// Standing redemptions made in `[from, to)`, per 15-minute bucket: `(index since the
    /// epoch, count, discount)`.
    async fn redemption_buckets(
        &self,
        conference_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64, Money)>, StoreError>;
    /// The conference's redemptions matching `filter`, newest first.
    async fn redemption_log(
        &self,
        conference_id: i64,
        filter: &RedemptionFilter,
    ) -> Result<Vec<RedemptionEntry>, StoreError>;
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
    /// The conference with this slug, its row locked until the transaction ends.
    async fn lock_conference(&mut self, slug: &str) -> Result<Option<Conference>, StoreError>;
    /// Writes a conference's changeable settings: name, first and last day, hold time.
    async fn update_conference(&mut self, conference: &Conference) -> Result<(), StoreError>;
    /// The conference's ticket type with this slug, its row locked until the transaction ends.
    async fn lock_ticket_type(&mut self, conference: &Conference, slug: &str)
        -> Result<Option<TicketType>, StoreError>;
    /// Writes a ticket type's changeable fields: name, price, hidden, on sale.
    async fn update_ticket_type(&mut self, ticket_type: &TicketType) -> Result<(), StoreError>;
    /// The conference's add-on with this slug, its row locked until the transaction ends.
    async fn lock_addon(&mut self, conference: &Conference, slug: &str) -> Result<Option<AddOn>, StoreError>;
    /// Writes an add-on's changeable fields: name, price, on sale.
    async fn update_addon(&mut self, addon: &AddOn) -> Result<(), StoreError>;
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
    /// Claims the order's redemption for this transaction before the voucher is locked (every
    /// redemption takes the order first, then the voucher): a new row, or a released one taken
    /// back; or the stored answer of an unreleased one. A concurrent claim of the same order
    /// waits for the other transaction.
    async fn claim_order(
        &mut self,
        voucher_id: i64,
        order_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<OrderClaim, StoreError>;
    /// Locks the voucher until the transaction ends, then reads, as of after the lock, its row
    /// and what [`crate::domain::judge_use`] needs besides: other carts' live holds, the live
    /// hold of `cart_ref`, and whether `customer` holds or redeemed another code of the scope.
    /// `None` when the voucher does not exist.
    async fn lock_use(
        &mut self,
        voucher_id: i64,
        cart_ref: Option<&str>,
        customer: Option<CustomerClaim<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Option<(LockedVoucher, UseState)>, StoreError>;
    /// Writes a hold (replacing an expired hold of the same cart) and raises the voucher's
    /// `holds_until`; with a customer, claims the scope (dropping a claim whose hold expired).
    /// `None`, and the caller must roll back, when the customer holds the scope already.
    async fn put_hold(&mut self, hold: &NewHold<'_>) -> Result<Option<i64>, StoreError>;
    /// Sets a live hold's end (an extension; its customer claim follows) and reserved discount.
    async fn change_hold(
        &mut self,
        voucher_id: i64,
        hold_id: i64,
        expires_at: DateTime<Utc>,
        discount: Money,
    ) -> Result<(), StoreError>;
    /// Deletes a hold and its customer claim.
    async fn drop_hold(&mut self, hold_id: i64) -> Result<(), StoreError>;
    /// Consumes a use for a claimed order: the voucher's count and budget, the order's answer and
    /// discount, the converted hold deleted (its claim moved to the order) or the customer's
    /// claim written. False, and the caller must roll back, when the customer holds the scope.
    async fn take_use(&mut self, taken: &UseTaken<'_>) -> Result<bool, StoreError>;
    /// Marks the order's redemption released and gives back its use, its discount to the budget
    /// and its customer's claim, once. Returns false (and
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
    /// The account with this id, locked until the transaction ends.
    async fn lock_account_by_id(&mut self, id: i64) -> Result<Option<Account>, StoreError>;
    /// Lets a `manage` account see a conference (nothing when it already may).
    async fn grant_conference(&mut self, account_id: i64, conference_id: i64) -> Result<(), StoreError>;
    /// Takes a conference away from an account; false when it did not have it.
    async fn revoke_conference(&mut self, account_id: i64, conference_id: i64) -> Result<bool, StoreError>;
    /// Gives an account a new set-password link (only the hash of its secret), deleting the
    /// links it had.
    async fn replace_password_link(
        &mut self,
        account_id: i64,
        link_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Deletes the link whose secret hashes to `link_hash` when it is unexpired at `now`, in one
    /// statement, and returns its account's id; `None` (nothing deleted) otherwise. Of two
    /// transactions taking the same link at once, one gets it and the other `None`.
    async fn take_password_link(&mut self, link_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>, StoreError>;
    /// Deletes every set-password link of an account; returns how many there were.
    async fn delete_password_links(&mut self, account_id: i64) -> Result<u64, StoreError>;
    /// Replaces an account's password hash.
    async fn set_password_hash(&mut self, account_id: i64, password_hash: &str) -> Result<(), StoreError>;
    /// Marks an account disabled.
    async fn disable_account(&mut self, account_id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Marks an account enabled again.
    async fn enable_account(&mut self, account_id: i64) -> Result<(), StoreError>;
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
    /// The slugs of the conference's ticket types and add-ons (for "did you mean").
    async fn catalog_slugs(&mut self, conference_id: i64) -> Result<(Vec<String>, Vec<String>), StoreError>;
    /// Sets a batch's name and note; false when the conference has no such batch.
    async fn set_batch_label(
        &mut self,
        conference_id: i64,
        batch_id: i64,
        label: &crate::domain::BatchLabel,
    ) -> Result<bool, StoreError>;
    /// Sets the `count` of a batch written in this transaction (an import knows it at its end).
    async fn set_batch_count(&mut self, batch_id: i64, count: i64) -> Result<(), StoreError>;
    /// Sets `times_used` and `is_active` of vouchers just inserted (an import).
    async fn set_usage(&mut self, usage: &[(i64, i64, bool)]) -> Result<(), StoreError>;
    /// Records the result of attempt `attempt` of outbox message `id`, as [`Store::finish_outbox`]
    /// does, inside this transaction.
    async fn finish_outbox(
        &mut self,
        id: i64,
        attempt: i64,
        result: &DeliveryResult<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The conference's slug and the outbox message `id`, as it stands in this transaction.
    async fn outbox_message(&mut self, id: i64) -> Result<Option<(i64, String, OutboxMessage)>, StoreError>;
    /// A voucher of the conference as this transaction sees it.
    async fn voucher(&mut self, conference: &Conference, id: i64) -> Result<Option<Voucher>, StoreError>;
    /// A batch of the conference as this transaction sees it.
    async fn batch(&mut self, conference: &Conference, id: i64) -> Result<Option<Batch>, StoreError>;
    /// Inserts a webhook subscription, enabled, and returns its id.
    async fn insert_webhook(&mut self, new: &NewWebhook<'_>) -> Result<i64, StoreError>;
    /// Enables or disables a subscription of the conference, with why when the sender disabled
    /// it; false when the conference has no such subscription.
    async fn set_webhook_enabled(
        &mut self,
        conference_id: i64,
        id: i64,
        enabled: bool,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Replaces a subscription's secret; the old one signs too until `old_until`. False when the
    /// conference has no such subscription.
    async fn rotate_webhook_secret(
        &mut self,
        conference_id: i64,
        id: i64,
        secret: &WebhookSecret,
        old_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Writes an event as one delivery per enabled subscription of its conference that wants its
    /// type; returns how many.
    async fn queue_event(&mut self, event: &NewEvent<'_>) -> Result<u64, StoreError>;
    /// Queues a delivery of the conference again, due at `now` (the same event id); false when
    /// there is no such delivery.
    async fn redeliver(&mut self, conference_id: i64, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Records attempts made at `now` on pending deliveries of a subscription `owner` leases, in
    /// the order they were sent from its first pending one (all delivered but perhaps the last),
    /// extends the lease to `lease_until` and moves the subscription's `delivered_through` past
    /// the last one finished; false (nothing written) when the lease was lost to another sender.
    async fn record_attempts(
        &mut self,
        owner: &str,
        webhook_id: i64,
        attempts: &[(i64, AttemptResult<'_>)],
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Writes a new allotment; its id.
    async fn insert_allotment(&mut self, new: &NewAllotment<'_>) -> Result<i64, StoreError>;
    /// The conference's allotment `id`, as this transaction sees it.
    async fn allotment(&mut self, conference_id: i64, id: i64) -> Result<Option<Allotment>, StoreError>;
    /// An allotment's subject, text and HTML templates (`None`: the built-in one).
    async fn allotment_template(
        &mut self,
        id: i64,
    ) -> Result<(Option<String>, Option<String>, Option<String>), StoreError>;
    /// Takes `n` passes of an open allotment before its deadline, when that many are left (one
    /// conditional UPDATE); false, nothing changed, otherwise.
    async fn take_seats(&mut self, id: i64, n: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Gives one pass back to an open allotment before its deadline.
    async fn give_back_seat(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Deactivates an unredeemed attendee's voucher of the batch and clears its recipient, dropping
    /// its queued message; the attendee's (name, email), or `None` when there was none to end.
    async fn end_attendee(&mut self, batch_id: i64, voucher_id: i64) -> Result<Option<(String, String)>, StoreError>;
    /// Sets a deadline and opens the allotment again.
    async fn set_allotment_deadline(
        &mut self,
        conference_id: i64,
        id: i64,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Sets the seats when they hold every assigned pass; false otherwise.
    async fn resize_allotment(
        &mut self,
        conference_id: i64,
        id: i64,
        seats: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Replaces or removes the sponsor link and ends the allotment's sponsor sessions.
    async fn set_allotment_link(
        &mut self,
        conference_id: i64,
        id: i64,
        link_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Closes an open allotment whose deadline has come; the passes returned, `None` if not due.
    async fn close_allotment(&mut self, id: i64, now: DateTime<Utc>) -> Result<Option<i64>, StoreError>;
    /// Records the reminders `days` (the first deciding) before `deadline` as sent; false when
    /// the first was already.
    async fn record_reminder(
        &mut self,
        id: i64,
        days: &[i64],
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Starts a sponsor session; its id.
    async fn insert_sponsor_session(
        &mut self,
        token_hash: &str,
        allotment_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Ends a sponsor session.
    async fn delete_sponsor_session(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Appends an audit record naming this transaction's actor.
    async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<(), StoreError>;
    /// Makes everything durable.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
    /// Undoes everything and lets go of the rows it locked now (a dropped transaction is rolled
    /// back too, but PostgreSQL's only when its connection is next used: a refusal that read
    /// rows `SKIP LOCKED` rolls back at once, so that the next try sees them).
    async fn rollback(self: Box<Self>) -> Result<(), StoreError>;
}
