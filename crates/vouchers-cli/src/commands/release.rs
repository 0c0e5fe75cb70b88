//! `vouchers release`: give back the use a cancelled or expired order consumed. JSON output is
//! the same JSON the HTTP API answers.

use clap::Args;
use vouchers_core::domain::OrderRef;
use vouchers_core::service::checkout;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The cancelled or expired order.
    #[arg(long)]
    pub order_ref: String,
    /// The code.
    pub code: String,
}

/// Releases the order's use, if it holds one, and says which happened.
pub async fn run(store: &dyn Store, args: ReleaseArgs, format: Format) -> Result<(), CliError> {
    let now = vouchers_core::now();
    let order = OrderRef::parse(&args.order_ref)?;
    let release = checkout::release_voucher(store, &args.conference, &args.code, &order, now).await?;
    if format == Format::Json {
        return output::json(&release);
    }
    let v = &release.voucher;
    if release.released {
        println!("released: {} has {} of {} uses taken", v.code, v.times_used, v.max_uses);
    } else {
        println!("nothing to release: order {} holds no use of {}", args.order_ref, v.code);
    }
    Ok(())
}
