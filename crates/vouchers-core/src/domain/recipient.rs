//! Who a voucher is handed to: an email, a name and free-form tags (`company`, `track`, ...), and
//! the per-row errors of a file of them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{is_spoofing_char, quoted, Email, InvalidInput, Name};

/// The person a voucher is assigned to. Every part has passed its rule: the email is an address
/// (lower-cased), the name a display name without control characters (so no line break can
/// reach a mail header), each tag a key of `A-Z a-z 0-9 _` and a value without control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recipient {
    /// Email address, lower-cased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Free-form tags, by key (empty values are left out).
    pub tags: BTreeMap<String, String>,
}

impl Recipient {
    /// At most this many tags per recipient.
    pub const MAX_TAGS: usize = 20;
    /// A tag key's longest length.
    pub const MAX_TAG_KEY: usize = 40;
    /// A tag value's longest length.
    pub const MAX_TAG_VALUE: usize = 200;

    /// Checks a recipient's parts; tags with empty values are dropped.
    pub fn parse(email: &str, name: &str, tags: BTreeMap<String, String>) -> Result<Self, InvalidInput> {
        let email = Email::parse("email", email)?;
        let name = Name::parse("name", name)?;
        let mut checked = BTreeMap::new();
        for (key, value) in tags {
            check_tag_key(&key)?;
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if value.chars().count() > Self::MAX_TAG_VALUE {
                return Err(InvalidInput::new(
                    "tags",
                    format!("tags: the value of {key:?} must be at most {} characters", Self::MAX_TAG_VALUE),
                ));
            }
            if value.chars().any(|c| c.is_control() || is_spoofing_char(c)) {
                return Err(InvalidInput::new(
                    "tags",
                    format!("tags: the value of {key:?} must not contain control or invisible characters"),
                ));
            }
            checked.insert(key, value.to_owned());
        }
        if checked.len() > Self::MAX_TAGS {
            return Err(InvalidInput::new(
                "tags",
                format!("tags: at most {} tags, got {}", Self::MAX_TAGS, checked.len()),
            ));
        }
        Ok(Self { email: email.as_str().to_owned(), name: name.as_str().to_owned(), tags: checked })
    }

    /// The tags as stored: a JSON object.
    pub fn tags_json(&self) -> String {
        serde_json::to_string(&self.tags).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads stored tags back (a JSON object of strings).
    pub fn tags_from_json(text: &str) -> Option<BTreeMap<String, String>> {
        serde_json::from_str(text).ok()
    }
}

/// A tag key: 1 to 40 characters of `A-Z a-z 0-9 _`, starting with a letter, so that a
/// template can name it as `{{ tags.KEY }}`.
pub fn check_tag_key(key: &str) -> Result<(), InvalidInput> {
    let ok = !key.is_empty()
        && key.chars().count() <= Recipient::MAX_TAG_KEY
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "tags",
            format!(
                "tags: a tag name must be 1 to {} characters of A-Z, a-z, 0-9 and '_', starting with a letter, got {}",
                Recipient::MAX_TAG_KEY,
                quoted(key)
            ),
        ))
    }
}

/// One bad row of an input file or list: where, which field, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// `line` of a file (1 is the header) or `row` of a JSON list (from 1).
    pub unit: &'static str,
    /// The line of the file or the position in the list.
    pub line: u64,
    /// The column or key at fault (`email`, `code`, ...), empty when the whole row is.
    pub field: String,
    /// The rule it breaks.
    pub message: String,
}

impl RowError {
    /// The error of `line` for an input rule.
    pub fn new(line: u64, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { unit: "line", line, field: field.into(), message: message.into() }
    }

    /// The error of the `row`th item (from 1) of a JSON list.
    pub fn row(row: u64, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { unit: "row", line: row, field: field.into(), message: message.into() }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{} {}: {}", self.unit, self.line, self.message)
        } else {
            write!(f, "{} {}, {}: {}", self.unit, self.line, self.field, self.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_checked() {
        let tags = BTreeMap::from([("company".to_owned(), " ACME ".to_owned()), ("empty".to_owned(), String::new())]);
        let r = Recipient::parse(" Ana@Example.ORG ", "Ana Lima", tags).unwrap();
        assert_eq!(r.email, "ana@example.org");
        assert_eq!(r.tags, BTreeMap::from([("company".to_owned(), "ACME".to_owned())]));
        assert_eq!(Recipient::tags_from_json(&r.tags_json()).unwrap(), r.tags);

        assert_eq!(Recipient::parse("not-an-email", "Ana", BTreeMap::new()).unwrap_err().field, "email");
        let crlf = Recipient::parse("a@b.org", "Ana\r\nBcc: victim@example.org", BTreeMap::new()).unwrap_err();
        assert_eq!(crlf.field, "name");
        let bad_key = BTreeMap::from([("1x".to_owned(), "v".to_owned())]);
        assert_eq!(Recipient::parse("a@b.org", "Ana", bad_key).unwrap_err().field, "tags");
        let bad_value = BTreeMap::from([("x".to_owned(), "a\nb".to_owned())]);
        assert_eq!(Recipient::parse("a@b.org", "Ana", bad_value).unwrap_err().field, "tags");
    }
}
