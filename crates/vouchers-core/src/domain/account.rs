//! Organizer accounts of the console: an email, a role, the conferences a `manage` account may
//! see, and passwords, session secrets and set-password links that never show in `Debug`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::voucher::{rfc3339, rfc3339_opt};
use super::{is_spoofing_char, quoted, InvalidInput};

/// What an account may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Every conference; may create conferences and see every API token.
    Admin,
    /// Only the conferences it is granted.
    Manage,
}

impl Role {
    /// The name used in the CLI, the pages and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manage => "manage",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = InvalidInput;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "admin" => Ok(Role::Admin),
            "manage" => Ok(Role::Manage),
            other => Err(InvalidInput::new("role", format!("role must be admin or manage, got {}", quoted(other)))),
        }
    }
}

/// An email address, trimmed and lower-cased (so it is unique ignoring case): one `@`, a local
/// part and a domain with a dot, at most 254 characters, no spaces or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// The longest address accepted (RFC 5321's path limit).
    pub const MAX_CHARS: usize = 254;

    /// Checks an address for `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let trimmed = value.trim();
        let bad = || {
            InvalidInput::new(
                field,
                format!("{field} must be an email address like name@example.org, got {}", quoted(trimmed)),
            )
        };
        if trimmed.is_empty() || trimmed.chars().count() > Self::MAX_CHARS {
            return Err(bad());
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control() || is_spoofing_char(c)) {
            return Err(bad());
        }
        // The parser of the library that sends the mail (RFC 5321 local part, a domain name or an
        // address literal), and a dotted domain name: an address it accepts is one it can send to.
        let parsed: lettre::Address = trimmed.parse().map_err(|_| bad())?;
        let domain = parsed.domain();
        let domain_ok = domain.contains('.')
            && !domain.starts_with(['.', '['])
            && !domain.ends_with('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !domain_ok {
            return Err(bad());
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    /// The address, lower-cased.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as a person typed it: at least 12 characters, at most 1,024 (hashing a megabyte
/// would be a denial of service). `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The shortest password accepted.
    pub const MIN_CHARS: usize = 12;
    /// The longest password accepted.
    pub const MAX_CHARS: usize = 1024;

    /// Checks a new password (account creation, a change of password).
    pub fn new(value: &str) -> Result<Self, InvalidInput> {
        let len = value.chars().count();
        if len < Self::MIN_CHARS {
            return Err(InvalidInput::new(
                "password",
                format!("password must be at least {} characters, got {len}", Self::MIN_CHARS),
            ));
        }
        if len > Self::MAX_CHARS {
            return Err(InvalidInput::new(
                "password",
                format!("password must be at most {} characters, got {len}", Self::MAX_CHARS),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// A password typed at login: any length up to the maximum (a wrong one simply fails).
    pub fn presented(value: &str) -> Self {
        Self(value.chars().take(Self::MAX_CHARS).collect())
    }

    /// The password itself: only for hashing or verifying it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// An organizer account, without its password hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    /// Database id.
    pub id: i64,
    /// Its email, lower-cased.
    pub email: String,
    /// What it may do.
    pub role: Role,
    /// The conferences (slugs, sorted) a `manage` account may see; empty for admin.
    pub conferences: Vec<String>,
    /// Creation time.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it was disabled; a disabled account cannot sign in and has no sessions.
    #[serde(serialize_with = "rfc3339_opt")]
    pub disabled_at: Option<DateTime<Utc>>,
    /// False while an account made with a one-time set-password link waits for its first
    /// password: it cannot sign in until the link is used.
    pub has_password: bool,
}

/// What an account is now, as the console's badge says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// It may sign in.
    Active,
    /// It was disabled: it cannot sign in.
    Disabled,
    /// It was made with a one-time link and has no password yet.
    WaitingForPassword,
}

impl AccountStatus {
    /// The status of `account` (disabled first: a disabled account never signs in).
    pub fn of(account: &Account) -> Self {
        if account.disabled_at.is_some() {
            AccountStatus::Disabled
        } else if !account.has_password {
            AccountStatus::WaitingForPassword
        } else {
            AccountStatus::Active
        }
    }

    /// In words: `active`, `disabled`, `waiting for a password`.
    pub fn label(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
            AccountStatus::WaitingForPassword => "waiting for a password",
        }
    }
}

/// The secret of a one-time set-password link (`/console/set-password/SECRET`): 32 random
/// bytes, shown once; only its SHA-256 is stored. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordLinkSecret(String);

impl PasswordLinkSecret {
    /// Wraps a presented or generated secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself: only for the link and its hash.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The link's path: `/console/set-password/SECRET`.
    pub fn path(&self) -> String {
        format!("/console/set-password/{}", self.0)
    }

    /// The link under `origin` (`https://tickets.example.org`), or the path alone without one.
    pub fn link(&self, origin: Option<&str>) -> String {
        match origin {
            Some(origin) => format!("{}{}", origin.trim_end_matches('/'), self.path()),
            None => self.path(),
        }
    }
}

impl fmt::Debug for PasswordLinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordLinkSecret(***)")
    }
}

