//! The figures of a conference's reports: each batch's funnel (issued, assigned, emailed, held,
//! redeemed, released, discount given), redemptions over time in the conference's time zone, and
//! the redemptions one by one. The store counts; the time buckets are folded into local days or
//! hours here, so a time zone's rules (daylight saving, half-hour offsets) live in one place.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, DurationRound, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::voucher::{rfc3339, rfc3339_opt};
use super::{quoted, InvalidInput, Money};

/// The store's time buckets: 15 minutes, which every time zone's offset is a multiple of.
pub const BUCKET_SECONDS: i64 = 900;

/// The longest range of a timeline by day (about 13 months).
pub const MAX_DAYS: i64 = 400;

/// The longest range of a timeline by hour (two weeks).
pub const MAX_HOURS: i64 = 14 * 24;

/// One batch's funnel (or, with no batch, the vouchers added by hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchFunnel {
    /// The batch (`null`: vouchers added one by one).
    pub batch_id: Option<i64>,
    /// Its prefix.
    pub prefix: Option<String>,
    /// Its name for people (empty: none; `null` with no batch).
    pub name: Option<String>,
    /// Vouchers issued.
    pub issued: i64,
    /// Handed to a recipient.
    pub assigned: i64,
    /// Whose email went out.
    pub emailed: i64,
    /// Uses held by open carts now.
    pub held: i64,
    /// Redemptions standing (not released).
    pub redeemed: i64,
    /// Redemptions given back.
    pub released: i64,
    /// The discount the standing redemptions gave.
    pub discount_given: Money,
}

/// A timeline's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    /// Local calendar days.
    Day,
    /// Local hours.
    Hour,
}

impl Interval {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Hour => "hour",
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Interval {
    type Err = InvalidInput;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "day" => Ok(Interval::Day),
            "hour" => Ok(Interval::Hour),
            other => Err(InvalidInput::new("interval", format!("interval must be day or hour, got {}", quoted(other)))),
        }
    }
}

/// One step of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelinePoint {
    /// Where the step starts (UTC).
    #[serde(serialize_with = "rfc3339")]
    pub start: DateTime<Utc>,
    /// The step in the conference's time zone: `2027-05-14`, or `2027-05-14 09:00`.
    pub label: String,
    /// Redemptions made in it that stand (not released).
    pub redemptions: i64,
    /// The discount they gave.
    pub discount: Money,
}

/// Redemptions over time, in the conference's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timeline {
    /// `day` or `hour`.
    pub interval: Interval,
    /// The conference's time zone, which the steps are in.
    pub timezone: String,
    /// The first step's start.
    #[serde(serialize_with = "rfc3339")]
    pub from: DateTime<Utc>,
    /// The end (exclusive) of the last step.
    #[serde(serialize_with = "rfc3339")]
    pub to: DateTime<Utc>,
    /// Every step of the range, in order, empty ones included.
    pub points: Vec<TimelinePoint>,
    /// Redemptions in the range.
    pub total_redemptions: i64,
    /// Their discount.
    pub total_discount: Money,
}

/// The local step that holds the instant `t`: its start (as a local time) and label.
fn step_of(t: DateTime<Utc>, tz: Tz, interval: Interval) -> (chrono::NaiveDateTime, String) {
    let local = t.with_timezone(&tz).naive_local();
    match interval {
        Interval::Day => {
            let day = local.date();
            (day.and_hms_opt(0, 0, 0).unwrap_or(local), day.format("%Y-%m-%d").to_string())
        }
        Interval::Hour => {
            let hour = local.with_minute(0).and_then(|h| h.with_second(0)).and_then(|h| h.with_nanosecond(0));
            let hour = hour.unwrap_or(local);
            (hour, hour.format("%Y-%m-%d %H:00").to_string())
        }
    }
}

/// The UTC instant a local step starts at (the earliest, when the clocks repeat it; the first
/// existing minute after, when they skip it).
fn start_of(local: chrono::NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    let mut probe = local;
    for _ in 0..8 {
        match tz.from_local_datetime(&probe) {
            chrono::LocalResult::Single(t) => return t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            chrono::LocalResult::None => probe += Duration::minutes(15),
        }
    }
    Utc.from_utc_datetime(&local)
}

impl Timeline {
    /// The range of a timeline: the local steps that hold `from` and `to` (the one holding `to`
    /// included); refused when `to` is before `from`, or the range has more steps than the
    /// interval allows ([`MAX_DAYS`], [`MAX_HOURS`]). Returns the UTC bounds to count within.
    pub fn range(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
        interval: Interval,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), InvalidInput> {
        if to < from {
            return Err(InvalidInput::new("to", "to must not be before from"));
        }
        let (limit, unit) = match interval {
            Interval::Day => (MAX_DAYS, Duration::days(1)),
            Interval::Hour => (MAX_HOURS, Duration::hours(1)),
        };
        if to - from > unit * i32::try_from(limit).unwrap_or(i32::MAX) {
            return Err(InvalidInput::new(
                "to",
                format!("a timeline by {interval} covers at most {limit} {interval}s; narrow from and to"),
            ));
        }
        let start = start_of(step_of(from, tz, interval).0, tz);
        let (last, _) = step_of(to, tz, interval);
        let end = start_of(last + unit, tz);
        Ok((start, end))
    }

