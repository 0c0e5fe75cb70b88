//! `vouchers conference create|list|update`: the conferences everything else belongs to.

use clap::Subcommand;
use vouchers_core::domain::{ConferenceChange, HoldSeconds, NewConference};
use vouchers_core::service::catalog;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// `conference create`, `conference list` and `conference update`.
#[derive(Debug, Subcommand)]
pub enum ConferenceCommand {
    /// Create a conference.
    Create {
        /// Unique identifier: a-z, 0-9 and '-'.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        start_date: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        end_date: String,
        /// IANA time zone, e.g. America/New_York; local times are read in it.
        #[arg(long)]
        timezone: String,
        /// How long a hold keeps a use for a cart when the hold names no time, 1 to 604800
        /// seconds.
        #[arg(long, default_value_t = HoldSeconds::DEFAULT.get(), allow_negative_numbers = true)]
        hold_seconds: i64,
    },
    /// List conferences.
    List,
    /// Change a conference's name, days or hold time (the slug and the time zone never change);
    /// prints the conference as changed.
    Update {
        /// The conference's slug.
        slug: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// A new first day, YYYY-MM-DD (not after the last day).
        #[arg(long)]
        start_date: Option<String>,
        /// A new last day, YYYY-MM-DD (not before the first day).
        #[arg(long)]
        end_date: Option<String>,
        /// How long a hold keeps a use for a cart when the hold names no time, 1 to 604800
        /// seconds.
        #[arg(long, allow_negative_numbers = true)]
        hold_seconds: Option<i64>,
    },
}

/// Creates, lists or changes conferences.
pub async fn run(store: &dyn Store, command: ConferenceCommand, format: Format) -> Result<(), CliError> {
    match command {
        ConferenceCommand::Create { slug, name, start_date, end_date, timezone, hold_seconds } => {
            let mut new = NewConference::parse(&slug, &name, &start_date, &end_date, &timezone)?;
            new.hold_seconds = HoldSeconds::new("hold_seconds", hold_seconds)?;
            let created = catalog::create_conference(store, &new).await?;
            output::conferences(std::slice::from_ref(&created), format)
        }
        ConferenceCommand::List => output::conferences(&catalog::list_conferences(store).await?, format),
        ConferenceCommand::Update { slug, name, start_date, end_date, hold_seconds } => {
            let change =
                ConferenceChange::parse(name.as_deref(), start_date.as_deref(), end_date.as_deref(), hold_seconds)?;
            let updated = catalog::update_conference(store, &slug, &change).await?;
            output::changed("conference", &updated.value.slug, &updated.changed);
            output::conferences(std::slice::from_ref(&updated.value), format)
        }
    }
}
