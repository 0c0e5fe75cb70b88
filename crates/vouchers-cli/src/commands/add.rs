//! `vouchers add`: one voucher with a code the organizer chooses.

use clap::Args;
use vouchers_core::domain::Alphabet;
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::{Store, VoucherTerms};

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
    #[arg(long, default_value = Alphabet::default().as_str(), value_parser = super::generate::alphabet)]
    pub alphabet: Alphabet,
    #[command(flatten)]
    pub terms: TermsArgs,
}

/// Adds the voucher and prints it.
pub async fn run(store: &dyn Store, args: AddArgs, format: Format) -> Result<(), CliError> {
    let request = AddVoucher {
        terms: VoucherTerms::try_from(&args.terms)?,
        conference: args.terms.conference,
        code: args.code,
        alphabet: args.alphabet,
    };
    let voucher = add_voucher(store, &request).await?;
    output::voucher(&voucher, format)
}
