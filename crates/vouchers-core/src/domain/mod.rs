//! Checked value types and the records the service hands out. Nothing here does I/O, and
//! nothing here imports sqlx: a value that exists has passed its rule.

mod catalog;
mod code;
mod money;
mod pricing;
mod redemption;
mod text;
mod time;
mod token;
mod voucher;

pub use catalog::{AddOn, Conference, NewAddOn, NewConference, NewTicketType, TicketType};
pub use code::{CodePrefix, Prefix, VoucherCode, CODE_ALPHABET, CODE_SUFFIX_LEN};
pub use money::{parse_decimal, DiscountSpec, Money, VoucherType};
pub use pricing::{price, qualifies, LineItem, PriceLine, PricedLine, Pricing, Quantity};
pub use redemption::{unlocked_ticket_types, validity, InvalidReason, OrderRef};
pub use text::{Name, Slug};
pub use time::{ValidityWindow, When};
pub use token::{ApiToken, Scope, TokenSecret};
pub use voucher::{format_rfc3339, Batch, MaxUses, Voucher};

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
