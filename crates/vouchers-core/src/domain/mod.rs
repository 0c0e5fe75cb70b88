//! Checked value types and the records the service hands out. Nothing here does I/O, and
//! nothing here imports sqlx: a value that exists has passed its rule.

mod access;
mod account;
mod allotment;
mod audit;
mod catalog;
mod code;
mod code_format;
mod fields;
mod guessing;
mod message;
mod money;
mod network;
mod pricing;
mod recipient;
mod redemption;
mod report;
mod text;
mod time;
mod token;
mod uses;
mod voucher;
mod webhook;

pub use access::{Access, Action, Denied};
pub use account::{Account, AccountStatus, Email, Password, PasswordLinkSecret, Role, Session, SessionSecret};
pub use allotment::{
    format_reminder_days, parse_reminder_days, public_origin, reminder_days, sponsor_name, Allotment, Attendee,
    AttendeeStatus, SponsorSecret, SponsorSession, DEFAULT_REMINDER_DAYS, MAX_PASTE, MAX_REMINDERS, MAX_REMINDER_DAYS,
};
pub use audit::{Actor, AuditActor, AuditRecord, AUDIT_ACTIONS};
pub use catalog::{
    parse_date, AddOn, AddOnChange, Conference, ConferenceChange, NewAddOn, NewConference, NewTicketType, TicketType,
    TicketTypeChange,
};
pub use code::{CodePrefix, Prefix, VoucherCode, CODE_ALPHABET, CODE_SUFFIX_LEN};
pub use code_format::{fold_key, Alphabet, CodeFormat, CodeMaker};
pub use fields::{flag_of, label_of, labelled, Field, FIELDS};
pub use guessing::{in_words, Guessing, GuessingPolicy};
pub use message::{
    discount_in_words, MessageContext, MessageStatus, MessageTemplate, OutboxMessage, RenderedMessage,
    ALLOTMENT_PLACEHOLDERS, MAX_SUBJECT_CHARS, PLACEHOLDERS,
};
pub use money::{parse_decimal, DiscountSpec, Money, VoucherType};
pub use network::caller_network;
pub use pricing::{applies_in_words, price, qualifies, Applies, LineItem, PriceLine, PricedLine, Pricing, Quantity};
pub use recipient::{check_tag_key, Recipient, RowError};
pub(crate) use redemption::check_reference;
pub use redemption::{
    cart_refusal, unlocked_ticket_types, validity, CartRefusal, InvalidReason, OrderRef, VoucherStatus,
};
pub use report::{day_start, BatchFunnel, Interval, RedemptionEntry, Timeline, TimelinePoint, BUCKET_SECONDS};
pub use text::{closest, did_you_mean, BatchLabel, Name, Slug};
pub use time::{local_days, InstantRange, ValidityWindow, When};
pub use token::{ApiToken, Scope, TokenSecret};
pub use uses::{judge_use, Budget, CartRef, Customer, Grant, HoldSeconds, OwnHold, Refusal, UseState};
pub(crate) use voucher::rfc3339 as rfc3339_ser;
pub use voucher::{
    format_rfc3339, from_spreadsheet, minimum_in_words, spreadsheet_safe, Batch, BatchSource, MaxUses, Voucher,
    DEFAULT_MIN_QUANTITY,
};
pub use webhook::{
    forbidden_address, sign, signature_header, Delivery, DeliveryStatus, Event, EventSet, EventType, RetrySchedule,
    TargetPolicy, Webhook, WebhookSecret, WebhookUrl,
};

/// How an error message quotes an input value: in quotes and escaped like `{:?}`, cut to its first
/// 40 characters (with the full length said) so a huge value never makes a huge error.
pub fn quoted(value: &str) -> String {
    const SHOWN: usize = 40;
    let len = value.chars().count();
    if len <= SHOWN {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(SHOWN).collect();
    format!("{head:?}... ({len} characters)")
}

/// Characters that make text read differently from what it is: bidirectional overrides and
/// isolates (U+202A-U+202E, U+2066-U+2069), direction marks (U+200E, U+200F, U+061C), and
/// zero-width or invisible formatting characters. Names and order references refuse them, so a
/// name cannot display as another.
pub fn is_spoofing_char(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{061C}' | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}' | '\u{00AD}'
    )
}

/// A rule broken by an input value: which field, and a message that names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidInput {
    /// The input field at fault, as the CLI flag and JSON key spell it (`prefix`, `count`, ...).
    pub field: &'static str,
    /// A sentence for a person: it names the field, the rule and, where useful, the value.
    pub message: String,
}

impl InvalidInput {
    /// Builds the error for `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_short() {
        assert_eq!(quoted("abc"), "\"abc\"");
        let long = quoted(&"9".repeat(1_000_000));
        assert!(long.len() < 80, "{long}");
        assert!(long.ends_with("... (1000000 characters)"), "{long}");
    }

    #[test]
    fn spoofing_characters() {
        for c in ['\u{202E}', '\u{2066}', '\u{200F}', '\u{200B}', '\u{FEFF}'] {
            assert!(is_spoofing_char(c), "{c:?}");
        }
        assert!(!is_spoofing_char('a') && !is_spoofing_char('é') && !is_spoofing_char('東'));
    }
}
