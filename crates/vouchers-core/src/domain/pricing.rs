//! Pricing a cart with a voucher: which lines qualify, and how much comes off each.
//!
//! All arithmetic is in integer cents. A line qualifies when the voucher's set for its kind
//! (ticket types or add-ons) is empty or contains it. `comp` takes qualifying lines to zero;
//! `percentage` takes `line_total x value / 100` off each qualifying line, rounded half-up to
//! cents; `fixed_amount` spends at most its value, capped at the qualifying subtotal, split across
//! qualifying lines in proportion to their totals (each share rounded half-up, never more than
//! what remains), the last qualifying line taking the remainder so the shares add up exactly
//! (should the remainder exceed that last line, the excess goes to the lines before it).

use rust_decimal::Decimal;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{DiscountSpec, InvalidInput, Money};

/// The largest amount a line or a cart may reach: 8 integer digits.
const MAX_CENTS: i64 = 9_999_999_999;

/// How many of one cart line: 1 to 10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u32);

impl Quantity {
    /// The largest quantity of one line.
    pub const MAX: u32 = 10_000;

    /// One of a kind.
    pub const ONE: Quantity = Quantity(1);

    /// Checks a quantity: 1 to [`Quantity::MAX`].
    pub fn new(value: i64) -> Result<Self, InvalidInput> {
        u32::try_from(value).ok().filter(|q| (1..=Self::MAX).contains(q)).map(Self).ok_or_else(|| {
            InvalidInput::new("quantity", format!("quantity must be from 1 to {}, got {value}", Self::MAX))
        })
    }

    /// The quantity.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// What a cart line buys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LineItem {
    /// A ticket type, by slug.
    TicketType(String),
    /// An add-on, by slug.
    AddOn(String),
}

/// A cart line at its catalogue price (the caller looks the price up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceLine {
    /// What is bought.
    pub item: LineItem,
    /// How many (at least 1).
    pub quantity: u32,
    /// Catalogue price of one.
    pub unit_price: Money,
}

/// A priced line. Its JSON has `ticket_type` or `addon` (the slug), then the amounts as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// What is bought.
    pub item: LineItem,
    /// How many.
    pub quantity: u32,
    /// Catalogue price of one.
    pub unit_price: Money,
    /// `unit_price x quantity`.
    pub line_total: Money,
    /// What the voucher takes off this line.
    pub discount: Money,
    /// `line_total - discount`, never negative.
    pub total: Money,
}

impl Serialize for PricedLine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(6))?;
        match &self.item {
            LineItem::TicketType(slug) => map.serialize_entry("ticket_type", slug)?,
            LineItem::AddOn(slug) => map.serialize_entry("addon", slug)?,
        }
        map.serialize_entry("quantity", &self.quantity)?;
        map.serialize_entry("unit_price", &self.unit_price)?;
        map.serialize_entry("line_total", &self.line_total)?;
        map.serialize_entry("discount", &self.discount)?;
        map.serialize_entry("total", &self.total)?;
        map.end()
    }
}

/// Reads back what [`Serialize`] wrote (a stored answer replayed).
impl<'de> Deserialize<'de> for PricedLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            ticket_type: Option<String>,
            addon: Option<String>,
            quantity: u32,
            unit_price: Money,
            line_total: Money,
            discount: Money,
            total: Money,
        }
        let s = Stored::deserialize(deserializer)?;
        let item = match (s.ticket_type, s.addon) {
            (Some(slug), None) => LineItem::TicketType(slug),
            (None, Some(slug)) => LineItem::AddOn(slug),
            _ => return Err(serde::de::Error::custom("a priced line has exactly one of ticket_type and addon")),
        };
        Ok(PricedLine {
            item,
            quantity: s.quantity,
            unit_price: s.unit_price,
            line_total: s.line_total,
            discount: s.discount,
            total: s.total,
        })
    }
}

