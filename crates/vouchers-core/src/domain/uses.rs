//! Who may take a use of a voucher now: holds for open carts, the budget, once per customer, and
//! the order in which every rule is judged ([`judge_use`], the one place).

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use super::{cart_refusal, check_reference, Email, InvalidInput, InvalidReason, Money, PricedLine, Voucher};

/// The cart a hold belongs to, as the checkout names it: the rules of an order reference (1 to
/// 200 characters, no control or invisible characters, surrounding whitespace ignored).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CartRef(String);

impl CartRef {
    /// Checks a cart reference.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        check_reference("cart_ref", value).map(Self)
    }

    /// The reference as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CartRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer as once-per-customer compares them: the email address lower-cased, with a
/// `+suffix` of its local part removed (`Ana+pycon@X.org` is `ana@x.org`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Customer(String);

impl Customer {
    /// Checks `customer_email` and reduces it to the customer it names.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        let email = Email::parse("customer_email", value)?;
        let (local, domain) = email.as_str().rsplit_once('@').unwrap_or((email.as_str(), ""));
        let local = local.split_once('+').map_or(local, |(head, _)| head);
        if local.is_empty() {
            let message = "customer_email must have a local part before any +suffix, like name+tag@example.org";
            return Err(InvalidInput::new("customer_email", message));
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The customer as compared and stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where a voucher's once-per-customer rule reaches: its batch, or the voucher alone.
    pub fn scope(voucher: &Voucher) -> String {
        match voucher.batch_id {
            Some(batch) => format!("batch:{batch}"),
            None => format!("voucher:{}", voucher.id),
        }
    }
}

/// A voucher's budget: the most discount all its redemptions may give together, more than 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget(Money);

impl Budget {
    /// Checks a budget (an amount with at most 2 decimals, more than 0).
    pub fn parse(value: rust_decimal::Decimal) -> Result<Self, InvalidInput> {
        let money = Money::parse("budget", value)?;
        if money.cents() == 0 {
            return Err(InvalidInput::new("budget", "budget must be more than 0 (leave it out for no budget)"));
        }
        Ok(Self(money))
    }

    /// The amount.
    pub fn get(self) -> Money {
        self.0
    }
}

/// How long a hold lasts: 1 second to 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HoldSeconds(i64);

impl HoldSeconds {
    /// A conference's hold time when none was set: 30 minutes.
    pub const DEFAULT: HoldSeconds = HoldSeconds(1800);
    /// The longest hold: 7 days.
    pub const MAX: i64 = 604_800;

    /// Checks a hold time for `field` (`ttl_seconds`, `hold_seconds`).
    pub fn new(field: &'static str, value: i64) -> Result<Self, InvalidInput> {
        if !(1..=Self::MAX).contains(&value) {
            return Err(InvalidInput::new(field, format!("{field} must be from 1 to {}, got {value}", Self::MAX)));
        }
        Ok(Self(value))
    }

    /// The seconds.
    pub fn get(self) -> i64 {
        self.0
    }

    /// Reads a hold time typed in minutes (a form's "Hold time (minutes)"): whole minutes (`30`)
    /// or minutes and seconds (`1:30`), from 0:01 to 10080 (7 days). The one place minutes
    /// become seconds; [`HoldSeconds::minutes_text`] is its inverse.
    pub fn parse_minutes(field: &'static str, text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        let bad = || {
            InvalidInput::new(
                field,
                format!(
                    "{field} must be whole minutes such as 30, or minutes:seconds such as 1:30, from 0:01 to {} \
                     (7 days), got {}",
                    Self::MAX / 60,
                    super::quoted(text)
                ),
            )
        };
        let digits = |t: &str, most: usize| {
            (!t.is_empty() && t.len() <= most && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse::<i64>().ok())
        };
        let (minutes, seconds) = match text.split_once(':') {
            None => (digits(text, 6).flatten().ok_or_else(bad)?, 0),
            Some((m, s)) if s.len() == 2 => {
                (digits(m, 6).flatten().ok_or_else(bad)?, digits(s, 2).flatten().filter(|s| *s < 60).ok_or_else(bad)?)
            }
            Some(_) => return Err(bad()),
        };
        Self::new(field, minutes * 60 + seconds).map_err(|_| bad())
    }

    /// This time as [`HoldSeconds::parse_minutes`] reads it: `30` for 1800 seconds, `1:30` for 90.
    pub fn minutes_text(self) -> String {
        match self.0 % 60 {
            0 => (self.0 / 60).to_string(),
            seconds => format!("{}:{seconds:02}", self.0 / 60),
        }
    }

    /// `now` plus this time.
    pub fn after(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::seconds(self.0)
    }
}

/// A live hold of the cart asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnHold {
    /// Its id.
    pub id: i64,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The discount it reserves.
    pub discount: Money,
}

