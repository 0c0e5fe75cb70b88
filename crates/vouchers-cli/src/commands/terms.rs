//! The voucher terms `add` and `generate` share (type, discount, uses, window, restrictions,
//! minimums, budget, once per customer):
//! their flags, flattened into both commands, and their one conversion into the core's
//! [`VoucherTerms`].

use clap::Args;
use vouchers_core::domain::{Applies, When};
use vouchers_core::VoucherTerms;

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
    #[arg(long, default_value_t = VoucherTerms::DEFAULT_MAX_USES, allow_negative_numbers = true)]
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
    #[arg(long = "ticket-type", value_name = "SLUG", conflicts_with = "no_ticket_types")]
    pub ticket_types: Vec<String>,
    /// Apply to no ticket type (an add-on-only code).
    #[arg(long)]
    pub no_ticket_types: bool,
    /// Restrict to this add-on (repeatable); none: all add-ons.
    #[arg(long = "addon", value_name = "SLUG", conflicts_with = "no_addons")]
    pub addons: Vec<String>,
    /// Apply to no add-on (a ticket comp that must not make the tutorials free).
    #[arg(long)]
    pub no_addons: bool,
    /// Qualifying items (of the lines a voucher applies to) a cart needs to use it, 1 to 10000.
    #[arg(long, default_value_t = VoucherTerms::DEFAULT_MIN_QUANTITY, allow_negative_numbers = true)]
    pub min_quantity: i64,
    /// Qualifying subtotal a cart needs to use it, such as 200.00; none by default.
    #[arg(long, allow_negative_numbers = true)]
    pub min_subtotal: Option<String>,
    /// The most discount all of one voucher's redemptions may give together, such as 100.00;
    /// none by default.
    #[arg(long, allow_negative_numbers = true)]
    pub budget: Option<String>,
    /// A customer (by email) may hold or redeem at most one code of the batch.
    #[arg(long)]
    pub once_per_customer: bool,
}

/// `--ticket-type`/`--addon` slugs, or none of the kind.
fn applies(slugs: &[String], none: bool) -> Applies {
    if none {
        Applies::Nothing
    } else {
        Applies::these(slugs.to_vec())
    }
}

impl TryFrom<&TermsArgs> for VoucherTerms {
    type Error = CliError;

    /// Parses the flags that are text on the command line (the service checks the rest).
    fn try_from(args: &TermsArgs) -> Result<Self, CliError> {
        Ok(VoucherTerms {
            voucher_type: args.voucher_type.parse()?,
            discount_value: args
                .discount
                .as_deref()
                .map(|d| vouchers_core::domain::parse_decimal("discount_value", d))
                .transpose()?,
            max_uses: args.max_uses,
            valid_from: args.valid_from.as_deref().map(|v| When::parse("valid_from", v)).transpose()?,
            valid_until: args.valid_until.as_deref().map(|v| When::parse("valid_until", v)).transpose()?,
            unlocks_hidden_tickets: args.unlocks_hidden_tickets,
            applicable_ticket_types: applies(&args.ticket_types, args.no_ticket_types),
            applicable_addons: applies(&args.addons, args.no_addons),
            min_quantity: args.min_quantity,
            min_subtotal: args
                .min_subtotal
                .as_deref()
                .map(|d| vouchers_core::domain::parse_decimal("min_subtotal", d))
                .transpose()?,
            budget: args.budget.as_deref().map(|d| vouchers_core::domain::parse_decimal("budget", d)).transpose()?,
            once_per_customer: args.once_per_customer,
        })
    }
}
