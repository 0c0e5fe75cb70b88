//! The command line, declared with clap: the global flags, the output format and the list of
//! subcommands. Each subcommand declares its own arguments in its module under `commands/`.
//! Every setting is a flag and an environment variable.

use clap::{Parser, Subcommand, ValueEnum};

use crate::commands;

/// The largest `--max-batch` accepted: ten million codes, far beyond any conference, still a
/// batch one transaction and one process handle.
pub const MAX_BATCH_BOUND: i64 = 10_000_000;

/// Voucher codes for conferences: comp tickets for speakers, discount codes for sponsors,
/// access codes that unlock hidden ticket types.
#[derive(Debug, Parser)]
#[command(name = "vouchers", version, about, propagate_version = true)]
pub struct Cli {
    /// Database URL: `sqlite://FILE` (created on first use) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "VOUCHERS_DATABASE_URL",
        default_value = "sqlite://vouchers.db",
        global = true,
        hide_env_values = true
    )]
    pub database: vouchers_core::DatabaseUrl,

    /// Largest batch `generate` accepts.
    // hide_env_values: the help reads `[env: VOUCHERS_MAX_BATCH]`, not `VOUCHERS_MAX_BATCH=` with
    // nothing after it when the variable is unset; the default is shown on the next line.
    #[arg(
        long,
        env = "VOUCHERS_MAX_BATCH",
        default_value_t = 500,
        global = true,
        hide_env_values = true,
        value_parser = clap::value_parser!(i64).range(1..=MAX_BATCH_BOUND),
        allow_negative_numbers = true
    )]
    pub max_batch: i64,

    /// Seconds to wait for the database (at start and for every request) before saying it
    /// cannot be reached.
    #[arg(
        long,
        env = "VOUCHERS_DB_TIMEOUT",
        default_value_t = 5,
        global = true,
        value_parser = clap::value_parser!(u64).range(1..=300)
    )]
    pub db_timeout: u64,

    /// Unknown codes a token may try per minute from one client address at check, redeem and
    /// release before getting 429 (0: no limit). `serve` enforces it.
    #[arg(
        long,
        env = "VOUCHERS_FAILED_LOOKUPS_PER_MINUTE",
        default_value_t = 10,
        global = true,
        hide_env_values = true
    )]
    pub failed_lookups_per_minute: u32,

    /// Failed code lookups one token may make per minute from all its client addresses together
    /// (0: no ceiling); past it every address of the token gets 429 until the window moves,
    /// shared across instances on PostgreSQL. `generate` computes how guessable codes are at it:
    /// it is what an attacker with many addresses meets.
    #[arg(
        long,
        env = "VOUCHERS_TOKEN_FAILED_LOOKUPS_PER_MINUTE",
        default_value_t = 100,
        global = true,
        hide_env_values = true
    )]
    pub token_failed_lookups_per_minute: u32,

    /// A batch whose codes an attacker could expect to guess in fewer days (at
    /// --token-failed-lookups-per-minute) is refused unless `generate --allow-weak-codes`.
    #[arg(
        long,
        env = "VOUCHERS_GUESSING_FLOOR_DAYS",
        default_value_t = 365,
        global = true,
        hide_env_values = true,
        value_parser = clap::value_parser!(u64).range(0..=365_000)
    )]
    pub guessing_floor_days: u64,

    /// Let webhooks point at plain `http://` URLs (operators only; never an API field).
    #[arg(long, env = "VOUCHERS_WEBHOOK_ALLOW_HTTP", global = true, hide_env_values = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub webhook_allow_http: bool,

    /// Let webhooks point at loopback, private, link-local and other internal addresses
    /// (operators only; for tests and single-host setups).
    #[arg(long, env = "VOUCHERS_WEBHOOK_ALLOW_PRIVATE", global = true, hide_env_values = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub webhook_allow_private: bool,

    /// Seconds before a failed webhook delivery is tried again; the wait doubles with each
    /// attempt, up to 6 hours, for 3 days.
    #[arg(
        long,
        env = "VOUCHERS_WEBHOOK_RETRY_SECONDS",
        default_value_t = 30,
        global = true,
        hide_env_values = true,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub webhook_retry_seconds: u64,

    /// Seconds a webhook sender holds a subscription before another sender may take it over (a
    /// sender that died mid-delivery leaves it this long).
    #[arg(
        long,
        env = "VOUCHERS_WEBHOOK_LEASE_SECONDS",
        default_value_t = 120,
        global = true,
        hide_env_values = true,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub webhook_lease_seconds: u64,

    /// Where the service is reached from outside (https://tickets.example.org): the origin of
    /// the sponsor links `allotment create` and `new-link` print and the API and console answer,
    /// and of the set-password links of `user create --link` and `user link` (without it, the
    /// path alone).
    #[arg(long, env = "VOUCHERS_PUBLIC_URL", global = true, value_parser = public_url)]
    pub public_url: Option<String>,

    /// Output format: table (the default), csv or json. With `generate --output FILE` the
    /// default comes from the file's extension.
    #[arg(long, value_enum, global = true)]
    pub format: Option<Format>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Reads `--public-url`.
