//! `vouchers webhook create|list|disable|enable|rotate-secret|deliveries|redeliver`: signed
//! webhook subscriptions and their deliveries. A subscription's secret is printed once, at
//! create and rotate-secret.

use clap::{Subcommand, ValueEnum};
use vouchers_core::domain::{format_rfc3339, Delivery, DeliveryStatus, Webhook};
use vouchers_core::service::webhooks::{self, WebhookWithSecret};
use vouchers_core::store::DeliveryFilter;
use vouchers_core::{Limits, Store};

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The most deliveries `webhook deliveries` prints.
pub const DELIVERIES_SHOWN: i64 = 1000;

/// The webhook subcommands.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Subscribe a URL to a conference's events and print the signing secret (shown only this
    /// once).
    Create {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
        /// Where to POST the events: https:// (http:// only with --webhook-allow-http).
        #[arg(long)]
        url: String,
        /// An event type to send (repeat it); none: every type.
        #[arg(long = "event", value_name = "NAME")]
        events: Vec<String>,
    },
    /// List subscriptions (never their secrets).
    List {
        /// Only this conference's (default: every conference's).
        #[arg(long)]
        conference: Option<String>,
    },
    /// Stop writing and sending events for a subscription; its pending deliveries wait.
    Disable {
        /// The subscription's id, from `webhook list`.
        id: i64,
    },
    /// Start again: pending deliveries go out in order, new events are written.
    Enable {
        /// The subscription's id.
        id: i64,
    },
    /// Give a subscription a new secret (printed once); the old one signs too for 24 hours.
    RotateSecret {
        /// The subscription's id.
        id: i64,
    },
    /// List a conference's deliveries, oldest first (at most 1000).
    Deliveries {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
        /// Only deliveries with this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only this subscription's.
        #[arg(long, value_name = "ID")]
        webhook: Option<i64>,
    },
    /// Queue a delivery again, now (the same event id).
    Redeliver {
        /// The delivery's id, from `webhook deliveries`.
        delivery_id: i64,
    },
}

/// `--status`: where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    // Waiting its turn or its next attempt.
    Pending,
    // Answered with a 2xx.
    Delivered,
    // Not delivered for 3 days.
    Failed,
}

impl From<StatusArg> for DeliveryStatus {
    fn from(status: StatusArg) -> Self {
        match status {
            StatusArg::Pending => DeliveryStatus::Pending,
            StatusArg::Delivered => DeliveryStatus::Delivered,
            StatusArg::Failed => DeliveryStatus::Failed,
        }
    }
}

/// Runs a webhook subcommand.
pub async fn run(store: &dyn Store, command: WebhookCommand, limits: &Limits, format: Format) -> Result<(), CliError> {
    match command {
        WebhookCommand::Create { conference, url, events } => {
            let created = webhooks::create_webhook(store, &conference, &url, &events, limits.webhooks.policy).await?;
            with_secret(&created, format, "created")
        }
        WebhookCommand::List { conference } => {
            let mut all = Vec::new();
            let slugs = match conference {
                Some(slug) => vec![slug],
                None => vouchers_core::service::catalog::list_conferences(store)
                    .await?
                    .into_iter()
                    .map(|c| c.slug)
                    .collect(),
            };
            for slug in slugs {
                all.extend(webhooks::list_webhooks(store, &slug).await?.into_iter().map(|w| (slug.clone(), w)));
            }
            print_webhooks(&all, format)
        }
        WebhookCommand::Disable { id } => {
            let conference = webhooks::conference_of_webhook(store, id).await?;
            let webhook = webhooks::set_enabled(store, &conference, id, false).await?;
            print_webhooks(&[(conference, webhook)], format)
        }
        WebhookCommand::Enable { id } => {
            let conference = webhooks::conference_of_webhook(store, id).await?;
            let webhook = webhooks::set_enabled(store, &conference, id, true).await?;
            print_webhooks(&[(conference, webhook)], format)
        }
        WebhookCommand::RotateSecret { id } => {
            let conference = webhooks::conference_of_webhook(store, id).await?;
            let rotated = webhooks::rotate_secret(store, &conference, id).await?;
            with_secret(&rotated, format, "has a new secret (the old one signs too for 24 hours)")
        }
        WebhookCommand::Deliveries { conference, status, webhook } => {
            let filter = DeliveryFilter {
                webhook_id: webhook,
                status: status.map(DeliveryStatus::from),
                after_id: 0,
                limit: DELIVERIES_SHOWN,
                newest_first: false,
            };
            let found = webhooks::list_deliveries(store, &conference, &filter).await?;
            print_deliveries(&found, format)
        }
        WebhookCommand::Redeliver { delivery_id } => {
            let conference = webhooks::conference_of_delivery(store, delivery_id).await?;
            let delivery = webhooks::redeliver(store, &conference, delivery_id).await?;
            if format == Format::Table {
                eprintln!("delivery {delivery_id} queued again (event {})", delivery.event_id);
            }
            print_deliveries(&[delivery], format)
        }
    }
}

fn with_secret(shown: &WebhookWithSecret, format: Format, done: &str) -> Result<(), CliError> {
    match format {
        Format::Json => output::json(shown),
        Format::Csv => output::csv(
            &["id", "url", "events", "enabled", "secret"],
            &[vec![
                shown.webhook.id.to_string(),
                shown.webhook.url.clone(),
                shown.webhook.events.join(" "),
                shown.webhook.enabled.to_string(),
                shown.secret.expose().to_owned(),
            ]],
        ),
        Format::Table => {
            println!("{}", shown.secret.expose());
            eprintln!(
                "webhook {} ({}) {done}; this is the only time its secret is shown",
                shown.webhook.id, shown.webhook.url
            );
            Ok(())
        }
    }
}

fn print_webhooks(all: &[(String, Webhook)], format: Format) -> Result<(), CliError> {
    if format == Format::Json {
        let only: Vec<&Webhook> = all.iter().map(|(_, w)| w).collect();
        return output::json(&only);
    }
    let header = ["id", "conference", "url", "events", "enabled", "note"];
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|(conference, w)| {
            vec![
                w.id.to_string(),
                conference.clone(),
                w.url.clone(),
                w.events.join(" "),
                w.enabled.to_string(),
                w.disabled_reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    match format {
        Format::Csv => output::csv(&header, &rows),
        _ => Ok(output::table(&header, &rows)?),
    }
}

fn print_deliveries(found: &[Delivery], format: Format) -> Result<(), CliError> {
    if format == Format::Json {
        return output::json(found);
    }
    let header = [
        "id",
        "webhook_id",
        "event_id",
        "type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ];
    let time = |t: &Option<chrono::DateTime<chrono::Utc>>| t.as_ref().map(format_rfc3339).unwrap_or_default();
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.webhook_id.to_string(),
                d.event_id.clone(),
                d.event_type.clone(),
                d.status.as_str().to_owned(),
                d.attempts.to_string(),
                d.last_status_code.map(|c| c.to_string()).unwrap_or_default(),
                time(&d.next_attempt_at),
                time(&d.delivered_at),
            ]
        })
        .collect();
    match format {
        Format::Csv => output::csv(&header, &rows),
        _ => Ok(output::table(&header, &rows)?),
    }
}
