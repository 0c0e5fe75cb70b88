//! Checkout: check a code (validity, what it unlocks, priced lines), redeem it for an order,
//! release an order's use, and the usage report.
//!
//! Every rule a race could break is decided by the database inside one transaction: a use is
//! consumed by one conditional UPDATE (active, a use left, inside the window), and an order's
//! redemption is claimed through a unique index before the use is consumed, so concurrent
//! retries of one order wait for the first and replay its answer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    cart_refusal, price, unlocked_ticket_types, validity, CartRefusal, CodeFormat, Conference, DiscountSpec, Guessing,
    GuessingPolicy, InvalidInput, InvalidReason, LineItem, Money, OrderRef, PriceLine, Pricing, Quantity, Voucher,
    VoucherCode,
};
pub use crate::store::CheckoutView;
use crate::store::{AuditEntry, CheckoutKey, NewRedemption, RedeemOutcome, Store, UsageRow};
use crate::VoucherError;

use super::catalog::conference;

/// A line of a cart as the checkout sends it: a ticket type or an add-on, and a quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    /// What is bought.
    pub item: LineItem,
    /// How many.
    pub quantity: Quantity,
}

/// The answer to a check: valid or not and why, what the code unlocks, the priced cart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResult {
    /// The code can be redeemed now.
    pub valid: bool,
    /// Why not (`null` when valid).
    pub reason: Option<InvalidReason>,
    /// Why not, in words for the person at checkout ("add 2 more qualifying items"; `null` when
    /// valid).
    pub message: Option<String>,
    /// The voucher (`null` when no voucher has this code).
    pub voucher: Option<Voucher>,
    /// Hidden ticket types the voucher reveals (none unless valid).
    pub unlocked_ticket_types: Vec<String>,
    /// The cart priced with the voucher's discount (no discount unless valid).
    pub pricing: Pricing,
}

/// What a redemption answers: `{"redeemed": true, "order_ref", "voucher", "pricing"}`. The first
/// answer for an order is stored with it and replayed, field for field, on every retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Redeemed {
    /// Always true.
    pub redeemed: bool,
    /// The order.
    pub order_ref: String,
    /// The voucher just after this redemption.
    pub voucher: Voucher,
    /// The cart priced, when a cart was given.
    pub pricing: Option<Pricing>,
}

/// A redemption's answer, and whether it is a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Redemption {
    /// The answer: the first one for this order.
    pub answer: Redeemed,
    /// True when this is a retry answered from the stored first answer (nothing consumed).
    pub replayed: bool,
}

/// The answer to a release.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Release {
    /// True when a use was given back; false when the order had no unreleased redemption.
    pub released: bool,
    /// The voucher after the release.
    pub voucher: Voucher,
}

/// Counts of one group of vouchers (a batch, a prefix, or the whole conference).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageCounts {
    /// Vouchers issued.
    pub issued: i64,
    /// Of those, active.
    pub active: i64,
    /// With no use left.
    pub fully_used: i64,
    /// Uses consumed.
    pub uses_consumed: i64,
    /// Uses left on active vouchers.
    pub uses_left: i64,
}

impl UsageCounts {
    /// Adds a batch's counts; sums saturate at `i64::MAX` instead of overflowing.
    fn add(&mut self, row: &UsageRow) {
        self.issued = self.issued.saturating_add(row.issued);
        self.active = self.active.saturating_add(row.active);
        self.fully_used = self.fully_used.saturating_add(row.fully_used);
        self.uses_consumed = self.uses_consumed.saturating_add(row.uses_consumed);
        self.uses_left = self.uses_left.saturating_add(row.uses_left);
    }
}

/// Usage of one batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchUsage {
    /// The batch (`null`: vouchers added by hand).
    pub batch_id: Option<i64>,
    /// Its prefix (`null` for vouchers added by hand).
    pub prefix: Option<String>,
    /// Its counts.
    #[serde(flatten)]
    pub counts: UsageCounts,
    /// How its codes look (`null` for vouchers added by hand and imported batches: chosen codes).
    pub format: Option<CodeFormat>,
    /// How guessable its codes are now, with every active code of the conference sharing their
    /// prefix and format (`null` where there is no format).
    pub guessing: Option<Guessing>,
}

/// Usage of all batches sharing a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrefixUsage {
    /// The prefix (`null` for vouchers added by hand).
    pub prefix: Option<String>,
    /// Batches with this prefix (0 for the vouchers added by hand).
    pub batches: usize,
    /// Their counts.
    #[serde(flatten)]
    pub counts: UsageCounts,
}

