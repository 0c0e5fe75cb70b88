//! Conferences and what they sell: ticket types and add-ons; and the checked changes of each
//! (a slug and a conference's time zone never change).

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

/// A checked change of a conference's settings: each field `None` keeps what is stored. The slug
/// and the time zone never change (local times already given were read in that zone).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConferenceChange {
    /// A new display name.
    pub name: Option<Name>,
    /// A new first day.
    pub start_date: Option<NaiveDate>,
    /// A new last day.
    pub end_date: Option<NaiveDate>,
    /// A new hold time (a hold's time when it names none).
    pub hold_seconds: Option<super::HoldSeconds>,
}

impl ConferenceChange {
    /// Checks each field given: the name as [`Name`], dates `YYYY-MM-DD`, the hold time 1 to
    /// 604,800 seconds. Whether the last day comes before the first is checked by
    /// [`ConferenceChange::apply`], against the stored dates.
    pub fn parse(
        name: Option<&str>,
        start_date: Option<&str>,
        end_date: Option<&str>,
        hold_seconds: Option<i64>,
    ) -> Result<Self, InvalidInput> {
        Ok(Self {
            name: name.map(|n| Name::parse("name", n)).transpose()?,
            start_date: start_date.map(|d| parse_date("start_date", d)).transpose()?,
            end_date: end_date.map(|d| parse_date("end_date", d)).transpose()?,
            hold_seconds: hold_seconds.map(|s| super::HoldSeconds::new("hold_seconds", s)).transpose()?,
        })
    }