fn public_url(value: &str) -> Result<String, String> {
    vouchers_core::domain::public_origin(value).map_err(|e| e.message)
}

impl Cli {
    /// The operator limits of the use cases, from the global flags.
    pub fn limits(&self) -> vouchers_core::Limits {
        vouchers_core::Limits {
            max_batch: self.max_batch,
            guessing: vouchers_core::domain::GuessingPolicy {
                failed_lookups_per_minute: self.failed_lookups_per_minute,
                token_failed_lookups_per_minute: self.token_failed_lookups_per_minute,
                floor: std::time::Duration::from_secs(self.guessing_floor_days * 86_400),
            },
            webhooks: vouchers_core::service::webhooks::WebhookSettings {
                policy: vouchers_core::domain::TargetPolicy {
                    allow_http: self.webhook_allow_http,
                    allow_private: self.webhook_allow_private,
                },
                schedule: vouchers_core::domain::RetrySchedule {
                    base: std::time::Duration::from_secs(self.webhook_retry_seconds),
                },
                lease: std::time::Duration::from_secs(self.webhook_lease_seconds),
                ..Default::default()
            },
        }
    }
}

/// How data is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// JSON, alone on stdout.
    Json,
}

/// The subcommands; each one's arguments and code live in its own module under `commands/`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list and change conferences.
    #[command(subcommand)]
    Conference(commands::conference::ConferenceCommand),
    /// Create, list and change ticket types.
    #[command(subcommand, name = "ticket-type")]
    TicketType(commands::ticket_type::TicketTypeCommand),
    /// Create, list and change add-ons.
    #[command(subcommand)]
    Addon(commands::addon::AddonCommand),
    /// Add one voucher with a code you choose (e.g. PYCON-KEYNOTE).
    Add(commands::add::AddArgs),
    /// Generate a batch of unique random voucher codes, in one transaction.
    Generate(commands::generate::GenerateArgs),
    /// List a conference's vouchers.
    List(commands::list::ListArgs),
    /// Show one voucher (the code is matched ignoring case).
    Show(commands::show::ShowArgs),
    /// Check a code at checkout: valid or why not, what it unlocks, the cart priced.
    Check(commands::check::CheckArgs),
    /// Keep one use of a code for an open cart until its hold ends (the same cart again answers
    /// the same hold).
    Hold(commands::hold::HoldArgs),
    /// Move the end of a cart's live hold to --ttl seconds from now.
    #[command(name = "hold-extend")]
    HoldExtend(commands::hold::HoldExtendArgs),
    /// Redeem a code for an order, consuming one use (retrying the same order consumes nothing).
    Redeem(commands::redeem::RedeemArgs),
    /// Give back the use an order consumed (the order was cancelled or expired), or drop a cart's
    /// hold.
    Release(commands::release::ReleaseArgs),
    /// Usage per batch and per prefix: issued, active, fully used, uses consumed and left.
    Usage(commands::usage::UsageArgs),
    /// Give each recipient of a CSV file one unassigned code of a batch (and queue their emails
    /// with --send), in one transaction.
    Assign(commands::assign::AssignArgs),
    /// Queue one email per assigned code of a batch that has none yet, in the outbox.
    Send(commands::mail::SendArgs),
    /// Deliver the outbox's due messages over SMTP, then exit.
    #[command(name = "send-outbox")]
    SendOutbox(commands::mail::SendOutboxArgs),
    /// Where each queued email stands (queued, sending, sent, failed); retry a failed one.
    Outbox(commands::mail::OutboxArgs),
    /// Import codes chosen elsewhere from a CSV file (the export's columns), as one batch.
    Import(commands::import::ImportArgs),
    /// Run the HTTP API (see the README's "HTTP API" section).
    Serve(commands::serve::ServeArgs),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
    /// Signed webhooks: subscribe a URL to a conference's events, list, disable, enable, rotate
    /// the secret, list and redeliver deliveries.
    #[command(subcommand)]
    Webhook(commands::webhook::WebhookCommand),
    /// Reports: each batch's funnel, redemptions over time in the conference's time zone, the
    /// redemptions one by one.
    #[command(subcommand)]
    Report(commands::report::ReportCommand),
    /// Sponsor allotments: passes a sponsor gives to named attendees on its own page by a
    /// deadline; create, list, show, extend, resize, revoke-link, new-link, close-due.
    #[command(subcommand)]
    Allotment(commands::allotment::AllotmentCommand),
    /// Who did what in a conference (every write leaves a record), newest first.
    Audit(commands::audit::AuditArgs),
    /// Write a consistent copy of the SQLite database while it is in use.
    Backup(commands::backup::BackupArgs),
    /// Organizer accounts of the web console: create, list, disable, set a password, grant.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Print a shell completion script: `vouchers completions bash > /etc/bash_completion.d/vouchers`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `vouchers man | man -l -`.
    Man,
}

