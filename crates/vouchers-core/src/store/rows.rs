//! How a row becomes a record, written once for both backends.
//!
//! The mappers are generic over [`StoredRow`], which each backend implements for its row type:
//! the plain columns (integers, text, flags) decode the same way everywhere, and the backend says
//! how it stores the three kinds that differ: instants (SQLite: microseconds since the epoch;
//! PostgreSQL: `timestamptz`), amounts (SQLite: integer cents; PostgreSQL: `numeric(10,2)`) and
//! dates (SQLite: `YYYY-MM-DD` text; PostgreSQL: `date`). Where a column's name differs between
//! the backends (`price_cents`), the backend's SELECT renames it to the name used here (`price`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{CheckoutView, ClaimedMessage, MessageVoucher, RedemptionRecord, StoreError, StoredSession, VoucherState};
use crate::domain::{
    Account, AddOn, Alphabet, ApiToken, Applies, AuditActor, AuditRecord, Batch, BatchSource, CodeFormat, Conference,
    DiscountSpec, Money, OutboxMessage, Recipient, RenderedMessage, TicketType, UseState, ValidityWindow, Voucher,
};

/// The columns of a conference, the same on both backends.
pub(super) const CONFERENCE_COLUMNS: &str = "id, slug, name, start_date, end_date, timezone, created_at, hold_seconds";

/// Tokens with their conference's slug, the same on both backends.
pub(super) const TOKEN_SELECT: &str = "SELECT t.id, t.scope, t.conference_id, c.slug AS conference, t.name, \
     t.created_at, t.revoked_at FROM api_token t LEFT JOIN conference c ON c.id = t.conference_id";

/// A row of either backend, read column by column.
pub(super) trait StoredRow {
    /// An integer column.
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    /// A nullable integer column.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    /// A text column.
    fn text(&self, column: &str) -> Result<String, StoreError>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    /// A boolean column.
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    /// A nullable boolean column.
    fn opt_flag(&self, column: &str) -> Result<Option<bool>, StoreError>;
    /// An instant, as this backend stores it.
    fn instant(&self, column: &str) -> Result<DateTime<Utc>, StoreError>;
    /// A nullable instant.
    fn opt_instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// An amount, as this backend stores it.
    fn money(&self, column: &str) -> Result<Money, StoreError>;
    /// A nullable amount.
    fn opt_money(&self, column: &str) -> Result<Option<Money>, StoreError>;
    /// A calendar date, as this backend stores it.
    fn date(&self, column: &str) -> Result<NaiveDate, StoreError>;
}

/// Implements the [`StoredRow`] columns that decode the same way on every backend.
macro_rules! plain_columns {
    () => {
        fn int(&self, column: &str) -> Result<i64, StoreError> {
            Ok(sqlx::Row::try_get(self, column)?)
        }
        fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
            Ok(sqlx::Row::try_get(self, column)?)
        }
        fn text(&self, column: &str) -> Result<String, StoreError> {
            Ok(sqlx::Row::try_get(self, column)?)
        }
        fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
            Ok(sqlx::Row::try_get(self, column)?)
        }
        fn flag(&self, column: &str) -> Result<bool, StoreError> {
            Ok(sqlx::Row::try_get(self, column)?)
        }
        fn opt_flag(&self, column: &str) -> Result<Option<bool>, StoreError> {
            Ok(sqlx::Row::try_get(self, column)?)
        }
    };
}
pub(super) use plain_columns;

/// The columns of `row` whose names start with a prefix, read by their names without it: lets
/// one joined row (a checkout's token, conference and voucher side by side) go through the same
/// mappers as a plain one.
struct Prefixed<'a, R> {
    row: &'a R,
    prefix: &'static str,
}

impl<R: StoredRow> Prefixed<'_, R> {
    fn name(&self, column: &str) -> String {
        format!("{}{column}", self.prefix)
    }
}

