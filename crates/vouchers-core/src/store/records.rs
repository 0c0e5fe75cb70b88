//! The records the store reads and writes: what a use case hands to [`super::Store`] and
//! [`super::StoreTx`], and what they answer.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::domain::{
    Account, AddOn, ApiToken, BatchSource, CodeFormat, CodePrefix, Conference, DeliveryStatus, DiscountSpec, EventType,
    MessageStatus, Money, Recipient, RenderedMessage, Scope, TicketType, ValidityWindow, Voucher, WebhookSecret,
};

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
    /// Qualifying items a cart needs (at least 1).
    pub min_quantity: i64,
    /// Qualifying subtotal a cart needs, if any.
    pub min_subtotal: Option<Money>,
    /// The most discount each voucher's redemptions may give together, if any.
    pub budget: Option<Money>,
    /// A customer may hold or redeem at most one code of the batch (of the voucher, added alone).
    pub once_per_customer: bool,
    /// Shared restriction set, `None` when it applies to every item it may apply to.
    pub restriction_set_id: Option<i64>,
    /// What it applies to none of: bit 1 ticket types, bit 2 add-ons ([`applies_none_bits`]).
    pub applies_none: i64,
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
    /// Its name and note for people.
    pub label: &'a crate::domain::BatchLabel,
    /// How many vouchers it creates.
    pub count: i64,
    /// The configuration shared by its vouchers (its `batch_id` is ignored).
    pub template: &'a VoucherTemplate,
    /// Generated or imported.
    pub source: BatchSource,
    /// How its codes look (the alnum format for an import).
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
    /// The cart's verdict, judged by the application from the priced cart: the statement answers
    /// it when the voucher itself breaks no rule (the cart rules come last).
    pub cart_refusal: Option<crate::domain::InvalidReason>,
    /// The `voucher.redeemed` event, written with the use: its body's
    /// `"times_used":__TIMES_USED__` is set by the statement to the count of uses it left
    /// ([`crate::service::webhooks::TIMES_USED`]).
    pub event: Option<NewEvent<'a>>,
    /// The discount the redemption gives (the priced cart's; zero without a cart), recorded with
    /// it for the reports.
    pub discount: Money,
}

/// What [`Store::redeem_as`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// The order's redemption is written, one use consumed and the audit record appended.
    Redeemed,
    /// The order was redeemed before and not released: nothing was consumed; its stored answer.
    Replay(String),
    /// The voucher cannot be used now, for this reason (inactive, used up, not yet valid,
    /// expired; not found when it no longer exists), decided by the statement itself from the row
    /// it wrote nothing to.
    Refused(crate::domain::InvalidReason),
    /// The voucher has a rule the statement cannot judge from its row (a live hold, a budget,
    /// once per customer): nothing was written; redeem it on the locked path.
    NeedsLock,
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
    /// The batch's alphabet, `alnum` or `readable` (`None` for vouchers added by hand).
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
    /// Uses kept by carts' live holds.
    pub uses_held: i64,
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
    /// The page after the voucher with this id (cursor pagination): a larger id oldest first, a
    /// smaller one newest first.
    pub after_id: Option<i64>,
    /// At most this many.
    pub limit: Option<i64>,
    /// In which order.
    pub order: VoucherOrder,
}

/// The order of a voucher list, and so what its cursor is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VoucherOrder {
    /// Oldest first (by id, the cursor `after_id`).
    #[default]
    Oldest,
    /// Newest first (by id, the cursor `after_id`).
    Newest,
    /// By code, character by character (`A` before `B` before `a`), the page after this code.
    Code {
        /// The previous page's last code.
        after: Option<String>,
    },
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
    /// The budget, if any.
    pub budget: Option<Money>,
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
    /// The budget, if any.
    pub budget: Option<Money>,
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

/// A one-time set-password link, found by the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasswordLink {
    /// The account whose password it sets.
    pub account_id: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// From this instant on it opens nothing.
    pub expires_at: DateTime<Utc>,
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
    /// Only records before this.
    pub until: Option<DateTime<Utc>>,
    /// Only this action.
    pub action: Option<String>,
    /// Only records whose actor's name (an account's email, a token's name, a sponsor's name,
    /// the command line's user) contains this text, ignoring ASCII case.
    pub actor: Option<String>,
    /// Only records with a smaller id (paging, newest first).
    pub before_id: Option<i64>,
    /// At most this many: [`Store::audit_log`](crate::store::Store::audit_log) reads at most
    /// [`AuditFilter::MAX_PAGE`] per call, whatever this says.
    pub limit: i64,
}

