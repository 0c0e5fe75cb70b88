//! `vouchers add`: one voucher with a code the organizer chooses.

use clap::Args;
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::Store;

use super::terms::TermsArgs;
use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The code: 1-100 characters of A-Z a-z 0-9 - _ . starting with a letter or digit.
    #[arg(long)]
    pub code: String,
    /// `readable`: match the code with folding (case, O/0, I/L/1, hyphens and spaces), and keep
    /// every code that folds the same away from it; `alnum`: ignoring case only.
    #[arg(long, default_value = "alnum", value_parser = super::generate::alphabet)]
    pub alphabet: vouchers_core::domain::Alphabet,
    #[command(flatten)]
    pub terms: TermsArgs,
}

/// Adds the voucher and prints it.
pub async fn run(store: &dyn Store, args: AddArgs, format: Format) -> Result<(), CliError> {
    let terms = args.terms.terms()?;
    let t = args.terms;
    let request = AddVoucher {
        conference: t.conference,
        code: args.code,
        voucher_type: terms.voucher_type,
        discount_value: terms.discount_value,
        max_uses: t.max_uses,
        valid_from: terms.valid_from,
        valid_until: terms.valid_until,
        unlocks_hidden_tickets: t.unlocks_hidden_tickets,
        applicable_ticket_types: t.ticket_types,
        applicable_addons: t.addons,
        alphabet: args.alphabet,
    };
    let voucher = add_voucher(store, &request).await?;
    output::voucher(&voucher, format)
}