/// The usage report of a conference.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageReport {
    /// The conference's slug.
    pub conference: String,
    /// Per batch, in creation order (vouchers added by hand first, as `batch_id: null`).
    pub batches: Vec<BatchUsage>,
    /// Per prefix, sorted.
    pub prefixes: Vec<PrefixUsage>,
    /// The whole conference.
    pub total: UsageCounts,
}

/// Prices `lines` at the catalogue's prices. A hidden ticket type is refused unless `unlocked`
/// holds it.
fn price_cart(
    view: &CheckoutView,
    conference: &Conference,
    lines: &[CartLine],
    discount: Option<&Voucher>,
    unlocked: &[String],
) -> Result<Pricing, VoucherError> {
    let mut priced = Vec::with_capacity(lines.len());
    for line in lines {
        let unit_price = match &line.item {
            LineItem::TicketType(slug) => {
                let t = view.ticket_types.iter().find(|t| &t.slug == slug).ok_or_else(|| {
                    VoucherError::UnknownTicketType {
                        field: "lines",
                        conference: conference.slug.clone(),
                        slug: slug.clone(),
                    }
                })?;
                if t.requires_voucher && !unlocked.contains(slug) {
                    return Err(InvalidInput::new(
                        "lines",
                        format!("lines: ticket type {slug:?} is hidden and this code does not unlock it"),
                    )
                    .into());
                }
                t.price
            }
            LineItem::AddOn(slug) => {
                view.addons
                    .iter()
                    .find(|a| &a.slug == slug)
                    .ok_or_else(|| VoucherError::UnknownAddon {
                        field: "lines",
                        conference: conference.slug.clone(),
                        slug: slug.clone(),
                    })?
                    .price
            }
        };
        priced.push(PriceLine { item: line.item.clone(), quantity: line.quantity.get(), unit_price });
    }
    let (spec, ticket_set, addon_set): (DiscountSpec, &[String], &[String]) = match discount {
        Some(v) => (
            DiscountSpec::from_stored(v.voucher_type, v.discount_value.amount()),
            &v.applicable_ticket_types,
            &v.applicable_addons,
        ),
        // No usable voucher: the cart at full price.
        None => (DiscountSpec::FixedAmount(Money::ZERO), &[], &[]),
    };
    Ok(price(spec, ticket_set, addon_set, &priced)?)
}

/// Reads everything a check, redeem or release of `code` needs, in one round trip: the token
/// whose secret hashes to `token_hash` ([`super::tokens::token_hash`]; `None` for the command
/// line), the conference, the voucher as a person typed its
/// code (ignoring ASCII case and surrounding whitespace) with its restriction sets, the
/// catalogue when the voucher exists, and, with `failures_since`, the token's failed lookups from
/// that client address since that instant.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn look_up(
    store: &dyn Store,
    token_hash: Option<&str>,
    conference_slug: &str,
    code: &str,
    failures_since: Option<(&str, DateTime<Utc>)>,
) -> Result<CheckoutView, VoucherError> {
    // A text not even shaped like a code matches no voucher; the read still finds the token and
    // the conference.
    let code = VoucherCode::parse_lookup(code).map(|c| c.as_str().to_owned()).unwrap_or_default();
    let key = CheckoutKey { token_hash, conference: conference_slug, code: &code, failures_since };
    let mut view = store.checkout_view(&key).await?;
    // An unknown code shaped like a check-character batch's codes but with a wrong check: a typo.
    // Decided from the batches' formats alone; the database is never searched for a code close to
    // it, so the answer tells a guesser nothing more than `not_found` does.
    if let (None, Some(conference)) = (&view.voucher, &view.conference) {
        if !code.is_empty() {
            let formats = store.check_formats(conference.id).await?;
            view.mistyped = formats.iter().any(|(prefix, format)| format.mistyped(prefix, &code));
        }
    }
    Ok(view)
}

/// The conference a [`look_up`] found, or the error of a slug that names none.
pub fn conference_of(view: &CheckoutView, conference_slug: &str) -> Result<Conference, VoucherError> {
    view.conference.clone().ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))
}

/// Checks a code at `now`: validity and reason, unlocked ticket types, and the cart priced with
/// the voucher's discount when it is valid (at full price when the voucher exists but cannot be
/// used). An unknown code answers `not_found` with no priced lines, whatever the cart holds.
/// Writes nothing.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn check_voucher(
    store: &dyn Store,
    conference_slug: &str,
    code: &str,
    lines: &[CartLine],
    now: DateTime<Utc>,
) -> Result<CheckResult, VoucherError> {
    let view = look_up(store, None, conference_slug, code, None).await?;
    check_found(&view, &conference_of(&view, conference_slug)?, lines, now)
}

