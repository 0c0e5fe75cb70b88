//! Slugs and display names of conferences, ticket types and add-ons; a batch's name and note.

use std::fmt;

use super::{is_spoofing_char, quoted, InvalidInput};

const SLUG_MAX: usize = 50;
const NAME_MAX: usize = 200;

/// A URL-safe identifier: 1 to 50 characters of `a-z 0-9 -`, starting with a letter or a digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    /// Validates `value` as the slug in `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let len = value.chars().count();
        if len == 0 || len > SLUG_MAX {
            return Err(InvalidInput::new(field, format!("{field} must be 1 to {SLUG_MAX} characters, got {len}")));
        }
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if let Some(bad) = value.chars().find(|c| !ok_char(*c)) {
            return Err(InvalidInput::new(field, format!("{field} may contain only a-z, 0-9 and '-', found {bad:?}")));
        }
        if value.starts_with('-') {
            return Err(InvalidInput::new(
                field,
                format!("{field} must start with a letter or a digit, got {}", quoted(value)),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name: 1 to 200 characters, not only whitespace; kept as given, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Validates `value` as the name in `field`.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let trimmed = value.trim();
        let len = trimmed.chars().count();
        if len == 0 || len > NAME_MAX {
            return Err(InvalidInput::new(field, format!("{field} must be 1 to {NAME_MAX} characters, got {len}")));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidInput::new(field, format!("{field} must not contain control characters")));
        }
        if let Some(bad) = trimmed.chars().find(|c| is_spoofing_char(*c)) {
            return Err(InvalidInput::new(
                field,
                format!(
                    "{field} must not contain invisible or text-direction characters, found U+{:04X}",
                    u32::from(bad)
                ),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The known slug closest to `asked` (edit distance, counting a swap of two neighbours as one
/// edit), when it is close enough to be a typo: at most a third of the asked text's characters
/// away, and at least one.
pub fn closest<'a>(asked: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let asked = asked.trim().to_lowercase();
    let most = (asked.chars().count() / 3).max(1);
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(&asked, &k.to_lowercase()), k))
        .filter(|(distance, _)| *distance <= most)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// `; did you mean "corporate"?` after a message, or nothing.
pub fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion.as_deref().map_or_else(String::new, |s| format!("; did you mean {}?", super::quoted(s)))
}

/// A batch's name and note, for people: the name on one line, at most
/// [`BatchLabel::NAME_MAX`] characters; the note at most [`BatchLabel::NOTE_MAX`], lines
/// allowed. Both may be empty (a batch is then known by its number); both are trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchLabel {
    /// "Speakers 2027".
    pub name: String,
    /// "Sent by Ana on May 2; ask her before deactivating."
    pub note: String,
}

impl BatchLabel {
    /// The longest name.
    pub const NAME_MAX: usize = 100;
    /// The longest note.
    pub const NOTE_MAX: usize = 2000;

    /// Checks a name and a note (fields `name` and `note`).
    pub fn parse(name: &str, note: &str) -> Result<Self, InvalidInput> {
        let name = name.trim();
        let len = name.chars().count();
        if len > Self::NAME_MAX {
            return Err(InvalidInput::new(
                "name",
                format!("name must be at most {} characters, got {len}", Self::NAME_MAX),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidInput::new("name", "name must be one line, without control characters"));
        }
        let note = note.trim().replace("\r\n", "\n");
        let len = note.chars().count();
        if len > Self::NOTE_MAX {
            return Err(InvalidInput::new(
                "note",
                format!("note must be at most {} characters, got {len}", Self::NOTE_MAX),
            ));
        }
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(InvalidInput::new("note", "note must not contain control characters other than line breaks"));
        }
        for (field, text) in [("name", name), ("note", note.as_str())] {
            if let Some(bad) = text.chars().find(|c| is_spoofing_char(*c)) {
                return Err(InvalidInput::new(
                    field,
                    format!(
                        "{field} must not contain invisible or text-direction characters, found U+{:04X}",
                        u32::from(bad)
                    ),
                ));
            }
        }
        Ok(Self { name: name.to_owned(), note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("slug", "pycon-2027").is_ok());
        assert_eq!(Slug::parse("slug", "").unwrap_err().field, "slug");
        assert!(Slug::parse("slug", "PyCon").is_err());
        assert!(Slug::parse("slug", "-x").is_err());
        assert!(Slug::parse("slug", &"a".repeat(51)).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(Name::parse("name", "  PyCon US ").unwrap().as_str(), "PyCon US");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", "a\u{7}b").is_err());
        let spoof = Name::parse("name", "invoice\u{202E}fdp.exe").unwrap_err();
        assert_eq!(spoof.message, "name must not contain invisible or text-direction characters, found U+202E");
        assert!(Name::parse("name", "a\u{200B}b").is_err());
        assert!(Name::parse("name", "Zürich ☕ 東京").is_ok());
    }

    #[test]
    fn the_closest_slug() {
        let known = ["corporate", "individual", "student"];
        assert_eq!(closest("corprate", known), Some("corporate"));
        assert_eq!(closest("Studnet", known), Some("student"), "a swap is one edit, case ignored");
        assert_eq!(closest("sprint", known), None, "nothing close");
        assert_eq!(closest("x", known), None);
        assert_eq!(closest("anything", []), None);
        assert_eq!(did_you_mean(&Some("corporate".into())), "; did you mean \"corporate\"?");
        assert_eq!(did_you_mean(&None), "");
    }

    #[test]
    fn batch_labels() {
        let label = BatchLabel::parse("  Speakers 2027 ", "Sent by Ana.\r\nAsk her first. ").unwrap();
        assert_eq!((label.name.as_str(), label.note.as_str()), ("Speakers 2027", "Sent by Ana.\nAsk her first."));
        assert_eq!(BatchLabel::parse("", "").unwrap(), BatchLabel::default());
        assert_eq!(BatchLabel::parse("a\nb", "").unwrap_err().field, "name");
        assert_eq!(BatchLabel::parse(&"x".repeat(101), "").unwrap_err().field, "name");
        assert!(BatchLabel::parse(&"x".repeat(100), &"y".repeat(2000)).is_ok());
        assert_eq!(BatchLabel::parse("", &"y".repeat(2001)).unwrap_err().field, "note");
        assert_eq!(BatchLabel::parse("", "a\u{7}").unwrap_err().field, "note");
        assert_eq!(BatchLabel::parse("x\u{202E}", "").unwrap_err().field, "name");
    }
}
