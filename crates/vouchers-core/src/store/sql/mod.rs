//! The SQL both backends run, written once.
//!
//! Every statement here is plain SQL that SQLite and PostgreSQL both accept, with `$n`
//! placeholders (sqlx's SQLite driver binds `$n` to the n-th argument, like PostgreSQL). Where
//! the two truly differ, the statement asks the backend's [`Dialect`] (a column's name, matching
//! text ignoring case, a list parameter, a row lock) and binds [`Arg`]s, which each backend stores
//! in its own column types (SQLite: microseconds, cents, text dates, JSON lists; PostgreSQL:
//! `timestamptz`, `numeric`, `date`, arrays).
//!
//! A backend implements [`Engine`]: how to run a statement ([`Conn`]) on its readers, its write
//! transactions and its writer, and the few operations that are its own (the checkout's one
//! query, the atomic redemption, the bulk insert of codes, the backup). [`crate::store::Store`]
//! and [`crate::store::StoreTx`] are implemented once, for every engine, in `store.rs` and `tx.rs`.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::rows::StoredRow;
use super::{Backend, CheckoutKey, CheckoutView, NewRedemption, RedeemOutcome, StoreError, VoucherTemplate};
use crate::domain::{Actor, Money};

mod allotments;
mod reports;
mod store;
mod tx;
mod webhooks;

/// A value bound to a statement; each backend stores it in its own column type.
#[derive(Debug, Clone)]
pub(super) enum Arg<'a> {
    /// An integer.
    Int(Option<i64>),
    /// Text (PostgreSQL text cannot hold NUL: statements here never bind one).
    Text(Option<Cow<'a, str>>),
    /// A flag.
    Flag(Option<bool>),
    /// An instant.
    Instant(Option<DateTime<Utc>>),
    /// An amount.
    Money(Option<Money>),
    /// A calendar date.
    Date(NaiveDate),
    /// A list of ids, read by [`Dialect::in_list`].
    Ints(&'a [i64]),
    /// A list of texts, read by [`Dialect::in_list`].
    Texts(&'a [String]),
    /// Rows as one JSON array of arrays, read by [`Dialect::json_rows`].
    Json(String),
}

macro_rules! arg_from {
    ($($ty:ty => $variant:ident $(($convert:expr))?),* $(,)?) => {
        $(impl<'a> From<$ty> for Arg<'a> {
            fn from(value: $ty) -> Self {
                Arg::$variant($($convert)?(value))
            }
        })*
    };
}

arg_from! {
    i64 => Int(Some),
    Option<i64> => Int,
    bool => Flag(Some),
    Option<bool> => Flag,
    DateTime<Utc> => Instant(Some),
    Option<DateTime<Utc>> => Instant,
    Money => Money(Some),
    Option<Money> => Money,
    NaiveDate => Date,
    &'a [i64] => Ints,
    &'a [String] => Texts,
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(value: &'a str) -> Self {
        Arg::Text(Some(Cow::Borrowed(value)))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(value: &'a String) -> Self {
        Arg::Text(Some(Cow::Borrowed(value)))
    }
}

impl<'a> From<String> for Arg<'a> {
    fn from(value: String) -> Self {
        Arg::Text(Some(Cow::Owned(value)))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Arg::Text(value.map(Cow::Borrowed))
    }
}

impl<'a> From<Option<String>> for Arg<'a> {
    fn from(value: Option<String>) -> Self {
        Arg::Text(value.map(Cow::Owned))
    }
}

/// The arguments of one statement, in placeholder order.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::store::sql::Arg::from($value)),*]
    };
}
pub(super) use args;

/// Rows as one [`Arg::Json`] parameter: an array of arrays, read by [`Dialect::json_rows`].
pub(super) fn json_rows<T: serde::Serialize>(rows: &[T]) -> Result<Arg<'static>, StoreError> {
    Ok(Arg::Json(serde_json::to_string(rows).map_err(StoreError::Encode)?))
}