    /// Folds the store's 15-minute buckets (`(bucket index since the epoch, redemptions,
    /// discount)`) into the local steps of `[from, to)`, every step listed.
    pub fn fold(
        buckets: &[(i64, i64, Money)],
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        tz: Tz,
        interval: Interval,
    ) -> Timeline {
        let mut steps: BTreeMap<chrono::NaiveDateTime, (String, i64, Money)> = BTreeMap::new();
        let mut cursor = from;
        let unit = match interval {
            Interval::Day => Duration::days(1),
            Interval::Hour => Duration::hours(1),
        };
        while cursor < to {
            let (local, label) = step_of(cursor, tz, interval);
            steps.entry(local).or_insert((label, 0, Money::ZERO));
            // Walk in UTC steps of at most an hour so no local step is skipped by a clock change.
            cursor = (cursor + unit.min(Duration::hours(1))).duration_trunc(Duration::minutes(15)).unwrap_or(to);
        }
        let (mut total, mut total_discount) = (0, Money::ZERO);
        for (index, count, discount) in buckets {
            let Some(at) = DateTime::from_timestamp(index.saturating_mul(BUCKET_SECONDS), 0) else { continue };
            if at < from || at >= to {
                continue;
            }
            let (local, label) = step_of(at, tz, interval);
            let step = steps.entry(local).or_insert((label, 0, Money::ZERO));
            step.1 += count;
            step.2 = step.2.saturating_add(*discount);
            total += count;
            total_discount = total_discount.saturating_add(*discount);
        }
        let points = steps
            .into_iter()
            .map(|(local, (label, redemptions, discount))| TimelinePoint {
                start: start_of(local, tz),
                label,
                redemptions,
                discount,
            })
            .collect();
        Timeline {
            interval,
            timezone: tz.name().to_owned(),
            from,
            to,
            points,
            total_redemptions: total,
            total_discount,
        }
    }
}

/// One redemption, as the reports list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedemptionEntry {
    /// Its id (newest is highest; the list's cursor).
    pub id: i64,
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub redeemed_at: DateTime<Utc>,
    /// The code.
    pub code: String,
    /// Its batch (`null`: added by hand).
    pub batch_id: Option<i64>,
    /// The order.
    pub order_ref: String,
    /// The customer's email, when the checkout gave one for a once-per-customer code.
    pub customer_email: Option<String>,
    /// The discount it gave.
    pub discount: Money,
    /// When it was given back, if it was.
    #[serde(serialize_with = "rfc3339_opt")]
    pub released_at: Option<DateTime<Utc>>,
}

/// A calendar date in `tz` as the start of its first instant (UTC), for `from`/`to` given as dates.
pub fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    start_of(day.and_hms_opt(0, 0, 0).unwrap_or_default(), tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(cents: i64) -> Money {
        Money::from_cents(cents)
    }

    #[test]
    fn days_are_the_conference_zones() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let from: DateTime<Utc> = "2027-03-13T12:00:00Z".parse().unwrap();
        let to: DateTime<Utc> = "2027-03-15T12:00:00Z".parse().unwrap();
        let range = Timeline::range(from, to, tz, Interval::Day).unwrap();
        assert_eq!(range.0, "2027-03-13T05:00:00Z".parse::<DateTime<Utc>>().unwrap());
        // 2027-03-14 has 23 hours in New York.
        assert_eq!(range.1, "2027-03-16T04:00:00Z".parse::<DateTime<Utc>>().unwrap());
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap().timestamp() / BUCKET_SECONDS;
        let buckets = [
            (at("2027-03-14T03:59:00Z"), 1, money(500)),  // 13th, 23:59 local
            (at("2027-03-14T05:00:00Z"), 2, money(1000)), // 14th, 00:00 local (EST)
            (at("2027-03-15T03:00:00Z"), 1, money(100)),  // 14th, 23:00 local (EDT)
        ];
        let timeline = Timeline::fold(&buckets, range, tz, Interval::Day);
        let labels: Vec<&str> = timeline.points.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["2027-03-13", "2027-03-14", "2027-03-15"]);
        let counts: Vec<i64> = timeline.points.iter().map(|p| p.redemptions).collect();
        assert_eq!(counts, [1, 3, 0]);
        assert_eq!((timeline.total_redemptions, timeline.total_discount), (4, money(1600)));
    }

    #[test]
    fn hours_in_a_half_hour_zone_and_the_bounds() {
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let from: DateTime<Utc> = "2027-05-14T00:10:00Z".parse().unwrap();
        let range = Timeline::range(from, from + Duration::hours(2), tz, Interval::Hour).unwrap();
        let timeline = Timeline::fold(&[], range, tz, Interval::Hour);
        let labels: Vec<&str> = timeline.points.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["2027-05-14 05:00", "2027-05-14 06:00", "2027-05-14 07:00"]);
        assert_eq!(timeline.points[0].start, "2027-05-13T23:30:00Z".parse::<DateTime<Utc>>().unwrap());
        let far = Timeline::range(from, from + Duration::days(15), tz, Interval::Hour).unwrap_err();
        assert_eq!(far.field, "to");
        assert!(Timeline::range(from, from - Duration::hours(1), tz, Interval::Day).is_err());
        assert_eq!("week".parse::<Interval>().unwrap_err().field, "interval");
    }
}
