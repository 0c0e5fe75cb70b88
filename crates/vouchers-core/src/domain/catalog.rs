//! Conferences and what they sell: ticket types and add-ons.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::voucher::rfc3339;
use super::{quoted, InvalidInput, Money, Name, Slug};

/// A conference as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conference {
    /// Internal id; URLs and the CLI use the slug.
    #[serde(skip)]
    pub id: i64,
    /// Unique identifier used in URLs and commands.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day.
    pub end_date: NaiveDate,
    /// IANA time zone used to read and show local times.
    #[serde(serialize_with = "tz_name")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "America/New_York"))]
    pub timezone: Tz,
    /// When it was created.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// How long a hold keeps a use for a cart when the hold names no time, in seconds.
    pub hold_seconds: i64,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// A checked request to create a conference.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConference {
    /// Unique slug.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day, not before the first.
    pub end_date: NaiveDate,
    /// IANA time zone.
    pub timezone: Tz,
    /// A hold's time when it names none.
    pub hold_seconds: super::HoldSeconds,
}

impl NewConference {
    /// Checks every field; dates are `YYYY-MM-DD`, the time zone an IANA name.
    pub fn parse(
        slug: &str,
        name: &str,
        start_date: &str,
        end_date: &str,
        timezone: &str,
    ) -> Result<Self, InvalidInput> {
        let slug = Slug::parse("slug", slug)?;
        let name = Name::parse("name", name)?;
        let start_date = parse_date("start_date", start_date)?;
        let end_date = parse_date("end_date", end_date)?;
        if end_date < start_date {
            return Err(InvalidInput::new(
                "end_date",
                format!("end_date must not be before start_date ({end_date} < {start_date})"),
            ));
        }
        let timezone = parse_timezone("timezone", timezone)?;
        Ok(Self { slug, name, start_date, end_date, timezone, hold_seconds: super::HoldSeconds::DEFAULT })
    }
}

/// Parses an IANA time zone name such as `America/New_York`.
pub(crate) fn parse_timezone(field: &'static str, value: &str) -> Result<Tz, InvalidInput> {
    value.trim().parse::<Tz>().map_err(|_| {
        InvalidInput::new(
            field,
            format!("{field} must be an IANA time zone such as America/New_York, got {}", quoted(value)),
        )
    })
}

fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, InvalidInput> {
    let bad = || InvalidInput::new(field, format!("{field} must be a date YYYY-MM-DD, got {}", quoted(value)));
    let date = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| bad())?;
    // chrono reads signed six-digit years that PostgreSQL's date cannot hold.
    if !(1..=9999).contains(&date.year()) {
        return Err(bad());
    }
    Ok(date)
}

/// A ticket type of a conference.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketType {
    /// Internal id.
    #[serde(skip)]
    pub id: i64,
    /// The conference's slug.
    pub conference: String,
    /// Unique within the conference.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Catalogue price.
    pub price: Money,
    /// Hidden unless a voucher unlocks it.
    pub requires_voucher: bool,
    /// On sale.
    pub is_active: bool,
}

/// A checked request to create a ticket type.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicketType {
    /// Unique within the conference.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// Catalogue price.
    pub price: Money,
    /// Hidden unless a voucher unlocks it.
    pub requires_voucher: bool,
}

impl NewTicketType {
    /// Checks every field; `price` is a decimal string such as `"100.00"`.
    pub fn parse(slug: &str, name: &str, price: &str, requires_voucher: bool) -> Result<Self, InvalidInput> {
        Ok(Self {
            slug: Slug::parse("slug", slug)?,
            name: Name::parse("name", name)?,
            price: Money::parse_str("price", price)?,
            requires_voucher,
        })
    }
}

/// An add-on of a conference (a T-shirt, a tutorial, the dinner).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddOn {
    /// Internal id.
    #[serde(skip)]
    pub id: i64,
    /// The conference's slug.
    pub conference: String,
    /// Unique within the conference.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Catalogue price.
    pub price: Money,
    /// On sale.
    pub is_active: bool,
}

/// A checked request to create an add-on.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAddOn {
    /// Unique within the conference.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// Catalogue price.
    pub price: Money,
}

impl NewAddOn {
    /// Checks every field; `price` is a decimal string such as `"25.00"`.
    pub fn parse(slug: &str, name: &str, price: &str) -> Result<Self, InvalidInput> {
        Ok(Self {
            slug: Slug::parse("slug", slug)?,
            name: Name::parse("name", name)?,
            price: Money::parse_str("price", price)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conference_fields_are_checked() {
        let ok = NewConference::parse("pycon-2027", "PyCon 2027", "2027-05-14", "2027-05-22", "America/New_York");
        assert_eq!(ok.unwrap().timezone.name(), "America/New_York");
        let bad_tz = NewConference::parse("p", "P", "2027-05-14", "2027-05-22", "Mars/Olympus").unwrap_err();
        assert_eq!(bad_tz.field, "timezone");
        let bad_order = NewConference::parse("p", "P", "2027-05-14", "2027-05-13", "UTC").unwrap_err();
        assert_eq!(bad_order.field, "end_date");
        let bad_date = NewConference::parse("p", "P", "14/05/2027", "2027-05-13", "UTC").unwrap_err();
        assert_eq!(bad_date.field, "start_date");
        let bad_date = NewConference::parse("p", "P", "-10000-05-14", "2027-05-13", "UTC").unwrap_err();
        assert_eq!(bad_date.field, "start_date");
    }

    #[test]
    fn ticket_type_price_is_checked() {
        assert_eq!(NewTicketType::parse("t", "T", "100", false).unwrap().price.to_string(), "100.00");
        assert_eq!(NewTicketType::parse("t", "T", "-5", false).unwrap_err().field, "price");
        assert_eq!(NewAddOn::parse("a", "A", "x").unwrap_err().field, "price");
    }
}
