//! Checkout: check a code (validity, what it unlocks, priced lines), hold a use for an open cart
//! (and extend or drop the hold), redeem it for an order, release an order's use, and the usage
//! report.
//!
//! Every rule a race could break is decided once, on what the database holds at the moment of the
//! write, by [`judge_use`]. A voucher with no live hold, no budget and not once per customer is
//! redeemed by one statement: the order's redemption is claimed through a unique index, then a
//! use is consumed only if the voucher row, locked, still allows it (concurrent retries of one
//! order wait for the first and replay its answer). Every other hold or redemption claims the
//! order, locks the voucher row, reads its holds, budget and customer claims after the lock,
//! judges, and writes, in one transaction; a customer's second code of a scope is refused by a
//! primary key.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    cart_refusal, judge_use, price, unlocked_ticket_types, Applies, CartRef, CodeFormat, Conference, Customer,
    DiscountSpec, EventType, Guessing, GuessingPolicy, HoldSeconds, InvalidInput, InvalidReason, LineItem, Money,
    OrderRef, PriceLine, Pricing, Quantity, Refusal, UseState, Voucher, VoucherCode,
};
pub use crate::store::CheckoutView;
use crate::store::{
    AuditEntry, CheckoutKey, CustomerClaim, LockedVoucher, NewEvent, NewHold, NewRedemption, OrderClaim, RedeemOutcome,
    Store, UsageRow, UseTaken,
};
use crate::VoucherError;

use super::catalog::conference;
use super::webhooks::{self, VoucherData};

/// The `data` of a `voucher.redeemed` event.
#[derive(Serialize)]
struct RedeemedData<'a> {
    voucher: &'a Voucher,
    order_ref: &'a str,
    cart_ref: Option<&'a str>,
    pricing: Option<&'a Pricing>,
}

/// The `data` of a `voucher.held` event.
#[derive(Serialize)]
struct HeldData<'a> {
    voucher: &'a Voucher,
    cart_ref: &'a str,
    #[serde(serialize_with = "crate::domain::rfc3339_ser")]
    expires_at: DateTime<Utc>,
    pricing: Option<&'a Pricing>,
}

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
    /// Of those, uses kept by carts' live holds now.
    pub uses_held: i64,
}

impl UsageCounts {
    /// Adds a batch's counts; sums saturate at `i64::MAX` instead of overflowing.
    fn add(&mut self, row: &UsageRow) {
        self.issued = self.issued.saturating_add(row.issued);
        self.active = self.active.saturating_add(row.active);
        self.fully_used = self.fully_used.saturating_add(row.fully_used);
        self.uses_consumed = self.uses_consumed.saturating_add(row.uses_consumed);
        self.uses_left = self.uses_left.saturating_add(row.uses_left);
        self.uses_held = self.uses_held.saturating_add(row.uses_held);
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
                        suggestion: crate::domain::closest(slug, view.ticket_types.iter().map(|t| t.slug.as_str()))
                            .map(str::to_owned),
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
                        suggestion: crate::domain::closest(slug, view.addons.iter().map(|a| a.slug.as_str()))
                            .map(str::to_owned),
                    })?
                    .price
            }
        };
        priced.push(PriceLine { item: line.item.clone(), quantity: line.quantity.get(), unit_price });
    }
    const ALL: Applies = Applies::All;
    let (spec, ticket_set, addon_set) = match discount {
        Some(v) => (
            DiscountSpec::from_stored(v.voucher_type, v.discount_value.amount()),
            &v.applicable_ticket_types,
            &v.applicable_addons,
        ),
        // No usable voucher: the cart at full price.
        None => (DiscountSpec::FixedAmount(Money::ZERO), &ALL, &ALL),
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
    // A voucher that may have live holds: read them (a second, small query only then).
    if let (Some(voucher), Some(until)) = (view.voucher.as_mut(), view.holds_until) {
        let now = super::now();
        if until > now {
            view.holds = store.live_holds(voucher.id, now).await?;
            voucher.uses_held = view.holds.other_holds;
        }
    }
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
    let unlocked = unlocked_ticket_types(voucher, &view.ticket_types);
    let pricing = price_cart(view, conference, lines, Some(voucher), &unlocked)?;
    let cart = (!lines.is_empty()).then_some(pricing.lines.as_slice());
    match judge_use(voucher, &view.holds, cart, pricing.discount, now) {
        Ok(grant) => Ok(CheckResult {
            valid: true,
            reason: None,
            message: None,
            voucher: Some(voucher.clone()),
            unlocked_ticket_types: unlocked,
            pricing: pricing.capped(grant.discount),
        }),
        Err(refusal) => {
            // The cart at full price. A cart the rules refuse may still hold the hidden ticket
            // types the code reveals; a code that cannot be used now reveals none. Either way the
            // answer unlocks nothing.
            let reveals = matches!(refusal.reason, InvalidReason::NotApplicable | InvalidReason::BelowMinimum);
            let pricing = price_cart(view, conference, lines, None, if reveals { &unlocked } else { &[] })?;
            Ok(CheckResult {
                valid: false,
                reason: Some(refusal.reason),
                message: Some(refusal.message),
                voucher: Some(voucher.clone()),
                unlocked_ticket_types: Vec::new(),
                pricing,
            })
        }
    }
}

