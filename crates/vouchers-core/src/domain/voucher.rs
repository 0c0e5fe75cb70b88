//! Vouchers and the batches they come from, as the service returns them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize, Serializer};

use super::{Alphabet, Applies, CodeFormat, InvalidInput, Money, Recipient, VoucherType};

/// How many times a voucher can be redeemed: at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaxUses(i64);

impl MaxUses {
    /// One use: the default of every voucher.
    pub const ONE: MaxUses = MaxUses(1);

    /// The most uses a voucher can have: the Django model's positive-integer field. Sums of
    /// uses over any number of vouchers a conference can hold stay far inside an `i64`.
    pub const MAX: i64 = 2_147_483_647;

    /// Checks a number of uses: 1 to [`MaxUses::MAX`].
    pub fn new(value: i64) -> Result<Self, InvalidInput> {
        if value < 1 {
            return Err(InvalidInput::new("max_uses", format!("max_uses must be at least 1, got {value}")));
        }
        if value > Self::MAX {
            return Err(InvalidInput::new("max_uses", format!("max_uses must be at most {}, got {value}", Self::MAX)));
        }
        Ok(Self(value))
    }

    /// The number of uses.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A voucher as stored, with its restrictions spelled out as slugs. Its JSON form has exactly
/// the keys of the CLI and API contract, and it reads back from that JSON unchanged (a stored
/// answer replayed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Voucher {
    /// Database id.
    pub id: i64,
    /// The conference's slug.
    pub conference: String,
    /// The code, as generated or chosen.
    pub code: String,
    /// Kind of discount.
    pub voucher_type: VoucherType,
    /// Percentage or amount, 2 decimals; `0.00` for comp.
    pub discount_value: Money,
    /// How many times it can be redeemed.
    pub max_uses: i64,
    /// How many times it has been redeemed.
    pub times_used: i64,
    /// Start of the validity window (inclusive).
    #[serde(serialize_with = "rfc3339_opt")]
    pub valid_from: Option<DateTime<Utc>>,
    /// End of the validity window (inclusive).
    #[serde(serialize_with = "rfc3339_opt")]
    pub valid_until: Option<DateTime<Utc>>,
    /// Reveals the conference's `requires_voucher` ticket types it applies to.
    pub unlocks_hidden_tickets: bool,
    /// Can be used at all.
    pub is_active: bool,
    /// Ticket types it applies to (`[]`: all, `"none"`: none).
    pub applicable_ticket_types: Applies,
    /// Add-ons it applies to (`[]`: all, `"none"`: none).
    pub applicable_addons: Applies,
    /// The batch it was generated in (`None` for a voucher added by hand).
    pub batch_id: Option<i64>,
    /// Creation time.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// The person it is assigned to, if any.
    #[serde(default)]
    pub recipient: Option<Recipient>,
    /// Qualifying items a cart needs to use it (1: any cart with one).
    #[serde(default = "default_min_quantity")]
    pub min_quantity: i64,
    /// Qualifying subtotal a cart needs to use it (`null`: none).
    #[serde(default)]
    pub min_subtotal: Option<Money>,
    /// Uses kept by carts' live holds now.
    #[serde(default)]
    pub uses_held: i64,
    /// The most discount all its redemptions together may give (`null`: no limit).
    #[serde(default)]
    pub budget: Option<Money>,
    /// The discount its unreleased redemptions gave ("0.00" with no budget).
    #[serde(default)]
    pub budget_used: Money,
    /// A customer may hold or redeem at most one code of its batch (of itself, added alone).
    #[serde(default)]
    pub once_per_customer: bool,
}

/// Qualifying items a cart needs when no minimum was set: any cart with one. The one
/// declaration of this default ([`crate::VoucherTerms::DEFAULT_MIN_QUANTITY`] is it); an answer
/// stored before minimums existed reads back with it.
pub const DEFAULT_MIN_QUANTITY: i64 = 1;

fn default_min_quantity() -> i64 {
    DEFAULT_MIN_QUANTITY
}

/// A cart minimum in words, for people: "none", "3 qualifying items", "200.00 qualifying
/// subtotal", or both.
pub fn minimum_in_words(min_quantity: i64, min_subtotal: Option<Money>) -> String {
    let items = (min_quantity > DEFAULT_MIN_QUANTITY).then(|| format!("{min_quantity} qualifying items"));
    let subtotal = min_subtotal.map(|m| format!("{m} qualifying subtotal"));
    match (items, subtotal) {
        (None, None) => "none".to_owned(),
        (Some(one), None) | (None, Some(one)) => one,
        (Some(items), Some(subtotal)) => format!("{items} and {subtotal}"),
    }
}