impl<R: StoredRow> StoredRow for Prefixed<'_, R> {
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.row.int(&self.name(column))
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.row.opt_int(&self.name(column))
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.row.text(&self.name(column))
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.row.opt_text(&self.name(column))
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        self.row.flag(&self.name(column))
    }
    fn opt_flag(&self, column: &str) -> Result<Option<bool>, StoreError> {
        self.row.opt_flag(&self.name(column))
    }
    fn instant(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        self.row.instant(&self.name(column))
    }
    fn opt_instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.row.opt_instant(&self.name(column))
    }
    fn money(&self, column: &str) -> Result<Money, StoreError> {
        self.row.money(&self.name(column))
    }
    fn opt_money(&self, column: &str) -> Result<Option<Money>, StoreError> {
        self.row.opt_money(&self.name(column))
    }
    fn date(&self, column: &str) -> Result<NaiveDate, StoreError> {
        self.row.date(&self.name(column))
    }
}

/// The id of the voucher of `conference` that a typed code names, found by one seek of the typed
/// code's folded key `key` in `voucher_fold_key`: the alnum code equal to it (`same_code`, ignoring
/// ASCII case; equal codes fold the same), or the readable code with that key. At most one of
/// them exists (a readable code and a code that folds the same cannot both be stored).
pub(super) fn voucher_id_match(conference: &str, same_code: &str, key: &str) -> String {
    format!(
        "(SELECT o.id FROM voucher o
           WHERE o.conference_id = {conference} AND o.fold_key = {key} AND (o.readable OR {same_code})
           LIMIT 1)"
    )
}

/// The one query of a checkout ([`crate::store::Store::checkout_view`]): parameters 1 token
/// hash, 2 conference slug, 3 code, 4 client address, 5 the start of the guessing window and 6
/// the code's folded key. One
/// row per catalogue item (ticket types, then add-ons, by slug; none when no voucher was found),
/// each carrying the token (`t_`), the conference (`c_`), the voucher (`v_`), the failed lookups
/// of the caller (`f_`) and of the token from every address (`tf_`) and the item (`k_`, with `k_restricts`: it is in the voucher's restriction set).
pub(super) fn checkout_sql(d: &super::sql::Dialect) -> String {
    let (hash, slug, address, since) = ("$1", "$2", "$4", "$5");
    let (discount, price) = (d.discount, d.price);
    let voucher_id = voucher_id_match("c.id", &(d.same_text)("o.code", "$3"), "$6");
    format!(
        "SELECT t.id AS t_id, t.scope AS t_scope, t.conference_id AS t_conference_id, tc.slug AS t_conference,
                t.name AS t_name, t.created_at AS t_created_at, t.revoked_at AS t_revoked_at,
                c.id AS c_id, c.slug AS c_slug, c.name AS c_name, c.start_date AS c_start_date,
                c.end_date AS c_end_date, c.timezone AS c_timezone, c.created_at AS c_created_at,
                c.hold_seconds AS c_hold_seconds,
                v.id AS v_id, v.code AS v_code, v.voucher_type AS v_voucher_type, v.{discount} AS v_discount,
                v.max_uses AS v_max_uses, v.times_used AS v_times_used, v.valid_from AS v_valid_from,
                v.valid_until AS v_valid_until, v.unlocks_hidden_tickets AS v_unlocks_hidden_tickets,
                v.is_active AS v_is_active, v.restriction_set_id AS v_restriction_set_id,
                v.batch_id AS v_batch_id, v.created_at AS v_created_at, v.recipient_email AS v_recipient_email,
                v.recipient_name AS v_recipient_name, v.recipient_tags AS v_recipient_tags,
                v.min_quantity AS v_min_quantity, v.min_subtotal AS v_min_subtotal, v.budget AS v_budget,
                v.budget_used AS v_budget_used, v.once_per_customer AS v_once_per_customer,
                CAST(0 AS BIGINT) AS v_uses_held, v.holds_until AS v_holds_until,
                (SELECT count(*) FROM failed_lookup f
                  WHERE f.token_id = t.id AND f.address = {address} AND f.at > {since}) AS f_count,
                (SELECT min(f.at) FROM failed_lookup f
                  WHERE f.token_id = t.id AND f.address = {address} AND f.at > {since}) AS f_oldest,
                (SELECT count(*) FROM failed_lookup f WHERE f.token_id = t.id AND f.at > {since}) AS tf_count,
                (SELECT min(f.at) FROM failed_lookup f WHERE f.token_id = t.id AND f.at > {since}) AS tf_oldest,
                k.is_addon AS k_is_addon, k.id AS k_id, k.slug AS k_slug, k.name AS k_name, k.price AS k_price,
                k.requires_voucher AS k_requires_voucher, k.is_active AS k_is_active,
                CAST(v.applies_none AS BIGINT) AS v_applies_none,
                CASE WHEN k.is_addon
                     THEN EXISTS (SELECT 1 FROM restriction_set_addon l
                                   WHERE l.restriction_set_id = v.restriction_set_id AND l.addon_id = k.id)
                     ELSE EXISTS (SELECT 1 FROM restriction_set_ticket_type l
                                   WHERE l.restriction_set_id = v.restriction_set_id AND l.ticket_type_id = k.id)
                END AS k_restricts
           FROM (SELECT 1 AS one) one
           LEFT JOIN api_token t ON t.token_hash = {hash} AND t.revoked_at IS NULL
           LEFT JOIN conference tc ON tc.id = t.conference_id
           LEFT JOIN conference c ON c.slug = {slug}
           LEFT JOIN voucher v ON v.id = {voucher_id}
           LEFT JOIN (SELECT false AS is_addon, id, conference_id, slug, name, {price} AS price, requires_voucher,
                             is_active FROM ticket_type
                      UNION ALL
                      SELECT true, id, conference_id, slug, name, {price}, false, is_active FROM addon) k
                  ON k.conference_id = v.conference_id
          ORDER BY k.is_addon, k.slug"
    )
}