/// What a hold or redemption says besides the code: the cart it belongs to (a redemption
/// converts that cart's live hold) and the customer (required by a once-per-customer voucher).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UseOptions {
    /// The cart (`cart_ref`).
    pub cart_ref: Option<CartRef>,
    /// The customer (`customer_email`).
    pub customer: Option<Customer>,
}

/// What a hold answers: `{"held": true, "cart_ref", "expires_at", "voucher", "pricing"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Held {
    /// Always true.
    pub held: bool,
    /// The cart.
    pub cart_ref: String,
    /// When the hold ends unless converted, released or extended; a repeat never moves it.
    #[serde(serialize_with = "crate::domain::rfc3339_ser")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: DateTime<Utc>,
    /// The voucher with this hold counted.
    pub voucher: Voucher,
    /// The cart priced, when a cart was given (`null` for an extension).
    pub pricing: Option<Pricing>,
}

/// Which use a release gives back: an order's redemption, or a cart's live hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Releasing {
    /// `order_ref`.
    Order(OrderRef),
    /// `cart_ref`.
    Cart(CartRef),
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
    with: &UseOptions,
    now: DateTime<Utc>,
) -> Result<Redemption, VoucherError> {
    let view = look_up(store, None, conference_slug, code, None).await?;
    redeem_found(store, &view, &conference_of(&view, conference_slug)?, code, order, lines, with, now).await
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

fn refused(voucher: &Voucher, refusal: Refusal) -> VoucherError {
    let detail = (refusal.message != refusal.reason.message()).then_some(refusal.message);
    VoucherError::NotRedeemable {
        code: voucher.code.clone(),
        reason: refusal.reason,
        detail,
        retry_at: refusal.retry_at,
    }
}

/// The customer claim a once-per-customer voucher needs: refused without `customer_email`.
fn customer_of<'a>(
    voucher: &Voucher,
    with: &'a UseOptions,
    scope: &'a str,
) -> Result<Option<CustomerClaim<'a>>, VoucherError> {
    if !voucher.once_per_customer {
        return Ok(None);
    }
    let customer = with.customer.as_ref().ok_or_else(|| {
        let message = format!(
            "customer_email is required: voucher {} may be used once per customer",
            crate::domain::quoted(&voucher.code)
        );
        InvalidInput::new("customer_email", message)
    })?;
    Ok(Some(CustomerClaim { scope, customer: customer.as_str() }))
}

/// The refusal of a voucher with a budget used without its cart: its discount, which the budget
/// counts, would be unknown.
fn cart_required(voucher: &Voucher) -> VoucherError {
    let message = format!(
        "lines are required: voucher {} has a budget, so its discount is counted from the cart",
        crate::domain::quoted(&voucher.code)
    );
    InvalidInput::new("lines", message).into()
}

/// The priced cart of `lines` with the voucher's discount (hidden ticket types it reveals
/// allowed). A voucher with a budget needs the cart: its discount is what the budget counts.
fn priced(
    view: &CheckoutView,
    conference: &Conference,
    voucher: &Voucher,
    lines: Option<&[CartLine]>,
    converting: bool,
) -> Result<Option<Pricing>, VoucherError> {
    if voucher.budget.is_some() && lines.is_none_or(<[CartLine]>::is_empty) && !converting {
        return Err(cart_required(voucher));
    }
    let unlocked = unlocked_ticket_types(voucher, &view.ticket_types);
    lines.map(|lines| price_cart(view, conference, lines, Some(voucher), &unlocked)).transpose()
}

