//! `vouchers serve`: the HTTP API on one address, until SIGTERM or SIGINT (Ctrl-C); requests in
//! flight are finished before the process exits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use vouchers_console::{ConsoleSettings, ConsoleState};
use vouchers_core::service::accounts::SessionPolicy;
use vouchers_core::service::allotments;
use vouchers_core::service::outbox::{self, Stop};
use vouchers_core::service::webhooks;
use vouchers_core::webhook_http;
use vouchers_core::{Limits, Store};
use vouchers_http::{AppState, Settings};

use crate::error::CliError;

/// `--body-limit`, in bytes: from 1 KiB (a voucher request fits) to 1 GiB.
pub const BODY_LIMIT_BOUNDS: std::ops::RangeInclusive<u64> = 1024..=1024 * 1024 * 1024;

/// `--request-timeout`, in seconds: from one second to one hour.
pub const REQUEST_TIMEOUT_BOUNDS: std::ops::RangeInclusive<u64> = 1..=3600;

/// How often the background sender looks for due emails when it found none.
const SENDER_IDLE: Duration = Duration::from_secs(1);

/// How logs are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line per event for people.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// The arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the address is printed on stdout).
    #[arg(long, env = "VOUCHERS_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Largest request body in bytes (larger: 413).
    #[arg(
        long,
        env = "VOUCHERS_BODY_LIMIT",
        default_value_t = 1024 * 1024,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(BODY_LIMIT_BOUNDS)
    )]
    pub body_limit: usize,
    /// Seconds a request may take before its response starts (longer: 503, rolled back).
    #[arg(
        long,
        env = "VOUCHERS_REQUEST_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(REQUEST_TIMEOUT_BOUNDS)
    )]
    pub request_timeout: u64,
    /// Behind a load balancer: take the client address from the last X-Forwarded-For entry.
    #[arg(long, env = "VOUCHERS_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Seconds a client may take to send a request head, counted from the connection's start or
    /// its previous response (also bounds idle kept-alive connections); slower: closed.
    #[arg(
        long,
        env = "VOUCHERS_HEADER_TIMEOUT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=300)
    )]
    pub header_timeout: u64,
    /// Seconds requests in flight may take to finish after SIGTERM or Ctrl-C.
    #[arg(
        long,
        env = "VOUCHERS_DRAIN_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub drain_timeout: u64,
    /// Most connections open at once; further clients wait to be accepted.
    #[arg(
        long,
        env = "VOUCHERS_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65_536)
    )]
    pub max_connections: usize,
    /// Mark the console's session cookie Secure (sent over HTTPS only): set it when the console
    /// is served behind HTTPS.
    #[arg(long, env = "VOUCHERS_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Hours a console session may stay unused before it ends.
    #[arg(
        long,
        env = "VOUCHERS_SESSION_IDLE_HOURS",
        default_value_t = 12,
        value_parser = clap::value_parser!(u64).range(1..=720)
    )]
    pub session_idle_hours: u64,
    /// Hours after sign-in a console session ends, used or not.
    #[arg(
        long,
        env = "VOUCHERS_SESSION_MAX_HOURS",
        default_value_t = 168,
        value_parser = clap::value_parser!(u64).range(1..=8760)
    )]
    pub session_max_hours: u64,
    /// Log format on stderr: text or json. Each request is logged with its id (x-request-id).
    #[arg(long, value_enum, env = "VOUCHERS_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// The outbox's sender: with an SMTP URL, `serve` delivers queued emails in the background.
    #[command(flatten)]
    pub mail: super::mail::MailArgs,
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}