/// Reads the rows of [`checkout_sql`].
pub(super) fn checkout_view(rows: &[impl StoredRow]) -> Result<CheckoutView, StoreError> {
    let Some(first) = rows.first() else { return Ok(CheckoutView::default()) };
    let token = Prefixed { row: first, prefix: "t_" };
    let token = token.opt_int("id")?.map(|_| self::token(&token)).transpose()?;
    let conference = Prefixed { row: first, prefix: "c_" };
    let Some(conference) = conference.opt_int("id")?.map(|_| self::conference(&conference)).transpose()? else {
        return Ok(CheckoutView {
            token,
            failures: (first.int("f_count")?, first.opt_instant("f_oldest")?),
            token_failures: (first.int("tf_count")?, first.opt_instant("tf_oldest")?),
            ..Default::default()
        });
    };
    let (mut ticket_types, mut addons, mut restricted) = (Vec::new(), Vec::new(), Vec::new());
    let voucher = Prefixed { row: first, prefix: "v_" };
    let set_id = voucher.opt_int("restriction_set_id")?;
    for row in rows {
        let item = Prefixed { row, prefix: "k_" };
        if item.opt_int("id")?.is_none() {
            continue;
        }
        let is_addon = item.flag("is_addon")?;
        let slug = if is_addon {
            let addon = self::addon(&conference, &item)?;
            let slug = addon.slug.clone();
            addons.push(addon);
            slug
        } else {
            let ticket_type = self::ticket_type(&conference, &item)?;
            let slug = ticket_type.slug.clone();
            ticket_types.push(ticket_type);
            slug
        };
        if let (true, Some(set_id)) = (item.flag("restricts")?, set_id) {
            restricted.push((set_id, is_addon, slug));
        }
    }
    let (voucher, holds_until) = match voucher.opt_int("id")? {
        Some(_) => (
            Some(self::voucher(&conference, &group_restrictions(restricted), &voucher)?),
            voucher.opt_instant("holds_until")?,
        ),
        None => (None, None),
    };
    Ok(CheckoutView {
        token,
        conference: Some(conference),
        voucher,
        holds_until,
        holds: UseState::default(),
        ticket_types,
        addons,
        failures: (first.int("f_count")?, first.opt_instant("f_oldest")?),
        token_failures: (first.int("tf_count")?, first.opt_instant("tf_oldest")?),
        mistyped: false,
    })
}

