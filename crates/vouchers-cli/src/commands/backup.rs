//! `vouchers backup FILE`: a consistent copy of the embedded SQLite database, taken while
//! `serve` keeps taking writes. A PostgreSQL database is backed up with `pg_dump`.

use std::path::PathBuf;

use clap::Args;
use vouchers_core::service::backup;
use vouchers_core::Store;

use crate::error::CliError;

/// The arguments of `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new file to write (it must not exist). Restore by pointing --database at it, or by
    /// copying it over the database file while nothing runs.
    pub file: PathBuf,
}

/// Writes the copy.
pub async fn run(store: &dyn Store, args: BackupArgs) -> Result<(), CliError> {
    backup::backup(store, &args.file).await?;
    eprintln!("backup written to {}", args.file.display());
    Ok(())
}
