//! `vouchers show`: one voucher by its code.

use clap::Args;
use vouchers_core::service::query;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The voucher code.
    pub code: String,
}

/// Prints the voucher.
pub async fn run(store: &dyn Store, args: ShowArgs, format: Format) -> Result<(), CliError> {
    let voucher = query::show_voucher(store, &args.conference, &args.code).await?;
    output::voucher(&voucher, format)
}
