//! `vouchers import`: codes chosen elsewhere, from a CSV file with the export's columns, as one
//! new batch in one transaction.

use std::path::PathBuf;

use clap::Args;
use vouchers_core::service::import;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// A CSV file with the export's columns (`code` and `voucher_type` required; `id`,
    /// `conference`, `batch_id` and `created_at` are ignored).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Imports the file and says what was created.
pub async fn run(store: &dyn Store, args: ImportArgs, format: Format) -> Result<(), CliError> {
    let file = std::fs::File::open(&args.file)
        .map_err(|e| CliError::Input(format!("FILE: {} cannot be read: {e}", args.file.display())))?;
    let imported = import::import_vouchers(store, &args.conference, std::io::BufReader::new(file)).await?;
    if format == Format::Json {
        return output::json(&imported);
    }
    eprintln!(
        "batch {}: {} vouchers imported into conference {} ({} assigned to a recipient)",
        imported.batch.id, imported.imported, imported.batch.conference, imported.assigned
    );
    Ok(())
}
