//! `vouchers ticket-type create|list`: a conference's ticket types, which vouchers may be
//! restricted to or unlock.

use clap::Subcommand;
use vouchers_core::domain::NewTicketType;
use vouchers_core::service::catalog;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// `ticket-type create` and `ticket-type list`.
#[derive(Debug, Subcommand)]
pub enum TicketTypeCommand {
    /// Create a ticket type.
    Create {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
        /// Unique within the conference.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Price, e.g. 100.00.
        #[arg(long, allow_negative_numbers = true)]
        price: String,
        /// Hidden unless a voucher unlocks it.
        #[arg(long)]
        requires_voucher: bool,
    },
    /// List a conference's ticket types.
    List {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
    },
}

/// Creates or lists ticket types.
pub async fn run(store: &dyn Store, command: TicketTypeCommand, format: Format) -> Result<(), CliError> {
    match command {
        TicketTypeCommand::Create { conference, slug, name, price, requires_voucher } => {
            let new = NewTicketType::parse(&slug, &name, &price, requires_voucher)?;
            let created = catalog::create_ticket_type(store, &conference, &new).await?;
            output::ticket_types(std::slice::from_ref(&created), format)
        }
        TicketTypeCommand::List { conference } => {
            output::ticket_types(&catalog::list_ticket_types(store, &conference).await?, format)
        }
    }
}
