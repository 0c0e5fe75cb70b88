//! Voucher codes and their prefixes.
//!
//! Both use the alphabet `A-Z a-z 0-9 - _ .` and start with a letter or a digit, so a code can be
//! typed, put in a URL path and pasted into a spreadsheet without surprises.

use std::fmt;

use super::{quoted, InvalidInput};

/// The alnum alphabet (`A-Z0-9`): the characters a generated suffix is drawn from, uniformly, unless the
/// batch asks for another [`super::Alphabet`].
pub const CODE_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// How many random characters follow the prefix of a generated code by default (36^8, about
/// 2.8e12 codes).
pub const CODE_SUFFIX_LEN: usize = super::CodeFormat::DEFAULT_LENGTH as usize;

const PREFIX_MAX: usize = 20;
const CODE_MAX: usize = 100;

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Checks `value` against the shared code alphabet; `what` names the field in the message.
fn check_chars(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(InvalidInput::new(
            field,
            format!("{field} may contain only A-Z, a-z, 0-9, '-', '_' and '.', found {bad:?}"),
        ));
    }
    if let Some(first) = value.chars().next() {
        if !first.is_ascii_alphanumeric() {
            return Err(InvalidInput::new(
                field,
                format!("{field} must start with a letter or a digit, got {}", quoted(value)),
            ));
        }
    }
    Ok(())
}

/// The fixed text in front of every generated code of a batch: at most 20 characters, possibly
/// empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefix(String);

impl Prefix {
    /// Validates a prefix: at most 20 characters from `A-Z a-z 0-9 - _ .`, starting with a letter
    /// or a digit. The empty prefix is allowed.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        let len = value.chars().count();
        if len > PREFIX_MAX {
            return Err(InvalidInput::new(
                "prefix",
                format!("prefix must be at most {PREFIX_MAX} characters, got {len}"),
            ));
        }
        check_chars("prefix", value)?;
        Ok(Self(value.to_owned()))
    }

    /// The prefix as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A search for codes by their beginning (`SPONSOR-`), matched ignoring ASCII case: at most 100
/// characters of the code alphabet, starting with a letter or a digit. Empty text is no filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePrefix(String);

impl CodePrefix {
    /// Checks a filter as given; `None` for empty (or blank) text.
    pub fn parse(value: &str) -> Result<Option<Self>, InvalidInput> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let len = trimmed.chars().count();
        if len > CODE_MAX {
            return Err(InvalidInput::new(
                "prefix",
                format!("prefix must be at most {CODE_MAX} characters, got {len}"),
            ));
        }
        check_chars("prefix", trimmed)?;
        Ok(Some(Self(trimmed.to_owned())))
    }

    /// The text codes must start with.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A complete voucher code: 1 to 100 characters of the code alphabet, starting with a letter or a
/// digit. Codes compare ignoring ASCII case in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherCode(String);

impl VoucherCode {
    /// Validates a code chosen by an organizer (`vouchers add`).
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        let len = value.chars().count();
        if len == 0 || len > CODE_MAX {
            return Err(InvalidInput::new("code", format!("code must be 1 to {CODE_MAX} characters, got {len}")));
        }
        check_chars("code", value)?;
        Ok(Self(value.to_owned()))
    }

    /// A code as a person typed it at checkout: surrounding whitespace is ignored, and spaces
    /// inside are kept (a readable code is matched without them; no other code has any).
    pub fn parse_lookup(value: &str) -> Result<Self, InvalidInput> {
        let trimmed = value.trim();
        let without_spaces: String = trimmed.chars().filter(|c| *c != ' ').collect();
        Self::parse(&without_spaces)?;
        if trimmed.len() > 2 * CODE_MAX {
            return Err(InvalidInput::new("code", format!("code must be 1 to {CODE_MAX} characters")));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Builds a generated code from random symbols of the batch's alphabet: `maker` (made for a
    /// valid [`Prefix`]) adds the prefix and, when the format has one, the check character.
    pub(crate) fn generated(maker: &super::CodeMaker<'_>, random: &[u8]) -> Self {
        Self(maker.code(random))
    }

    /// The code as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for VoucherCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rules() {
        assert!(Prefix::parse("").is_ok());
        assert!(Prefix::parse("SPEAKER-").is_ok());
        assert!(Prefix::parse("a.b_c-9").is_ok());
        assert!(Prefix::parse(&"A".repeat(20)).is_ok());
        let too_long = Prefix::parse(&"A".repeat(21)).unwrap_err();
        assert_eq!(too_long.field, "prefix");
        assert_eq!(too_long.message, "prefix must be at most 20 characters, got 21");
        assert!(Prefix::parse("-SPEAKER").unwrap_err().message.contains("start with"));
        assert!(Prefix::parse("SPE AKER").unwrap_err().message.contains("' '"));
        assert!(Prefix::parse("SPÉAKER").is_err());
    }

    #[test]
    fn code_rules() {
        assert!(VoucherCode::parse("PYCON-KEYNOTE").is_ok());
        assert!(VoucherCode::parse(&"A".repeat(100)).is_ok());
        assert_eq!(VoucherCode::parse("").unwrap_err().field, "code");
        assert!(VoucherCode::parse(&"A".repeat(101)).is_err());
        assert!(VoucherCode::parse("_X").is_err());
        assert!(VoucherCode::parse("a/b").is_err());
        assert_eq!(VoucherCode::parse_lookup("  speaker-ab12  ").unwrap().as_str(), "speaker-ab12");
        assert_eq!(VoucherCode::parse_lookup(" 7k3m 9p2q ").unwrap().as_str(), "7k3m 9p2q");
        assert!(VoucherCode::parse_lookup("a/b c").is_err());
    }

    #[test]
    fn code_prefix_filter_rules() {
        assert_eq!(CodePrefix::parse("").unwrap(), None);
        assert_eq!(CodePrefix::parse("  ").unwrap(), None);
        assert_eq!(CodePrefix::parse(" sponsor- ").unwrap().unwrap().as_str(), "sponsor-");
        let bad = CodePrefix::parse("-X").unwrap_err();
        assert_eq!(bad.field, "prefix");
        assert!(bad.message.starts_with("prefix must start with"), "{}", bad.message);
        assert!(CodePrefix::parse("a%").is_err());
        assert!(CodePrefix::parse(&"A".repeat(101)).unwrap_err().message.contains("at most 100"));
    }

    #[test]
    fn generated_code_is_prefix_then_suffix() {
        let prefix = Prefix::parse("SPEAKER-").unwrap();
        let maker = super::super::CodeMaker::new(super::super::CodeFormat::default(), prefix.as_str());
        let code = VoucherCode::generated(&maker, b"AB12CD34");
        assert_eq!(code.as_str(), "SPEAKER-AB12CD34");
    }
}