/// What the database holds about a voucher's uses at one instant, besides the voucher row: read
/// under the voucher's lock for a hold or a redemption, or as the checkout read found it for a
/// check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UseState {
    /// Live holds of other carts.
    pub other_holds: i64,
    /// When the first of them ends.
    pub other_holds_end: Option<DateTime<Utc>>,
    /// The discount they reserve.
    pub other_reserved: Money,
    /// The asking cart's live hold.
    pub own_hold: Option<OwnHold>,
    /// The customer holds or redeemed another code of the voucher's once-per-customer scope.
    pub customer_taken: bool,
}

/// A use granted: the discount it gives, capped by the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The discount given (the cart's, or what is left of the budget when that is less).
    pub discount: Money,
    /// The budget cut the discount.
    pub capped: bool,
}

/// A use refused: the rule, in words, and when a hold that takes the last use ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule broken.
    pub reason: InvalidReason,
    /// What it means for the person at checkout.
    pub message: String,
    /// For [`InvalidReason::Held`]: when the first hold that takes the uses ends.
    pub retry_at: Option<DateTime<Utc>>,
}

impl Refusal {
    /// The reason, in its own words.
    pub fn of_reason(reason: InvalidReason) -> Self {
        Self { reason, message: reason.message().to_owned(), retry_at: None }
    }
}

