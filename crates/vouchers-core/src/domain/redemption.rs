//! When a voucher can be used at checkout, and what it unlocks.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{is_spoofing_char, qualifies, InvalidInput, Money, PricedLine, TicketType, Voucher};

/// The order a redemption belongs to, as the checkout names it: 1 to 200 characters, no control
/// characters, surrounding whitespace ignored. Redeeming the same order again replays the first
/// answer, so the reference is what makes a retry safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderRef(String);

impl OrderRef {
    /// The longest order reference accepted.
    pub const MAX_CHARS: usize = 200;

    /// Checks an order reference.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        check_reference("order_ref", value).map(Self)
    }

    /// The reference as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A reference the checkout names (`order_ref`, `cart_ref`): 1 to [`OrderRef::MAX_CHARS`]
/// characters, no control, invisible or text-direction characters; trimmed.
pub(crate) fn check_reference(field: &'static str, value: &str) -> Result<String, InvalidInput> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > OrderRef::MAX_CHARS {
        return Err(InvalidInput::new(
            field,
            format!("{field} must be 1 to {} characters, got {len}", OrderRef::MAX_CHARS),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InvalidInput::new(field, format!("{field} must not contain control characters")));
    }
    if let Some(bad) = trimmed.chars().find(|c| is_spoofing_char(*c)) {
        return Err(InvalidInput::new(
            field,
            format!("{field} must not contain invisible or text-direction characters, found U+{:04X}", u32::from(bad)),
        ));
    }
    Ok(trimmed.to_owned())
}

impl fmt::Display for OrderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a code cannot be used right now: the `reason` of a failed check, and the error code of a
/// refused redemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvalidReason {
    /// No voucher with this code in the conference.
    NotFound,
    /// The code has the shape of a check-character batch's codes but a wrong check character.
    Mistyped,
    /// Deactivated by an organizer.
    Inactive,
    /// Before `valid_from`.
    NotYetValid,
    /// After `valid_until`.
    Expired,
    /// The customer holds or redeemed another code of this once-per-customer batch.
    AlreadyUsedByCustomer,
    /// `times_used` has reached `max_uses`.
    UsedUp,
    /// Live holds of other carts take the uses redemptions left.
    Held,
    /// Nothing is left of the voucher's budget.
    BudgetExhausted,
    /// The cart has lines and the voucher applies to none of them: it would give nothing, so it
    /// is not used.
    NotApplicable,
    /// The cart has fewer qualifying items, or a lower qualifying subtotal, than the voucher's
    /// minimum.
    BelowMinimum,
}

impl InvalidReason {
    /// The reason as the API and the CLI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::NotFound => "not_found",
            InvalidReason::Mistyped => "mistyped",
            InvalidReason::Inactive => "inactive",
            InvalidReason::NotYetValid => "not_yet_valid",
            InvalidReason::Expired => "expired",
            InvalidReason::AlreadyUsedByCustomer => "already_used_by_customer",
            InvalidReason::UsedUp => "used_up",
            InvalidReason::Held => "held",
            InvalidReason::BudgetExhausted => "budget_exhausted",
            InvalidReason::NotApplicable => "not_applicable",
            InvalidReason::BelowMinimum => "below_minimum",
        }
    }

    /// Every reason, in the order the rules are judged.
    pub const ALL: [InvalidReason; 11] = [
        Self::NotFound,
        Self::Mistyped,
        Self::Inactive,
        Self::NotYetValid,
        Self::Expired,
        Self::AlreadyUsedByCustomer,
        Self::UsedUp,
        Self::Held,
        Self::BudgetExhausted,
        Self::NotApplicable,
        Self::BelowMinimum,
    ];

    /// The reason spelled `text` ([`InvalidReason::as_str`]), if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == text)
    }

    /// A sentence for a person at checkout.
    pub fn message(self) -> &'static str {
        match self {
            InvalidReason::NotFound => "no voucher with this code",
            InvalidReason::Mistyped => "check the code for a typo",
            InvalidReason::Inactive => "this voucher has been deactivated",
            InvalidReason::NotYetValid => "this voucher is not valid yet",
            InvalidReason::Expired => "this voucher has expired",
            InvalidReason::AlreadyUsedByCustomer => "this customer has already used a code of this batch",
            InvalidReason::UsedUp => "this voucher has no uses left",
            InvalidReason::Held => "every use left is held by other carts; try again when a hold ends",
            InvalidReason::BudgetExhausted => "this voucher's budget is spent",
            InvalidReason::NotApplicable => "this code does not apply to anything in the cart",
            InvalidReason::BelowMinimum => "the cart is below this code's minimum",
        }
    }
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a voucher stands at a moment, as an organizer filters and reads a list: usable
/// (`active`), or the first rule of [`validity`] it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoucherStatus {
    /// Can be redeemed now.
    Active,
    /// Deactivated.
    Inactive,
    /// No use left.
    UsedUp,
    /// Before its window.
    NotYetValid,
    /// After its window.
    Expired,
}