    /// The conference as this change leaves it. The last day must not come before the first; the
    /// error names the date that was given (`end_date` when both were).
    pub fn apply(&self, conference: &Conference) -> Result<Conference, InvalidInput> {
        let mut changed = conference.clone();
        if let Some(name) = &self.name {
            changed.name = name.as_str().to_owned();
        }
        changed.start_date = self.start_date.unwrap_or(conference.start_date);
        changed.end_date = self.end_date.unwrap_or(conference.end_date);
        if let Some(seconds) = self.hold_seconds {
            changed.hold_seconds = seconds.get();
        }
        let (start, end) = (changed.start_date, changed.end_date);
        if end < start {
            return Err(if self.end_date.is_some() || self.start_date.is_none() {
                InvalidInput::new("end_date", format!("end_date must not be before start_date ({end} < {start})"))
            } else {
                InvalidInput::new("start_date", format!("start_date must not be after end_date ({start} > {end})"))
            });
        }
        Ok(changed)
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

/// Parses a calendar date `YYYY-MM-DD` (years 1 to 9999, what both databases hold) for `field`.
pub fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, InvalidInput> {
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

/// A checked change of a ticket type: each field `None` keeps what is stored; the slug never
/// changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketTypeChange {
    /// A new display name.
    pub name: Option<Name>,
    /// A new catalogue price.
    pub price: Option<Money>,
    /// Hidden (shown only to holders of a voucher that unlocks it) or not.
    pub requires_voucher: Option<bool>,
    /// On sale or not.
    pub is_active: Option<bool>,
}

impl TicketTypeChange {
    /// Checks each field given; `price` is a decimal string such as `"100.00"`.
    pub fn parse(
        name: Option<&str>,
        price: Option<&str>,
        requires_voucher: Option<bool>,
        is_active: Option<bool>,
    ) -> Result<Self, InvalidInput> {
        Ok(Self {
            name: name.map(|n| Name::parse("name", n)).transpose()?,
            price: price.map(|p| Money::parse_str("price", p)).transpose()?,
            requires_voucher,
            is_active,
        })
    }

    /// The ticket type as this change leaves it.
    pub fn apply(&self, ticket_type: &TicketType) -> TicketType {
        TicketType {
            name: self.name.as_ref().map_or_else(|| ticket_type.name.clone(), |n| n.as_str().to_owned()),
            price: self.price.unwrap_or(ticket_type.price),
            requires_voucher: self.requires_voucher.unwrap_or(ticket_type.requires_voucher),
            is_active: self.is_active.unwrap_or(ticket_type.is_active),
            ..ticket_type.clone()
        }
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

/// A checked change of an add-on: each field `None` keeps what is stored; the slug never changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddOnChange {
    /// A new display name.
    pub name: Option<Name>,
    /// A new catalogue price.
    pub price: Option<Money>,
    /// On sale or not.
    pub is_active: Option<bool>,
}

impl AddOnChange {
    /// Checks each field given; `price` is a decimal string such as `"25.00"`.
    pub fn parse(name: Option<&str>, price: Option<&str>, is_active: Option<bool>) -> Result<Self, InvalidInput> {
        Ok(Self {
            name: name.map(|n| Name::parse("name", n)).transpose()?,
            price: price.map(|p| Money::parse_str("price", p)).transpose()?,
            is_active,
        })
    }

    /// The add-on as this change leaves it.
    pub fn apply(&self, addon: &AddOn) -> AddOn {
        AddOn {
            name: self.name.as_ref().map_or_else(|| addon.name.clone(), |n| n.as_str().to_owned()),
            price: self.price.unwrap_or(addon.price),
            is_active: self.is_active.unwrap_or(addon.is_active),
            ..addon.clone()
        }
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

    fn pycon() -> Conference {
        Conference {
            id: 1,
            slug: "pycon".into(),
            name: "PyCon".into(),
            start_date: NaiveDate::from_ymd_opt(2027, 5, 14).unwrap(),
            end_date: NaiveDate::from_ymd_opt(2027, 5, 22).unwrap(),
            timezone: chrono_tz::UTC,
            created_at: Utc::now(),
            hold_seconds: 1800,
        }
    }

    #[test]
    fn conference_changes_keep_the_days_in_order() {
        let c = pycon();
        let renamed = ConferenceChange::parse(Some(" PyCon US "), None, None, None).unwrap().apply(&c).unwrap();
        assert_eq!((renamed.name.as_str(), renamed.start_date, renamed.hold_seconds), ("PyCon US", c.start_date, 1800));
        let late_start = ConferenceChange::parse(None, Some("2027-05-23"), None, None).unwrap();
        assert_eq!(late_start.apply(&c).unwrap_err().field, "start_date");
        let early_end = ConferenceChange::parse(None, None, Some("2027-05-13"), None).unwrap();
        assert_eq!(early_end.apply(&c).unwrap_err().field, "end_date");
        let both = ConferenceChange::parse(None, Some("2027-06-01"), Some("2027-05-30"), None).unwrap();
        assert!(both.apply(&c).unwrap_err().message.starts_with("end_date must not be before start_date"));
        let moved = ConferenceChange::parse(None, Some("2027-06-01"), Some("2027-06-01"), Some(60)).unwrap();
        let moved = moved.apply(&c).unwrap();
        assert_eq!((moved.end_date.to_string(), moved.hold_seconds), ("2027-06-01".to_owned(), 60));
        assert_eq!(ConferenceChange::parse(Some(""), None, None, None).unwrap_err().field, "name");
        assert_eq!(ConferenceChange::parse(None, Some("14/05/2027"), None, None).unwrap_err().field, "start_date");
        assert_eq!(ConferenceChange::parse(None, None, None, Some(0)).unwrap_err().field, "hold_seconds");
        assert_eq!(ConferenceChange::default().apply(&c).unwrap(), c);
    }

    #[test]
    fn catalog_changes_apply_only_what_is_given() {
        let t = TicketType {
            id: 3,
            conference: "pycon".into(),
            slug: "student".into(),
            name: "Student".into(),
            price: Money::from_cents(10_000),
            requires_voucher: true,
            is_active: true,
        };
        let change = TicketTypeChange::parse(None, Some("120"), Some(false), None).unwrap();
        let changed = change.apply(&t);
        assert_eq!(
            (changed.price.to_string(), changed.requires_voucher, changed.is_active),
            ("120.00".into(), false, true)
        );
        assert_eq!((changed.slug.as_str(), changed.name.as_str()), ("student", "Student"));
        assert_eq!(TicketTypeChange::parse(None, Some("-1"), None, None).unwrap_err().field, "price");
        let a = AddOn {
            id: 4,
            conference: "pycon".into(),
            slug: "tshirt".into(),
            name: "T-shirt".into(),
            price: Money::from_cents(2_500),
            is_active: true,
        };
        let off = AddOnChange::parse(Some("Shirt"), None, Some(false)).unwrap().apply(&a);
        assert_eq!((off.name.as_str(), off.price, off.is_active), ("Shirt", a.price, false));
        assert_eq!(AddOnChange::parse(Some(" "), None, None).unwrap_err().field, "name");
    }

    #[test]
    fn ticket_type_price_is_checked() {
        assert_eq!(NewTicketType::parse("t", "T", "100", false).unwrap().price.to_string(), "100.00");
        assert_eq!(NewTicketType::parse("t", "T", "-5", false).unwrap_err().field, "price");
        assert_eq!(NewAddOn::parse("a", "A", "x").unwrap_err().field, "price");
    }
}