/// Restriction slugs per set id: (ticket types, add-ons), each sorted.
pub(super) type RestrictionSets = HashMap<i64, (Vec<String>, Vec<String>)>;

/// A conference.
pub(super) fn conference(row: &impl StoredRow) -> Result<Conference, StoreError> {
    let timezone = row.text("timezone")?;
    Ok(Conference {
        id: row.int("id")?,
        slug: row.text("slug")?,
        name: row.text("name")?,
        start_date: row.date("start_date")?,
        end_date: row.date("end_date")?,
        timezone: timezone.parse().map_err(|_| StoreError::Corrupt(format!("timezone {timezone:?}")))?,
        created_at: row.instant("created_at")?,
        hold_seconds: row.int("hold_seconds")?,
    })
}

/// A ticket type of `conference` (columns `id, slug, name, price, requires_voucher, is_active`).
pub(super) fn ticket_type(conference: &Conference, row: &impl StoredRow) -> Result<TicketType, StoreError> {
    Ok(TicketType {
        id: row.int("id")?,
        conference: conference.slug.clone(),
        slug: row.text("slug")?,
        name: row.text("name")?,
        price: row.money("price")?,
        requires_voucher: row.flag("requires_voucher")?,
        is_active: row.flag("is_active")?,
    })
}

/// An add-on of `conference` (columns `id, slug, name, price, is_active`).
pub(super) fn addon(conference: &Conference, row: &impl StoredRow) -> Result<AddOn, StoreError> {
    Ok(AddOn {
        id: row.int("id")?,
        conference: conference.slug.clone(),
        slug: row.text("slug")?,
        name: row.text("name")?,
        price: row.money("price")?,
        is_active: row.flag("is_active")?,
    })
}

fn voucher_type(row: &impl StoredRow) -> Result<crate::domain::VoucherType, StoreError> {
    let value = row.text("voucher_type")?;
    value.parse().map_err(|_| StoreError::Corrupt(format!("voucher_type {value:?}")))
}

/// A voucher of `conference`, its restrictions looked up in `sets` (columns as
/// [`crate::store::Store::vouchers`] selects them, the amount named `discount`).
pub(super) fn voucher(
    conference: &Conference,
    sets: &RestrictionSets,
    row: &impl StoredRow,
) -> Result<Voucher, StoreError> {
    let (ticket_types, addons) = restrictions_of(sets, row)?;
    let kind = voucher_type(row)?;
    let discount = DiscountSpec::from_stored(kind, row.money("discount")?.amount());
    Ok(Voucher {
        id: row.int("id")?,
        conference: conference.slug.clone(),
        code: row.text("code")?,
        voucher_type: kind,
        discount_value: discount.value(),
        max_uses: row.int("max_uses")?,
        times_used: row.int("times_used")?,
        valid_from: row.opt_instant("valid_from")?,
        valid_until: row.opt_instant("valid_until")?,
        unlocks_hidden_tickets: row.flag("unlocks_hidden_tickets")?,
        is_active: row.flag("is_active")?,
        applicable_ticket_types: ticket_types,
        applicable_addons: addons,
        batch_id: row.opt_int("batch_id")?,
        created_at: row.instant("created_at")?,
        recipient: recipient(row)?,
        min_quantity: row.int("min_quantity")?,
        min_subtotal: row.opt_money("min_subtotal")?,
        uses_held: row.int("uses_held")?,
        budget: row.opt_money("budget")?,
        budget_used: row.money("budget_used")?,
        once_per_customer: row.flag("once_per_customer")?,
    })
}