impl VoucherStatus {
    /// Every status, in the order a list offers them.
    pub const ALL: [VoucherStatus; 5] = [
        VoucherStatus::Active,
        VoucherStatus::Inactive,
        VoucherStatus::UsedUp,
        VoucherStatus::Expired,
        VoucherStatus::NotYetValid,
    ];

    /// The voucher's status at `now`.
    pub fn of(voucher: &Voucher, now: DateTime<Utc>) -> Self {
        match validity(voucher, now) {
            None => VoucherStatus::Active,
            Some(InvalidReason::Inactive) => VoucherStatus::Inactive,
            Some(InvalidReason::UsedUp) => VoucherStatus::UsedUp,
            Some(InvalidReason::NotYetValid) => VoucherStatus::NotYetValid,
            // `validity` answers none of the others: they are not the voucher's state.
            Some(InvalidReason::Expired) => VoucherStatus::Expired,
            Some(
                InvalidReason::NotFound
                | InvalidReason::Mistyped
                | InvalidReason::AlreadyUsedByCustomer
                | InvalidReason::Held
                | InvalidReason::BudgetExhausted
                | InvalidReason::NotApplicable
                | InvalidReason::BelowMinimum,
            ) => VoucherStatus::Active,
        }
    }

    /// The name in URLs and the database filter.
    pub fn as_str(self) -> &'static str {
        match self {
            VoucherStatus::Active => "active",
            VoucherStatus::Inactive => "inactive",
            VoucherStatus::UsedUp => "used_up",
            VoucherStatus::NotYetValid => "not_yet_valid",
            VoucherStatus::Expired => "expired",
        }
    }

    /// The name for people.
    pub fn label(self) -> &'static str {
        match self {
            VoucherStatus::Active => "active",
            VoucherStatus::Inactive => "inactive",
            VoucherStatus::UsedUp => "used up",
            VoucherStatus::NotYetValid => "not yet valid",
            VoucherStatus::Expired => "expired",
        }
    }

    /// Parses [`VoucherStatus::as_str`].
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        Self::ALL.into_iter().find(|s| s.as_str() == value).ok_or_else(|| {
            InvalidInput::new(
                "status",
                format!(
                    "status must be one of active, inactive, used_up, expired, not_yet_valid, got {}",
                    super::quoted(value)
                ),
            )
        })
    }
}

/// `None` when `voucher` can be used at `now`: active, `now` inside the validity window (both
/// bounds inclusive), and a use left. Otherwise the first rule it breaks, in that order (the order
/// of [`crate::domain::judge_use`], which adds the rules that need more than the voucher row).
///
/// The database decides the same in SQL, in one expression (`store::sql::refusal`) that the
/// redemption statements and the status filter share; the store's differential test holds the
/// two to the same answer, reason for reason.
pub fn validity(voucher: &Voucher, now: DateTime<Utc>) -> Option<InvalidReason> {
    standing(voucher, now).or_else(|| (voucher.times_used >= voucher.max_uses).then_some(InvalidReason::UsedUp))
}

/// The voucher's own rules before any count: inactive, then the window.
pub(crate) fn standing(voucher: &Voucher, now: DateTime<Utc>) -> Option<InvalidReason> {
    if !voucher.is_active {
        Some(InvalidReason::Inactive)
    } else if voucher.valid_from.is_some_and(|from| now < from) {
        Some(InvalidReason::NotYetValid)
    } else if voucher.valid_until.is_some_and(|until| now > until) {
        Some(InvalidReason::Expired)
    } else {
        None
    }
}

