//! One module per subcommand: parse the flags into a request, call the use case, render.

mod catalog;
mod checkout;
pub mod serve;
pub mod token;
mod vouchers;

use std::sync::Arc;

use anyhow::Context;
use vouchers_core::store::{connect, Store};

use crate::cli::{Cli, Command, Format};
use crate::error::CliError;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let url = cli.database.clone();
    let store: Arc<dyn Store> =
        connect(&url).await.with_context(|| format!("opening the database {url}")).map_err(CliError::Failure)?;
    let format = cli.format.unwrap_or(Format::Table);
    let result = match cli.command {
        Command::Conference(command) => catalog::conference(store.as_ref(), command, format).await,
        Command::TicketType(command) => catalog::ticket_type(store.as_ref(), command, format).await,
        Command::Addon(command) => catalog::addon(store.as_ref(), command, format).await,
        Command::Add(args) => vouchers::add(store.as_ref(), args, format).await,
        Command::Generate(args) => vouchers::generate(store.as_ref(), args, cli.max_batch, cli.format).await,
        Command::List(args) => vouchers::list(store.as_ref(), args, format).await,
        Command::Show(args) => vouchers::show(store.as_ref(), args, format).await,
        Command::Check(args) => checkout::check(store.as_ref(), args, format).await,
        Command::Redeem(args) => checkout::redeem(store.as_ref(), args, format).await,
        Command::Release(args) => checkout::release(store.as_ref(), args, format).await,
        Command::Usage(args) => checkout::usage(store.as_ref(), args, format).await,
        Command::Serve(args) => serve::run(Arc::clone(&store), args, cli.max_batch).await,
        Command::Token(command) => token::run(store.as_ref(), command, format).await,
    };
    store.close().await;
    result
}