/// Serves until a shutdown signal, then returns once the requests in flight are answered.
pub async fn run(
    store: Arc<dyn Store>,
    args: ServeArgs,
    limits: Limits,
    public_url: Option<&str>,
) -> Result<(), CliError> {
    // Checked before listening: a bad mail setting stops the start, naming the flag.
    let sender = args.mail.sender()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))
        .map_err(CliError::Failure)?;
    let address = listener.local_addr().context("reading the bound address").map_err(CliError::Failure)?;
    // On stdout, alone, so scripts and tests that asked for port 0 learn the port.
    println!("listening on http://{address}");
    let settings = Settings {
        body_limit: args.body_limit,
        request_timeout: Duration::from_secs(args.request_timeout),
        failed_lookups_per_minute: limits.guessing.failed_lookups_per_minute,
        token_failed_lookups_per_minute: limits.guessing.token_failed_lookups_per_minute,
        trust_forwarded_for: args.trust_forwarded_for,
        header_read_timeout: Duration::from_secs(args.header_timeout),
        max_connections: args.max_connections,
        drain_timeout: Duration::from_secs(args.drain_timeout),
    };
    let console = ConsoleSettings {
        secure_cookies: args.secure_cookies,
        trust_forwarded_for: args.trust_forwarded_for,
        session: SessionPolicy {
            idle: Duration::from_secs(args.session_idle_hours * 3600),
            absolute: Duration::from_secs(args.session_max_hours * 3600),
        },
        mail_configured: sender.is_some(),
        ..ConsoleSettings::default()
    };
    // One signal stops all three: the listener (requests in flight are answered), the mail sender
    // (the email in flight is sent and recorded) and the webhook sender (likewise); each has the
    // drain timeout.
    let (stop_sender, stop) = Stop::pair();
    let stop_webhooks = stop.clone();
    let mail = match sender {
        Some((mailer, settings)) => {
            let store = Arc::clone(&store);
            Some(tokio::spawn(async move {
                outbox::run_sender(&*store, &mailer, &settings, SENDER_IDLE, stop).await;
            }))
        }
        None => {
            tracing::info!("no SMTP URL (VOUCHERS_SMTP_URL): queued emails wait for `vouchers send-outbox`");
            None
        }
    };
    let webhook_client = vouchers_core::webhook_http::HttpClient::new(limits.webhooks.policy, webhook_http::TIMEOUT)
        .map_err(|e| CliError::Failure(anyhow::anyhow!(e)))?;

    let drain = settings.drain_timeout;
    let console = ConsoleState::new(Arc::clone(&store), limits, console).with_public_url(public_url);
    tokio::spawn(vouchers_console::prune_sign_in_window(console.clone()));
    let pages = vouchers_console::router(console);
    let state = AppState::with_settings(store, limits, settings).with_public_url(public_url);
    // The webhook sender gives way while requests are in flight (see `webhooks::run_sender`).
    let webhook_sender = {
        let (store, stop, settings, busy) =
            (Arc::clone(&state.store), stop_webhooks, limits.webhooks, state.in_flight.clone());
        tokio::spawn(async move {
            webhooks::run_sender(&*store, &webhook_client, &settings, SENDER_IDLE, stop, &busy).await;
        })
    };
    tokio::spawn(vouchers_http::prune_guessing_window(state.clone()));
    // Sponsor allotments: closed at their deadline, their contacts reminded, by every instance
    // (each close and reminder is decided by one conditional write).
    tokio::spawn(allotments::run_deadlines(Arc::clone(&state.store), allotments::DEADLINE_EVERY));
    let holds = Arc::clone(&state.store);
    tokio::spawn(vouchers_core::service::limiter::prune_every_minute("ended holds", move || {
        let store = Arc::clone(&holds);
        async move { vouchers_core::service::checkout::prune_holds(store.as_ref(), vouchers_core::now()).await }
    }));
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown_signal().await;
        stop_sender.stop();
        let _ = signalled.send(());
    };
    // The sender's drain time counts from the signal, alongside the requests'.
    let mail_stopped = async move {
        if on_signal.await.is_err() {
            return;
        }
        if let Some(mail) = mail {
            if tokio::time::timeout(drain, mail).await.is_err() {
                tracing::warn!(drain_timeout = ?drain, "the email in flight was cut off at the drain timeout");
            }
        }
        if tokio::time::timeout(drain, webhook_sender).await.is_err() {
            tracing::warn!(drain_timeout = ?drain, "the webhook delivery in flight was cut off at the drain timeout");
        }
    };
    let (served, ()) = tokio::join!(vouchers_http::serve_with(listener, state, pages, shutdown), mail_stopped);
    served.context("serving HTTP").map_err(CliError::Failure)
}
