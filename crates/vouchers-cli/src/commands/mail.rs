//! Handing codes to people by email: `send` (queue a batch's messages in the outbox),
//! `send-outbox` (deliver what is due, then exit) and `outbox` (where each message stands, and
//! retrying a failed one), with the mail settings `serve` shares.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use vouchers_core::domain::{InvalidInput, MessageStatus, MessageTemplate, OutboxMessage};
use vouchers_core::mail::{SmtpMailer, SmtpUrl};
use vouchers_core::service::outbox::{self, SenderSettings};
use vouchers_core::service::send;
use vouchers_core::service::webhooks::{self, WebhookSettings};
use vouchers_core::webhook_http::HttpClient;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The SMTP URL as typed: its `Debug` never shows it (it may hold a password).
#[derive(Clone)]
pub struct SecretUrl(String);

impl FromStr for SecretUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretUrl(***)")
    }
}

/// How the outbox is delivered (`serve` and `send-outbox`).
#[derive(Debug, Args)]
pub struct MailArgs {
    /// The mail server: `smtp://USER:PASSWORD@HOST:587` (STARTTLS, required), `smtps://...` (TLS,
    /// port 465), `smtp://HOST:25?tls=none` (a relay on this host). Never printed or logged.
    #[arg(long, env = "VOUCHERS_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretUrl>,
    /// The sender: `vouchers@example.org` or `PyCon <vouchers@example.org>`; its domain ends every
    /// Message-ID.
    #[arg(long, env = "VOUCHERS_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Messages per second at most.
    #[arg(long, env = "VOUCHERS_MAIL_RATE", default_value_t = 10.0, value_parser = rate)]
    pub mail_rate: f64,
    /// Seconds before the first retry after a temporary failure (4xx, server unreachable); it
    /// doubles per attempt up to an hour, and the 8th failed attempt fails the message.
    #[arg(long, env = "VOUCHERS_MAIL_RETRY_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub mail_retry_seconds: u64,
    /// Seconds a sender holds a claimed message; a sender that dies leaves it to another after that.
    #[arg(long, env = "VOUCHERS_MAIL_LEASE_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub mail_lease_seconds: u64,
    /// Seconds to wait for the mail server's answers.
    #[arg(long, env = "VOUCHERS_SMTP_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub smtp_timeout: u64,
}

fn rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if (0.01..=1000.0).contains(&r) => Ok(r),
        _ => Err(format!("must be a number of messages per second from 0.01 to 1000, got {text:?}")),
    }
}

impl MailArgs {
    /// The mailer and the sender's settings, or `None` when no SMTP URL is set.
    pub fn sender(&self) -> Result<Option<(SmtpMailer, SenderSettings)>, CliError> {
        let Some(url) = &self.smtp_url else { return Ok(None) };
        let url = SmtpUrl::parse(&url.0)?;
        let from = self.mail_from.as_deref().ok_or_else(|| {
            InvalidInput::new("mail_from", "mail_from is required with an SMTP URL (VOUCHERS_MAIL_FROM)")
        })?;
        let mailer = SmtpMailer::new(&url, from, Duration::from_secs(self.smtp_timeout))?;
        let settings = SenderSettings {
            rate_per_second: self.mail_rate,
            lease: Duration::from_secs(self.mail_lease_seconds),
            retry_base: Duration::from_secs(self.mail_retry_seconds),
            ..SenderSettings::default()
        };
        tracing::info!(smtp = %url, "mail sender configured");
        Ok(Some((mailer, settings)))
    }
}

/// A message template from files.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The subject, with placeholders: `Your code for {{ conference }}`.
    #[arg(long)]
    pub subject: Option<String>,
    /// The plain-text body: a file with placeholders ({{ code }}, {{ name }}, {{ email }},
    /// {{ tags.KEY }}, {{ conference }}, {{ discount }}, {{ valid_until }}).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// An HTML body beside the text one (values are HTML-escaped).
    #[arg(long, value_name = "FILE")]
    pub html_template: Option<PathBuf>,
}

/// The largest template file read.
const TEMPLATE_FILE_MAX: u64 = 1024 * 1024;

