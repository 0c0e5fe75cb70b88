//! `vouchers redeem`: consume one use of a code for an order; the same order again replays the
//! first answer. JSON output is the same JSON the HTTP API answers.

use chrono::{SubsecRound, Utc};
use clap::Args;
use vouchers_core::service::checkout;
use vouchers_core::Store;

use super::cart::CartArgs;
use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `redeem`.
#[derive(Debug, Args)]
pub struct RedeemArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The order this use belongs to; redeeming the same order again replays the first answer.
    #[arg(long)]
    pub order_ref: String,
    /// The code.
    pub code: String,
    #[command(flatten)]
    pub cart: CartArgs,
}

/// Redeems the code and prints the redemption.
pub async fn run(store: &dyn Store, args: RedeemArgs, format: Format) -> Result<(), CliError> {
    let lines = args.cart.lines()?;
    let lines = (!lines.is_empty()).then_some(lines);
    let now = Utc::now().trunc_subsecs(6);
    let redemption =
        checkout::redeem_voucher(store, &args.conference, &args.code, &args.order_ref, lines.as_deref(), now).await?;
    if format == Format::Json {
        return output::json(&redemption.response);
    }
    let r = &redemption.response;
    println!(
        "redeemed {} for order {}: {} of {} uses taken{}",
        r["voucher"]["code"].as_str().unwrap_or_default(),
        r["order_ref"].as_str().unwrap_or_default(),
        r["voucher"]["times_used"],
        r["voucher"]["max_uses"],
        if redemption.replayed { " (this order was redeemed before; nothing more consumed)" } else { "" }
    );
    if let Some(total) = r["pricing"]["total"].as_str() {
        println!("discount {}, total {total}", r["pricing"]["discount"].as_str().unwrap_or_default());
    }
    Ok(())
}
