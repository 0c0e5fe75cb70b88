//! One module per subcommand (or group of subcommands), each holding its clap arguments and its
//! `run`: parse the flags into a request, call the use case, render. `terms` and `cart` hold the
//! arguments several commands share.

pub mod add;
pub mod addon;
pub mod allotment;
pub mod assign;
pub mod audit;
pub mod backup;
pub mod cart;
pub mod check;
pub mod conference;
pub mod docs;
pub mod generate;
pub mod hold;
pub mod import;
pub mod list;
pub mod mail;
pub mod redeem;
pub mod release;
pub mod report;
pub mod serve;
pub mod show;
pub mod terms;
pub mod ticket_type;
pub mod token;
pub mod usage;
pub mod user;
pub mod webhook;

use std::sync::Arc;

use vouchers_core::domain::Actor;
use vouchers_core::store::acting;
use vouchers_core::{connect, ErrorKind, Store};

use crate::cli::{Cli, Command, Format};
use crate::error::CliError;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    // What needs no database is answered before one is opened.
    match cli.command {
        Command::Completions { shell } => return docs::completions(shell),
        Command::Man => return docs::man(),
        _ => {}
    }
    let url = cli.database.clone();
    let timeout = std::time::Duration::from_secs(cli.db_timeout);
    let store: Arc<dyn Store> = match connect(&url, timeout).await {
        Ok(store) => store,
        // A URL that names no database: invalid input, naming --database.
        Err(error) if error.kind() == ErrorKind::Invalid => return Err(error.into()),
        Err(error) => return Err(CliError::while_doing(error, format!("opening the database {url}"))),
    };
    let format = cli.format.unwrap_or(Format::Table);
    let limits = cli.limits();
    let public_url = cli.public_url.clone();
    // Every write of a command names the operating system's user in the audit log; `serve`
    // names each request's token or account instead.
    let server_store = Arc::clone(&store);
    let user = std::env::var("USER").ok().filter(|u| !u.is_empty());
    let store = acting(store, Actor::Cli { user });
    let result = match cli.command {
        Command::Conference(command) => conference::run(store.as_ref(), command, format).await,
        Command::TicketType(command) => ticket_type::run(store.as_ref(), command, format).await,
        Command::Addon(command) => addon::run(store.as_ref(), command, format).await,
        Command::Add(args) => add::run(store.as_ref(), args, format).await,
        Command::Generate(args) => generate::run(store.as_ref(), args, &limits, cli.format).await,
        Command::List(args) => list::run(store.as_ref(), args, format).await,
        Command::Show(args) => show::run(store.as_ref(), args, format).await,
        Command::Check(args) => check::run(store.as_ref(), args, format).await,
        Command::Hold(args) => hold::hold(store.as_ref(), args, format).await,
        Command::HoldExtend(args) => hold::extend(store.as_ref(), args, format).await,
        Command::Redeem(args) => redeem::run(store.as_ref(), args, format).await,
        Command::Release(args) => release::run(store.as_ref(), args, format).await,
        Command::Usage(args) => usage::run(store.as_ref(), args, &limits.guessing, format).await,
        Command::Assign(args) => assign::run(store.as_ref(), args, format).await,
        Command::Send(args) => mail::send(store.as_ref(), args, format).await,
        Command::SendOutbox(args) => mail::send_outbox(store.as_ref(), args, &limits.webhooks, format).await,
        Command::Outbox(args) => mail::outbox(store.as_ref(), args, format).await,
        Command::Import(args) => import::run(store.as_ref(), args, format).await,
        Command::Serve(args) => serve::run(server_store, args, limits, public_url.as_deref()).await,
        Command::Token(command) => token::run(store.as_ref(), command, format).await,
        Command::Webhook(command) => webhook::run(store.as_ref(), command, &limits, format).await,
        Command::Report(command) => report::run(store.as_ref(), command, format).await,
        Command::Allotment(command) => {
            allotment::run(store.as_ref(), command, &limits, public_url.as_deref(), format).await
        }
        Command::User(command) => user::run(store.as_ref(), command, public_url.as_deref(), format).await,
        Command::Audit(args) => audit::run(store.as_ref(), args, format).await,
        Command::Backup(args) => backup::run(store.as_ref(), args).await,
        // Answered above, before the database was opened.
        Command::Completions { .. } | Command::Man => Ok(()),
    };
    store.close().await;
    result
}