pub(crate) fn read_text(flag: &'static str, path: &Path) -> Result<String, CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::Input(format!("{flag}: {} cannot be read: {e}", path.display())))?;
    if meta.len() > TEMPLATE_FILE_MAX {
        return Err(CliError::Input(format!("{flag}: {} is larger than 1 MiB", path.display())));
    }
    let bytes =
        std::fs::read(path).map_err(|e| CliError::Input(format!("{flag}: {} cannot be read: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| CliError::Input(format!("{flag}: {} is not UTF-8 text", path.display())))
}

impl TemplateArgs {
    /// The checked template; `--subject` and `--template` are required.
    pub fn template(&self) -> Result<MessageTemplate, CliError> {
        let subject = self.subject.as_deref().ok_or_else(|| CliError::Input("--subject is required".into()))?;
        let path = self.template.as_deref().ok_or_else(|| CliError::Input("--template is required".into()))?;
        let text = read_text("--template", path)?;
        let html = self.html_template.as_deref().map(|p| read_text("--html-template", p)).transpose()?;
        Ok(MessageTemplate::parse(subject, &text, html.as_deref())?)
    }
}

/// The arguments of `send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The batch whose assigned vouchers get a message.
    #[arg(long)]
    pub batch: i64,
    #[command(flatten)]
    pub template: TemplateArgs,
}

/// Queues one message per assigned voucher of the batch that has none yet.
pub async fn send(store: &dyn Store, args: SendArgs, format: Format) -> Result<(), CliError> {
    let template = args.template.template()?;
    let queued = send::queue_messages(store, &args.conference, args.batch, &template).await?;
    if format == Format::Json {
        return output::json(&queued);
    }
    eprintln!(
        "batch {}: {} messages queued; `vouchers send-outbox` or `vouchers serve` delivers them",
        queued.batch_id, queued.queued
    );
    Ok(())
}

/// The arguments of `send-outbox`.
#[derive(Debug, Args)]
pub struct SendOutboxArgs {
    #[command(flatten)]
    pub mail: MailArgs,
}

/// Delivers every due email (when an SMTP URL is set) and every due webhook delivery, then exits.
pub async fn send_outbox(
    store: &dyn Store,
    args: SendOutboxArgs,
    settings: &WebhookSettings,
    format: Format,
) -> Result<(), CliError> {
    let mail = match args.mail.sender()? {
        Some((mailer, settings)) => Some(outbox::drain(store, &mailer, &settings).await?),
        None => None,
    };
    let client = HttpClient::new(settings.policy, vouchers_core::webhook_http::TIMEOUT)
        .map_err(|e| CliError::Failure(anyhow::anyhow!(e)))?;
    let hooks = webhooks::drain(store, &client, settings).await?;
    if format == Format::Json {
        return output::json(&serde_json::json!({ "mail": mail, "webhooks": hooks }));
    }
    match mail {
        Some(report) => eprintln!(
            "emails: {} sent, {} failed, {} temporary failures (tried again when due)",
            report.sent, report.failed, report.retried
        ),
        None => eprintln!("emails: not sent (no --smtp-url / VOUCHERS_SMTP_URL)"),
    }
    eprintln!(
        "webhooks: {} delivered, {} failed, {} not answered with a 2xx (tried again when due)",
        hooks.delivered, hooks.failed, hooks.retried
    );
    Ok(())
}

/// The arguments of `outbox`.
#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// Only messages with this status: queued, sending, sent or failed.
    #[arg(long)]
    pub status: Option<String>,
    /// Only this batch's messages.
    #[arg(long)]
    pub batch: Option<i64>,
    /// First queue the failed message with this id again (it goes out with the next delivery).
    #[arg(long, value_name = "ID")]
    pub retry: Option<i64>,
}

/// The most messages `outbox` prints.
const OUTBOX_LIMIT: i64 = 100_000;

/// Lists the conference's outbox messages (after retrying one, with `--retry`).
pub async fn outbox(store: &dyn Store, args: OutboxArgs, format: Format) -> Result<(), CliError> {
    let status: Option<MessageStatus> = args.status.as_deref().map(str::parse).transpose()?;
    if let Some(id) = args.retry {
        outbox::retry_message(store, &args.conference, id).await?;
        eprintln!("message {id} queued again");
    }
    let messages = outbox::list_outbox(store, &args.conference, args.batch, status, 0, OUTBOX_LIMIT).await?;
    print_outbox(&messages, format)
}

fn print_outbox(messages: &[OutboxMessage], format: Format) -> Result<(), CliError> {
    if format == Format::Json {
        return output::json(messages);
    }
    let header = ["id", "batch", "code", "email", "name", "status", "attempts", "sent_at", "last_error"];
    let rows: Vec<Vec<String>> = messages
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                m.batch_id.to_string(),
                m.code.clone(),
                m.recipient_email.clone(),
                m.recipient_name.clone(),
                m.status.to_string(),
                m.attempts.to_string(),
                m.sent_at.as_ref().map(vouchers_core::domain::format_rfc3339).unwrap_or_default(),
                m.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if format == Format::Csv {
        return output::csv(&header, &rows);
    }
    Ok(output::table(&header, &rows)?)
}
