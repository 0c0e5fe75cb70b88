//! Exact amounts: prices, fixed discounts and percentages, always with 2 decimals, never floats.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{quoted, InvalidInput};

/// Amounts have at most this many integer digits (prices up to 99,999,999.99).
const MAX_INTEGER_DIGITS: u32 = 8;

/// A non-negative amount with exactly 2 decimals and at most 8 integer digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

/// Zero with its 2 decimals (`0.00`), not a bare `0`.
impl Default for Money {
    fn default() -> Self {
        Money::ZERO
    }
}

impl Money {
    /// Zero, as `0.00`.
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

    /// Checks `value` for `field`: at least 0, at most 2 decimals, at most 8 integer digits.
    pub fn parse(field: &'static str, value: Decimal) -> Result<Self, InvalidInput> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(InvalidInput::new(field, format!("{field} must be at least 0, got {value}")));
        }
        Self::check_shape(field, value).map(Self)
    }

    /// Parses a decimal string such as `"100.00"` exactly (no float on the way) and checks it.
    pub fn parse_str(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        Self::parse(field, parse_decimal(field, value)?)
    }

    /// Builds from integer cents (as SQLite stores amounts).
    pub fn from_cents(cents: i64) -> Self {
        Self(Decimal::new(cents, 2))
    }

    /// The sum of two amounts, held at the largest decimal instead of overflowing (report totals).
    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.checked_add(other.0).unwrap_or(Decimal::MAX))
    }

    /// The amount in integer cents.
    pub fn cents(self) -> i64 {
        // Validated: at most 10 significant digits, so the mantissa fits in an i64.
        i64::try_from(self.0.mantissa()).unwrap_or(i64::MAX)
    }

    /// The amount as a decimal with scale 2.
    pub fn amount(self) -> Decimal {
        self.0
    }

    /// At most 2 decimals and 8 integer digits; returns the value rescaled to 2 decimals.
    fn check_shape(field: &'static str, value: Decimal) -> Result<Decimal, InvalidInput> {
        if value.normalize().scale() > 2 {
            return Err(InvalidInput::new(field, format!("{field} must have at most 2 decimals, got {value}")));
        }
        if value.abs().trunc() >= Decimal::from(10u64.pow(MAX_INTEGER_DIGITS)) {
            return Err(InvalidInput::new(
                field,
                format!("{field} must have at most {MAX_INTEGER_DIGITS} integer digits, got {value}"),
            ));
        }
        let mut exact = value;
        exact.rescale(2);
        Ok(exact)
    }
}

/// Parses a decimal string exactly (never through a float), naming `field` when it is not a number.
pub fn parse_decimal(field: &'static str, value: &str) -> Result<Decimal, InvalidInput> {
    let trimmed = value.trim();
    // from_str_exact refuses what would lose digits; exponents and '_' are not amounts people type.
    if trimmed.is_empty() || trimmed.contains(['e', 'E', '_']) {
        return Err(InvalidInput::new(field, format!("{field} must be a decimal number, got {}", quoted(value))));
    }
    Decimal::from_str_exact(trimmed)
        .map_err(|_| InvalidInput::new(field, format!("{field} must be a decimal number, got {}", quoted(value))))
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Reads back what [`Serialize`] wrote (a decimal string), with the same checks as any input.
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Money::parse_str("amount", &text).map_err(serde::de::Error::custom)
    }
}

/// In the OpenAPI document an amount is a decimal string with 2 decimals (`"25.00"`).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^[0-9]{1,8}\.[0-9]{2}$"))
            .description(Some("An exact amount or percentage with 2 decimals, as a string."))
            .examples([serde_json::json!("25.00")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Money {}

/// What kind of discount a voucher gives (`Voucher.VoucherType` in the Django service this port started from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VoucherType {
    /// The covered items cost nothing; the discount value is ignored.
    Comp,
    /// A percentage (0-100) off the covered items.
    Percentage,
    /// A fixed amount off the covered items, never below zero.
    FixedAmount,
}

impl VoucherType {
    /// The name used in the CLI, the JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            VoucherType::Comp => "comp",
            VoucherType::Percentage => "percentage",
            VoucherType::FixedAmount => "fixed_amount",
        }
    }
}

impl fmt::Display for VoucherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VoucherType {
    type Err = InvalidInput;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "comp" => Ok(VoucherType::Comp),
            "percentage" => Ok(VoucherType::Percentage),
            "fixed_amount" => Ok(VoucherType::FixedAmount),
            other => Err(InvalidInput::new(
                "voucher_type",
                format!("voucher_type must be one of comp, percentage, fixed_amount, got {}", quoted(other)),
            )),
        }
    }
}

/// A voucher type together with its checked discount value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountSpec {
    /// Free; stored with a discount value of 0.00.
    Comp,
    /// Percentage off, 0.00 to 100.00.
    Percentage(Decimal),
    /// Amount off.
    FixedAmount(Money),
}