/// A console session's secret, the value of its cookie. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    /// Wraps a presented or generated secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself: only for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(***)")
    }
}

/// A signed-in account's session: who, and the token every form of the session must carry.
#[derive(Clone, PartialEq)]
pub struct Session {
    /// Database id.
    pub id: i64,
    /// The account, as it is now.
    pub account: Account,
    /// The CSRF token of this session's forms.
    pub csrf_token: String,
    /// When it started (the absolute expiry counts from here).
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("account", &self.account.email)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse("email", "  Ada@Example.ORG ").unwrap().as_str(), "ada@example.org");
        for bad in ["", "ada", "ada@", "@example.org", "ada@example", "a da@example.org", "ada@ex..org", "a@b@c.org"] {
            assert_eq!(Email::parse("email", bad).unwrap_err().field, "email", "{bad}");
        }
        // What a probe got through before: none of these is an address a mail server takes.
        for bad in [
            "a<b>@example.org",
            "a,b@example.org",
            ".a@example.org",
            "a.@example.org",
            "a..b@example.org",
            "a@-x-.org",
            "a@x-.org",
            "a@ex/ample.org",
            "a@ex_ample.org",
            "a(b)@example.org",
            "a\"b@example.org",
            "a;b@example.org",
            "a[b]@example.org",
            "a\\b@example.org",
            "a:b@example.org",
            "a@[127.0.0.1]",
            "a@example.org.",
            "a@.example.org",
        ] {
            let e = Email::parse("email", bad).unwrap_err();
            assert!(e.message.contains("must be an email address"), "{bad}: {}", e.message);
        }
        for good in ["'-bob@example.org", "o'brien+pycon@example.co.uk", "x_y.z@sub.example.org", "ana@bücher.de"] {
            assert!(Email::parse("email", good).is_ok(), "{good}");
        }
    }

    #[test]
    fn passwords_are_long_enough_and_never_shown() {
        assert!(Password::new("short").unwrap_err().message.contains("at least 12"));
        let p = Password::new("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(!format!("{:?}", SessionSecret::new("s3cret")).contains("s3cret"));
    }

    #[test]
    fn password_links_are_never_shown() {
        let secret = PasswordLinkSecret::new("s3cret");
        assert!(!format!("{secret:?}").contains("s3cret"));
        assert_eq!(secret.link(Some("https://x.org/")), "https://x.org/console/set-password/s3cret");
        assert_eq!(secret.link(None), "/console/set-password/s3cret");
    }

    #[test]
    fn statuses() {
        let mut account = Account {
            id: 1,
            email: "ana@example.org".into(),
            role: Role::Manage,
            conferences: Vec::new(),
            created_at: Utc::now(),
            disabled_at: None,
            has_password: false,
        };
        assert_eq!(AccountStatus::of(&account).label(), "waiting for a password");
        account.has_password = true;
        assert_eq!(AccountStatus::of(&account), AccountStatus::Active);
        account.disabled_at = Some(Utc::now());
        assert_eq!(AccountStatus::of(&account), AccountStatus::Disabled);
    }

    #[test]
    fn roles() {
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert_eq!("root".parse::<Role>().unwrap_err().field, "role");
    }
}
