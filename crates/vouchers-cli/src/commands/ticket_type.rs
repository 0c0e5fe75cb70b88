//! `vouchers ticket-type create|list|update`: a conference's ticket types, which vouchers may be
//! restricted to or unlock.

use clap::Subcommand;
use vouchers_core::domain::{NewTicketType, TicketTypeChange};
use vouchers_core::service::catalog;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// `ticket-type create`, `ticket-type list` and `ticket-type update`.
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
    /// Change a ticket type's name, price, hidden or on-sale flag (the slug never changes);
    /// prints it as changed.
    Update {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
        /// The ticket type's slug.
        slug: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// A new price, e.g. 100.00.
        #[arg(long, allow_negative_numbers = true)]
        price: Option<String>,
        /// true: shown only to holders of a voucher that unlocks it (what --requires-voucher
        /// sets at create); false: shown to everyone.
        #[arg(long, value_name = "true|false")]
        hidden: Option<bool>,
        /// false: no longer sold; true: on sale again.
        #[arg(long, value_name = "true|false")]
        on_sale: Option<bool>,
    },
}

/// Creates, lists or changes ticket types.
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
        TicketTypeCommand::Update { conference, slug, name, price, hidden, on_sale } => {
            let change = TicketTypeChange::parse(name.as_deref(), price.as_deref(), hidden, on_sale)?;
            let updated = catalog::update_ticket_type(store, &conference, &slug, &change).await?;
            output::changed("ticket type", &updated.value.slug, &updated.changed);
            output::ticket_types(std::slice::from_ref(&updated.value), format)
        }
    }
}