/// Locks the voucher for a hold or redemption and reads its use state after the lock
/// ([`crate::store::StoreTx::lock_use`]); a voucher deleted since the read is not found.
async fn lock_use(
    tx: &mut dyn crate::store::StoreTx,
    voucher: &Voucher,
    conference: &Conference,
    cart_ref: Option<&str>,
    customer: Option<CustomerClaim<'_>>,
    now: DateTime<Utc>,
) -> Result<(LockedVoucher, UseState), VoucherError> {
    tx.lock_use(voucher.id, cart_ref, customer, now).await?.ok_or_else(|| not_found(conference, &voucher.code))
}

/// The voucher as the lock found it.
fn refreshed(voucher: &Voucher, locked: LockedVoucher, state: &UseState) -> Voucher {
    Voucher {
        is_active: locked.is_active,
        max_uses: locked.max_uses,
        times_used: locked.times_used,
        valid_from: locked.valid_from,
        valid_until: locked.valid_until,
        budget: locked.budget,
        budget_used: locked.budget_used,
        uses_held: state.other_holds + i64::from(state.own_hold.is_some()),
        ..voucher.clone()
    }
}

/// [`redeem_voucher`] of what a [`look_up`] of `code` found in `conference`.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference.slug))]
pub async fn redeem_found(
    store: &dyn Store,
    view: &CheckoutView,
    conference: &Conference,
    code: &str,
    order: &OrderRef,
    lines: Option<&[CartLine]>,
    with: &UseOptions,
    now: DateTime<Utc>,
) -> Result<Redemption, VoucherError> {
    let voucher = view.voucher.clone().ok_or_else(|| missing(view, conference, code))?;
    let scope = Customer::scope(&voucher);
    customer_of(&voucher, with, &scope)?;
    // Priced from the catalogue the read found, before the writes.
    let pricing = priced(view, conference, &voucher, lines, with.cart_ref.is_some())?;
    if with.cart_ref.is_none() && voucher.budget.is_none() && !voucher.once_per_customer {
        // `None`: a rule appeared since the read (a hold, a budget); the locked path judges it.
        if let Some(redemption) = redeem_at_once(store, &voucher, conference, order, pricing.clone(), now).await? {
            return Ok(redemption);
        }
    }
    redeem_locked(store, &voucher, conference, order, pricing, with, now).await
}

/// The redemption as one statement, for a voucher whose rules its row decides (no live hold, no
/// budget, not once per customer): the cart's verdict goes into the statement, which judges it
/// after the voucher's own rules. `None` when the statement found the voucher needs the lock.
async fn redeem_at_once(
    store: &dyn Store,
    voucher: &Voucher,
    conference: &Conference,
    order: &OrderRef,
    pricing: Option<Pricing>,
    now: DateTime<Utc>,
) -> Result<Option<Redemption>, VoucherError> {
    let cart = pricing.as_ref().and_then(|pricing| cart_refusal(voucher, &pricing.lines));
    let mut redeemed = voucher.clone();
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
    let data = RedeemedData {
        voucher: &answer.voucher,
        order_ref: order.as_str(),
        cart_ref: None,
        pricing: answer.pricing.as_ref(),
    };
    let (event_id, body) = webhooks::event_body(&conference.slug, EventType::VoucherRedeemed, &data, now)?;
    // The statement writes the count of uses it left (a concurrent redemption may have taken one
    // since the read).
    let body = webhooks::with_times_used_placeholder(&body, answer.voucher.times_used);
    let event = NewEvent {
        conference_id: conference.id,
        event_id: &event_id,
        event_type: EventType::VoucherRedeemed,
        body: &body,
        now,
    };
    let new = NewRedemption {
        voucher_id: answer.voucher.id,
        order_ref: order.as_str(),
        response: &stored,
        now,
        audit,
        cart_refusal: cart.as_ref().map(|c| c.reason),
        event: Some(event),
        discount: answer.pricing.as_ref().map_or(crate::domain::Money::ZERO, |p| p.discount),
    };
    match store.redeem(&new).await? {
        RedeemOutcome::Redeemed => Ok(Some(Redemption { answer, replayed: false })),
        RedeemOutcome::Replay(response) => {
            let answer = serde_json::from_str(&response).map_err(VoucherError::StoredAnswer)?;
            Ok(Some(Redemption { answer, replayed: true }))
        }
        RedeemOutcome::NeedsLock => Ok(None),
        // Nothing was written; the statement said why (the cart's own words for a cart rule).
        RedeemOutcome::Refused(reason) => {
            let message = match cart {
                Some(cart) if cart.reason == reason => cart.message,
                _ => reason.message().to_owned(),
            };
            Err(refused(voucher, Refusal { reason, message, retry_at: None }))
        }
    }
}