/// A cart rule a cart breaks, and what it means for the person at checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartRefusal {
    /// The rule: [`InvalidReason::NotApplicable`] or [`InvalidReason::BelowMinimum`].
    pub reason: InvalidReason,
    /// What is wrong, in words ("add 2 more qualifying items").
    pub message: String,
}

/// `None` when a cart of these priced `lines` may use `voucher`; otherwise the cart rule it
/// breaks, judged after [`validity`], in this order:
///
/// - lines, none of which the voucher applies to: [`InvalidReason::NotApplicable`] (the code would
///   give nothing, so it is not used);
/// - fewer qualifying items than `min_quantity`, or a qualifying subtotal below `min_subtotal`:
///   [`InvalidReason::BelowMinimum`], saying what is missing.
///
/// A cart with no lines breaks none (a code checked before the cart is filled). The one place
/// these rules are decided: check, redeem and the faces all ask it.
pub fn cart_refusal(voucher: &Voucher, lines: &[PricedLine]) -> Option<CartRefusal> {
    if lines.is_empty() {
        return None;
    }
    let qualifying =
        lines.iter().filter(|l| qualifies(&l.item, &voucher.applicable_ticket_types, &voucher.applicable_addons));
    let (items, cents) = qualifying.fold((0i64, 0i64), |(items, cents), line| {
        (items.saturating_add(i64::from(line.quantity)), cents.saturating_add(line.line_total.cents()))
    });
    let refuse = |reason: InvalidReason, message: String| Some(CartRefusal { reason, message });
    if items == 0 {
        return refuse(InvalidReason::NotApplicable, InvalidReason::NotApplicable.message().to_owned());
    }
    if items < voucher.min_quantity {
        let missing = voucher.min_quantity - items;
        let noun = if missing == 1 { "item" } else { "items" };
        let message =
            format!("add {missing} more qualifying {noun} to use this code (it needs {})", voucher.min_quantity);
        return refuse(InvalidReason::BelowMinimum, message);
    }
    match voucher.min_subtotal {
        Some(minimum) if cents < minimum.cents() => {
            let message = format!("qualifying subtotal {} is below the minimum {minimum}", Money::from_cents(cents));
            refuse(InvalidReason::BelowMinimum, message)
        }
        _ => None,
    }
}

