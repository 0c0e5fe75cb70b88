//! `vouchers hold` and `vouchers hold-extend`: keep one use of a code for an open cart until it
//! pays or walks away, and move a hold's end. JSON output is the same JSON the HTTP API answers.

use clap::Args;
use vouchers_core::domain::{format_rfc3339, CartRef, Customer, HoldSeconds};
use vouchers_core::service::checkout::{self, Held, UseOptions};
use vouchers_core::Store;

use super::cart::CartArgs;
use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `hold`.
#[derive(Debug, Args)]
pub struct HoldArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The cart the use is kept for; the same cart again while its hold is live answers the same
    /// hold.
    #[arg(long)]
    pub cart_ref: String,
    /// The code.
    pub code: String,
    #[command(flatten)]
    pub cart: CartArgs,
    /// How long the hold lasts, 1 to 604800 seconds (default: the conference's hold time).
    #[arg(long = "ttl", value_name = "SECONDS", allow_negative_numbers = true)]
    pub ttl: Option<i64>,
    /// The customer; required by a once-per-customer voucher.
    #[arg(long)]
    pub customer_email: Option<String>,
}

/// The arguments of `hold-extend`.
#[derive(Debug, Args)]
pub struct HoldExtendArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The cart whose live hold to extend.
    #[arg(long)]
    pub cart_ref: String,
    /// The code.
    pub code: String,
    /// The hold ends this many seconds from now, 1 to 604800.
    #[arg(long = "ttl", value_name = "SECONDS", allow_negative_numbers = true)]
    pub ttl: i64,
}

/// Holds a use for the cart and prints the hold.
pub async fn hold(store: &dyn Store, args: HoldArgs, format: Format) -> Result<(), CliError> {
    let lines = args.cart.lines()?;
    let lines = (!lines.is_empty()).then_some(lines);
    let with = UseOptions {
        cart_ref: Some(CartRef::parse(&args.cart_ref)?),
        customer: args.customer_email.as_deref().map(Customer::parse).transpose()?,
    };
    let ttl = args.ttl.map(|t| HoldSeconds::new("ttl_seconds", t)).transpose()?;
    let now = vouchers_core::now();
    let held = checkout::hold_voucher(store, &args.conference, &args.code, lines.as_deref(), ttl, &with, now).await?;
    print(&held, format)
}

/// Moves the end of the cart's live hold and prints the hold.
pub async fn extend(store: &dyn Store, args: HoldExtendArgs, format: Format) -> Result<(), CliError> {
    let cart = CartRef::parse(&args.cart_ref)?;
    let ttl = HoldSeconds::new("ttl_seconds", args.ttl)?;
    let held = checkout::extend_hold(store, &args.conference, &args.code, &cart, ttl, vouchers_core::now()).await?;
    print(&held, format)
}

fn print(held: &Held, format: Format) -> Result<(), CliError> {
    if format == Format::Json {
        return output::json(held);
    }
    let v = &held.voucher;
    println!(
        "held {} for cart {} until {}: {} of {} uses taken, {} held",
        v.code,
        held.cart_ref,
        format_rfc3339(&held.expires_at),
        v.times_used,
        v.max_uses,
        v.uses_held
    );
    if let Some(pricing) = &held.pricing {
        let capped = if pricing.budget_capped { " (capped by the budget)" } else { "" };
        println!("discount {}{capped}, total {}", pricing.discount, pricing.total);
    }
    Ok(())
}