/// The redemption in a transaction that claims the order, locks the voucher, reads its holds,
/// budget and customers as of after the lock, judges once ([`judge_use`]) and writes: a cart's
/// live hold is converted; otherwise a free use is taken.
async fn redeem_locked(
    store: &dyn Store,
    voucher: &Voucher,
    conference: &Conference,
    order: &OrderRef,
    pricing: Option<Pricing>,
    with: &UseOptions,
    now: DateTime<Utc>,
) -> Result<Redemption, VoucherError> {
    let scope = Customer::scope(voucher);
    let customer = customer_of(voucher, with, &scope)?;
    let cart_ref = with.cart_ref.as_ref().map(CartRef::as_str);
    let mut tx = store.begin().await?;
    let redemption_id = match tx.claim_order(voucher.id, order.as_str(), now).await? {
        OrderClaim::Claimed(id) => id,
        OrderClaim::Replay(response) => {
            let answer = serde_json::from_str(&response).map_err(VoucherError::StoredAnswer)?;
            return Ok(Redemption { answer, replayed: true });
        }
    };
    let (locked, state) = lock_use(tx.as_mut(), voucher, conference, cart_ref, customer, now).await?;
    let mut current = refreshed(voucher, locked, &state);
    // A cart reference with no live hold is a plain redemption: a budget still needs the cart.
    if current.budget.is_some() && pricing.is_none() && state.own_hold.is_none() {
        return Err(cart_required(&current));
    }
    // Converting a hold without a cart: the discount it reserved.
    let discount = match (&pricing, state.own_hold) {
        (Some(pricing), _) => pricing.discount,
        (None, Some(hold)) => hold.discount,
        (None, None) => Money::ZERO,
    };
    let cart = pricing.as_ref().map(|p| p.lines.as_slice());
    let grant = judge_use(&current, &state, cart, discount, now).map_err(|refusal| refused(voucher, refusal))?;
    let pricing = pricing.map(|p| p.capped(grant.discount));
    let given = if current.budget.is_some() { grant.discount } else { Money::ZERO };
    let old = current.times_used;
    current.times_used += 1;
    current.uses_held = state.other_holds;
    current.budget_used = Money::from_cents(current.budget_used.cents() + given.cents());
    let answer = Redeemed { redeemed: true, order_ref: order.as_str().to_owned(), voucher: current, pricing };
    let stored = serde_json::to_string(&answer).map_err(VoucherError::StoredAnswer)?;
    let converted = state.own_hold.map(|hold| hold.id);
    let taken = UseTaken {
        voucher_id: voucher.id,
        redemption_id,
        response: &stored,
        discount: given,
        hold_id: converted,
        customer: customer.filter(|_| converted.is_none()),
        now,
    };
    if !tx.take_use(&taken).await? {
        return Err(refused(voucher, Refusal::of_reason(InvalidReason::AlreadyUsedByCustomer)));
    }
    let mut changes = serde_json::json!({"order_ref": order.as_str(), "times_used": {"old": old, "new": old + 1}});
    if let (Some(cart_ref), Some(_)) = (cart_ref, converted) {
        changes["converted_hold"] = cart_ref.into();
    }
    if voucher.budget.is_some() {
        changes["discount"] = given.to_string().into();
    }
    super::audit(tx.as_mut(), Some(conference.id), "voucher.redeem", &voucher.code, changes).await?;
    let data = RedeemedData {
        voucher: &answer.voucher,
        order_ref: order.as_str(),
        cart_ref,
        pricing: answer.pricing.as_ref(),
    };
    webhooks::emit(tx.as_mut(), (conference.id, &conference.slug), EventType::VoucherRedeemed, &data, now).await?;
    if answer.voucher.budget.is_some_and(|budget| answer.voucher.budget_used >= budget) && given > Money::ZERO {
        let data = VoucherData { voucher: &answer.voucher, order_ref: Some(order.as_str()), cart_ref: None };
        webhooks::emit(tx.as_mut(), (conference.id, &conference.slug), EventType::BudgetExhausted, &data, now).await?;
    }
    tx.commit().await?;
    Ok(Redemption { answer, replayed: false })
}

