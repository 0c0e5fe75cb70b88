//! `vouchers addon create|list`: a conference's add-ons, which vouchers may be restricted to.

use clap::Subcommand;
use vouchers_core::domain::NewAddOn;
use vouchers_core::service::catalog;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// `addon create` and `addon list`.
#[derive(Debug, Subcommand)]
pub enum AddonCommand {
    /// Create an add-on.
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
        /// Price, e.g. 25.00.
        #[arg(long, allow_negative_numbers = true)]
        price: String,
    },
    /// List a conference's add-ons.
    List {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
    },
}

/// Creates or lists add-ons.
pub async fn run(store: &dyn Store, command: AddonCommand, format: Format) -> Result<(), CliError> {
    match command {
        AddonCommand::Create { conference, slug, name, price } => {
            let new = NewAddOn::parse(&slug, &name, &price)?;
            let created = catalog::create_addon(store, &conference, &new).await?;
            output::addons(std::slice::from_ref(&created), format)
        }
        AddonCommand::List { conference } => output::addons(&catalog::list_addons(store, &conference).await?, format),
    }
}
