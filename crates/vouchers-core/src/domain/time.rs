//! Points in time as people give them, and the validity window of a voucher.
//!
//! Times are stored as UTC instants. People may type a local time (`2027-05-14T09:00`), which is
//! read in the conference's time zone; that zone is known only once the conference is loaded, so
//! the input stays a [`When`] until then.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, SubsecRound, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::InvalidInput;

/// A time as given: an instant (RFC 3339 with an offset) or a wall-clock time in the conference's
/// time zone (`YYYY-MM-DDTHH:MM`, seconds optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// An exact instant.
    Instant(DateTime<Utc>),
    /// A local wall-clock time, read in the conference's time zone.
    Local(NaiveDateTime),
}

impl From<DateTime<Utc>> for When {
    fn from(value: DateTime<Utc>) -> Self {
        When::Instant(value)
    }
}

impl When {
    /// Parses `value` for `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let value = value.trim();
        // chrono reads a leap second (`:60`) as the second's last nanosecond run over; neither
        // database can store one, and a person who types it means a typo.
        let leap = || {
            InvalidInput::new(
                field,
                format!("{field} must not be a leap second (seconds 00 to 59), got {}", super::quoted(value)),
            )
        };
        if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
            if instant.nanosecond() >= 1_000_000_000 {
                return Err(leap());
            }
            return Ok(When::Instant(instant.with_timezone(&Utc)));
        }
        for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"] {
            if let Ok(local) = NaiveDateTime::parse_from_str(value, format) {
                if local.nanosecond() >= 1_000_000_000 {
                    return Err(leap());
                }
                return Ok(When::Local(local));
            }
        }
        Err(InvalidInput::new(
            field,
            format!(
                "{field} must be RFC 3339 with an offset (2027-05-14T09:00:00Z) or a local \
                 YYYY-MM-DDTHH:MM in the conference's time zone, got {}",
                super::quoted(value)
            ),
        ))
    }

    /// The UTC instant, reading a local time in `tz`. A local time that the clocks skip or repeat
    /// (a daylight-saving change) is refused: the caller must give an offset.
    pub fn resolve(self, field: &'static str, tz: Tz) -> Result<DateTime<Utc>, InvalidInput> {
        let instant = match self {
            When::Instant(instant) => instant,
            When::Local(local) => match tz.from_local_datetime(&local) {
                LocalResult::Single(t) => t.with_timezone(&Utc),
                LocalResult::Ambiguous(_, _) => {
                    return Err(InvalidInput::new(
                        field,
                        format!("{field} {local} happens twice in {tz} (clocks go back); give an offset"),
                    ))
                }
                LocalResult::None => {
                    return Err(InvalidInput::new(
                        field,
                        format!("{field} {local} does not exist in {tz} (clocks go forward); give an offset"),
                    ))
                }
            },
        };
        // Both databases must hold it (PostgreSQL's timestamptz stops at 4713 BC; a signed
        // six-digit year parses as a local time), and people mean years 1 to 9999.
        if !(1..=9999).contains(&instant.year()) {
            return Err(InvalidInput::new(field, format!("{field} must be between the years 1 and 9999, got {self}")));
        }
        // Both databases keep microseconds; round here so what we return is what is stored.
        Ok(instant.trunc_subsecs(6))
    }
}

impl FromStr for When {
    type Err = InvalidInput;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        When::parse("time", value)
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Instant(t) => write!(f, "{}", t.to_rfc3339()),
            When::Local(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S")),
        }
    }
}

/// A range of instants `[start, end)`, either bound open.
pub type InstantRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Local days `from` to `to` (both included, either open) in `tz`, as the instants `[start, end)`
/// that hold them: the start of `from`, and the start of the day after `to` (a day that daylight
/// saving makes 23 or 25 hours long counts whole). `to` before `from` is refused, naming `to`.
pub fn local_days(from: Option<NaiveDate>, to: Option<NaiveDate>, tz: Tz) -> Result<InstantRange, InvalidInput> {
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            return Err(InvalidInput::new("to", format!("to must not be before from ({to} < {from})")));
        }
    }
    let end = match to {
        None => None,
        Some(to) => Some(super::day_start(
            to.succ_opt().ok_or_else(|| InvalidInput::new("to", format!("to must be before {to}")))?,
            tz,
        )),
    };
    Ok((from.map(|from| super::day_start(from, tz)), end))
}

/// When a voucher may be used: both bounds optional and inclusive, `until` never before `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValidityWindow {
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