/// [`hold_found`] after a [`look_up`] of `code`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn hold_voucher(
    store: &dyn Store,
    conference_slug: &str,
    code: &str,
    lines: Option<&[CartLine]>,
    ttl: Option<HoldSeconds>,
    with: &UseOptions,
    now: DateTime<Utc>,
) -> Result<Held, VoucherError> {
    let view = look_up(store, None, conference_slug, code, None).await?;
    hold_found(store, &view, &conference_of(&view, conference_slug)?, code, lines, ttl, with, now).await
}

/// [`extend_hold_found`] after a [`look_up`] of `code`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn extend_hold(
    store: &dyn Store,
    conference_slug: &str,
    code: &str,
    cart_ref: &CartRef,
    ttl: HoldSeconds,
    now: DateTime<Utc>,
) -> Result<Held, VoucherError> {
    let view = look_up(store, None, conference_slug, code, None).await?;
    extend_hold_found(store, &view, &conference_of(&view, conference_slug)?, code, cart_ref, ttl, now).await
}

/// Holds one use of `code` for the cart at `now`, until `ttl` (the conference's hold time when
/// `None`) has passed. The same cart again while its hold is live answers the same hold (the same
/// `expires_at`) with the cart priced anew. Judged once under the voucher's lock
/// ([`judge_use`]); a refusal writes nothing.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference.slug))]
pub async fn hold_found(
    store: &dyn Store,
    view: &CheckoutView,
    conference: &Conference,
    code: &str,
    lines: Option<&[CartLine]>,
    ttl: Option<HoldSeconds>,
    with: &UseOptions,
    now: DateTime<Utc>,
) -> Result<Held, VoucherError> {
    let voucher = view.voucher.clone().ok_or_else(|| missing(view, conference, code))?;
    let cart_ref = with.cart_ref.as_ref().ok_or_else(|| InvalidInput::new("cart_ref", "cart_ref is required"))?;
    let scope = Customer::scope(&voucher);
    let customer = customer_of(&voucher, with, &scope)?;
    let pricing = priced(view, conference, &voucher, lines, false)?;
    let ttl = match ttl {
        Some(ttl) => ttl,
        None => HoldSeconds::new("hold_seconds", conference.hold_seconds)?,
    };
    let mut tx = store.begin().await?;
    let (locked, state) = lock_use(tx.as_mut(), &voucher, conference, Some(cart_ref.as_str()), customer, now).await?;
    let mut current = refreshed(&voucher, locked, &state);
    let discount = pricing.as_ref().map_or(Money::ZERO, |p| p.discount);
    let cart = pricing.as_ref().map(|p| p.lines.as_slice());
    let grant = judge_use(&current, &state, cart, discount, now).map_err(|refusal| refused(&voucher, refusal))?;
    let pricing = pricing.map(|p| p.capped(grant.discount));
    let reserved = if current.budget.is_some() { grant.discount } else { Money::ZERO };
    let expires_at = match state.own_hold {
        Some(hold) => {
            tx.change_hold(voucher.id, hold.id, hold.expires_at, reserved).await?;
            hold.expires_at
        }
        None => {
            let expires_at = ttl.after(now);
            let hold = NewHold {
                voucher_id: voucher.id,
                cart_ref: cart_ref.as_str(),
                now,
                expires_at,
                discount: reserved,
                customer,
            };
            if tx.put_hold(&hold).await?.is_none() {
                return Err(refused(&voucher, Refusal::of_reason(InvalidReason::AlreadyUsedByCustomer)));
            }
            let changes = serde_json::json!({"cart_ref": cart_ref.as_str(), "expires_at": crate::domain::format_rfc3339(&expires_at)});
            super::audit(tx.as_mut(), Some(conference.id), "voucher.hold", &voucher.code, changes).await?;
            current.uses_held += 1;
            let data =
                HeldData { voucher: &current, cart_ref: cart_ref.as_str(), expires_at, pricing: pricing.as_ref() };
            webhooks::emit(tx.as_mut(), (conference.id, &conference.slug), EventType::VoucherHeld, &data, now).await?;
            expires_at
        }
    };
    tx.commit().await?;
    Ok(Held { held: true, cart_ref: cart_ref.as_str().to_owned(), expires_at, voucher: current, pricing })
}