impl AuditFilter {
    /// The most records one read of the store returns (one statement's `LIMIT`).
    pub const MAX_PAGE: i64 = 500;
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
    /// The latest end any hold of the voucher had: while it is ahead, the voucher may have live
    /// holds, which the checkout reads then ([`Store::live_holds`]).
    pub holds_until: Option<DateTime<Utc>>,
    /// The voucher's live holds (no cart is the asking one), when the checkout read them.
    pub holds: crate::domain::UseState,
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
    /// The voucher whose code it carries (one message per voucher); `None` for a message that
    /// carries no code (a reminder to an allotment's contact).
    pub voucher_id: Option<i64>,
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
    /// Claimed but never tried (the sender stopped first): back in the queue as it was, its
    /// attempt not counted.
    Unsent,
}

/// A voucher's row as a hold or redemption finds it under the voucher's lock: what it may be
/// changed in since the checkout read it.
#[derive(Debug, Clone, PartialEq)]
pub struct LockedVoucher {
    /// Can be used at all.
    pub is_active: bool,
    /// Uses allowed.
    pub max_uses: i64,
    /// Uses consumed.
    pub times_used: i64,
    /// Start of the validity window.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of the validity window.
    pub valid_until: Option<DateTime<Utc>>,
    /// The budget, if any.
    pub budget: Option<Money>,
    /// The discount unreleased redemptions gave.
    pub budget_used: Money,
}

/// What [`StoreTx::claim_order`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderClaim {
    /// The order's redemption row, new or a released one taken back, for this transaction.
    Claimed(i64),
    /// The order holds an unreleased redemption: its stored answer.
    Replay(String),
}

/// A customer's claim on a once-per-customer scope ([`crate::domain::Customer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerClaim<'a> {
    /// `batch:<id>` or `voucher:<id>`.
    pub scope: &'a str,
    /// The customer as compared.
    pub customer: &'a str,
}

/// A new hold ([`StoreTx::put_hold`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewHold<'a> {
    /// The voucher.
    pub voucher_id: i64,
    /// The cart.
    pub cart_ref: &'a str,
    /// When.
    pub now: DateTime<Utc>,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The discount it reserves from the budget.
    pub discount: Money,
    /// The customer it claims the scope for.
    pub customer: Option<CustomerClaim<'a>>,
}

/// A use taken by a claimed order ([`StoreTx::take_use`]).
#[derive(Debug, Clone, PartialEq)]
pub struct UseTaken<'a> {
    /// The voucher.
    pub voucher_id: i64,
    /// The order's redemption row ([`OrderClaim::Claimed`]).
    pub redemption_id: i64,
    /// The answer stored for replays.
    pub response: &'a str,
    /// The discount given, counted against the budget.
    pub discount: Money,
    /// The cart's hold this use converts (its customer claim moves to the redemption).
    pub hold_id: Option<i64>,
    /// The customer to claim the scope for, when no hold claimed it.
    pub customer: Option<CustomerClaim<'a>>,
    /// When.
    pub now: DateTime<Utc>,
}

/// The `applies_none` bits of a voucher or batch row that applies to none of the ticket types
/// (bit 1) or none of the add-ons (bit 2).
pub fn applies_none_bits(ticket_types: &crate::domain::Applies, addons: &crate::domain::Applies) -> i64 {
    let none = |applies: &crate::domain::Applies| *applies == crate::domain::Applies::Nothing;
    i64::from(none(ticket_types)) | (i64::from(none(addons)) << 1)
}

/// A subscription to insert ([`StoreTx::insert_webhook`]).
#[derive(Debug, Clone)]
pub struct NewWebhook<'a> {
    /// Its conference.
    pub conference_id: i64,
    /// A checked target.
    pub url: &'a str,
    /// Its signing secret.
    pub secret: &'a WebhookSecret,
    /// The event types it wants ([`crate::domain::EventSet::bits`]).
    pub events: i64,
    /// Now.
    pub now: DateTime<Utc>,
}

