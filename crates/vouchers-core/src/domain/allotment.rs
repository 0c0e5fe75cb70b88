//! Sponsor allotments: a number of passes one sponsor hands out to named attendees by a
//! deadline, each attendee getting a personal code. The values checked at the boundary (the
//! sponsor's name, the reminder days, the secret link) and what an allotment and its attendees
//! look like; the rules that need the database live in `service::allotments`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::voucher::rfc3339;
use super::{quoted, InvalidInput, Name};

/// The days before the deadline a reminder goes to the contact when none are given.
pub const DEFAULT_REMINDER_DAYS: [i64; 2] = [7, 1];

/// The most reminders one allotment may ask for.
pub const MAX_REMINDERS: usize = 5;

/// The furthest a reminder may be before the deadline, in days.
pub const MAX_REMINDER_DAYS: i64 = 365;

/// The most attendees one paste may hold (a longer list is refused whole, unread past this).
pub const MAX_PASTE: usize = 10_000;

/// One allotment as the organizer sees it. Its JSON form is a contract: exactly `id`, `sponsor`,
/// `contact`, `seats`, `assigned`, `redeemed`, `left`, `deadline`, `closed`, `returned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Allotment {
    /// Database id.
    pub id: i64,
    /// The sponsor's name.
    pub sponsor: String,
    /// The sponsor's contact email (reminders go there).
    pub contact: String,
    /// Passes the sponsor was given.
    pub seats: i64,
    /// Passes assigned to an attendee.
    pub assigned: i64,
    /// Assigned passes whose code was redeemed.
    pub redeemed: i64,
    /// Passes the sponsor may still assign (0 once closed).
    pub left: i64,
    /// When unassigned passes are returned.
    #[serde(serialize_with = "rfc3339")]
    pub deadline: DateTime<Utc>,
    /// The deadline has passed and the allotment was closed.
    pub closed: bool,
    /// Passes returned at the close (seats nobody was given).
    pub returned: i64,
    /// The conference (its slug).
    #[serde(skip)]
    pub conference: String,
    /// The batch its codes belong to.
    #[serde(skip)]
    pub batch_id: i64,
    /// Days before the deadline the contact is reminded.
    #[serde(skip)]
    pub reminder_days: Vec<i64>,
    /// A sponsor link is set (not revoked).
    #[serde(skip)]
    pub has_link: bool,
    /// When the allotment was closed.
    #[serde(skip)]
    pub closed_at: Option<DateTime<Utc>>,
    /// When it was created.
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

impl Allotment {
    /// Passes left for `seats`, `assigned` and whether it is closed.
    pub fn left_of(seats: i64, assigned: i64, closed: bool) -> i64 {
        if closed {
            0
        } else {
            (seats - assigned).max(0)
        }
    }

    /// Assigned passes not redeemed yet.
    pub fn waiting(&self) -> i64 {
        (self.assigned - self.redeemed).max(0)
    }
}

/// Where one attendee stands, as the sponsor's page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttendeeStatus {
    /// A code was minted; its email is waiting in the outbox (or failed).
    Assigned,
    /// The email with the code went out.
    EmailSent,
    /// The attendee used the code.
    Redeemed,
}

impl AttendeeStatus {
    /// As the page says it.
    pub fn label(self) -> &'static str {
        match self {
            AttendeeStatus::Assigned => "assigned",
            AttendeeStatus::EmailSent => "email sent",
            AttendeeStatus::Redeemed => "redeemed",
        }
    }
}

/// One attendee of an allotment: never its code (the sponsor does not see it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attendee {
    /// The id of the attendee's voucher (what the page's forms name).
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// Where they stand.
    pub status: AttendeeStatus,
}

/// A sponsor's name: a name (1 to 200 characters, no control or invisible characters).
pub fn sponsor_name(value: &str) -> Result<String, InvalidInput> {
    Ok(Name::parse("sponsor", value)?.as_str().to_owned())
}

/// The reminder days: distinct whole days from 1 to [`MAX_REMINDER_DAYS`], at most
/// [`MAX_REMINDERS`]; empty means no reminder. Sorted from the furthest.
pub fn reminder_days(days: &[i64]) -> Result<Vec<i64>, InvalidInput> {
    if days.len() > MAX_REMINDERS {
        return Err(InvalidInput::new(
            "reminder_days",
            format!("reminder_days: at most {MAX_REMINDERS} reminders, got {}", days.len()),
        ));
    }
    if let Some(bad) = days.iter().find(|d| !(1..=MAX_REMINDER_DAYS).contains(*d)) {
        return Err(InvalidInput::new(
            "reminder_days",
            format!("reminder_days must be whole days from 1 to {MAX_REMINDER_DAYS} before the deadline, got {bad}"),
        ));
    }
    let mut sorted = days.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    Ok(sorted)
}