/// [`check_voucher`] on what a [`look_up`] found in `conference`.
pub fn check_found(
    view: &CheckoutView,
    conference: &Conference,
    lines: &[CartLine],
    now: DateTime<Utc>,
) -> Result<CheckResult, VoucherError> {
    // Whether the code exists is decided before the cart is judged: an unknown code answers
    // `not_found` whatever the cart holds (a hidden ticket type, a slug that does not exist), so
    // the cart can never tell a guesser apart a real code from an unknown one, and the guessing
    // limit counts every unknown code. Its cart is not priced.
    let Some(voucher) = &view.voucher else {
        let reason = if view.mistyped { InvalidReason::Mistyped } else { InvalidReason::NotFound };
        return Ok(CheckResult {
            valid: false,
            reason: Some(reason),
            message: Some(reason.message().to_owned()),
            voucher: None,
            unlocked_ticket_types: Vec::new(),
            pricing: Pricing::default(),
        });
    };
    let mut refusal = validity(voucher, now).map(|reason| CartRefusal { reason, message: reason.message().to_owned() });
    let mut unlocked = match refusal {
        None => unlocked_ticket_types(voucher, &view.ticket_types),
        Some(_) => Vec::new(),
    };
    let usable = Some(voucher).filter(|_| refusal.is_none());
    let mut pricing = price_cart(view, conference, lines, usable, &unlocked)?;
    if refusal.is_none() {
        // The cart rules, on the priced cart: a refused cart is priced again at full price (its
        // hidden ticket types still allowed: the code reveals them), and the answer unlocks
        // nothing.
        refusal = cart_refusal(voucher, &pricing.lines);
        if refusal.is_some() {
            pricing = price_cart(view, conference, lines, None, &unlocked)?;
            unlocked.clear();
        }
    }
    Ok(CheckResult {
        valid: refusal.is_none(),
        reason: refusal.as_ref().map(|r| r.reason),
        message: refusal.map(|r| r.message),
        voucher: Some(voucher.clone()),
        unlocked_ticket_types: unlocked,
        pricing,
    })
}

/// Redeems `code` for `order_ref` at `now`, consuming one use. The same order again returns the
/// first answer and consumes nothing. A voucher that cannot be used answers
/// [`VoucherError::NotRedeemable`] with the reason, and nothing changes.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn redeem_voucher(
    store: &dyn Store,
    conference_slug: &str,
    code: &str,
    order: &OrderRef,
    lines: Option<&[CartLine]>,
    now: DateTime<Utc>,
) -> Result<Redemption, VoucherError> {
    let view = look_up(store, None, conference_slug, code, None).await?;
    redeem_found(store, &view, &conference_of(&view, conference_slug)?, code, order, lines, now).await
}

fn not_found(conference: &Conference, code: &str) -> VoucherError {
    VoucherError::VoucherNotFound { conference: conference.slug.clone(), code: code.trim().to_owned() }
}

/// The error for a code the read did not find: mistyped or not found.
fn missing(view: &CheckoutView, conference: &Conference, code: &str) -> VoucherError {
    if view.mistyped {
        VoucherError::Mistyped { conference: conference.slug.clone(), code: code.trim().to_owned() }
    } else {
        not_found(conference, code)
    }
}

