//! `add`, `generate`, `list` and `show`.

use rust_decimal::Decimal;
use vouchers_core::domain::{VoucherType, When};
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::service::query;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, Limits, Store, VoucherBulkConfig};

use crate::cli::{AddArgs, Format, GenerateArgs, ListArgs, ShowArgs, TermsArgs};
use crate::error::CliError;
use crate::output;

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

pub async fn generate(store: &dyn Store, args: GenerateArgs, max_batch: i64, format: Format) -> Result<(), CliError> {
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
    let generated = generate_voucher_codes(store, &Limits { max_batch }, &config).await?;
    output::vouchers(&generated.vouchers, format)?;
    if format == Format::Table {
        eprintln!(
            "batch {}: {} vouchers created in conference {}",
            generated.batch.id, generated.batch.count, generated.batch.conference
        );
    }
    Ok(())
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