/// The reminder days as the CLI and forms write them: `7,1`; `none` (or nothing) for none.
pub fn parse_reminder_days(text: &str) -> Result<Vec<i64>, InvalidInput> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let days: Result<Vec<i64>, InvalidInput> = text
        .split(',')
        .take(MAX_REMINDERS + 1)
        .map(|d| {
            d.trim().parse::<i64>().map_err(|_| {
                InvalidInput::new(
                    "reminder_days",
                    format!("reminder_days must be whole days separated by commas (7,1), got {}", quoted(text)),
                )
            })
        })
        .collect();
    reminder_days(&days?)
}

/// The reminder days as stored and shown: `7,1` (empty for none).
pub fn format_reminder_days(days: &[i64]) -> String {
    days.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The origin links are made under (`serve --public-url`): `http://` or `https://`, a host,
/// perhaps a port and a path prefix; no query, fragment, space or control character. Returned
/// without a trailing `/`.
pub fn public_origin(value: &str) -> Result<String, InvalidInput> {
    let bad = || {
        InvalidInput::new(
            "public_url",
            format!(
                "public_url must be an http:// or https:// address such as https://tickets.example.org, got {}",
                quoted(value)
            ),
        )
    };
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://")).ok_or_else(bad)?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty()
        || value.len() > 500
        || value.chars().any(|c| c.is_control() || c.is_whitespace() || matches!(c, '?' | '#' | '"' | '<' | '>' | '\\'))
    {
        return Err(bad());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// The secret of a sponsor's link (`/sponsor/SECRET`): shown once, only its hash is stored.
/// `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SponsorSecret(String);

impl SponsorSecret {
    /// Wraps a presented or generated secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself: only for the link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The sponsor's path: `/sponsor/SECRET`.
    pub fn path(&self) -> String {
        format!("/sponsor/{}", self.0)
    }

    /// The link under `origin` (`https://tickets.example.org`), or the path alone without one.
    pub fn link(&self, origin: Option<&str>) -> String {
        match origin {
            Some(origin) => format!("{}{}", origin.trim_end_matches('/'), self.path()),
            None => self.path(),
        }
    }
}

impl fmt::Debug for SponsorSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SponsorSecret(***)")
    }
}

/// A sponsor's browser session: the allotment it may see and change, and its forms' CSRF token.
#[derive(Clone, PartialEq, Eq)]
pub struct SponsorSession {
    /// Database id.
    pub id: i64,
    /// The one allotment this session reaches.
    pub allotment_id: i64,
    /// The conference of the allotment (its slug).
    pub conference: String,
    /// The sponsor's name (what its audit records name).
    pub sponsor: String,
    /// The batch the allotment's codes are minted in (its attendees').
    pub batch_id: i64,
    /// The CSRF token of this session's forms.
    pub csrf_token: String,
}

impl fmt::Debug for SponsorSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SponsorSession")
            .field("id", &self.id)
            .field("allotment_id", &self.allotment_id)
            .field("conference", &self.conference)
            .field("sponsor", &self.sponsor)
            .field("batch_id", &self.batch_id)
            .field("csrf_token", &"***")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_days_are_checked_and_sorted() {
        assert_eq!(parse_reminder_days("1, 7").unwrap(), vec![7, 1]);
        assert_eq!(parse_reminder_days("none").unwrap(), Vec::<i64>::new());
        assert_eq!(parse_reminder_days("7,7").unwrap(), vec![7]);
        assert_eq!(parse_reminder_days("0").unwrap_err().field, "reminder_days");
        assert_eq!(parse_reminder_days("x").unwrap_err().field, "reminder_days");
        assert_eq!(parse_reminder_days("1,2,3,4,5,6").unwrap_err().field, "reminder_days");
        assert_eq!(format_reminder_days(&[7, 1]), "7,1");
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let secret = SponsorSecret::new("s3cret");
        assert!(!format!("{secret:?}").contains("s3cret"));
        assert_eq!(secret.link(Some("https://x.org/")), "https://x.org/sponsor/s3cret");
        assert_eq!(secret.link(None), "/sponsor/s3cret");
        let session = SponsorSession {
            id: 1,
            allotment_id: 2,
            conference: "c".into(),
            sponsor: "S".into(),
            batch_id: 3,
            csrf_token: "zq9x".into(),
        };
        assert!(!format!("{session:?}").contains("zq9x"));
    }

    #[test]
    fn public_origins_are_checked() {
        assert_eq!(public_origin("https://t.example.org/").unwrap(), "https://t.example.org");
        assert_eq!(public_origin("http://127.0.0.1:8080/tickets").unwrap(), "http://127.0.0.1:8080/tickets");
        for bad in ["t.example.org", "ftp://x", "https://", "https://x/?a", "https://x y", "https://x\r\n"] {
            assert_eq!(public_origin(bad).unwrap_err().field, "public_url", "{bad}");
        }
    }

    #[test]
    fn sponsor_names_are_names() {
        assert_eq!(sponsor_name(" ACME ").unwrap(), "ACME");
        assert_eq!(sponsor_name("a\r\nb").unwrap_err().field, "sponsor");
    }
}