impl DiscountSpec {
    /// Checks `discount_value` against the rule of `voucher_type`. `comp` ignores the value;
    /// the other types require one.
    pub fn parse(voucher_type: VoucherType, discount_value: Option<Decimal>) -> Result<Self, InvalidInput> {
        const FIELD: &str = "discount_value";
        let required = || InvalidInput::new(FIELD, format!("discount_value is required for {voucher_type} vouchers"));
        match voucher_type {
            VoucherType::Comp => Ok(DiscountSpec::Comp),
            VoucherType::Percentage => {
                let value = discount_value.ok_or_else(required)?;
                if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
                    return Err(InvalidInput::new(
                        FIELD,
                        format!("discount_value must be a percentage between 0 and 100, got {value}"),
                    ));
                }
                Money::check_shape(FIELD, value).map(DiscountSpec::Percentage)
            }
            VoucherType::FixedAmount => {
                Money::parse(FIELD, discount_value.ok_or_else(required)?).map(DiscountSpec::FixedAmount)
            }
        }
    }

    /// Rebuilds a stored spec (the value was checked when it was written).
    pub fn from_stored(voucher_type: VoucherType, value: Decimal) -> Self {
        let mut exact = value;
        exact.rescale(2);
        match voucher_type {
            VoucherType::Comp => DiscountSpec::Comp,
            VoucherType::Percentage => DiscountSpec::Percentage(exact),
            VoucherType::FixedAmount => DiscountSpec::FixedAmount(Money(exact)),
        }
    }

    /// The voucher type.
    pub fn voucher_type(self) -> VoucherType {
        match self {
            DiscountSpec::Comp => VoucherType::Comp,
            DiscountSpec::Percentage(_) => VoucherType::Percentage,
            DiscountSpec::FixedAmount(_) => VoucherType::FixedAmount,
        }
    }

    /// The stored discount value with 2 decimals (`0.00` for comp).
    pub fn value(self) -> Money {
        match self {
            DiscountSpec::Comp => Money::ZERO,
            DiscountSpec::Percentage(p) => Money(p),
            DiscountSpec::FixedAmount(m) => m,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn money_is_exact_with_two_decimals() {
        let m = Money::parse_str("price", "100").unwrap();
        assert_eq!(m.to_string(), "100.00");
        assert_eq!(m.cents(), 10_000);
        assert_eq!(Money::parse_str("price", "0.10").unwrap().cents(), 10);
        assert_eq!(Money::parse_str("price", "12.500").unwrap().to_string(), "12.50");
        assert_eq!(Money::from_cents(2_550).to_string(), "25.50");
        assert_eq!(Money::parse_str("price", "99999999.99").unwrap().cents(), 9_999_999_999);
    }

    #[test]
    fn money_rules_name_the_field() {
        let e = Money::parse_str("price", "-1").unwrap_err();
        assert_eq!((e.field, e.message.as_str()), ("price", "price must be at least 0, got -1"));
        assert!(Money::parse_str("price", "1.005").unwrap_err().message.contains("at most 2 decimals"));
        assert!(Money::parse_str("price", "100000000").unwrap_err().message.contains("8 integer digits"));
        assert!(Money::parse_str("price", "abc").unwrap_err().message.contains("decimal number"));
        assert!(Money::parse_str("price", "1e3").is_err());
        assert!(Money::parse_str("price", "").is_err());
    }

    #[test]
    fn discount_rules() {
        assert_eq!(DiscountSpec::parse(VoucherType::Comp, Some(dec("55"))).unwrap().value(), Money::ZERO);
        assert_eq!(DiscountSpec::parse(VoucherType::Comp, None).unwrap(), DiscountSpec::Comp);
        let p = DiscountSpec::parse(VoucherType::Percentage, Some(dec("25"))).unwrap();
        assert_eq!(p.value().to_string(), "25.00");
        assert!(DiscountSpec::parse(VoucherType::Percentage, Some(dec("100"))).is_ok());
        assert!(DiscountSpec::parse(VoucherType::Percentage, Some(dec("0"))).is_ok());
        let e = DiscountSpec::parse(VoucherType::Percentage, Some(dec("100.01"))).unwrap_err();
        assert_eq!(e.field, "discount_value");
        assert!(e.message.contains("between 0 and 100"));
        assert!(DiscountSpec::parse(VoucherType::Percentage, Some(dec("-1"))).is_err());
        assert!(DiscountSpec::parse(VoucherType::Percentage, Some(dec("12.345"))).is_err());
        assert!(DiscountSpec::parse(VoucherType::Percentage, None).unwrap_err().message.contains("required"));
        assert!(DiscountSpec::parse(VoucherType::FixedAmount, Some(dec("0"))).is_ok());
        assert!(DiscountSpec::parse(VoucherType::FixedAmount, Some(dec("-0.01"))).is_err());
        assert!(DiscountSpec::parse(VoucherType::FixedAmount, Some(dec("123456789"))).is_err());
    }

    #[test]
    fn voucher_type_names() {
        for t in [VoucherType::Comp, VoucherType::Percentage, VoucherType::FixedAmount] {
            assert_eq!(t.as_str().parse::<VoucherType>().unwrap(), t);
        }
        assert_eq!("free".parse::<VoucherType>().unwrap_err().field, "voucher_type");
    }
}
