//! The cart `check` and `redeem` share: its flags, declared once and flattened into both
//! commands, and their parsing into cart lines.

use clap::Args;
use vouchers_core::domain::{InvalidInput, LineItem, Quantity};
use vouchers_core::service::checkout::CartLine;

use crate::error::CliError;

/// A cart: `--ticket-type SLUG[=QUANTITY]` and `--addon SLUG[=QUANTITY]`, repeatable.
#[derive(Debug, Args)]
pub struct CartArgs {
    /// A ticket type in the cart, with an optional quantity (default 1): `individual=2`.
    #[arg(long = "ticket-type", value_name = "SLUG[=QTY]")]
    pub ticket_types: Vec<String>,
    /// An add-on in the cart, with an optional quantity (default 1): `tshirt=3`.
    #[arg(long = "addon", value_name = "SLUG[=QTY]")]
    pub addons: Vec<String>,
}

impl CartArgs {
    /// The cart's lines, ticket types first (none: an empty cart).
    pub fn lines(&self) -> Result<Vec<CartLine>, CliError> {
        let tickets = self.ticket_types.iter().map(|v| cart_line("lines", v, LineItem::TicketType));
        let addons = self.addons.iter().map(|v| cart_line("lines", v, LineItem::AddOn));
        tickets.chain(addons).collect()
    }
}

/// `SLUG` or `SLUG=QUANTITY` (the quantity's range is [`Quantity`]'s).
fn cart_line(flag: &'static str, value: &str, item: fn(String) -> LineItem) -> Result<CartLine, CliError> {
    let (slug, quantity) = match value.split_once('=') {
        Some((slug, qty)) => {
            let qty = qty.trim().parse::<i64>().ok().map(Quantity::new).and_then(Result::ok);
            (slug, qty)
        }
        None => (value, Some(Quantity::ONE)),
    };
    let quantity = quantity.ok_or_else(|| {
        InvalidInput::new(flag, format!("the quantity in {value:?} must be a whole number from 1 to {}", Quantity::MAX))
    })?;
    Ok(CartLine { item: item(slug.trim().to_owned()), quantity })
}
