//! `add`, `generate`, `list` and `show`.

use rust_decimal::Decimal;
use vouchers_core::domain::Voucher;
use vouchers_core::domain::{VoucherType, When};
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::service::generate::generate_voucher_codes_streaming;
use vouchers_core::service::query;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, Limits, Store, VoucherBulkConfig, VoucherError};

use crate::cli::{AddArgs, Format, GenerateArgs, ListArgs, ShowArgs, TermsArgs};
use crate::error::CliError;
use crate::output::{self, VoucherFile};

/// The flags shared by `add` and `generate`, parsed.
struct Terms {
    voucher_type: VoucherType,
    discount_value: Option<Decimal>,
    valid_from: Option<When>,
    valid_until: Option<When>,
}

fn parse_terms(args: &TermsArgs) -> Result<Terms, CliError> {
    Ok(Terms {
        voucher_type: args.voucher_type.parse()?,
        discount_value: args
            .discount
            .as_deref()
            .map(|d| vouchers_core::domain::parse_decimal("discount_value", d))
            .transpose()?,
        valid_from: args.valid_from.as_deref().map(|v| When::parse("valid_from", v)).transpose()?,
        valid_until: args.valid_until.as_deref().map(|v| When::parse("valid_until", v)).transpose()?,
    })
}

pub async fn add(store: &dyn Store, args: AddArgs, format: Format) -> Result<(), CliError> {
    let terms = parse_terms(&args.terms)?;
    let t = args.terms;
    let request = AddVoucher {
        conference: t.conference,
        code: args.code,
        voucher_type: terms.voucher_type,
        discount_value: terms.discount_value,
        max_uses: t.max_uses,
        valid_from: terms.valid_from,
        valid_until: terms.valid_until,
        unlocks_hidden_tickets: t.unlocks_hidden_tickets,
        applicable_ticket_types: t.ticket_types,
        applicable_addons: t.addons,
    };
    let voucher = add_voucher(store, &request).await?;
    output::voucher(&voucher, format)
}

pub async fn generate(
    store: &dyn Store,
    args: GenerateArgs,
    max_batch: i64,
    format: Option<Format>,
) -> Result<(), CliError> {
    let terms = parse_terms(&args.terms)?;
    let t = args.terms;
    let config = VoucherBulkConfig {
        conference: t.conference,
        prefix: args.prefix,
        count: args.count,
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
        let generated = generate_voucher_codes(store, &limits, &config).await?;
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
    let mut file = VoucherFile::create(&path, VoucherFile::format_for(&path, format)?)?;
    let progress = progress_bar(config.count);
    let mut sink = |chunk: &[Voucher]| {
        file.write(chunk).map_err(|e| VoucherError::Sink(e.to_string()))?;
        if let Some(bar) = &progress {
            bar.inc(chunk.len() as u64);
        }
        Ok(())
    };
    let batch = generate_voucher_codes_streaming(store, &limits, &config, &mut sink).await;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let batch = batch?;
    file.finish()?;
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

pub async fn list(store: &dyn Store, args: ListArgs, format: Format) -> Result<(), CliError> {
    let filter = VoucherFilter { prefix: args.prefix, batch_id: args.batch, ..VoucherFilter::default() };
    let vouchers = query::list_vouchers(store, &args.conference, &filter).await?;
    output::vouchers(&vouchers, format)
}

pub async fn show(store: &dyn Store, args: ShowArgs, format: Format) -> Result<(), CliError> {
    let voucher = query::show_voucher(store, &args.conference, &args.code).await?;
    output::voucher(&voucher, format)
}