/// In the OpenAPI document: `ticket_type` or `addon`, then the quantity and the amounts.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for PricedLine {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::Type;
        use utoipa::openapi::ObjectBuilder;
        let text = |description: &str| ObjectBuilder::new().schema_type(Type::String).description(Some(description));
        ObjectBuilder::new()
            .description(Some("A priced cart line: exactly one of `ticket_type` and `addon`."))
            .property("ticket_type", text("The ticket type's slug"))
            .property("addon", text("The add-on's slug"))
            .property("quantity", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
            .required("quantity")
            .property("unit_price", Money::schema())
            .required("unit_price")
            .property("line_total", Money::schema())
            .required("line_total")
            .property("discount", Money::schema())
            .required("discount")
            .property("total", Money::schema())
            .required("total")
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for PricedLine {}

/// A priced cart. The default is the empty cart: no lines, every total `0.00`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pricing {
    /// The lines, in the order given.
    pub lines: Vec<PricedLine>,
    /// Sum of the line totals.
    pub subtotal: Money,
    /// Sum of the line discounts.
    pub discount: Money,
    /// `subtotal - discount`.
    pub total: Money,
    /// The voucher's budget cut the discount (always present; `false` with no budget).
    #[serde(default)]
    pub budget_capped: bool,
}

impl Pricing {
    /// The cart with its discount cut to `cap` when it gives more: the lines keep their
    /// discounts in order until the cap is spent, and `budget_capped` says so.
    pub fn capped(mut self, cap: Money) -> Pricing {
        if self.discount.cents() <= cap.cents() {
            return self;
        }
        let mut left = cap.cents();
        for line in &mut self.lines {
            let kept = line.discount.cents().min(left);
            left -= kept;
            line.discount = Money::from_cents(kept);
            line.total = Money::from_cents(line.line_total.cents() - kept);
        }
        self.discount = cap;
        self.total = Money::from_cents(self.subtotal.cents() - cap.cents());
        self.budget_capped = true;
        self
    }
}

/// What a voucher applies to among one kind of item (ticket types, or add-ons): all of them (the
/// original's rule for an empty set), none, or only these slugs (sorted, distinct).
///
/// In JSON: `[]` for all, `"none"` for none, the list of slugs for these. The CSV's cell: empty,
/// `(none)`, or the slugs joined by `;`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Applies {
    /// Every item of the kind.
    #[default]
    All,
    /// No item of the kind.
    Nothing,
    /// Only these slugs (never empty).
    Only(Vec<String>),
}

impl Applies {
    /// The spelling of "none" in JSON and on the command line.
    pub const NONE: &'static str = "none";
    /// The spelling of "none" in a CSV cell (a slug cannot hold parentheses).
    pub const NONE_CSV: &'static str = "(none)";

    /// These slugs; none at all means every item.
    pub fn these(slugs: Vec<String>) -> Self {
        if slugs.is_empty() {
            Applies::All
        } else {
            Applies::Only(slugs)
        }
    }

    /// Applies to the item with this slug.
    pub fn contains(&self, slug: &str) -> bool {
        match self {
            Applies::All => true,
            Applies::Nothing => false,
            Applies::Only(slugs) => slugs.iter().any(|s| s == slug),
        }
    }

    /// Applies to every item of the kind.
    pub fn is_all(&self) -> bool {
        *self == Applies::All
    }

    /// The slugs of [`Applies::Only`]; empty otherwise.
    pub fn slugs(&self) -> &[String] {
        match self {
            Applies::Only(slugs) => slugs,
            Applies::All | Applies::Nothing => &[],
        }
    }

    /// In words for people, naming the kind (`"add-on"`): "every add-on", "no add-on", or the
    /// slugs.
    pub fn in_words(&self, kind: &str) -> String {
        match self {
            Applies::All => format!("every {kind}"),
            Applies::Nothing => format!("no {kind}"),
            Applies::Only(slugs) => slugs.join(", "),
        }
    }

    /// The CSV cell.
    pub fn to_csv(&self) -> String {
        match self {
            Applies::Nothing => Self::NONE_CSV.to_owned(),
            _ => self.slugs().join(";"),
        }
    }
}