/// PostgreSQL text cannot hold NUL, and no stored slug, code, email or hash has one: a lookup of
/// such a value matches nothing (binding it would be an error, not an empty answer).
pub(super) fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// Runs statements on one connection: a reader, a write transaction or the writer.
#[async_trait]
pub(super) trait Conn: Send {
    /// The backend's row.
    type Row: StoredRow + Send + Sync;
    /// Every row the statement returns.
    async fn all(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Vec<Self::Row>, StoreError>;
    /// The first row, if any.
    async fn first(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<Option<Self::Row>, StoreError>;
    /// Runs it; how many rows it changed.
    async fn run(&mut self, sql: &str, args: Vec<Arg<'_>>) -> Result<u64, StoreError>;
}

/// How a backend writes the parts of a statement that differ.
pub(super) struct Dialect {
    /// The voucher's and batch's amount column.
    pub discount: &'static str,
    /// The ticket type's and add-on's price column.
    pub price: &'static str,
    /// `column = parameter`, ignoring ASCII case, through the column's unique index.
    pub same_text: fn(&str, &str) -> String,
    /// `column LIKE pattern ESCAPE '\'`, ignoring ASCII case.
    pub starts_like: fn(&str, &str) -> String,
    /// `IN` the list bound as [`Arg::Ints`] or [`Arg::Texts`] at this parameter (with `IN`).
    pub in_list: fn(&str) -> String,
    /// A table of the rows bound as [`Arg::Json`] at this parameter, one row per element, each
    /// in a column `value` whose `n`th item is `value ->> n`.
    pub json_rows: fn(&str) -> String,
    /// Locks the rows a SELECT reads until the transaction ends (SQLite: nothing, the write
    /// transaction holds the whole database).
    pub for_update: &'static str,
    /// Locks them and skips rows another transaction holds.
    pub skip_locked: &'static str,
    /// Locks the rows for an update that changes no key (PostgreSQL: `FOR NO KEY UPDATE`, which
    /// a foreign key's check of the row, `FOR KEY SHARE`, does not wait for; a plain `FOR
    /// UPDATE` after inserting a row that references it deadlocks two such transactions).
    pub for_no_key_update: &'static str,
    /// The sum of an integer expression over a group, 0 for none, held at the largest integer
    /// instead of overflowing.
    pub capped_sum: fn(&str) -> String,
    /// The database's clock now, as its instants are stored.
    pub now: &'static str,
    /// Written before a column in a condition to keep the planner from reading through that
    /// column's index when another order serves better (SQLite: `+`, as its planner has no
    /// statistics and takes any index on an equality; PostgreSQL: nothing, as its statistics
    /// choose well and an expression would blind them).
    pub not_by_index: &'static str,
    /// A text column compared and sorted character by character, the same on both databases
    /// (SQLite's default; PostgreSQL: the `C` collation rather than the database's).
    pub bytewise: fn(&str) -> String,
}

/// A backend: how it runs statements, and what it does its own way.
#[async_trait]
pub(super) trait Engine: Send + Sync + 'static {
    /// Its row type.
    type Row: StoredRow + Send + Sync;
    /// A reader (a pool handle).
    type Reader: Conn<Row = Self::Row>;
    /// A write transaction.
    type Tx: Conn<Row = Self::Row> + 'static;
    /// The connection one autocommitted write runs on.
    type Writer: Conn<Row = Self::Row>;
    /// Which database this is.
    const BACKEND: Backend;
    /// Its SQL.
    const DIALECT: Dialect;
    /// A handle on the readers.
    fn reader(&self) -> Self::Reader;
    /// Starts a write transaction.
    async fn begin(&self) -> Result<Self::Tx, StoreError>;
    /// Commits it.
    async fn commit(tx: Self::Tx) -> Result<(), StoreError>;
    /// Rolls it back.
    async fn rollback(tx: Self::Tx) -> Result<(), StoreError>;
    /// The connection for one autocommitted write (SQLite: the writer's turn; PostgreSQL: the pool).
    async fn writer(&self) -> Result<Self::Writer, StoreError>;
    /// See [`crate::store::Store::checkout_view`].
    async fn checkout_view(&self, key: &CheckoutKey<'_>) -> Result<CheckoutView, StoreError>;
    /// See [`crate::store::Store::redeem_as`].
    async fn redeem_as(&self, actor: &Actor, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError>;
    /// See [`crate::store::StoreTx::insert_vouchers`].
    async fn insert_vouchers(
        tx: &mut Self::Tx,
        template: &VoucherTemplate,
        codes: &[String],
    ) -> Result<Vec<(i64, String)>, StoreError>;
    /// See [`crate::store::Store::backup_into`].
    async fn backup_into(&self, path: &str) -> Result<(), StoreError>;
    /// See [`crate::store::Store::close`].
    async fn close(&self);
}

/// The columns of a voucher, the amount named `discount` as the shared mapper reads it.
pub(super) fn voucher_columns(d: &Dialect) -> String {
    format!(
        "id, code, voucher_type, {} AS discount, max_uses, times_used, valid_from, valid_until, \
         unlocks_hidden_tickets, is_active, restriction_set_id, batch_id, created_at, recipient_email, \
         recipient_name, recipient_tags, min_quantity, min_subtotal, budget, budget_used, once_per_customer, \
         CAST(applies_none AS BIGINT) AS applies_none, {} AS uses_held",
        d.discount,
        uses_held(d, "voucher")
    )
}

/// A list's optional filter: `condition` when the filter is given, else `param IS NULL` (true,
/// and the parameter still bound). A statement per combination of the filters given, rather
/// than one `param IS NULL OR condition` for all: each combination is planned for itself
/// (SQLite plans a statement once, for any values; PostgreSQL's generic plan of the `OR` form
/// reads every row of the conference), so a batch's or a search's first page reads one page.
pub(super) fn when_given(given: bool, condition: &str, param: &str) -> String {
    if given {
        condition.to_owned()
    } else {
        format!("{param} IS NULL")
    }
}

/// The live holds of the voucher row `v` now: counted only while its `holds_until` is ahead (a
/// voucher never held costs no lookup).
pub(super) fn uses_held(d: &Dialect, v: &str) -> String {
    format!(
        "CASE WHEN {v}.holds_until > {now}
              THEN (SELECT count(*) FROM voucher_hold h WHERE h.voucher_id = {v}.id AND h.expires_at > {now})
              ELSE 0 END",
        now = d.now
    )
}

/// The columns of a batch, the amount named `discount`.
pub(super) fn batch_columns(d: &Dialect) -> String {
    format!(
        "id, prefix, name, note, count, voucher_type, {} AS discount, max_uses, valid_from, valid_until, \
         unlocks_hidden_tickets, restriction_set_id, created_at, source, alphabet, \
         CAST(code_length AS BIGINT) AS code_length, check_char, min_quantity, min_subtotal, budget, \
         once_per_customer, CAST(applies_none AS BIGINT) AS applies_none",
        d.discount
    )
}

/// Why the voucher row `v` cannot be used at the instant `at` (SQL text), as
/// [`crate::domain::validity`] decides it: `'inactive'`, `'not_yet_valid'`, `'expired'`,
/// `'used_up'`, or NULL when it can be used (both bounds of the window inclusive). The one place
/// SQL decides usability: the redemption statements of both backends and the status filter of
/// the voucher list use it.
pub(super) fn refusal(v: &str, at: &str) -> String {
    format!(
        "(CASE WHEN NOT {v}.is_active THEN 'inactive'
               WHEN {v}.valid_from > {at} THEN 'not_yet_valid'
               WHEN {v}.valid_until < {at} THEN 'expired'
               WHEN {v}.times_used >= {v}.max_uses THEN 'used_up' END)"
    )
}

/// What the one-statement redemption decides from the voucher row `v` at `at`, with the cart's
/// verdict bound at `cart` (a reason judged by the application, or NULL): `'locked'` when the
/// voucher has a rule that needs its lock and more than its row (a hold live at `at` or later, a
/// budget, once per customer; [`crate::domain::judge_use`] then decides), otherwise
/// [`refusal`], then the cart's reason, or NULL to consume a use.
pub(super) fn fast_refusal(v: &str, at: &str, cart: &str) -> String {
    format!(
        "CASE WHEN {v}.holds_until > {at} OR {v}.budget IS NOT NULL OR {v}.once_per_customer THEN 'locked'
              ELSE coalesce({refusal}, {cart}) END",
        refusal = refusal(v, at)
    )
}

/// A refused redemption's reason from the database's message `vouchers: <reason>`.
pub(super) fn refused(message: &str) -> Option<RedeemOutcome> {
    let reason = message.strip_prefix("vouchers: ")?;
    if reason == "locked" {
        return Some(RedeemOutcome::NeedsLock);
    }
    crate::domain::InvalidReason::parse(reason).map(RedeemOutcome::Refused)
}

/// `id = ` the voucher of conference `$1` named by the code `$2` as typed (ignoring ASCII case)
/// or, among readable codes, by its folded key `$3`.
pub(super) fn code_match(d: &Dialect) -> String {
    format!("id = {}", super::rows::voucher_id_match("$1", &(d.same_text)("o.code", "$2"), "$3"))
}
