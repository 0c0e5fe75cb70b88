//! `vouchers redeem`: consume one use of a code for an order; the same order again replays the
//! first answer. JSON output is the same JSON the HTTP API answers.

use clap::Args;
use vouchers_core::domain::{CartRef, Customer, OrderRef};
use vouchers_core::service::checkout::{self, UseOptions};
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
    /// Convert this cart's live hold (then no other cart can take the use first).
    #[arg(long)]
    pub cart_ref: Option<String>,
    /// The customer; required by a once-per-customer voucher.
    #[arg(long)]
    pub customer_email: Option<String>,
}

/// Redeems the code and prints the redemption.
pub async fn run(store: &dyn Store, args: RedeemArgs, format: Format) -> Result<(), CliError> {
    let lines = args.cart.lines()?;
    let lines = (!lines.is_empty()).then_some(lines);
    let order = OrderRef::parse(&args.order_ref)?;
    let now = vouchers_core::now();
    let with = UseOptions {
        cart_ref: args.cart_ref.as_deref().map(CartRef::parse).transpose()?,
        customer: args.customer_email.as_deref().map(Customer::parse).transpose()?,
    };
    let redemption =
        checkout::redeem_voucher(store, &args.conference, &args.code, &order, lines.as_deref(), &with, now).await?;
    let r = &redemption.answer;
    if format == Format::Json {
        return output::json(r);
    }
    println!(
        "redeemed {} for order {}: {} of {} uses taken{}",
        r.voucher.code,
        r.order_ref,
        r.voucher.times_used,
        r.voucher.max_uses,
        if redemption.replayed { " (this order was redeemed before; nothing more consumed)" } else { "" }
    );
    if let Some(pricing) = &r.pricing {
        let capped = if pricing.budget_capped { " (capped by the budget)" } else { "" };
        println!("discount {}{capped}, total {}", pricing.discount, pricing.total);
    }
    Ok(())
}