impl Voucher {
    /// The CSV columns of a voucher: its JSON keys, in the same order, the cart minimums aside
    /// (the export and import format predates them; an imported voucher takes the defaults).
    pub const CSV_COLUMNS: [&'static str; 18] = [
        "id",
        "conference",
        "code",
        "voucher_type",
        "discount_value",
        "max_uses",
        "times_used",
        "valid_from",
        "valid_until",
        "unlocks_hidden_tickets",
        "is_active",
        "applicable_ticket_types",
        "applicable_addons",
        "batch_id",
        "created_at",
        "recipient_email",
        "recipient_name",
        "recipient_tags",
    ];

    /// The voucher as one CSV record under [`Voucher::CSV_COLUMNS`]: times in RFC 3339 UTC,
    /// empty for none; lists joined with `;`; the recipient's tags as a JSON object. Cells are as stored: pass them through
    /// [`spreadsheet_safe`] when writing a file.
    pub fn csv_record(&self) -> [String; 18] {
        let time = |t: &Option<DateTime<Utc>>| t.as_ref().map(format_rfc3339).unwrap_or_default();
        [
            self.id.to_string(),
            self.conference.clone(),
            self.code.clone(),
            self.voucher_type.to_string(),
            self.discount_value.to_string(),
            self.max_uses.to_string(),
            self.times_used.to_string(),
            time(&self.valid_from),
            time(&self.valid_until),
            self.unlocks_hidden_tickets.to_string(),
            self.is_active.to_string(),
            self.applicable_ticket_types.to_csv(),
            self.applicable_addons.to_csv(),
            self.batch_id.map(|b| b.to_string()).unwrap_or_default(),
            format_rfc3339(&self.created_at),
            self.recipient.as_ref().map(|r| r.email.clone()).unwrap_or_default(),
            self.recipient.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
            self.recipient.as_ref().map(Recipient::tags_json).unwrap_or_default(),
        ]
    }
}

/// One `generate` call: its configuration, recorded so the batch can be listed, exported or
/// deactivated as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Batch {
    /// Database id.
    pub id: i64,
    /// The conference's slug.
    pub conference: String,
    /// The prefix of every code.
    pub prefix: String,
    /// Its name for people ("Speakers 2027"; empty: known by its number).
    #[serde(default)]
    pub name: String,
    /// A note for people (empty: none).
    #[serde(default)]
    pub note: String,
    /// Number of vouchers created.
    pub count: i64,
    /// Kind of discount.
    pub voucher_type: VoucherType,
    /// Percentage or amount.
    pub discount_value: Money,
    /// Uses per voucher.
    pub max_uses: i64,
    /// Start of the validity window.
    #[serde(serialize_with = "rfc3339_opt")]
    pub valid_from: Option<DateTime<Utc>>,
    /// End of the validity window.
    #[serde(serialize_with = "rfc3339_opt")]
    pub valid_until: Option<DateTime<Utc>>,
    /// Reveals hidden ticket types.
    pub unlocks_hidden_tickets: bool,
    /// Ticket types the vouchers apply to (`[]`: all, `"none"`: none).
    pub applicable_ticket_types: Applies,
    /// Add-ons the vouchers apply to (`[]`: all, `"none"`: none).
    pub applicable_addons: Applies,
    /// Creation time.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// `generate` (random codes) or `import` (codes chosen elsewhere; each voucher keeps its own
    /// terms, and the batch shows its first row's).
    #[serde(default)]
    pub source: BatchSource,
    /// `alnum` (`A-Z0-9`, matched ignoring case) or `readable` (Crockford's Base32, matched with
    /// folding).
    #[serde(default)]
    pub alphabet: Alphabet,
    /// Random characters after the prefix.
    #[serde(default = "default_length")]
    pub length: u8,
    /// The codes end with a check character.
    #[serde(default)]
    pub check_char: bool,
    /// Qualifying items a cart needs to use one of its vouchers.
    #[serde(default = "default_min_quantity")]
    pub min_quantity: i64,
    /// Qualifying subtotal a cart needs to use one (`null`: none).
    #[serde(default)]
    pub min_subtotal: Option<Money>,
    /// The most discount each voucher's redemptions may give together (`null`: no limit).
    #[serde(default)]
    pub budget: Option<Money>,
    /// A customer may hold or redeem at most one code of the batch.
    #[serde(default)]
    pub once_per_customer: bool,
}