/// The recipient columns of a voucher row (`recipient_email`, `recipient_name`,
/// `recipient_tags`), `None` when it is not assigned.
fn recipient(row: &impl StoredRow) -> Result<Option<Recipient>, StoreError> {
    let Some(email) = row.opt_text("recipient_email")? else { return Ok(None) };
    let tags = row.opt_text("recipient_tags")?.unwrap_or_else(|| "{}".to_owned());
    Ok(Some(Recipient {
        email,
        name: row.opt_text("recipient_name")?.unwrap_or_default(),
        tags: Recipient::tags_from_json(&tags)
            .ok_or_else(|| StoreError::Corrupt(format!("recipient_tags {tags:?}")))?,
    }))
}

/// A batch of `conference`, its restrictions looked up in `sets` (the amount named `discount`).
pub(super) fn batch(
    conference: &Conference,
    sets: &RestrictionSets,
    row: &impl StoredRow,
) -> Result<Batch, StoreError> {
    let (ticket_types, addons) = restrictions_of(sets, row)?;
    let format = code_format(&row.text("alphabet")?, row.int("code_length")?, row.flag("check_char")?)?;
    Ok(Batch {
        id: row.int("id")?,
        conference: conference.slug.clone(),
        prefix: row.text("prefix")?,
        name: row.text("name")?,
        note: row.text("note")?,
        count: row.int("count")?,
        voucher_type: voucher_type(row)?,
        discount_value: row.money("discount")?,
        max_uses: row.int("max_uses")?,
        valid_from: row.opt_instant("valid_from")?,
        valid_until: row.opt_instant("valid_until")?,
        unlocks_hidden_tickets: row.flag("unlocks_hidden_tickets")?,
        applicable_ticket_types: ticket_types,
        applicable_addons: addons,
        created_at: row.instant("created_at")?,
        source: match row.text("source")?.as_str() {
            "import" => BatchSource::Import,
            _ => BatchSource::Generate,
        },
        alphabet: format.alphabet,
        length: format.length,
        check_char: format.check_char,
        min_quantity: row.int("min_quantity")?,
        min_subtotal: row.opt_money("min_subtotal")?,
        budget: row.opt_money("budget")?,
        once_per_customer: row.flag("once_per_customer")?,
    })
}

/// A batch's stored format.
pub(super) fn code_format(alphabet: &str, length: i64, check_char: bool) -> Result<CodeFormat, StoreError> {
    let alphabet = Alphabet::parse(alphabet).map_err(|_| StoreError::Corrupt(format!("alphabet {alphabet:?}")))?;
    CodeFormat::new(alphabet, length, check_char).map_err(|_| StoreError::Corrupt(format!("code_length {length}")))
}

/// An API token, as [`TOKEN_SELECT`] reads it.
pub(super) fn token(row: &impl StoredRow) -> Result<ApiToken, StoreError> {
    let scope = row.text("scope")?;
    Ok(ApiToken {
        id: row.int("id")?,
        scope: scope.parse().map_err(|_| StoreError::Corrupt(format!("scope {scope:?}")))?,
        conference_id: row.opt_int("conference_id")?,
        conference: row.opt_text("conference")?,
        name: row.opt_text("name")?,
        created_at: row.instant("created_at")?,
        revoked_at: row.opt_instant("revoked_at")?,
    })
}

/// The columns of an account, the same on both backends.
/// (An account waiting for its first password has the empty hash, which no password matches.)
pub(super) const ACCOUNT_COLUMNS: &str =
    "id, email, role, created_at, disabled_at, (password_hash <> '') AS has_password";

/// An account (its conferences read separately), as [`ACCOUNT_COLUMNS`] reads it.
pub(super) fn account(row: &impl StoredRow, conferences: Vec<String>) -> Result<Account, StoreError> {
    let role = row.text("role")?;
    Ok(Account {
        id: row.int("id")?,
        email: row.text("email")?,
        role: role.parse().map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?,
        conferences,
        created_at: row.instant("created_at")?,
        disabled_at: row.opt_instant("disabled_at")?,
        has_password: row.flag("has_password")?,
    })
}

