//! `vouchers list`: a conference's vouchers, optionally by prefix or batch.

use clap::Args;
use vouchers_core::domain::CodePrefix;
use vouchers_core::service::query;
use vouchers_core::store::VoucherFilter;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// Only codes starting with this prefix (ignoring case).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Only vouchers of this batch.
    #[arg(long)]
    pub batch: Option<i64>,
    /// Only the voucher(s) assigned to this recipient email (ignoring case).
    #[arg(long)]
    pub recipient: Option<String>,
}

/// Lists the matching vouchers.
pub async fn run(store: &dyn Store, args: ListArgs, format: Format) -> Result<(), CliError> {
    let prefix = args.prefix.as_deref().map(CodePrefix::parse).transpose()?.flatten();
    let recipient_email = args.recipient.as_deref().map(query::recipient_filter).transpose()?;
    let filter = VoucherFilter { prefix, batch_id: args.batch, recipient_email, ..VoucherFilter::default() };
    let vouchers = query::list_vouchers(store, &args.conference, &filter).await?;
    output::vouchers(&vouchers, format)
}
