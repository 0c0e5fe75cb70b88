//! `check`, `redeem`, `release` and `usage`: what a checkout and an organizer's report need.
//! JSON output is the same JSON the HTTP API answers.

use chrono::{SubsecRound, Utc};
use vouchers_core::domain::{InvalidInput, LineItem};
use vouchers_core::service::checkout::{self, CartLine, UsageCounts};
use vouchers_core::Store;

use crate::cli::{CartArgs, CheckArgs, Format, RedeemArgs, ReleaseArgs, UsageArgs};
use crate::error::CliError;
use crate::output;

/// `SLUG` or `SLUG=QUANTITY` (quantity 1 to 10,000).
fn cart_line(flag: &'static str, value: &str, item: fn(String) -> LineItem) -> Result<CartLine, CliError> {
    let (slug, quantity) = match value.split_once('=') {
        Some((slug, qty)) => (slug, qty.trim().parse::<u32>().ok().filter(|q| (1..=10_000).contains(q))),
        None => (value, Some(1)),
    };
    let quantity = quantity.ok_or_else(|| {
        InvalidInput::new(flag, format!("the quantity in {value:?} must be a whole number from 1 to 10000"))
    })?;
    Ok(CartLine { item: item(slug.trim().to_owned()), quantity })
}

fn cart(args: &CartArgs) -> Result<Vec<CartLine>, CliError> {
    let tickets = args.ticket_types.iter().map(|v| cart_line("lines", v, LineItem::TicketType));
    let addons = args.addons.iter().map(|v| cart_line("lines", v, LineItem::AddOn));
    tickets.chain(addons).collect()
}

pub async fn check(store: &dyn Store, args: CheckArgs, format: Format) -> Result<(), CliError> {
    let lines = cart(&args.cart)?;
    let result =
        checkout::check_voucher(store, &args.conference, &args.code, &lines, Utc::now().trunc_subsecs(6)).await?;
    if format == Format::Json {
        return output::json(&result);
    }
    match result.reason {
        None => println!("valid"),
        Some(reason) => println!("not valid: {} ({})", reason.message(), reason.as_str()),
    }
    if !result.unlocked_ticket_types.is_empty() {
        println!("unlocks: {}", result.unlocked_ticket_types.join(", "));
    }
    if !result.pricing.lines.is_empty() {
        let p = &result.pricing;
        println!("subtotal {}, discount {}, total {}", p.subtotal, p.discount, p.total);
    }
    Ok(())
}

pub async fn redeem(store: &dyn Store, args: RedeemArgs, format: Format) -> Result<(), CliError> {
    let lines = cart(&args.cart)?;
    let lines = (!lines.is_empty()).then_some(lines);
    let now = Utc::now().trunc_subsecs(6);
    let redemption =
        checkout::redeem_voucher(store, &args.conference, &args.code, &args.order_ref, lines.as_deref(), now).await?;
    if format == Format::Json {
        return output::json(&redemption.response);
    }
    let r = &redemption.response;
    println!(
        "redeemed {} for order {}: {} of {} uses taken{}",
        r["voucher"]["code"].as_str().unwrap_or_default(),
        r["order_ref"].as_str().unwrap_or_default(),
        r["voucher"]["times_used"],
        r["voucher"]["max_uses"],
        if redemption.replayed { " (this order was redeemed before; nothing more consumed)" } else { "" }
    );
    if let Some(total) = r["pricing"]["total"].as_str() {
        println!("discount {}, total {total}", r["pricing"]["discount"].as_str().unwrap_or_default());
    }
    Ok(())
}

pub async fn release(store: &dyn Store, args: ReleaseArgs, format: Format) -> Result<(), CliError> {
    let now = Utc::now().trunc_subsecs(6);
    let release = checkout::release_voucher(store, &args.conference, &args.code, &args.order_ref, now).await?;
    if format == Format::Json {
        return output::json(&release);
    }
    let v = &release.voucher;
    if release.released {
        println!("released: {} has {} of {} uses taken", v.code, v.times_used, v.max_uses);
    } else {
        println!("nothing to release: order {} holds no use of {}", args.order_ref, v.code);
    }
    Ok(())
}

pub async fn usage(store: &dyn Store, args: UsageArgs, format: Format) -> Result<(), CliError> {
    let report = checkout::usage_report(store, &args.conference).await?;
    if format == Format::Json {
        return output::json(&report);
    }
    let counts = |c: &UsageCounts| {
        vec![
            c.issued.to_string(),
            c.active.to_string(),
            c.fully_used.to_string(),
            c.uses_consumed.to_string(),
            c.uses_left.to_string(),
        ]
    };
    let header = ["batch", "prefix", "issued", "active", "fully_used", "uses_consumed", "uses_left"];
    let mut rows: Vec<Vec<String>> = report
        .batches
        .iter()
        .map(|b| {
            let mut row = vec![
                b.batch_id.map_or_else(|| "by hand".to_owned(), |id| id.to_string()),
                b.prefix.clone().unwrap_or_else(|| "-".to_owned()),
            ];
            row.extend(counts(&b.counts));
            row
        })
        .collect();
    for p in &report.prefixes {
        let label = match &p.prefix {
            Some(_) => format!("prefix total ({} batches)", p.batches),
            None => "by hand total".to_owned(),
        };
        let mut row = vec![label, p.prefix.clone().unwrap_or_else(|| "-".to_owned())];
        row.extend(counts(&p.counts));
        rows.push(row);
    }
    let mut total = vec!["total".to_owned(), String::new()];
    total.extend(counts(&report.total));
    rows.push(total);
    if format == Format::Csv {
        return output::csv(&header, &rows);
    }
    Ok(output::table(&header, &rows)?)
}
