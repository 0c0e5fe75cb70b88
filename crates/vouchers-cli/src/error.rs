//! How a failed command is reported: a message on stderr, the API's JSON error object on stdout
//! with `--format json`, and an exit status from the error's kind (0 success, 2 invalid input, 3
//! not found, 4 refused or a conflict, 1 anything else).

use std::fmt;

use vouchers_core::cause_chain;
use vouchers_core::{ErrorBody, ErrorKind, VoucherError};

/// A failed command.
#[derive(Debug)]
pub enum CliError {
    /// A use case refused or failed; its kind decides the exit status.
    Voucher {
        /// What the use case said.
        error: VoucherError,
        /// What the command was doing, for the message (`opening the database ...`).
        context: Option<String>,
    },
    /// Input the command line itself refuses (an output file that exists, passwords that
    /// differ): exit status 2. The message names the flag.
    Input(String),
    /// Anything else (a file that cannot be written, ...): exit status 1.
    Failure(anyhow::Error),
}

impl CliError {
    /// A use-case error met while doing `context`.
    pub fn while_doing(error: VoucherError, context: impl Into<String>) -> Self {
        CliError::Voucher { error, context: Some(context.into()) }
    }

    /// The process exit status: the README's error table.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Voucher { error, .. } => match error.kind() {
                ErrorKind::Invalid => 2,
                ErrorKind::NotFound => 3,
                ErrorKind::Refused | ErrorKind::Unauthenticated => 4,
                ErrorKind::Unavailable | ErrorKind::Unsupported | ErrorKind::Internal => 1,
            },
            CliError::Input(_) => 2,
            CliError::Failure(_) => 1,
        }
    }

    /// The error as the API would answer it: `{"error": {"code", "message", "field"}}`.
    pub fn body(&self) -> ErrorBody {
        match self {
            CliError::Voucher { error, .. } => {
                ErrorBody::new(error.code(), cause_chain(error), error.field().map(str::to_owned))
                    .retry_after(error.retry_after(vouchers_core::now()))
            }
            CliError::Input(message) => ErrorBody::new("invalid_input", message.clone(), None),
            CliError::Failure(_) => ErrorBody::new("internal", self.to_string(), None),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Voucher { error, context } => {
                if let Some(context) = context {
                    write!(f, "{context}: ")?;
                }
                // Input errors name the flag, the way the command line spells it.
                match (error.kind(), error.field()) {
                    (ErrorKind::Invalid, Some(field)) => write!(f, "{}: {}", flag_for(field), cause_chain(error)),
                    _ => f.write_str(&cause_chain(error)),
                }
            }
            CliError::Input(message) => f.write_str(message),
            // The cause chain on one line ("writing output: No space left on device").
            CliError::Failure(error) => f.write_str(&cause_chain(error.as_ref())),
        }
    }
}

/// The command-line flag that sets a service field, for messages (the one table of fields:
/// [`vouchers_core::domain::FIELDS`]).
fn flag_for(field: &str) -> String {
    vouchers_core::domain::flag_of(field)
}

impl From<VoucherError> for CliError {
    fn from(error: VoucherError) -> Self {
        CliError::Voucher { error, context: None }
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