/// The columns of an audit record, the same on both backends.
pub(super) const AUDIT_COLUMNS: &str = "id, at, actor_kind, actor_id, actor_name, action, target, changes";

/// An audit record, as [`AUDIT_COLUMNS`] reads it.
pub(super) fn audit_record(row: &impl StoredRow) -> Result<AuditRecord, StoreError> {
    let changes = row.text("changes")?;
    Ok(AuditRecord {
        id: row.int("id")?,
        at: row.instant("at")?,
        actor: AuditActor {
            kind: row.text("actor_kind")?,
            id: row.opt_int("actor_id")?,
            name: row.opt_text("actor_name")?,
        },
        action: row.text("action")?,
        target: row.text("target")?,
        changes: serde_json::from_str(&changes).map_err(|e| StoreError::Corrupt(format!("audit changes: {e}")))?,
    })
}

/// The columns of a console session, the same on both backends.
pub(super) const SESSION_COLUMNS: &str = "id, account_id, csrf_token, created_at, last_seen_at";

/// A console session, as [`SESSION_COLUMNS`] reads it.
pub(super) fn session(row: &impl StoredRow) -> Result<StoredSession, StoreError> {
    Ok(StoredSession {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        csrf_token: row.text("csrf_token")?,
        created_at: row.instant("created_at")?,
        last_seen_at: row.instant("last_seen_at")?,
    })
}

/// A redemption, for a voucher's page.
pub(super) fn redemption(row: &impl StoredRow) -> Result<RedemptionRecord, StoreError> {
    Ok(RedemptionRecord {
        order_ref: row.text("order_ref")?,
        redeemed_at: row.instant("redeemed_at")?,
        released_at: row.opt_instant("released_at")?,
    })
}

/// Outbox messages with their voucher's code (empty for a message that carries none, a reminder
/// to an allotment's contact), the same on both backends (`m` the message).
pub(super) const OUTBOX_SELECT: &str =
    "SELECT m.id, m.batch_id, coalesce(v.code, '') AS code, m.recipient_email, m.recipient_name, m.subject, \
     m.status, m.attempts, m.last_error, m.next_attempt_at, m.sent_at, m.created_at \
     FROM outbox_message m LEFT JOIN voucher v ON v.id = m.voucher_id";

/// A message of the outbox, as [`OUTBOX_SELECT`] reads it.
pub(super) fn outbox_message(row: &impl StoredRow) -> Result<OutboxMessage, StoreError> {
    let status = row.text("status")?;
    Ok(OutboxMessage {
        id: row.int("id")?,
        batch_id: row.int("batch_id")?,
        code: row.text("code")?,
        recipient_email: row.text("recipient_email")?,
        recipient_name: row.text("recipient_name")?,
        subject: row.text("subject")?,
        status: status.parse().map_err(|_| StoreError::Corrupt(format!("status {status:?}")))?,
        attempts: row.int("attempts")?,
        last_error: row.opt_text("last_error")?,
        next_attempt_at: row.instant("next_attempt_at")?,
        sent_at: row.opt_instant("sent_at")?,
        created_at: row.instant("created_at")?,
    })
}

/// A voucher awaiting its message (columns `id, batch_id, code, voucher_type, discount,
/// valid_until` and the recipient's).
pub(super) fn message_voucher(row: &impl StoredRow) -> Result<MessageVoucher, StoreError> {
    let kind = voucher_type(row)?;
    Ok(MessageVoucher {
        id: row.int("id")?,
        batch_id: row.int("batch_id")?,
        code: row.text("code")?,
        voucher_type: kind,
        discount_value: DiscountSpec::from_stored(kind, row.money("discount")?.amount()).value(),
        valid_until: row.opt_instant("valid_until")?,
        recipient: recipient(row)?
            .ok_or_else(|| StoreError::Corrupt("a voucher awaiting a message has no recipient".into()))?,
    })
}