/// An event to write for every enabled subscription of its conference that wants its type
/// ([`StoreTx::queue_event`]), in the transaction of the change it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent<'a> {
    /// The conference.
    pub conference_id: i64,
    /// `evt_...`.
    pub event_id: &'a str,
    /// Its type.
    pub event_type: EventType,
    /// The JSON body, sent as is on every attempt.
    pub body: &'a str,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Which deliveries to list, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryFilter {
    /// Only this subscription's.
    pub webhook_id: Option<i64>,
    /// Only deliveries with this status.
    pub status: Option<DeliveryStatus>,
    /// Only deliveries with a larger id (paging).
    pub after_id: i64,
    /// At most this many.
    pub limit: i64,
    /// The newest first (by id, descending) instead of the oldest.
    pub newest_first: bool,
}

/// A subscription a sender leased ([`Store::claim_webhooks`]): where to send, and the secrets
/// that sign (the current one, and the one before it during a rotation).
#[derive(Debug, Clone)]
pub struct ClaimedWebhook {
    /// Database id.
    pub id: i64,
    /// Its conference.
    pub conference_id: i64,
    /// Its target, as stored (checked again before every attempt).
    pub url: String,
    /// The signing secrets, the current one first.
    pub secrets: Vec<WebhookSecret>,
}

/// A subscription's pending delivery ([`Store::pending_deliveries`]).
#[derive(Clone)]
pub struct DueDelivery {
    /// Database id.
    pub id: i64,
    /// The event's id.
    pub event_id: String,
    /// Its type.
    pub event_type: String,
    /// The body to send.
    pub body: String,
    /// Attempts before this one.
    pub attempts: i64,
    /// When it was first tried (`None`: this is the first attempt).
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// When it is due.
    pub next_attempt_at: DateTime<Utc>,
    /// When the event was written.
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DueDelivery").field("id", &self.id).field("event_id", &self.event_id).finish_non_exhaustive()
    }
}

/// What became of one attempt to deliver ([`StoreTx::finish_delivery`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult<'a> {
    /// A 2xx answer.
    Delivered {
        /// Its status code.
        status_code: i64,
        /// The start of its body.
        response: &'a str,
    },
    /// Anything else: tried again at `at`, or (`at` is `None`) failed for good.
    NotDelivered {
        /// The answer's status code, if one came.
        status_code: Option<i64>,
        /// Why, in words.
        error: &'a str,
        /// The start of the answer's body.
        response: Option<&'a str>,
        /// The next attempt; `None` when the delivery failed.
        at: Option<DateTime<Utc>>,
    },
}

/// A new allotment's row ([`StoreTx::insert_allotment`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAllotment<'a> {
    /// The conference.
    pub conference_id: i64,
    /// The batch its codes are minted in.
    pub batch_id: i64,
    /// The sponsor's name.
    pub sponsor: &'a str,
    /// The contact's email.
    pub contact: &'a str,
    /// Passes.
    pub seats: i64,
    /// When unassigned passes are returned.
    pub deadline: DateTime<Utc>,
    /// The SHA-256 (hex) of the sponsor link's secret.
    pub link_hash: &'a str,
    /// The organizer's subject, text and HTML templates for attendees (`None`: built-in).
    pub subject: Option<&'a str>,
    /// See `subject`.
    pub template: Option<&'a str>,
    /// See `subject`.
    pub html_template: Option<&'a str>,
    /// Days before the deadline the contact is reminded.
    pub reminder_days: &'a [i64],
    /// Creation time.
    pub now: DateTime<Utc>,
}

/// A sponsor session as stored ([`Store::sponsor_session`]): never its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSponsorSession {
    /// Database id.
    pub id: i64,
    /// The allotment it reaches.
    pub allotment_id: i64,
    /// The allotment's conference (slug).
    pub conference: String,
    /// The sponsor's name.
    pub sponsor: String,
    /// The allotment's batch.
    pub batch_id: i64,
    /// Its forms' CSRF token.
    pub csrf_token: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for StoredSponsorSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSponsorSession").field("id", &self.id).field("allotment_id", &self.allotment_id).finish()
    }
}

/// Which redemptions the reports list ([`Store::redemption_log`]), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedemptionFilter {
    /// Only redemptions with a smaller id (paging).
    pub before_id: Option<i64>,
    /// Only this batch's.
    pub batch_id: Option<i64>,
    /// Only released (true) or standing (false) ones.
    pub released: Option<bool>,
    /// Only those made at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Only those made before this.
    pub to: Option<DateTime<Utc>>,
    /// Only those whose code or order reference starts with this text (ignoring case).
    pub search: Option<String>,
    /// At most this many.
    pub limit: i64,
}
