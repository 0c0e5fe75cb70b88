//! The voucher terms `add` and `generate` share (type, discount, uses, window, restrictions):
//! their flags, declared once and flattened into both commands, and their parsing.

use clap::Args;
use rust_decimal::Decimal;
use vouchers_core::domain::{VoucherType, When};

use crate::error::CliError;

/// What every voucher of a command shares: type, discount, uses, window, restrictions.
#[derive(Debug, Args)]
pub struct TermsArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// comp, percentage or fixed_amount.
    #[arg(long = "type", value_name = "TYPE")]
    pub voucher_type: String,
    /// Percentage (0-100) or amount, depending on --type; ignored for comp.
    #[arg(long, allow_negative_numbers = true)]
    pub discount: Option<String>,
    /// How many times each voucher can be redeemed.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub max_uses: i64,
    /// Start of the validity window: RFC 3339 with an offset, or YYYY-MM-DDTHH:MM in the
    /// conference's time zone.
    #[arg(long)]
    pub valid_from: Option<String>,
    /// End of the validity window (inclusive), same forms as --valid-from.
    #[arg(long)]
    pub valid_until: Option<String>,
    /// Reveal the conference's hidden (requires-voucher) ticket types.
    #[arg(long)]
    pub unlocks_hidden_tickets: bool,
    /// Restrict to this ticket type (repeatable); none: all ticket types.
    #[arg(long = "ticket-type", value_name = "SLUG")]
    pub ticket_types: Vec<String>,
    /// Restrict to this add-on (repeatable); none: all add-ons.
    #[arg(long = "addon", value_name = "SLUG")]
    pub addons: Vec<String>,
}

/// The terms' text flags, parsed.
pub struct Terms {
    /// `--type`.
    pub voucher_type: VoucherType,
    /// `--discount`.
    pub discount_value: Option<Decimal>,
    /// `--valid-from`.
    pub valid_from: Option<When>,
    /// `--valid-until`.
    pub valid_until: Option<When>,
}

impl TermsArgs {
    /// Parses the flags that are text on the command line (the service checks the rest).
    pub fn terms(&self) -> Result<Terms, CliError> {
        Ok(Terms {
            voucher_type: self.voucher_type.parse()?,
            discount_value: self
                .discount
                .as_deref()
                .map(|d| vouchers_core::domain::parse_decimal("discount_value", d))
                .transpose()?,
            valid_from: self.valid_from.as_deref().map(|v| When::parse("valid_from", v)).transpose()?,
            valid_until: self.valid_until.as_deref().map(|v| When::parse("valid_until", v)).transpose()?,
        })
    }
}