fn default_length() -> u8 {
    CodeFormat::DEFAULT_LENGTH
}

impl Batch {
    /// How pages name it: "Speakers 2027 (batch 3)", or "Batch 3" without a name.
    pub fn title(&self) -> String {
        if self.name.is_empty() {
            format!("Batch {}", self.id)
        } else {
            format!("{} (batch {})", self.name, self.id)
        }
    }

    /// What its vouchers apply to, in words ([`super::applies_in_words`]).
    pub fn applies(&self) -> String {
        super::applies_in_words(&self.applicable_ticket_types, &self.applicable_addons)
    }

    /// The cart minimum its vouchers need, in words ([`minimum_in_words`]).
    pub fn minimum(&self) -> String {
        minimum_in_words(self.min_quantity, self.min_subtotal)
    }

    /// How the batch's codes look.
    pub fn format(&self) -> CodeFormat {
        CodeFormat { alphabet: self.alphabet, length: self.length, check_char: self.check_char }
    }
}

/// Where a batch's codes came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BatchSource {
    /// Random codes made by `generate`.
    #[default]
    Generate,
    /// Codes chosen elsewhere, brought in by `import`.
    Import,
}

impl BatchSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchSource::Generate => "generate",
            BatchSource::Import => "import",
        }
    }
}

/// The first characters that get a leading `'` in a CSV cell: a spreadsheet reads a cell starting
/// with one of the first six as a formula, and `'` itself is escaped so that the `'` can be taken
/// off again without ambiguity.
const SPREADSHEET_QUOTED: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\''];

/// A CSV cell a spreadsheet will not read as a formula: text starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'`, and so does text starting with `'`. Every CSV this
/// product writes (the API's export, the CLI's `--format csv` and `--output`) passes each cell
/// through it; [`from_spreadsheet`] undoes it exactly.
pub fn spreadsheet_safe(cell: String) -> String {
    if cell.starts_with(SPREADSHEET_QUOTED) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// A cell as [`spreadsheet_safe`] wrote it, back as it was: one leading `'` before a character
/// that it quotes is taken off. `from_spreadsheet(spreadsheet_safe(s)) == s` for every `s`.
pub fn from_spreadsheet(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(SPREADSHEET_QUOTED) => rest,
        _ => cell,
    }
}

/// Formats an instant as RFC 3339 in UTC (`2027-05-14T13:00:00Z`, fractions only when present).
pub fn format_rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(t))
}

pub(crate) fn rfc3339_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimums_in_words() {
        let amount = Some(Money::from_cents(20_000));
        assert_eq!(minimum_in_words(1, None), "none");
        assert_eq!(minimum_in_words(3, None), "3 qualifying items");
        assert_eq!(minimum_in_words(1, amount), "200.00 qualifying subtotal");
        assert_eq!(minimum_in_words(3, amount), "3 qualifying items and 200.00 qualifying subtotal");
    }

    #[test]
    fn formula_cells_are_defused() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"] {
            assert!(spreadsheet_safe(bad.to_owned()).starts_with('\''), "{bad}");
        }
        assert_eq!(spreadsheet_safe("SPEAKER-AB12".to_owned()), "SPEAKER-AB12");
        assert_eq!(spreadsheet_safe(String::new()), "");
        assert_eq!(spreadsheet_safe("'-bob@example.org".to_owned()), "''-bob@example.org");
        assert_eq!(from_spreadsheet("''-bob@example.org"), "'-bob@example.org");
        assert_eq!(from_spreadsheet("'-bob@example.org"), "-bob@example.org");
        assert_eq!(from_spreadsheet("'bob"), "'bob");
    }

    proptest::proptest! {
        /// Every value comes back as it was, alone and through a CSV file written and read.
        #[test]
        fn the_spreadsheet_quote_round_trips(cell in "(['=+@\t\r-]{0,3})\\PC{0,12}", other in "\\PC{0,8}") {
            let safe = spreadsheet_safe(cell.clone());
            proptest::prop_assert_eq!(from_spreadsheet(&safe), cell.as_str());
            proptest::prop_assert!(!safe.starts_with(['=', '+', '-', '@', '\t', '\r']));
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record([safe.clone(), spreadsheet_safe(other.clone())]).unwrap();
            let bytes = writer.into_inner().unwrap();
            let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
            let record = reader.records().next().unwrap().unwrap();
            proptest::prop_assert_eq!(from_spreadsheet(&record[0]), cell.as_str());
            proptest::prop_assert_eq!(from_spreadsheet(&record[1]), other.as_str());
        }
    }
}
