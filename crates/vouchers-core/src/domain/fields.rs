//! One table of the input fields people name in three ways: the JSON field of the API (the name
//! every rule's message uses), the flag of the command line, and the label of the console's
//! forms. Each face renders a rule's message with its own name for the field, from this table.

/// A field as each face names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON field, as messages name it (`discount_value`).
    pub name: &'static str,
    /// The command line's flag (`--discount`).
    pub flag: &'static str,
    /// The console's label (`Discount value`).
    pub label: &'static str,
}

/// Every field whose flag or label is not simply derived from its name.
pub const FIELDS: [Field; 27] = [
    Field { name: "prefix", flag: "--prefix", label: "Prefix" },
    Field { name: "count", flag: "--count", label: "Count" },
    Field { name: "voucher_type", flag: "--type", label: "Voucher type" },
    Field { name: "discount_value", flag: "--discount", label: "Discount value" },
    Field { name: "max_uses", flag: "--max-uses", label: "Max uses" },
    Field { name: "valid_from", flag: "--valid-from", label: "Valid from" },
    Field { name: "valid_until", flag: "--valid-until", label: "Valid until" },
    Field { name: "applicable_ticket_types", flag: "--ticket-type", label: "Applicable ticket types" },
    Field { name: "applicable_addons", flag: "--addon", label: "Applicable add-ons" },
    Field { name: "min_quantity", flag: "--min-quantity", label: "Minimum qualifying items" },
    Field { name: "min_subtotal", flag: "--min-subtotal", label: "Minimum qualifying subtotal" },
    Field { name: "budget", flag: "--budget", label: "Budget" },
    Field { name: "alphabet", flag: "--alphabet", label: "Alphabet" },
    Field { name: "length", flag: "--length", label: "Length" },
    Field { name: "code", flag: "--code", label: "Code" },
    Field { name: "name", flag: "--name", label: "Name" },
    Field { name: "note", flag: "--note", label: "Note" },
    Field { name: "lines", flag: "--ticket-type/--addon", label: "Cart" },
    // The password comes from stdin or a prompt, never a flag.
    Field { name: "password", flag: "password", label: "Password" },
    Field { name: "seats", flag: "--seats", label: "Passes" },
    Field { name: "sponsor", flag: "--sponsor", label: "Sponsor" },
    Field { name: "contact", flag: "--contact", label: "Contact email" },
    Field { name: "reminder_days", flag: "--reminder-days", label: "Reminder days" },
    Field { name: "recipients", flag: "--recipients", label: "Recipients" },
    Field { name: "subject", flag: "--subject", label: "Subject" },
    Field { name: "template", flag: "--template", label: "Message" },
    Field { name: "html_template", flag: "--html-template", label: "HTML message" },
];

/// How `name` is flagged on the command line: the table's flag, else `--` and the name with
/// `-` for `_`.
pub fn flag_of(name: &str) -> String {
    FIELDS
        .iter()
        .find(|f| f.name == name)
        .map_or_else(|| format!("--{}", name.replace('_', "-")), |f| f.flag.to_owned())
}

/// How the console labels `name`: the table's label, else the name in words
/// (`hold_seconds` → `Hold seconds`).
pub fn label_of(name: &str) -> String {
    if let Some(field) = FIELDS.iter().find(|f| f.name == name) {
        return field.label.to_owned();
    }
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// `message` with the field `name` it starts with (as every rule's message does: "discount_value
/// must be at most 100", "applicable_ticket_types: ...") named by its console label instead:
/// "Discount value must be at most 100". Other mentions are left as they are.
pub fn labelled(message: &str, name: &str) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    match message.strip_prefix(name) {
        Some(rest) if !name.is_empty() && !rest.starts_with(word) => format!("{}{rest}", label_of(name)),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_names_of_a_field() {
        assert_eq!(flag_of("discount_value"), "--discount");
        assert_eq!(flag_of("hold_seconds"), "--hold-seconds");
        assert_eq!(label_of("discount_value"), "Discount value");
        assert_eq!(label_of("hold_seconds"), "Hold seconds");
        assert_eq!(
            labelled("discount_value must be between 0 and 100, got 101", "discount_value"),
            "Discount value must be between 0 and 100, got 101"
        );
        assert_eq!(
            labelled("applicable_ticket_types: ticket type \"corprate\" does not exist", "applicable_ticket_types"),
            "Applicable ticket types: ticket type \"corprate\" does not exist"
        );
        // Only the name the message starts with, as a whole word.
        assert_eq!(labelled("max_uses_left is not max_uses", "max_uses"), "max_uses_left is not max_uses");
        assert_eq!(labelled("length 6 is too short; use length 7", "length"), "Length 6 is too short; use length 7");
        assert_eq!(labelled("no field here", ""), "no field here");
        let names: std::collections::HashSet<&str> = FIELDS.iter().map(|f| f.name).collect();
        assert_eq!(names.len(), FIELDS.len(), "each field once");
    }
}