/// Whether the voucher, in `state`, may give a use to a cart of these priced `lines` (`None`: no
/// cart given) whose discount is `discount`, at `now`. The rules, judged in this order, the first
/// broken one answering:
///
/// 1. `inactive`, `not_yet_valid`, `expired` (the voucher itself);
/// 2. `already_used_by_customer` (another code of its once-per-customer scope);
/// 3. `used_up` (redemptions took every use), `held` (live holds of other carts take the rest);
///    neither for a cart that holds a use already;
/// 4. `budget_exhausted`: nothing left of the budget once unreleased redemptions and other carts'
///    live holds are counted;
/// 5. `not_applicable`, `below_minimum`: the cart rules ([`cart_refusal`]).
///
/// The granted discount is capped at what is left of the budget. Check, hold and redeem all ask
/// this; a hold and a redemption ask it on what they read under the voucher's lock.
pub fn judge_use(
    voucher: &Voucher,
    state: &UseState,
    lines: Option<&[PricedLine]>,
    discount: Money,
    now: DateTime<Utc>,
) -> Result<Grant, Refusal> {
    if let Some(reason) = super::redemption::standing(voucher, now) {
        return Err(Refusal::of_reason(reason));
    }
    if state.customer_taken {
        return Err(Refusal::of_reason(InvalidReason::AlreadyUsedByCustomer));
    }
    if state.own_hold.is_none() {
        if voucher.times_used >= voucher.max_uses {
            return Err(Refusal::of_reason(InvalidReason::UsedUp));
        }
        if voucher.times_used.saturating_add(state.other_holds) >= voucher.max_uses {
            return Err(Refusal { retry_at: state.other_holds_end, ..Refusal::of_reason(InvalidReason::Held) });
        }
    }
    let left = voucher.budget.map(|budget| budget.cents() - voucher.budget_used.cents() - state.other_reserved.cents());
    if left.is_some_and(|left| left <= 0) {
        return Err(Refusal::of_reason(InvalidReason::BudgetExhausted));
    }
    if let Some(cart) = lines.and_then(|lines| cart_refusal(voucher, lines)) {
        return Err(Refusal { reason: cart.reason, message: cart.message, retry_at: None });
    }
    Ok(match left {
        Some(left) if left < discount.cents() => Grant { discount: Money::from_cents(left), capped: true },
        _ => Grant { discount, capped: false },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Applies, LineItem, VoucherType};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn voucher() -> Voucher {
        Voucher {
            id: 7,
            conference: "c".into(),
            code: "X".into(),
            voucher_type: VoucherType::Percentage,
            discount_value: Money::from_cents(2_500),
            max_uses: 2,
            times_used: 0,
            valid_from: None,
            valid_until: None,
            unlocks_hidden_tickets: false,
            is_active: true,
            applicable_ticket_types: vec!["student".into()].into(),
            applicable_addons: vec![].into(),
            batch_id: None,
            created_at: at("2027-01-01T00:00:00Z"),
            recipient: None,
            min_quantity: 1,
            min_subtotal: None,
            uses_held: 0,
            budget: None,
            budget_used: Money::ZERO,
            once_per_customer: false,
        }
    }

    fn individual() -> PricedLine {
        let total = Money::from_cents(40_000);
        let item = LineItem::TicketType("individual".into());
        PricedLine { item, quantity: 1, unit_price: total, line_total: total, discount: Money::ZERO, total }
    }

    #[test]
    fn customers_compare_without_case_and_plus_suffix() {
        let ana = Customer::parse(" Ana+pycon@X.org ").unwrap();
        assert_eq!(ana.as_str(), "ana@x.org");
        assert_eq!(Customer::parse("ana@x.org").unwrap(), ana);
        assert_eq!(Customer::parse("+x@x.org").unwrap_err().field, "customer_email");
        assert_eq!(Customer::parse("nobody").unwrap_err().field, "customer_email");
        let mut v = voucher();
        assert_eq!(Customer::scope(&v), "voucher:7");
        v.batch_id = Some(3);
        assert_eq!(Customer::scope(&v), "batch:3");
    }

    /// Every rule breaks in its turn: each refusal below also breaks every later rule, so a
    /// rule judged out of order would answer another reason.
    #[test]
    fn rules_answer_in_order() {
        let now = at("2027-05-10T00:00:00Z");
        let end = at("2027-05-10T00:30:00Z");
        let cart = [individual()];
        let mut v = voucher();
        v.budget = Some(Money::from_cents(1_000));
        v.budget_used = Money::from_cents(1_000);
        let mut state =
            UseState { other_holds: 2, other_holds_end: Some(end), customer_taken: true, ..UseState::default() };
        v.times_used = 2;
        v.is_active = false;
        v.valid_from = Some(at("2027-06-01T00:00:00Z"));
        let judge = |v: &Voucher, state: &UseState| judge_use(v, state, Some(&cart), Money::ZERO, now);
        let reason = |v: &Voucher, state: &UseState| judge(v, state).unwrap_err().reason;
        assert_eq!(reason(&v, &state), InvalidReason::Inactive);
        v.is_active = true;
        assert_eq!(reason(&v, &state), InvalidReason::NotYetValid);
        v.valid_from = None;
        v.valid_until = Some(at("2027-05-01T00:00:00Z"));
        assert_eq!(reason(&v, &state), InvalidReason::Expired);
        v.valid_until = None;
        assert_eq!(reason(&v, &state), InvalidReason::AlreadyUsedByCustomer);
        state.customer_taken = false;
        assert_eq!(reason(&v, &state), InvalidReason::UsedUp);
        v.times_used = 1;
        let held = judge(&v, &state).unwrap_err();
        assert_eq!((held.reason, held.retry_at), (InvalidReason::Held, Some(end)));
        state.other_holds = 0;
        assert_eq!(reason(&v, &state), InvalidReason::BudgetExhausted);
        v.budget_used = Money::from_cents(400);
        assert_eq!(reason(&v, &state), InvalidReason::NotApplicable);
        v.applicable_ticket_types = Applies::All;
        v.min_quantity = 2;
        assert_eq!(reason(&v, &state), InvalidReason::BelowMinimum);
        v.min_quantity = 1;
        assert_eq!(judge(&v, &state), Ok(Grant { discount: Money::ZERO, capped: false }));
    }

    /// A cart with a live hold takes its use whatever other carts hold; the budget caps the
    /// discount at what redemptions and other carts' holds leave.
    #[test]
    fn holds_and_budget() {
        let now = at("2027-05-10T00:00:00Z");
        let mut v = voucher();
        v.max_uses = 1;
        let mut state = UseState { other_holds: 1, ..UseState::default() };
        assert_eq!(judge_use(&v, &state, None, Money::ZERO, now).unwrap_err().reason, InvalidReason::Held);
        let own = OwnHold { id: 1, expires_at: now, discount: Money::ZERO };
        state.own_hold = Some(own);
        assert!(judge_use(&v, &state, None, Money::ZERO, now).is_ok());

        v.budget = Some(Money::from_cents(10_000));
        v.budget_used = Money::from_cents(6_000);
        state.other_reserved = Money::from_cents(3_000);
        let grant = judge_use(&v, &state, None, Money::from_cents(3_000), now).unwrap();
        assert_eq!(grant, Grant { discount: Money::from_cents(1_000), capped: true });
        let grant = judge_use(&v, &state, None, Money::from_cents(500), now).unwrap();
        assert_eq!(grant, Grant { discount: Money::from_cents(500), capped: false });
    }

    #[test]
    fn hold_seconds_are_bounded() {
        assert_eq!(HoldSeconds::new("ttl_seconds", 0).unwrap_err().field, "ttl_seconds");
        assert!(HoldSeconds::new("ttl_seconds", 604_801).is_err());
        assert_eq!(HoldSeconds::new("hold_seconds", 604_800).unwrap().get(), 604_800);
    }

    #[test]
    fn hold_minutes_read_and_written() {
        for (text, seconds) in [("30", 1800), (" 1:30 ", 90), ("0:01", 1), ("10080", 604_800), ("2:05", 125)] {
            let hold = HoldSeconds::parse_minutes("hold_minutes", text).unwrap();
            assert_eq!(hold.get(), seconds, "{text}");
            assert_eq!(HoldSeconds::parse_minutes("hold_minutes", &hold.minutes_text()).unwrap(), hold);
        }
        assert_eq!(HoldSeconds::new("s", 90).unwrap().minutes_text(), "1:30");
        assert_eq!(HoldSeconds::DEFAULT.minutes_text(), "30");
        for bad in ["", "0", "0:00", "10081", "1:60", "1:5", "-1", "1.5", "x", ":30", "1:", "99999999999999999999"] {
            let e = HoldSeconds::parse_minutes("hold_minutes", bad).unwrap_err();
            assert!(e.message.starts_with("hold_minutes must be whole minutes"), "{bad}: {e}");
        }
    }
}