/// The version line: the package version and the commit it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("VOUCHERS_GIT_COMMIT"), ")");

/// The command line as clap reads it, with every environment variable's value hidden from
/// `--help` (the database URL may hold a password; an unset variable would read `NAME=`).
pub fn command() -> clap::Command {
    fn hide_env_values(command: clap::Command) -> clap::Command {
        command.mut_args(|arg| arg.hide_env_values(true)).mut_subcommands(hide_env_values)
    }
    hide_env_values(<Cli as clap::CommandFactory>::command().version(VERSION))
}

/// Parses the process's arguments (exiting with clap's message and status 2 on an error).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::error::ErrorKind;
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};
    use crate::commands::token::{ScopeArg, TokenCommand};

    /// The refusal of `args`, checked to be a usage error (exit status 2) naming `flag`.
    #[track_caller]
    fn refused(args: &[&str], kind: ErrorKind, flag: &str) {
        let err = Cli::try_parse_from(args).unwrap_err();
        assert_eq!(err.kind(), kind, "{args:?}: {err}");
        assert_eq!(err.exit_code(), 2, "{args:?}");
        assert!(err.to_string().contains(flag), "{args:?}: {flag} not named in {err}");
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn max_batch_out_of_range_is_refused() {
        refused(
            &["vouchers", "--max-batch", "0", "list", "--conference", "x"],
            ErrorKind::ValueValidation,
            "--max-batch",
        );
        refused(
            &["vouchers", "--max-batch", "-1", "list", "--conference", "x"],
            ErrorKind::ValueValidation,
            "--max-batch",
        );
        refused(
            &["vouchers", "list", "--conference", "x", "--max-batch", "10000001"],
            ErrorKind::ValueValidation,
            "--max-batch",
        );
        let cli = Cli::try_parse_from(["vouchers", "--max-batch", "10000000", "list", "--conference", "x"]).unwrap();
        assert_eq!(cli.max_batch, 10_000_000);
    }

    #[test]
    fn serve_limits_out_of_range_are_refused() {
        refused(&["vouchers", "serve", "--request-timeout", "0"], ErrorKind::ValueValidation, "--request-timeout");
        refused(&["vouchers", "serve", "--request-timeout", "3601"], ErrorKind::ValueValidation, "--request-timeout");
        refused(&["vouchers", "serve", "--body-limit", "1023"], ErrorKind::ValueValidation, "--body-limit");
        refused(&["vouchers", "serve", "--body-limit", "1073741825"], ErrorKind::ValueValidation, "--body-limit");
        let cli =
            Cli::try_parse_from(["vouchers", "serve", "--request-timeout", "3600", "--body-limit", "1024"]).unwrap();
        let Command::Serve(args) = cli.command else { panic!("not serve: {:?}", cli.command) };
        assert_eq!((args.request_timeout, args.body_limit), (3600, 1024));
    }

    #[test]
    fn an_unknown_token_scope_is_refused() {
        refused(&["vouchers", "token", "create", "--scope", "root"], ErrorKind::InvalidValue, "--scope");
        let cli = Cli::try_parse_from(["vouchers", "token", "create", "--scope", "checkout"]).unwrap();
        let Command::Token(TokenCommand::Create { scope, .. }) = cli.command else {
            panic!("not token create: {:?}", cli.command)
        };
        assert_eq!(scope, ScopeArg::Checkout);
        assert_eq!(vouchers_core::domain::Scope::from(scope), vouchers_core::domain::Scope::Checkout);
    }
}