/// The columns a claim returns, the same on both backends.
pub(super) const CLAIMED_COLUMNS: &str =
    "id, attempts, attempt_limit, message_key, recipient_email, recipient_name, subject, body_text, body_html";

/// A claimed message, as [`CLAIMED_COLUMNS`] reads it.
pub(super) fn claimed_message(row: &impl StoredRow) -> Result<ClaimedMessage, StoreError> {
    Ok(ClaimedMessage {
        id: row.int("id")?,
        attempt: row.int("attempts")?,
        attempt_limit: row.int("attempt_limit")?,
        message_key: row.text("message_key")?,
        to_email: row.text("recipient_email")?,
        to_name: row.text("recipient_name")?,
        rendered: RenderedMessage {
            subject: row.text("subject")?,
            text: row.text("body_text")?,
            html: row.opt_text("body_html")?,
        },
    })
}

/// The columns of a voucher that an update checks.
pub(super) const VOUCHER_STATE_COLUMNS: &str = "id, max_uses, times_used, is_active, valid_from, valid_until, budget";

/// The fields of a voucher that an update checks ([`VOUCHER_STATE_COLUMNS`]).
pub(super) fn voucher_state(row: &impl StoredRow) -> Result<VoucherState, StoreError> {
    let window = ValidityWindow::new(row.opt_instant("valid_from")?, row.opt_instant("valid_until")?)
        .map_err(|e| StoreError::Corrupt(e.message))?;
    Ok(VoucherState {
        id: row.int("id")?,
        max_uses: row.int("max_uses")?,
        times_used: row.int("times_used")?,
        is_active: row.flag("is_active")?,
        window,
        budget: row.opt_money("budget")?,
    })
}

/// The canonical key of a restriction set: equal sets get equal keys, so they can be shared.
pub(super) fn restriction_key(ticket_types: &[i64], addons: &[i64]) -> String {
    let join = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    format!("t:{};a:{}", join(ticket_types), join(addons))
}

/// Escapes `%`, `_` and `\` so `text` matches literally in a `LIKE ... ESCAPE '\'` pattern.
pub(super) fn like_prefix(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The distinct `restriction_set_id`s of voucher or batch rows, to read their slugs in one query.
pub(super) fn set_ids_of(rows: &[impl StoredRow]) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::new();
    for row in rows {
        ids.extend(row.opt_int("restriction_set_id")?);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// What a voucher or batch row applies to (ticket types, add-ons): none of a kind when its
/// `applies_none` bit says so, else the slugs of its restriction set (every item of a kind the set
/// does not restrict, or with no set).
fn restrictions_of(sets: &RestrictionSets, row: &impl StoredRow) -> Result<(Applies, Applies), StoreError> {
    let (tickets, addons) =
        row.opt_int("restriction_set_id")?.and_then(|id| sets.get(&id)).cloned().unwrap_or_default();
    let none = row.int("applies_none")?;
    let applies = |bit: i64, slugs: Vec<String>| if none & bit != 0 { Applies::Nothing } else { Applies::these(slugs) };
    Ok((applies(1, tickets), applies(2, addons)))
}

/// Restriction slugs per set id, as both backends read them: `(set id, is_addon, slug)` rows.
pub(super) fn group_restrictions(rows: impl IntoIterator<Item = (i64, bool, String)>) -> RestrictionSets {
    let mut sets = RestrictionSets::new();
    for (set_id, is_addon, slug) in rows {
        let entry = sets.entry(set_id).or_default();
        if is_addon {
            entry.1.push(slug);
        } else {
            entry.0.push(slug);
        }
    }
    for (ticket_types, addons) in sets.values_mut() {
        ticket_types.sort();
        addons.sort();
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restriction_keys_are_canonical() {
        assert_eq!(restriction_key(&[1, 2], &[7]), "t:1,2;a:7");
        assert_eq!(restriction_key(&[], &[7]), "t:;a:7");
    }

    #[test]
    fn like_prefix_escapes_wildcards() {
        assert_eq!(like_prefix("a_b%c\\"), "a\\_b\\%c\\\\%");
    }
}
