//! How a failed command is reported: a message on stderr and an exit status.

use std::fmt;

use vouchers_core::VoucherError;

/// A failed command.
#[derive(Debug)]
pub enum CliError {
    /// The input broke a rule: exit status 2. The message names the flag or field.
    Input(String),
    /// Anything else (database unreachable, disk full, ...): exit status 1.
    Failure(anyhow::Error),
}

impl CliError {
    /// The process exit status for this error: 2 for invalid input, 1 for anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Failure(_) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Input(message) => f.write_str(message),
            // The cause chain on one line ("opening the database ...: database error: ..."),
            // skipping a cause whose text its parent already repeats (sqlx errors do).
            CliError::Failure(error) => {
                let mut shown = String::new();
                for cause in error.chain() {
                    let text = cause.to_string();
                    if shown.ends_with(&text) {
                        continue;
                    }
                    if !shown.is_empty() {
                        shown.push_str(": ");
                    }
                    shown.push_str(&text);
                }
                f.write_str(&shown)
            }
        }
    }
}

/// The command-line flag that sets a service field, for messages.
fn flag_for(field: &str) -> String {
    match field {
        "discount_value" => "--discount".to_owned(),
        "voucher_type" => "--type".to_owned(),
        "applicable_ticket_types" => "--ticket-type".to_owned(),
        "applicable_addons" => "--addon".to_owned(),
        "lines" => "--ticket-type/--addon".to_owned(),
        // The password comes from stdin or a prompt, never a flag.
        "password" => "password".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

impl From<VoucherError> for CliError {
    fn from(error: VoucherError) -> Self {
        if error.is_input_error() {
            let message = match error.field() {
                Some(field) => format!("{}: {error}", flag_for(field)),
                None => error.to_string(),
            };
            return CliError::Input(message);
        }
        CliError::Failure(anyhow::Error::new(error))
    }
}

impl From<vouchers_core::domain::InvalidInput> for CliError {
    fn from(error: vouchers_core::domain::InvalidInput) -> Self {
        VoucherError::from(error).into()
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        CliError::Failure(anyhow::Error::new(error).context("writing output"))
    }
}
