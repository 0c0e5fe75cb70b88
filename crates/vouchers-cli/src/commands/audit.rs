//! `vouchers audit`: who did what in a conference, newest first.

use clap::Args;
use vouchers_core::domain::{format_rfc3339, When};
use vouchers_core::service::{audit, catalog};
use vouchers_core::store::AuditFilter;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// Only records at or after this time: RFC 3339, or YYYY-MM-DDTHH:MM in the conference's
    /// time zone.
    #[arg(long)]
    pub since: Option<String>,
    /// Only records before this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Only this action, e.g. voucher.redeem, batch.deactivate, voucher.update.
    #[arg(long)]
    pub action: Option<String>,
    /// Only records whose actor's name contains this text, ignoring case: an account's email, a
    /// token's name, a sponsor's name, the command line's user (at most 200 characters).
    #[arg(long)]
    pub actor: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub limit: i64,
}

/// Prints the records.
pub async fn run(store: &dyn Store, args: AuditArgs, format: Format) -> Result<(), CliError> {
    let conference = catalog::conference(store, &args.conference).await?;
    let tz = conference.timezone;
    let since = args.since.as_deref().map(|t| When::parse("since", t)?.resolve("since", tz)).transpose()?;
    let until = args.until.as_deref().map(|t| When::parse("until", t)?.resolve("until", tz)).transpose()?;
    let filter =
        AuditFilter { since, until, action: args.action, actor: args.actor, before_id: None, limit: args.limit };
    let records = audit::audit_log(store, &conference.slug, &filter).await?;
    if format == Format::Json {
        return output::json(&records);
    }
    let header = ["at", "actor", "action", "target", "changes"];
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![format_rfc3339(&r.at), r.actor.to_string(), r.action.clone(), r.target.clone(), r.changes.to_string()]
        })
        .collect();
    match format {
        Format::Csv => output::csv(&header, &rows),
        _ => Ok(output::table(&header, &rows)?),
    }
}
