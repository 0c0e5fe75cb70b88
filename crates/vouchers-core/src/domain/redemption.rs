//! When a voucher can be used at checkout, and what it unlocks.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{is_spoofing_char, InvalidInput, TicketType, Voucher};

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
        let trimmed = value.trim();
        let len = trimmed.chars().count();
        if len == 0 || len > Self::MAX_CHARS {
            return Err(InvalidInput::new(
                "order_ref",
                format!("order_ref must be 1 to {} characters, got {len}", Self::MAX_CHARS),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidInput::new("order_ref", "order_ref must not contain control characters"));
        }
        if let Some(bad) = trimmed.chars().find(|c| is_spoofing_char(*c)) {
            return Err(InvalidInput::new(
                "order_ref",
                format!(
                    "order_ref must not contain invisible or text-direction characters, found U+{:04X}",
                    u32::from(bad)
                ),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The reference as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
    /// `times_used` has reached `max_uses`.
    UsedUp,
    /// Before `valid_from`.
    NotYetValid,
    /// After `valid_until`.
    Expired,
}

impl InvalidReason {
    /// The reason as the API and the CLI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::NotFound => "not_found",
            InvalidReason::Mistyped => "mistyped",
            InvalidReason::Inactive => "inactive",
            InvalidReason::UsedUp => "used_up",
            InvalidReason::NotYetValid => "not_yet_valid",
            InvalidReason::Expired => "expired",
        }
    }

    /// The reason spelled `text` ([`InvalidReason::as_str`]), if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::NotFound, Self::Mistyped, Self::Inactive, Self::UsedUp, Self::NotYetValid, Self::Expired]
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }

    /// A sentence for a person at checkout.
    pub fn message(self) -> &'static str {
        match self {
            InvalidReason::NotFound => "no voucher with this code",
            InvalidReason::Mistyped => "check the code for a typo",
            InvalidReason::Inactive => "this voucher has been deactivated",
            InvalidReason::UsedUp => "this voucher has no uses left",
            InvalidReason::NotYetValid => "this voucher is not valid yet",
            InvalidReason::Expired => "this voucher has expired",
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
            Some(InvalidReason::Expired | InvalidReason::NotFound | InvalidReason::Mistyped) => VoucherStatus::Expired,
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

/// `None` when `voucher` can be used at `now`: active, a use left, and `now` inside the validity
/// window (both bounds inclusive). Otherwise the first rule it breaks, in that order.
///
/// The database decides the same in SQL, in one expression (`store::sql::refusal`) that the
/// redemption statements and the status filter share; the store's differential test holds the
/// two to the same answer, reason for reason.
pub fn validity(voucher: &Voucher, now: DateTime<Utc>) -> Option<InvalidReason> {
    if !voucher.is_active {
        Some(InvalidReason::Inactive)
    } else if voucher.times_used >= voucher.max_uses {
        Some(InvalidReason::UsedUp)
    } else if voucher.valid_from.is_some_and(|from| now < from) {
        Some(InvalidReason::NotYetValid)
    } else if voucher.valid_until.is_some_and(|until| now > until) {
        Some(InvalidReason::Expired)
    } else {
        None
    }
}

/// The hidden (`requires_voucher`) ticket types `voucher` reveals: none unless it has
/// `unlocks_hidden_tickets`; then those in its ticket-type set, or all of them when the set is
/// empty. Sorted by slug.
pub fn unlocked_ticket_types(voucher: &Voucher, catalogue: &[TicketType]) -> Vec<String> {
    if !voucher.unlocks_hidden_tickets {
        return Vec::new();
    }
    let mut unlocked: Vec<String> = catalogue
        .iter()
        .filter(|t| t.requires_voucher)
        .filter(|t| voucher.applicable_ticket_types.is_empty() || voucher.applicable_ticket_types.contains(&t.slug))
        .map(|t| t.slug.clone())
        .collect();
    unlocked.sort();
    unlocked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Money, VoucherType};

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
            applicable_ticket_types: vec![],
            applicable_addons: vec![],
            batch_id: None,
            created_at: t,
            recipient: None,
        }
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
        v.applicable_ticket_types = vec!["student".into(), "individual".into()];
        assert_eq!(unlocked_ticket_types(&v, &catalogue), ["student"]);
    }
}