/// Moves the end of the cart's live hold to `now + ttl` (earlier or later); nothing else
/// changes. [`VoucherError::HoldNotFound`] when the cart holds no live hold of the voucher.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference.slug))]
pub async fn extend_hold_found(
    store: &dyn Store,
    view: &CheckoutView,
    conference: &Conference,
    code: &str,
    cart_ref: &CartRef,
    ttl: HoldSeconds,
    now: DateTime<Utc>,
) -> Result<Held, VoucherError> {
    let voucher = view.voucher.clone().ok_or_else(|| missing(view, conference, code))?;
    let mut tx = store.begin().await?;
    let (locked, state) = lock_use(tx.as_mut(), &voucher, conference, Some(cart_ref.as_str()), None, now).await?;
    let hold = state.own_hold.ok_or_else(|| VoucherError::HoldNotFound {
        code: voucher.code.clone(),
        cart_ref: cart_ref.as_str().to_owned(),
    })?;
    let expires_at = ttl.after(now);
    tx.change_hold(voucher.id, hold.id, expires_at, hold.discount).await?;
    let changes = serde_json::json!({
        "cart_ref": cart_ref.as_str(),
        "expires_at": {"old": crate::domain::format_rfc3339(&hold.expires_at), "new": crate::domain::format_rfc3339(&expires_at)},
    });
    super::audit(tx.as_mut(), Some(conference.id), "voucher.hold_extend", &voucher.code, changes).await?;
    tx.commit().await?;
    let current = refreshed(&voucher, locked, &state);
    Ok(Held { held: true, cart_ref: cart_ref.as_str().to_owned(), expires_at, voucher: current, pricing: None })
}

/// Gives back the use an order consumed, or the use a cart's live hold keeps, once. Releasing
/// twice, or an order never redeemed, or a cart with no live hold, changes nothing and answers
/// `released: false`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn release_voucher(
    store: &dyn Store,
    conference_slug: &str,
    code: &str,
    what: &Releasing,
    now: DateTime<Utc>,
) -> Result<Release, VoucherError> {
    let view = look_up(store, None, conference_slug, code, None).await?;
    release_found(store, &view, &conference_of(&view, conference_slug)?, code, what, now).await
}

/// [`release_voucher`] of what a [`look_up`] of `code` found in `conference`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference.slug))]
pub async fn release_found(
    store: &dyn Store,
    view: &CheckoutView,
    conference: &Conference,
    code: &str,
    what: &Releasing,
    now: DateTime<Utc>,
) -> Result<Release, VoucherError> {
    let voucher = view.voucher.as_ref().ok_or_else(|| missing(view, conference, code))?;
    let mut tx = store.begin().await?;
    let released = match what {
        Releasing::Order(order) => {
            let released = tx.release_redemption(voucher.id, order.as_str(), now).await?;
            if released {
                let changes = serde_json::json!({"order_ref": order.as_str()});
                super::audit(tx.as_mut(), Some(conference.id), "voucher.release", &voucher.code, changes).await?;
            }
            released.then_some((EventType::VoucherReleased, Some(order.as_str()), None))
        }
        Releasing::Cart(cart) => {
            let (_, state) = lock_use(tx.as_mut(), voucher, conference, Some(cart.as_str()), None, now).await?;
            match state.own_hold {
                Some(hold) => {
                    tx.drop_hold(hold.id).await?;
                    let changes = serde_json::json!({"cart_ref": cart.as_str()});
                    super::audit(tx.as_mut(), Some(conference.id), "voucher.hold_release", &voucher.code, changes)
                        .await?;
                    Some((EventType::VoucherHoldReleased, None, Some(cart.as_str())))
                }
                None => None,
            }
        }
    };
    let current = tx.voucher(conference, voucher.id).await?.ok_or_else(|| not_found(conference, code))?;
    if let Some((event, order_ref, cart_ref)) = released {
        let data = VoucherData { voucher: &current, order_ref, cart_ref };
        webhooks::emit(tx.as_mut(), (conference.id, &conference.slug), event, &data, now).await?;
    }
    tx.commit().await?;
    Ok(Release { released: released.is_some(), voucher: current })
}

/// How long an ended hold stays in the database before `serve` deletes it. It stopped counting
/// when it ended; the day keeps it visible to someone looking into a complaint.
pub const HOLDS_KEPT_AFTER_END: chrono::Duration = chrono::Duration::days(1);

/// Deletes holds that ended more than [`HOLDS_KEPT_AFTER_END`] before `now`; returns how many.
pub async fn prune_holds(store: &dyn Store, now: DateTime<Utc>) -> Result<u64, VoucherError> {
    Ok(store.prune_holds(now - HOLDS_KEPT_AFTER_END).await?)
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
