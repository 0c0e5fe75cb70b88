//! `vouchers release`: give back the use a cancelled or expired order consumed, or drop an
//! abandoned cart's hold. JSON output is
//! the same JSON the HTTP API answers.

use clap::Args;
use vouchers_core::domain::{CartRef, OrderRef};
use vouchers_core::service::checkout::{self, Releasing};
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
    #[arg(long, required_unless_present = "cart_ref", conflicts_with = "cart_ref")]
    pub order_ref: Option<String>,
    /// The abandoned cart whose hold to drop.
    #[arg(long)]
    pub cart_ref: Option<String>,
    /// The code.
    pub code: String,
}

/// Releases the order's use, if it holds one, and says which happened.
pub async fn run(store: &dyn Store, args: ReleaseArgs, format: Format) -> Result<(), CliError> {
    let now = vouchers_core::now();
    let what = match (&args.order_ref, &args.cart_ref) {
        (Some(order), _) => Releasing::Order(OrderRef::parse(order)?),
        (None, Some(cart)) => Releasing::Cart(CartRef::parse(cart)?),
        (None, None) => unreachable!("clap requires --order-ref or --cart-ref"),
    };
    let release = checkout::release_voucher(store, &args.conference, &args.code, &what, now).await?;
    if format == Format::Json {
        return output::json(&release);
    }
    let v = &release.voucher;
    if release.released {
        println!("released: {} has {} of {} uses taken", v.code, v.times_used, v.max_uses);
    } else {
        let holder = match &what {
            Releasing::Order(order) => format!("order {order}"),
            Releasing::Cart(cart) => format!("cart {cart}"),
        };
        println!("nothing to release: {holder} holds no use of {}", v.code);
    }
    Ok(())
}
