//! `vouchers addon create|list|update`: a conference's add-ons, which vouchers may be restricted
//! to.

use clap::Subcommand;
use vouchers_core::domain::{AddOnChange, NewAddOn};
use vouchers_core::service::catalog;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// `addon create`, `addon list` and `addon update`.
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
    /// Change an add-on's name, price or on-sale flag (the slug never changes); prints it as
    /// changed.
    Update {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
        /// The add-on's slug.
        slug: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// A new price, e.g. 25.00.
        #[arg(long, allow_negative_numbers = true)]
        price: Option<String>,
        /// false: no longer sold; true: on sale again.
        #[arg(long, value_name = "true|false")]
        on_sale: Option<bool>,
    },
}

/// Creates, lists or changes add-ons.
pub async fn run(store: &dyn Store, command: AddonCommand, format: Format) -> Result<(), CliError> {
    match command {
        AddonCommand::Create { conference, slug, name, price } => {
            let new = NewAddOn::parse(&slug, &name, &price)?;
            let created = catalog::create_addon(store, &conference, &new).await?;
            output::addons(std::slice::from_ref(&created), format)
        }
        AddonCommand::List { conference } => output::addons(&catalog::list_addons(store, &conference).await?, format),
        AddonCommand::Update { conference, slug, name, price, on_sale } => {
            let change = AddOnChange::parse(name.as_deref(), price.as_deref(), on_sale)?;
            let updated = catalog::update_addon(store, &conference, &slug, &change).await?;
            output::changed("add-on", &updated.value.slug, &updated.changed);
            output::addons(std::slice::from_ref(&updated.value), format)
        }
    }
}