/// [`redeem_voucher`] of what a [`look_up`] of `code` found in `conference`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference.slug))]
pub async fn redeem_found(
    store: &dyn Store,
    view: &CheckoutView,
    conference: &Conference,
    code: &str,
    order: &OrderRef,
    lines: Option<&[CartLine]>,
    now: DateTime<Utc>,
) -> Result<Redemption, VoucherError> {
    let voucher = view.voucher.clone().ok_or_else(|| missing(view, conference, code))?;
    // Priced from the catalogue the read found, before the transaction.
    let pricing = match lines {
        Some(lines) => {
            let unlocked = unlocked_ticket_types(&voucher, &view.ticket_types);
            Some(price_cart(view, conference, lines, Some(&voucher), &unlocked)?)
        }
        None => None,
    };
    // A cart the voucher gives nothing to never reaches the redemption: nothing is consumed. Its
    // lines were checked first (an unknown slug is bad input); a rule judged before the cart
    // (inactive, used up, the window) answers first, as `check` does.
    if let Some(cart) = pricing.as_ref().and_then(|pricing| cart_refusal(&voucher, &pricing.lines)) {
        let (reason, detail) = match validity(&voucher, now) {
            Some(reason) => (reason, None),
            None => (cart.reason, Some(cart.message)),
        };
        return Err(VoucherError::NotRedeemable { code: voucher.code, reason, detail });
    }

    let mut redeemed = voucher;
    redeemed.times_used += 1;
    let answer = Redeemed { redeemed: true, order_ref: order.as_str().to_owned(), voucher: redeemed, pricing };
    let stored = serde_json::to_string(&answer).map_err(VoucherError::StoredAnswer)?;
    let times_used = serde_json::json!({"old": answer.voucher.times_used - 1, "new": answer.voucher.times_used});
    let changes = serde_json::json!({"order_ref": order.as_str(), "times_used": times_used});
    let audit = AuditEntry {
        at: super::now(),
        conference_id: Some(conference.id),
        action: "voucher.redeem",
        target: &answer.voucher.code,
        changes: &changes,
    };
    let new = NewRedemption { voucher_id: answer.voucher.id, order_ref: order.as_str(), response: &stored, now, audit };

    match store.redeem(&new).await? {
        RedeemOutcome::Redeemed => {}
        RedeemOutcome::Replay(response) => {
            let answer = serde_json::from_str(&response).map_err(VoucherError::StoredAnswer)?;
            return Ok(Redemption { answer, replayed: true });
        }
        RedeemOutcome::Refused(reason) => {
            // Nothing was written; the statement said why.
            return Err(VoucherError::NotRedeemable { code: answer.voucher.code.clone(), reason, detail: None });
        }
    }
    Ok(Redemption { answer, replayed: false })
}

/// Gives back the use an order consumed, once. Releasing twice, or an order never redeemed,
/// changes nothing and answers `released: false`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn release_voucher(
    store: &dyn Store,
    conference_slug: &str,
    code: &str,
    order: &OrderRef,
    now: DateTime<Utc>,
) -> Result<Release, VoucherError> {
    let view = look_up(store, None, conference_slug, code, None).await?;
    release_found(store, &view, &conference_of(&view, conference_slug)?, code, order, now).await
}

/// [`release_voucher`] of what a [`look_up`] of `code` found in `conference`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference.slug))]
pub async fn release_found(
    store: &dyn Store,
    view: &CheckoutView,
    conference: &Conference,
    code: &str,
    order: &OrderRef,
    now: DateTime<Utc>,
) -> Result<Release, VoucherError> {
    let voucher = view.voucher.as_ref().ok_or_else(|| missing(view, conference, code))?;
    let mut tx = store.begin().await?;
    let released = tx.release_redemption(voucher.id, order.as_str(), now).await?;
    if released {
        let changes = serde_json::json!({"order_ref": order.as_str()});
        super::audit(tx.as_mut(), Some(conference.id), "voucher.release", &voucher.code, changes).await?;
    }
    tx.commit().await?;
    let voucher = store.voucher_by_code(conference, &voucher.code).await?.ok_or_else(|| not_found(conference, code))?;
    Ok(Release { released, voucher })
}

/// Per batch and per prefix: vouchers issued, active, fully used, uses consumed and left; per
/// batch, its format and its current guessing figure under `policy`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn usage_report(
    store: &dyn Store,
    conference_slug: &str,
    policy: &GuessingPolicy,
) -> Result<UsageReport, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    let rows = store.usage(&conference).await?;
    let mut total = UsageCounts::default();
    let mut prefixes: BTreeMap<Option<String>, (usize, UsageCounts)> = BTreeMap::new();
    let mut batches = Vec::with_capacity(rows.len());
    for row in &rows {
        total.add(row);
        let entry = prefixes.entry(row.prefix.clone()).or_default();
        entry.0 += usize::from(row.batch_id.is_some());
        entry.1.add(row);
        let mut counts = UsageCounts::default();
        counts.add(row);
        let format = super::guessing::row_format(row);
        let guessing = format.map(|format| {
            let active = super::guessing::active_like(&rows, row.prefix.as_deref().unwrap_or_default(), &format);
            Guessing::of(&format, active, policy)
        });
        batches.push(BatchUsage { batch_id: row.batch_id, prefix: row.prefix.clone(), counts, format, guessing });
    }
    let prefixes =
        prefixes.into_iter().map(|(prefix, (batches, counts))| PrefixUsage { prefix, batches, counts }).collect();
    Ok(UsageReport { conference: conference.slug, batches, prefixes, total })
}
