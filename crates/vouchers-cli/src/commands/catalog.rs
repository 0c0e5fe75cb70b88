//! `conference`, `ticket-type` and `addon`: the catalogue vouchers refer to.

use vouchers_core::domain::{NewAddOn, NewConference, NewTicketType};
use vouchers_core::service::catalog;
use vouchers_core::Store;

use crate::cli::{AddonCommand, ConferenceCommand, Format, TicketTypeCommand};
use crate::error::CliError;
use crate::output;

pub async fn conference(store: &dyn Store, command: ConferenceCommand, format: Format) -> Result<(), CliError> {
    match command {
        ConferenceCommand::Create { slug, name, start_date, end_date, timezone } => {
            let new = NewConference::parse(&slug, &name, &start_date, &end_date, &timezone)?;
            let created = catalog::create_conference(store, &new).await?;
            output::conferences(std::slice::from_ref(&created), format)
        }
        ConferenceCommand::List => output::conferences(&catalog::list_conferences(store).await?, format),
    }
}

pub async fn ticket_type(store: &dyn Store, command: TicketTypeCommand, format: Format) -> Result<(), CliError> {
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

pub async fn addon(store: &dyn Store, command: AddonCommand, format: Format) -> Result<(), CliError> {
    match command {
        AddonCommand::Create { conference, slug, name, price } => {
            let new = NewAddOn::parse(&slug, &name, &price)?;
            let created = catalog::create_addon(store, &conference, &new).await?;
            output::addons(std::slice::from_ref(&created), format)
        }
        AddonCommand::List { conference } => output::addons(&catalog::list_addons(store, &conference).await?, format),
    }
}