/// The hidden (`requires_voucher`) ticket types `voucher` reveals: none unless it has
/// `unlocks_hidden_tickets`; then those it applies to (all of them when it applies to every
/// ticket type, none when to none). Sorted by slug.
pub fn unlocked_ticket_types(voucher: &Voucher, catalogue: &[TicketType]) -> Vec<String> {
    if !voucher.unlocks_hidden_tickets {
        return Vec::new();
    }
    let mut unlocked: Vec<String> = catalogue
        .iter()
        .filter(|t| t.requires_voucher)
        .filter(|t| voucher.applicable_ticket_types.contains(&t.slug))
        .map(|t| t.slug.clone())
        .collect();
    unlocked.sort();
    unlocked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LineItem, Money, VoucherType};

    fn voucher() -> Voucher {
        let t = DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        Voucher {
            id: 1,
            conference: "c".into(),
            code: "X".into(),
            voucher_type: VoucherType::Comp,
            discount_value: Money::ZERO,
            max_uses: 2,
            times_used: 0,
            valid_from: None,
            valid_until: None,
            unlocks_hidden_tickets: false,
            is_active: true,
            applicable_ticket_types: vec![].into(),
            applicable_addons: vec![].into(),
            batch_id: None,
            created_at: t,
            recipient: None,
            min_quantity: 1,
            min_subtotal: None,
            uses_held: 0,
            budget: None,
            budget_used: Money::ZERO,
            once_per_customer: false,
        }
    }

    fn line(item: LineItem, quantity: u32, unit: i64) -> PricedLine {
        let total = Money::from_cents(unit * i64::from(quantity));
        PricedLine {
            item,
            quantity,
            unit_price: Money::from_cents(unit),
            line_total: total,
            discount: Money::ZERO,
            total,
        }
    }

    /// The cart rules, in order: nothing qualifies, then too few items, then too low a subtotal;
    /// an empty cart breaks none.
    #[test]
    fn cart_rules_say_what_is_missing() {
        let mut v = voucher();
        v.applicable_ticket_types = vec!["student".into()].into();
        let student = |n| line(LineItem::TicketType("student".into()), n, 10_000);
        let individual = line(LineItem::TicketType("individual".into()), 3, 40_000);
        let tshirt = line(LineItem::AddOn("tshirt".into()), 1, 2_500);
        assert_eq!(cart_refusal(&v, &[]), None);
        let refused = cart_refusal(&v, std::slice::from_ref(&individual)).unwrap();
        assert_eq!(refused.reason, InvalidReason::NotApplicable);
        assert_eq!(refused.message, "this code does not apply to anything in the cart");
        // Every add-on qualifies (the add-on set is empty): the T-shirt alone applies.
        assert_eq!(cart_refusal(&v, &[individual.clone(), tshirt.clone()]), None);

        v.min_quantity = 3;
        let refused = cart_refusal(&v, &[student(1), individual.clone()]).unwrap();
        assert_eq!(
            (refused.reason, refused.message.as_str()),
            (InvalidReason::BelowMinimum, "add 2 more qualifying items to use this code (it needs 3)")
        );
        let refused = cart_refusal(&v, &[student(1), tshirt.clone()]).unwrap();
        assert_eq!(refused.message, "add 1 more qualifying item to use this code (it needs 3)");
        assert_eq!(cart_refusal(&v, &[student(2), tshirt.clone()]), None);

        v.min_subtotal = Some(Money::from_cents(30_000));
        let refused = cart_refusal(&v, &[student(2), tshirt.clone(), individual]).unwrap();
        assert_eq!(refused.reason, InvalidReason::BelowMinimum);
        assert_eq!(refused.message, "qualifying subtotal 225.00 is below the minimum 300.00");
        assert_eq!(cart_refusal(&v, &[student(3)]), None, "300.00 reaches the minimum");
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn window_bounds_are_inclusive() {
        let mut v = voucher();
        v.valid_from = Some(at("2027-05-01T00:00:00Z"));
        v.valid_until = Some(at("2027-05-31T23:59:59Z"));
        assert_eq!(validity(&v, at("2027-04-30T23:59:59.999999Z")), Some(InvalidReason::NotYetValid));
        assert_eq!(validity(&v, at("2027-05-01T00:00:00Z")), None);
        assert_eq!(validity(&v, at("2027-05-31T23:59:59Z")), None);
        assert_eq!(validity(&v, at("2027-05-31T23:59:59.000001Z")), Some(InvalidReason::Expired));
    }

    #[test]
    fn rules_in_order() {
        let now = at("2027-05-10T00:00:00Z");
        let mut v = voucher();
        assert_eq!(validity(&v, now), None);
        v.times_used = 2;
        assert_eq!(validity(&v, now), Some(InvalidReason::UsedUp));
        v.valid_until = Some(at("2027-05-01T00:00:00Z"));
        assert_eq!(validity(&v, now), Some(InvalidReason::Expired), "the window is judged before the uses");
        v.is_active = false;
        assert_eq!(validity(&v, now), Some(InvalidReason::Inactive));
    }

    #[test]
    fn unlocking() {
        let tt = |slug: &str, hidden: bool| TicketType {
            id: 0,
            conference: "c".into(),
            slug: slug.into(),
            name: slug.into(),
            price: Money::ZERO,
            requires_voucher: hidden,
            is_active: true,
        };
        let catalogue = [tt("student", true), tt("individual", false), tt("speaker", true)];
        let mut v = voucher();
        assert!(unlocked_ticket_types(&v, &catalogue).is_empty());
        v.unlocks_hidden_tickets = true;
        assert_eq!(unlocked_ticket_types(&v, &catalogue), ["speaker", "student"]);
        v.applicable_ticket_types = vec!["student".into(), "individual".into()].into();
        assert_eq!(unlocked_ticket_types(&v, &catalogue), ["student"]);
    }
}
