//! `vouchers check`: whether a code is valid at checkout, what it unlocks, the cart priced. JSON
//! output is the same JSON the HTTP API answers.

use clap::Args;
use vouchers_core::service::checkout;
use vouchers_core::Store;

use super::cart::CartArgs;
use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The code as the attendee typed it (case and surrounding spaces do not matter).
    pub code: String,
    #[command(flatten)]
    pub cart: CartArgs,
}

/// Checks the code (consuming nothing) and prints the verdict.
pub async fn run(store: &dyn Store, args: CheckArgs, format: Format) -> Result<(), CliError> {
    let lines = args.cart.lines()?;
    let result = checkout::check_voucher(store, &args.conference, &args.code, &lines, vouchers_core::now()).await?;
    if format == Format::Json {
        return output::json(&result);
    }
    match result.reason {
        None => println!("valid"),
        Some(reason) => {
            println!("not valid: {} ({})", result.message.as_deref().unwrap_or(reason.message()), reason.as_str())
        }
    }
    if !result.unlocked_ticket_types.is_empty() {
        println!("unlocks: {}", result.unlocked_ticket_types.join(", "));
    }
    if !result.pricing.lines.is_empty() {
        let p = &result.pricing;
        println!("subtotal {}, discount {}, total {}", p.subtotal, p.discount, p.total);
    }
    Ok(())
}
