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

    /// Output format: table (the default), csv or json. With `generate --output FILE` the
    /// default comes from the file's extension.
    #[arg(long, value_enum, global = true)]
    pub format: Option<Format>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
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
    /// Create and list conferences.
    #[command(subcommand)]
    Conference(commands::conference::ConferenceCommand),
    /// Create and list ticket types.
    #[command(subcommand, name = "ticket-type")]
    TicketType(commands::ticket_type::TicketTypeCommand),
    /// Create and list add-ons.
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
    /// Redeem a code for an order, consuming one use (retrying the same order consumes nothing).
    Redeem(commands::redeem::RedeemArgs),
    /// Give back the use an order consumed (the order was cancelled or expired).
    Release(commands::release::ReleaseArgs),
    /// Usage per batch and per prefix: issued, active, fully used, uses consumed and left.
    Usage(commands::usage::UsageArgs),
    /// Run the HTTP API (see the README's "HTTP API" section).
    Serve(commands::serve::ServeArgs),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
}