impl From<Vec<String>> for Applies {
    fn from(slugs: Vec<String>) -> Self {
        Applies::these(slugs)
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Applies {
    fn eq(&self, other: &[&str; N]) -> bool {
        match self {
            Applies::All => N == 0,
            Applies::Nothing => false,
            Applies::Only(slugs) => slugs.iter().map(String::as_str).eq(other.iter().copied()),
        }
    }
}

impl PartialEq<Vec<String>> for Applies {
    fn eq(&self, other: &Vec<String>) -> bool {
        *self == Applies::these(other.clone())
    }
}

impl Serialize for Applies {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Applies::Nothing => serializer.serialize_str(Self::NONE),
            _ => self.slugs().serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Applies {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Word(String),
            Slugs(Vec<String>),
        }
        match Stored::deserialize(deserializer)? {
            Stored::Word(word) if word == Self::NONE => Ok(Applies::Nothing),
            Stored::Word(word) => {
                Err(serde::de::Error::custom(format!("expected a list of slugs or \"none\", got {word:?}")))
            }
            Stored::Slugs(slugs) => Ok(Applies::these(slugs)),
        }
    }
}

/// In the OpenAPI document: a list of slugs (empty: all) or the string `"none"`.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Applies {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        let slugs = ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
        let none = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["none"]));
        OneOfBuilder::new()
            .description(Some("Slugs it applies to (an empty list: all of them), or \"none\""))
            .item(slugs)
            .item(none)
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Applies {}

/// What a voucher (or batch) with these sets applies to, in words for people: "everything", or
/// its ticket types then its add-ons ("individual tickets; every add-on", "every ticket type;
/// no add-on"). The one wording the CLI, the API's answer and the console's pages use.
pub fn applies_in_words(ticket_types: &Applies, addons: &Applies) -> String {
    let tickets = match ticket_types {
        Applies::Only(slugs) => format!("{} tickets", slugs.join(", ")),
        other => other.in_words("ticket type"),
    };
    let addons = match addons {
        Applies::Only(slugs) if slugs.len() == 1 => format!("{} add-on", slugs[0]),
        Applies::Only(slugs) => format!("{} add-ons", slugs.join(", ")),
        other => other.in_words("add-on"),
    };
    match (ticket_types, &addons[..]) {
        (Applies::All, "every add-on") => "everything".to_owned(),
        _ => format!("{tickets}; {addons}"),
    }
}

/// True when a voucher with these sets applies to `item`.
pub fn qualifies(item: &LineItem, applicable_ticket_types: &Applies, applicable_addons: &Applies) -> bool {
    match item {
        LineItem::TicketType(slug) => applicable_ticket_types.contains(slug),
        LineItem::AddOn(slug) => applicable_addons.contains(slug),
    }
}

/// `numerator / denominator` rounded half-up (numerator non-negative); 0 when the denominator is
/// not positive, so it never divides by zero.
fn div_half_up(numerator: i128, denominator: i128) -> i128 {
    if denominator <= 0 {
        return 0;
    }
    (numerator * 2 + denominator) / (denominator * 2)
}

/// Prices `lines` with a voucher's discount and sets. Errors name the field `lines`: a quantity
/// of 0, or a line or cart total beyond 99,999,999.99.
pub fn price(
    discount: DiscountSpec,
    applicable_ticket_types: &Applies,
    applicable_addons: &Applies,
    lines: &[PriceLine],
) -> Result<Pricing, InvalidInput> {
    let mut totals = Vec::with_capacity(lines.len());
    for line in lines {
        if line.quantity == 0 {
            return Err(InvalidInput::new("lines", "lines: quantity must be at least 1"));
        }
        let total = i128::from(line.unit_price.cents()) * i128::from(line.quantity);
        if total > i128::from(MAX_CENTS) {
            return Err(InvalidInput::new("lines", "lines: a line total must be at most 99999999.99"));
        }
        totals.push(total);
    }
    let subtotal: i128 = totals.iter().sum();
    if subtotal > i128::from(MAX_CENTS) {
        return Err(InvalidInput::new("lines", "lines: the cart total must be at most 99999999.99"));
    }
    let qualifying: Vec<usize> =
        (0..lines.len()).filter(|&i| qualifies(&lines[i].item, applicable_ticket_types, applicable_addons)).collect();

    let mut discounts = vec![0i128; lines.len()];
    match discount {
        DiscountSpec::Comp => {
            for &i in &qualifying {
                discounts[i] = totals[i];
            }
        }
        DiscountSpec::Percentage(value) => {
            // The value has 2 decimals: 12.50 % is 1250 hundredths of a percent.
            let hundredths = percent_hundredths(value);
            for &i in &qualifying {
                discounts[i] = div_half_up(totals[i] * hundredths, 10_000).min(totals[i]);
            }
        }
        DiscountSpec::FixedAmount(value) => {
            let qualifying_total: i128 = qualifying.iter().map(|&i| totals[i]).sum();
            let spend = i128::from(value.cents()).min(qualifying_total);
            // When the qualifying lines cost nothing, spend is 0 and so is every share
            // (`div_half_up` gives 0 rather than dividing by a qualifying total of 0).
            let mut remaining = spend;
            for (n, &i) in qualifying.iter().enumerate() {
                let share = if n + 1 == qualifying.len() {
                    remaining
                } else {
                    div_half_up(spend * totals[i], qualifying_total).min(remaining)
                };
                // A rounded share never exceeds its line (spend <= qualifying total), but the
                // last line's remainder can when it is a small line after shares that rounded
                // down (34, 34, 34, 1 with 1.01 to spend leaves 0.02 for a 0.01 line).
                let share = share.min(totals[i]);
                discounts[i] = share;
                remaining -= share;
            }
            // What the last line could not take goes to the lines before it, from the back, so
            // the shares still add up to exactly what is spent and no total goes below zero.
            for &i in qualifying.iter().rev() {
                if remaining == 0 {
                    break;
                }
                let extra = remaining.min(totals[i] - discounts[i]);
                discounts[i] += extra;
                remaining -= extra;
            }
        }
    }

    let money = |cents: i128| Money::from_cents(i64::try_from(cents).unwrap_or(MAX_CENTS));
    let priced: Vec<PricedLine> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| PricedLine {
            item: line.item.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            line_total: money(totals[i]),
            discount: money(discounts[i]),
            total: money(totals[i] - discounts[i]),
        })
        .collect();
    let discount_total: i128 = discounts.iter().sum();
    Ok(Pricing {
        lines: priced,
        subtotal: money(subtotal),
        discount: money(discount_total),
        total: money(subtotal - discount_total),
        budget_capped: false,
    })
}

