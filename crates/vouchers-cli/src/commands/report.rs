//! `vouchers report batches|timeline|redemptions`: the reports of the API and the console, on
//! the command line: each batch's funnel, redemptions over time in the conference's time zone,
//! and the redemptions one by one.

use clap::Subcommand;
use vouchers_core::domain::{format_rfc3339, Interval, When};
use vouchers_core::service::reports::{self, RedemptionQuery};
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The report subcommands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Each batch's funnel: issued, assigned, emailed, held now, redeemed, released, discount
    /// given.
    Batches {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
    },
    /// Standing redemptions and their discount per local day (or hour), every step listed.
    Timeline {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
        /// Start: RFC 3339 or YYYY-MM-DDTHH:MM in the conference's time zone (default: 30 days,
        /// or 48 hours, before --to).
        #[arg(long)]
        from: Option<String>,
        /// End, same forms (default: now).
        #[arg(long)]
        to: Option<String>,
        /// `day` or `hour`.
        #[arg(long, default_value = "day")]
        interval: String,
    },
    /// The redemptions, newest first: time, code, batch, order, customer email, discount,
    /// released.
    Redemptions {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
        /// Only this batch's.
        #[arg(long, value_name = "ID")]
        batch: Option<i64>,
        /// Only released (true) or standing (false) ones.
        #[arg(long)]
        released: Option<bool>,
        /// Made at or after this.
        #[arg(long)]
        from: Option<String>,
        /// Made before this.
        #[arg(long)]
        to: Option<String>,
        /// Code or order reference starting with this text, ignoring case.
        #[arg(long)]
        search: Option<String>,
        /// At most this many (1 to 10000).
        #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
        limit: i64,
    },
}

fn when(field: &'static str, value: Option<&str>) -> Result<Option<When>, CliError> {
    Ok(value.map(|v| When::parse(field, v)).transpose()?)
}

/// Runs a report subcommand.
pub async fn run(store: &dyn Store, command: ReportCommand, format: Format) -> Result<(), CliError> {
    match command {
        ReportCommand::Batches { conference } => {
            let funnels = reports::batches(store, &conference).await?;
            if format == Format::Json {
                return output::json(&funnels);
            }
            let header = [
                "batch",
                "name",
                "prefix",
                "issued",
                "assigned",
                "emailed",
                "held",
                "redeemed",
                "released",
                "discount_given",
            ];
            let rows: Vec<Vec<String>> = funnels
                .iter()
                .map(|f| {
                    vec![
                        f.batch_id.map_or_else(|| "-".to_owned(), |b| b.to_string()),
                        f.name.clone().unwrap_or_default(),
                        f.prefix.clone().unwrap_or_default(),
                        f.issued.to_string(),
                        f.assigned.to_string(),
                        f.emailed.to_string(),
                        f.held.to_string(),
                        f.redeemed.to_string(),
                        f.released.to_string(),
                        f.discount_given.to_string(),
                    ]
                })
                .collect();
            print(&header, &rows, format)
        }
        ReportCommand::Timeline { conference, from, to, interval } => {
            let interval = interval.parse::<Interval>()?;
            let (from, to) = (when("from", from.as_deref())?, when("to", to.as_deref())?);
            let timeline = reports::timeline(store, &conference, from, to, interval, vouchers_core::now()).await?;
            if format == Format::Json {
                return output::json(&timeline);
            }
            let header = [interval.as_str(), "redemptions", "discount"];
            let rows: Vec<Vec<String>> = timeline
                .points
                .iter()
                .map(|p| vec![p.label.clone(), p.redemptions.to_string(), p.discount.to_string()])
                .collect();
            if format == Format::Table {
                eprintln!(
                    "{} redemptions, {} discount, by {} in {}",
                    timeline.total_redemptions, timeline.total_discount, interval, timeline.timezone
                );
            }
            print(&header, &rows, format)
        }
        ReportCommand::Redemptions { conference, batch, released, from, to, search, limit } => {
            let query = RedemptionQuery {
                batch_id: batch,
                released,
                from: when("from", from.as_deref())?,
                to: when("to", to.as_deref())?,
                search,
                before_id: None,
                limit,
            };
            let found = reports::redemptions(store, &conference, &query).await?;
            if format == Format::Json {
                return output::json(&found);
            }
            let header =
                ["id", "redeemed_at", "code", "batch", "order_ref", "customer_email", "discount", "released_at"];
            let rows: Vec<Vec<String>> = found
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        format_rfc3339(&r.redeemed_at),
                        r.code.clone(),
                        r.batch_id.map(|b| b.to_string()).unwrap_or_default(),
                        r.order_ref.clone(),
                        r.customer_email.clone().unwrap_or_default(),
                        r.discount.to_string(),
                        r.released_at.as_ref().map(format_rfc3339).unwrap_or_default(),
                    ]
                })
                .collect();
            print(&header, &rows, format)
        }
    }
}

fn print(header: &[&str], rows: &[Vec<String>], format: Format) -> Result<(), CliError> {
    match format {
        Format::Csv => output::csv(header, rows),
        _ => Ok(output::table(header, rows)?),
    }
}
