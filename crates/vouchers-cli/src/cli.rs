//! The command line, declared with clap. Every setting is a flag and an environment variable.

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    #[arg(long, env = "VOUCHERS_MAX_BATCH", default_value_t = 500, global = true)]
    pub max_batch: i64,

    /// Output format: table (the default), csv or json. With `generate --output FILE` the
    /// default comes from the file's extension.
    #[arg(long, value_enum, global = true)]
    pub format: Option<Format>,

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and list conferences.
    #[command(subcommand)]
    Conference(ConferenceCommand),
    /// Create and list ticket types.
    #[command(subcommand, name = "ticket-type")]
    TicketType(TicketTypeCommand),
    /// Create and list add-ons.
    #[command(subcommand)]
    Addon(AddonCommand),
    /// Add one voucher with a code you choose (e.g. PYCON-KEYNOTE).
    Add(AddArgs),
    /// Generate a batch of unique random voucher codes, in one transaction.
    Generate(GenerateArgs),
    /// List a conference's vouchers.
    List(ListArgs),
    /// Show one voucher (the code is matched ignoring case).
    Show(ShowArgs),
    /// Check a code at checkout: valid or why not, what it unlocks, the cart priced.
    Check(CheckArgs),
    /// Redeem a code for an order, consuming one use (retrying the same order consumes nothing).
    Redeem(RedeemArgs),
    /// Give back the use an order consumed (the order was cancelled or expired).
    Release(ReleaseArgs),
    /// Usage per batch and per prefix: issued, active, fully used, uses consumed and left.
    Usage(UsageArgs),
    /// Run the HTTP API (see the README's "HTTP API" section).
    Serve(crate::commands::serve::ServeArgs),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(crate::commands::token::TokenCommand),
}

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
    },
    /// List conferences.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TicketTypeCommand {
    /// Create a ticket type.
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
        /// Price, e.g. 100.00.
        #[arg(long, allow_negative_numbers = true)]
        price: String,
        /// Hidden unless a voucher unlocks it.
        #[arg(long)]
        requires_voucher: bool,
    },
    /// List a conference's ticket types.
    List {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
    },
}

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

/// What every voucher of a command shares: type, discount, uses, window, restrictions.
#[derive(Debug, Args)]
pub struct TermsArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// comp, percentage or fixed_amount.
    #[arg(long = "type", value_name = "TYPE")]
    pub voucher_type: String,
    /// Percentage (0-100) or amount, depending on --type; ignored for comp.
    #[arg(long, allow_negative_numbers = true)]
    pub discount: Option<String>,
    /// How many times each voucher can be redeemed.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub max_uses: i64,
    /// Start of the validity window: RFC 3339 with an offset, or YYYY-MM-DDTHH:MM in the
    /// conference's time zone.
    #[arg(long)]
    pub valid_from: Option<String>,
    /// End of the validity window (inclusive), same forms as --valid-from.
    #[arg(long)]
    pub valid_until: Option<String>,
    /// Reveal the conference's hidden (requires-voucher) ticket types.
    #[arg(long)]
    pub unlocks_hidden_tickets: bool,
    /// Restrict to this ticket type (repeatable); none: all ticket types.
    #[arg(long = "ticket-type", value_name = "SLUG")]
    pub ticket_types: Vec<String>,
    /// Restrict to this add-on (repeatable); none: all add-ons.
    #[arg(long = "addon", value_name = "SLUG")]
    pub addons: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The code: 1-100 characters of A-Z a-z 0-9 - _ . starting with a letter or digit.
    #[arg(long)]
    pub code: String,
    #[command(flatten)]
    pub terms: TermsArgs,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Text in front of every code: at most 20 characters of A-Z a-z 0-9 - _ .
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// How many codes (1 to --max-batch).
    #[arg(long, allow_negative_numbers = true)]
    pub count: i64,
    /// Write the vouchers to FILE instead of stdout, streamed as they are created (CSV or JSON,
    /// from the extension or --format). The file appears only once the batch is committed.
    #[arg(long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub terms: TermsArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// Only codes starting with this prefix (ignoring case).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Only vouchers of this batch.
    #[arg(long)]
    pub batch: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The voucher code.
    pub code: String,
}

/// A cart: `--ticket-type SLUG[=QUANTITY]` and `--addon SLUG[=QUANTITY]`, repeatable.
#[derive(Debug, Args)]
pub struct CartArgs {
    /// A ticket type in the cart, with an optional quantity (default 1): `individual=2`.
    #[arg(long = "ticket-type", value_name = "SLUG[=QTY]")]
    pub ticket_types: Vec<String>,
    /// An add-on in the cart, with an optional quantity (default 1): `tshirt=3`.
    #[arg(long = "addon", value_name = "SLUG[=QTY]")]
    pub addons: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The code as the attendee typed it (case and surrounding spaces do not matter).
    pub code: String,
    #[command(flatten)]
    pub cart: CartArgs,
}

#[derive(Debug, Args)]
pub struct RedeemArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The order this use belongs to; redeeming the same order again replays the first answer.
    #[arg(long)]
    pub order_ref: String,
    /// The code.
    pub code: String,
    #[command(flatten)]
    pub cart: CartArgs,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The cancelled or expired order.
    #[arg(long)]
    pub order_ref: String,
    /// The code.
    pub code: String,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
}