/// A checked percentage (0-100, 2 decimals) in hundredths of a percent.
fn percent_hundredths(value: Decimal) -> i128 {
    let mut exact = value;
    exact.rescale(2);
    exact.mantissa().clamp(0, 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: Applies = Applies::All;

    fn only(slug: &str) -> Applies {
        Applies::Only(vec![slug.to_owned()])
    }

    fn money(s: &str) -> Money {
        Money::parse_str("x", s).unwrap()
    }

    /// A budget cap keeps the lines' discounts in order until it is spent; the totals add up.
    #[test]
    fn capped_discount_spends_the_cap_in_line_order() {
        let lines = [tt("a", 1, "100.00"), tt("b", 2, "50.00")];
        let p = price(DiscountSpec::Comp, &ALL, &ALL, &lines).unwrap();
        assert_eq!(p.clone().capped(money("300.00")), p, "a cap above the discount changes nothing");
        let c = p.capped(money("130.00"));
        assert!(c.budget_capped);
        let discounts: Vec<String> = c.lines.iter().map(|l| l.discount.to_string()).collect();
        assert_eq!(discounts, ["100.00", "30.00"]);
        assert_eq!((c.discount.to_string(), c.total.to_string()), ("130.00".into(), "70.00".into()));
        assert_eq!(c.lines[1].total.to_string(), "70.00");
    }

    fn tt(slug: &str, quantity: u32, price: &str) -> PriceLine {
        PriceLine { item: LineItem::TicketType(slug.into()), quantity, unit_price: money(price) }
    }

    fn addon(slug: &str, quantity: u32, price: &str) -> PriceLine {
        PriceLine { item: LineItem::AddOn(slug.into()), quantity, unit_price: money(price) }
    }

    fn pct(s: &str) -> DiscountSpec {
        DiscountSpec::Percentage(Decimal::from_str_exact(s).unwrap())
    }

    fn discounts(p: &Pricing) -> Vec<String> {
        p.lines.iter().map(|l| l.discount.to_string()).collect()
    }

    #[test]
    fn percentage_rounds_half_up_per_line() {
        assert_eq!(price(pct("33.33"), &ALL, &ALL, &[tt("a", 1, "10.00")]).unwrap().discount.to_string(), "3.33");
        assert_eq!(price(pct("12.5"), &ALL, &ALL, &[tt("a", 1, "0.20")]).unwrap().discount.to_string(), "0.03");
        assert_eq!(price(pct("50"), &ALL, &ALL, &[tt("a", 1, "0.01")]).unwrap().discount.to_string(), "0.01");
        assert_eq!(price(pct("49.99"), &ALL, &ALL, &[tt("a", 1, "0.01")]).unwrap().discount.to_string(), "0.00");
        let p = price(pct("25"), &ALL, &ALL, &[tt("a", 2, "400"), tt("b", 1, "750.50")]).unwrap();
        assert_eq!(discounts(&p), ["200.00", "187.63"]);
        assert_eq!(
            (p.subtotal.to_string(), p.discount.to_string(), p.total.to_string()),
            ("1550.50".into(), "387.63".into(), "1162.87".into())
        );
        assert_eq!(price(pct("100"), &ALL, &ALL, &[tt("a", 3, "9.99")]).unwrap().total, Money::ZERO);
    }

    #[test]
    fn only_qualifying_lines_are_discounted() {
        let lines =
            [tt("individual", 1, "400"), tt("student", 1, "100"), addon("tshirt", 2, "25"), addon("dinner", 1, "80")];
        let p = price(pct("10"), &only("individual"), &only("tshirt"), &lines).unwrap();
        assert_eq!(discounts(&p), ["40.00", "0.00", "5.00", "0.00"]);
        let p = price(DiscountSpec::Comp, &only("student"), &ALL, &lines).unwrap();
        assert_eq!(discounts(&p), ["0.00", "100.00", "50.00", "80.00"]);
        assert_eq!(p.total.to_string(), "400.00");
    }

    #[test]
    fn fixed_amount_is_split_in_proportion_and_adds_up() {
        // 100 off 3 lines of 10, 20, 30 (qualifying 60): capped at 60, each line free.
        let lines = [tt("a", 1, "10"), tt("b", 1, "20"), addon("c", 1, "30")];
        let p = price(DiscountSpec::FixedAmount(money("100")), &ALL, &ALL, &lines).unwrap();
        assert_eq!(discounts(&p), ["10.00", "20.00", "30.00"]);
        assert_eq!(p.total, Money::ZERO);
        // 10 off 3 equal lines of 1.00: 3.33, 3.33, then the remainder 3.34.
        let lines = [tt("a", 1, "1"), tt("b", 1, "1"), tt("c", 1, "1")];
        let p = price(DiscountSpec::FixedAmount(money("1")), &ALL, &ALL, &lines).unwrap();
        assert_eq!(discounts(&p), ["0.33", "0.33", "0.34"]);
        assert_eq!(p.discount.to_string(), "1.00");
        // Non-qualifying lines neither take a share nor count in the proportion.
        let lines = [tt("a", 1, "30"), addon("x", 1, "70"), tt("b", 1, "10")];
        let p = price(DiscountSpec::FixedAmount(money("20")), &ALL, &only("y"), &lines).unwrap();
        assert_eq!(discounts(&p), ["15.00", "0.00", "5.00"]);
        // A small last line cannot take the whole remainder: the excess goes to the line before.
        let lines = [tt("a", 1, "0.34"), tt("b", 1, "0.34"), tt("c", 1, "0.34"), tt("d", 1, "0.01")];
        let p = price(DiscountSpec::FixedAmount(money("1.01")), &ALL, &ALL, &lines).unwrap();
        assert_eq!(discounts(&p), ["0.33", "0.33", "0.34", "0.01"]);
        assert_eq!(p.discount.to_string(), "1.01");
    }

    #[test]
    fn empty_carts_and_bad_lines() {
        let p = price(pct("25"), &ALL, &ALL, &[]).unwrap();
        assert_eq!((p.subtotal, p.discount, p.total, p.lines.len()), (Money::ZERO, Money::ZERO, Money::ZERO, 0));
        assert_eq!(price(pct("25"), &ALL, &ALL, &[tt("a", 0, "1")]).unwrap_err().field, "lines");
        assert!(price(pct("25"), &ALL, &ALL, &[tt("a", 2, "99999999.99")]).is_err());
        assert!(price(pct("25"), &ALL, &ALL, &[tt("a", 1, "99999999.99"), tt("b", 1, "0.01")]).is_err());
    }

    #[test]
    fn comp_makes_qualifying_lines_free() {
        let lines = [tt("individual", 2, "400"), addon("tshirt", 3, "25"), addon("dinner", 1, "80")];
        let p = price(DiscountSpec::Comp, &ALL, &only("tshirt"), &lines).unwrap();
        assert_eq!(discounts(&p), ["800.00", "75.00", "0.00"]);
        let totals: Vec<String> = p.lines.iter().map(|l| l.total.to_string()).collect();
        assert_eq!(totals, ["0.00", "0.00", "80.00"]);
        assert_eq!((p.subtotal.to_string(), p.total.to_string()), ("955.00".into(), "80.00".into()));
    }

    #[test]
    fn fixed_amount_shares_round_half_up_and_the_last_takes_the_remainder() {
        // 1.00 off 1.00 + 2.00 + 4.00: 14.28 -> 0.14, 28.57 -> 0.29, then 1.00 - 0.43 = 0.57.
        let lines = [tt("a", 1, "1"), addon("b", 1, "2"), tt("c", 2, "2")];
        let p = price(DiscountSpec::FixedAmount(money("1")), &ALL, &ALL, &lines).unwrap();
        assert_eq!(discounts(&p), ["0.14", "0.29", "0.57"]);
        assert_eq!((p.discount.to_string(), p.total.to_string()), ("1.00".into(), "6.00".into()));
    }

    #[test]
    fn free_lines_never_divide_by_zero() {
        // Qualifying lines that cost nothing: the qualifying subtotal is 0, so nothing is spent.
        let lines = [tt("speaker", 1, "0"), addon("badge", 2, "0"), addon("dinner", 1, "80")];
        for spec in [DiscountSpec::FixedAmount(money("50")), DiscountSpec::FixedAmount(Money::ZERO), pct("50")] {
            let p = price(spec, &ALL, &only("badge"), &lines).unwrap();
            assert_eq!(discounts(&p), ["0.00", "0.00", "0.00"]);
            assert_eq!(p.total.to_string(), "80.00");
        }
        // No voucher is priced as a fixed amount of 0 over everything: an all-free cart too.
        let p = price(DiscountSpec::FixedAmount(Money::ZERO), &ALL, &ALL, &lines[..2]).unwrap();
        assert_eq!((p.subtotal, p.discount, p.total), (Money::ZERO, Money::ZERO, Money::ZERO));
        // A free line among paid ones takes no share.
        let lines = [tt("a", 1, "10"), tt("free", 1, "0"), tt("b", 1, "30")];
        let p = price(DiscountSpec::FixedAmount(money("8")), &ALL, &ALL, &lines).unwrap();
        assert_eq!(discounts(&p), ["2.00", "0.00", "6.00"]);
    }

    #[test]
    fn json_shape() {
        let p = price(pct("25"), &ALL, &ALL, &[tt("individual", 2, "400"), addon("tshirt", 1, "25")]).unwrap();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json["lines"][0],
            serde_json::json!({"ticket_type": "individual", "quantity": 2, "unit_price": "400.00",
                               "line_total": "800.00", "discount": "200.00", "total": "600.00"})
        );
        assert_eq!(json["lines"][1]["addon"], "tshirt");
        assert!(json["lines"][1].get("ticket_type").is_none());
        assert_eq!(
            (json["subtotal"].as_str(), json["discount"].as_str(), json["total"].as_str()),
            (Some("825.00"), Some("206.25"), Some("618.75"))
        );
    }

    fn arb_line() -> impl Strategy<Value = PriceLine> {
        let cents = prop_oneof![Just(0i64), 0i64..100, 0i64..1_000_000];
        (any::<bool>(), 0usize..4, 1u32..20, cents).prop_map(|(is_addon, slug, quantity, cents)| {
            let slug = format!("s{slug}");
            PriceLine {
                item: if is_addon { LineItem::AddOn(slug) } else { LineItem::TicketType(slug) },
                quantity,
                unit_price: Money::from_cents(cents),
            }
        })
    }

    fn arb_discount() -> impl Strategy<Value = DiscountSpec> {
        prop_oneof![
            Just(DiscountSpec::Comp),
            (0i64..=10_000).prop_map(|h| DiscountSpec::Percentage(Decimal::new(h, 2))),
            prop_oneof![Just(0i64), 0i64..500, 0i64..5_000_000, Just(MAX_CENTS)]
                .prop_map(|c| DiscountSpec::FixedAmount(Money::from_cents(c))),
        ]
    }

    /// Lines anywhere in the input domain: any quantity (0 included), any price Money allows.
    fn arb_extreme_line() -> impl Strategy<Value = PriceLine> {
        let quantity = prop_oneof![Just(0u32), 1u32..3, any::<u32>()];
        let cents = prop_oneof![Just(0i64), Just(MAX_CENTS), 0i64..=MAX_CENTS];
        (any::<bool>(), quantity, cents).prop_map(|(is_addon, quantity, cents)| PriceLine {
            item: if is_addon { LineItem::AddOn("s".into()) } else { LineItem::TicketType("s".into()) },
            quantity,
            unit_price: Money::from_cents(cents),
        })
    }

    /// The invariants every priced cart keeps.
    fn check_invariants(
        p: &Pricing,
        lines: &[PriceLine],
        discount: DiscountSpec,
        tts: &Applies,
        addons: &Applies,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(p.lines.len(), lines.len());
        let sum = |f: fn(&PricedLine) -> Money| p.lines.iter().map(|l| f(l).cents()).sum::<i64>();
        prop_assert_eq!(sum(|l| l.discount), p.discount.cents());
        prop_assert_eq!(sum(|l| l.line_total), p.subtotal.cents());
        prop_assert_eq!(p.total.cents(), p.subtotal.cents() - p.discount.cents());
        let mut qualifying = 0;
        for (line, input) in p.lines.iter().zip(lines) {
            prop_assert_eq!(line.line_total.cents(), input.unit_price.cents() * i64::from(input.quantity));
            prop_assert!(line.discount.cents() <= line.line_total.cents());
            prop_assert_eq!(line.total.cents(), line.line_total.cents() - line.discount.cents());
            prop_assert!(line.total.cents() >= 0);
            if qualifies(&input.item, tts, addons) {
                qualifying += line.line_total.cents();
                match discount {
                    DiscountSpec::Comp => prop_assert_eq!(line.discount, line.line_total),
                    DiscountSpec::Percentage(value) => {
                        let hundredths = value.mantissa(); // The strategy builds scale-2 values.
                        let exact = i128::from(line.line_total.cents()) * hundredths;
                        // Half-up: the discount is within half a cent of the exact amount, ties up.
                        let twice = i128::from(line.discount.cents()) * 20_000;
                        prop_assert!(twice - 2 * exact <= 10_000 && 2 * exact - twice < 10_000);
                    }
                    DiscountSpec::FixedAmount(_) => {}
                }
            } else {
                prop_assert_eq!(line.discount, Money::ZERO);
            }
        }
        match discount {
            DiscountSpec::Comp => prop_assert_eq!(p.discount.cents(), qualifying),
            DiscountSpec::FixedAmount(value) => prop_assert_eq!(p.discount.cents(), value.cents().min(qualifying)),
            DiscountSpec::Percentage(_) => {}
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn shares_add_up_and_totals_never_go_negative(
            lines in prop::collection::vec(arb_line(), 0..8),
            discount in arb_discount(),
            tts in prop::collection::vec(0usize..4, 0..3),
            addons in prop::collection::vec(0usize..4, 0..3),
        ) {
            let tts = Applies::these(tts.iter().map(|i| format!("s{i}")).collect());
            let addons = Applies::these(addons.iter().map(|i| format!("s{i}")).collect());
            let p = price(discount, &tts, &addons, &lines).unwrap();
            check_invariants(&p, &lines, discount, &tts, &addons)?;
        }

        #[test]
        fn never_panics_and_errors_only_on_lines(
            lines in prop::collection::vec(arb_extreme_line(), 0..4),
            discount in arb_discount(),
            restrict in any::<bool>(),
        ) {
            let set = if restrict { only("s") } else { ALL };
            let line_ok = |l: &PriceLine| {
                l.quantity > 0 && i128::from(l.unit_price.cents()) * i128::from(l.quantity) <= i128::from(MAX_CENTS)
            };
            let subtotal: i128 = lines.iter().map(|l| i128::from(l.unit_price.cents()) * i128::from(l.quantity)).sum();
            match price(discount, &set, &ALL, &lines) {
                Ok(p) => {
                    prop_assert!(lines.iter().all(line_ok) && subtotal <= i128::from(MAX_CENTS));
                    check_invariants(&p, &lines, discount, &set, &ALL)?;
                }
                Err(e) => {
                    prop_assert_eq!(e.field, "lines");
                    prop_assert!(!lines.iter().all(line_ok) || subtotal > i128::from(MAX_CENTS));
                }
            }
        }
    }
}
