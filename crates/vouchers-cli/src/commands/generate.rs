//! `vouchers generate`: a batch of unique random codes in one transaction, printed or streamed
//! into a file.

use std::path::PathBuf;

use clap::Args;
use vouchers_core::domain::Voucher;
use vouchers_core::{generate_voucher_codes_with, GenerateOptions, Limits, Store, VoucherBulkConfig};

use super::terms::TermsArgs;
use crate::cli::Format;
use crate::error::CliError;
use crate::output::{self, VoucherFile};

/// The arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Text in front of every code: at most 20 characters of A-Z a-z 0-9 - _ .
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// How many codes (1 to --max-batch); with --recipients, the number of recipients.
    #[arg(long, allow_negative_numbers = true, required_unless_present = "recipients")]
    pub count: Option<i64>,
    /// A CSV file of recipients (columns `email`, `name`, others kept as tags): one code per row,
    /// assigned in the batch's transaction.
    #[arg(long, value_name = "FILE")]
    pub recipients: Option<PathBuf>,
    /// Write the vouchers to FILE instead of stdout, streamed as they are created (CSV or JSON,
    /// from the extension or --format). The file appears only once the batch is committed, with
    /// mode 0600 (codes are secrets); an existing FILE is refused unless --force.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With --output: replace FILE if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
    #[command(flatten)]
    pub terms: TermsArgs,
}

/// Generates the batch and prints it, or writes it to `--output`. `format` is `--format` as
/// given: with `--output` its absence means "from the file's extension".
pub async fn run(
    store: &dyn Store,
    args: GenerateArgs,
    max_batch: i64,
    format: Option<Format>,
) -> Result<(), CliError> {
    let terms = args.terms.terms()?;
    let recipients = args.recipients.as_deref().map(super::assign::recipients_file).transpose()?;
    let count = match (args.count, &recipients) {
        (Some(count), _) => count,
        (None, Some(list)) => i64::try_from(list.len()).unwrap_or(i64::MAX),
        (None, None) => return Err(CliError::Input("--count is required".into())),
    };
    let t = args.terms;
    let config = VoucherBulkConfig {
        conference: t.conference,
        prefix: args.prefix,
        count,
        voucher_type: terms.voucher_type,
        discount_value: terms.discount_value,
        max_uses: t.max_uses,
        valid_from: terms.valid_from,
        valid_until: terms.valid_until,
        unlocks_hidden_tickets: t.unlocks_hidden_tickets,
        applicable_ticket_types: Some(t.ticket_types),
        applicable_addons: Some(t.addons),
    };
    let limits = Limits { max_batch };
    let Some(path) = args.output else {
        let options = GenerateOptions { recipients: recipients.as_ref(), ..GenerateOptions::default() };
        let generated = generate_voucher_codes_with(store, &limits, &config, options).await?.generated;
        let format = format.unwrap_or(Format::Table);
        output::vouchers(&generated.vouchers, format)?;
        if format == Format::Table {
            eprintln!(
                "batch {}: {} vouchers created in conference {}",
                generated.batch.id, generated.batch.count, generated.batch.conference
            );
        }
        return Ok(());
    };

    // Streamed to a file: memory stays flat however large the batch.
    let mut file = VoucherFile::create(&path, VoucherFile::format_for(&path, format)?, args.force, config.count)?;
    let progress = progress_bar(config.count);
    let mut sink = |chunk: &[Voucher]| {
        file.write(chunk)?;
        if let Some(bar) = &progress {
            bar.inc(chunk.len() as u64);
        }
        Ok(())
    };
    let options =
        GenerateOptions { sink: Some(&mut sink), recipients: recipients.as_ref(), ..GenerateOptions::default() };
    let generated = generate_voucher_codes_with(store, &limits, &config, options).await;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let batch = generated?.generated.batch;
    file.persist()?;
    eprintln!(
        "batch {}: {} vouchers created in conference {}, written to {}",
        batch.id,
        batch.count,
        batch.conference,
        path.display()
    );
    Ok(())
}

/// Batches at least this large get a progress bar (about a tenth of a second of work and up).
const PROGRESS_FROM: i64 = 20_000;

/// A progress bar on stderr for large batches; indicatif draws nothing when stderr is not a
/// terminal.
fn progress_bar(count: i64) -> Option<indicatif::ProgressBar> {
    if count < PROGRESS_FROM {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(u64::try_from(count).unwrap_or(0)),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} vouchers, {elapsed} elapsed, {eta} left")
    {
        bar.set_style(style);
    }
    Some(bar)
}