impl ValidityWindow {
    /// Checks that `valid_until` is not before `valid_from`.
    pub fn new(from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Result<Self, InvalidInput> {
        if let (Some(from), Some(until)) = (from, until) {
            if until < from {
                return Err(InvalidInput::new(
                    "valid_until",
                    format!(
                        "valid_until must not be before valid_from ({} < {})",
                        until.to_rfc3339(),
                        from.to_rfc3339()
                    ),
                ));
            }
        }
        Ok(Self { from, until })
    }

    /// Resolves both bounds in the conference's time zone, then checks their order.
    pub fn resolve(from: Option<When>, until: Option<When>, tz: Tz) -> Result<Self, InvalidInput> {
        let from = from.map(|w| w.resolve("valid_from", tz)).transpose()?;
        let until = until.map(|w| w.resolve("valid_until", tz)).transpose()?;
        Self::new(from, until)
    }

    /// The start of the window, if any.
    pub fn from(&self) -> Option<DateTime<Utc>> {
        self.from
    }

    /// The end of the window, if any.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_hold_whole_days_in_the_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let (start, end) = local_days(Some(day("2027-03-14")), Some(day("2027-03-14")), tz).unwrap();
        assert_eq!(start.unwrap().to_rfc3339(), "2027-03-14T05:00:00+00:00");
        // The day the clocks go forward has 23 hours.
        assert_eq!(end.unwrap().to_rfc3339(), "2027-03-15T04:00:00+00:00");
        assert_eq!(local_days(None, None, tz).unwrap(), (None, None));
        let backwards = local_days(Some(day("2027-03-14")), Some(day("2027-03-13")), tz).unwrap_err();
        assert_eq!(
            (backwards.field, backwards.message.as_str()),
            ("to", "to must not be before from (2027-03-13 < 2027-03-14)")
        );
        assert_eq!(local_days(None, Some(NaiveDate::MAX), tz).unwrap_err().field, "to");
    }

    #[test]
    fn leap_seconds_are_refused() {
        for leap in ["2027-05-14T09:00:60+05:00", "2027-06-30T23:59:60Z", "2027-05-14T09:00:60", "2027-05-14 09:00:60"]
        {
            let err = When::parse("valid_from", leap).unwrap_err();
            assert_eq!(err.field, "valid_from");
            assert!(err.message.contains("leap second"), "{leap}: {}", err.message);
        }
        assert!(When::parse("valid_from", "2027-05-14T09:00:59+05:00").is_ok());
    }

    #[test]
    fn instants_and_local_times() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let utc = When::parse("valid_from", "2027-05-14T09:00:00-04:00").unwrap();
        assert_eq!(utc.resolve("valid_from", ny).unwrap().to_rfc3339(), "2027-05-14T13:00:00+00:00");
        let local = When::parse("valid_from", "2027-05-14T09:00").unwrap();
        assert_eq!(local.resolve("valid_from", ny).unwrap().to_rfc3339(), "2027-05-14T13:00:00+00:00");
        let winter = When::parse("valid_from", "2027-01-14T09:00").unwrap();
        assert_eq!(winter.resolve("valid_from", ny).unwrap().to_rfc3339(), "2027-01-14T14:00:00+00:00");
    }

    #[test]
    fn bad_and_impossible_times_name_the_field() {
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(When::parse("valid_until", "tomorrow").unwrap_err().field, "valid_until");
        let skipped = When::parse("valid_from", "2027-03-14T02:30").unwrap();
        assert!(skipped.resolve("valid_from", ny).unwrap_err().message.contains("does not exist"));
        let far = When::parse("valid_from", "-200000-01-01T00:00").unwrap();
        assert!(far.resolve("valid_from", ny).unwrap_err().message.contains("between the years"));
        let repeated = When::parse("valid_from", "2027-11-07T01:30").unwrap();
        assert!(repeated.resolve("valid_from", ny).unwrap_err().message.contains("twice"));
    }

    #[test]
    fn window_order() {
        let a = When::parse("x", "2027-01-01T00:00:00Z").unwrap();
        let b = When::parse("x", "2027-01-02T00:00:00Z").unwrap();
        assert!(ValidityWindow::resolve(Some(a), Some(b), Tz::UTC).is_ok());
        assert!(ValidityWindow::resolve(Some(a), Some(a), Tz::UTC).is_ok());
        let e = ValidityWindow::resolve(Some(b), Some(a), Tz::UTC).unwrap_err();
        assert_eq!(e.field, "valid_until");
        assert!(ValidityWindow::resolve(None, Some(a), Tz::UTC).is_ok());
    }
}
