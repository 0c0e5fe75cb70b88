//! `vouchers generate`: a batch of unique random codes in one transaction, printed or streamed
//! into a file.

use std::path::PathBuf;

use clap::Args;
use vouchers_core::domain::{Alphabet, Batch, CodeFormat, Guessing, Voucher};
use vouchers_core::{generate_voucher_codes_with, GenerateOptions, Limits, Store, VoucherBulkConfig, VoucherTerms};

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
    /// The random characters' alphabet: `alnum` (A-Z0-9) or `readable` (Crockford's Base32:
    /// 0-9 A-Z without I L O U, typed codes matched with folding: case, O/0, I/L/1, hyphens and
    /// spaces).
    #[arg(long, default_value = Alphabet::default().as_str(), value_parser = alphabet)]
    pub alphabet: Alphabet,
    /// Random characters after the prefix, 6 to 32.
    #[arg(long, default_value_t = i64::from(CodeFormat::DEFAULT_LENGTH), allow_negative_numbers = true)]
    pub length: i64,
    /// Append a check character: a typo in a typed code answers `mistyped` instead of
    /// `not_found`.
    #[arg(long)]
    pub check_char: bool,
    /// Create the batch even if an attacker at the token-wide ceiling could expect to guess a code in less than the floor
    /// (--guessing-floor-days) at --failed-lookups-per-minute.
    #[arg(long)]
    pub allow_weak_codes: bool,
    /// The batch's name for people ("Speakers 2027"), at most 100 characters on one line.
    #[arg(long, default_value = "")]
    pub name: String,
    /// A note on the batch for the team, at most 2,000 characters.
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub terms: TermsArgs,
}

/// Generates the batch and prints it, or writes it to `--output`. `format` is `--format` as
/// given: with `--output` its absence means "from the file's extension".
/// Reads `--alphabet`.
pub fn alphabet(value: &str) -> Result<Alphabet, String> {
    Alphabet::parse(value).map_err(|e| e.message)
}

/// The notes on stderr: what the batch applies to, and how guessable it is.
fn guessing_note(batch: &Batch, guessing: Option<&Guessing>) {
    eprintln!("applies to: {}", batch.applies());
    if let Some(g) = guessing {
        eprintln!("guessing: {}{}", g.sentence(), if g.weak { " (weak codes allowed)" } else { "" });
    }
}

pub async fn run(
    store: &dyn Store,
    args: GenerateArgs,
    limits: &Limits,
    format: Option<Format>,
) -> Result<(), CliError> {
    let terms = VoucherTerms::try_from(&args.terms)?;
    let recipients = args.recipients.as_deref().map(super::assign::recipients_file).transpose()?;
    let count = match (args.count, &recipients) {
        (Some(count), _) => count,
        (None, Some(list)) => i64::try_from(list.len()).unwrap_or(i64::MAX),
        (None, None) => return Err(CliError::Input("--count is required".into())),
    };
    let config = VoucherBulkConfig {
        conference: args.terms.conference,
        prefix: args.prefix,
        count,
        terms,
        alphabet: args.alphabet,
        length: args.length,
        check_char: args.check_char,
        allow_weak_codes: args.allow_weak_codes,
        name: args.name,
        note: args.note,
    };
    let Some(path) = args.output else {
        let options = GenerateOptions { recipients: recipients.as_ref(), ..GenerateOptions::default() };
        let generated = generate_voucher_codes_with(store, limits, &config, options).await?.generated;
        let format = format.unwrap_or(Format::Table);
        output::vouchers(&generated.vouchers, format)?;
        if format == Format::Table {
            eprintln!(
                "batch {}: {} vouchers created in conference {}",
                generated.batch.id, generated.batch.count, generated.batch.conference
            );
            guessing_note(&generated.batch, generated.guessing.as_ref());
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
    let generated = generate_voucher_codes_with(store, limits, &config, options).await;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let generated = generated?.generated;
    let batch = generated.batch;
    file.persist()?;
    eprintln!(
        "batch {}: {} vouchers created in conference {}, written to {}",
        batch.id,
        batch.count,
        batch.conference,
        path.display()
    );
    guessing_note(&batch, generated.guessing.as_ref());
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
