//! The errors a use case can return. Each variant is something a caller can act on; the CLI and
//! the HTTP API map them to exit codes and statuses in one place each, and neither looks at a
//! [`StoreError`]: the one `From<StoreError>` below decides what a database failure means to a
//! caller.

use crate::domain::{quoted, InvalidInput};
use crate::store::StoreError;

/// A cause kept for the log: the error a source of randomness or a caller's sink returned.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a use case refused or failed. Nothing is written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum VoucherError {
    /// `count` outside `1..=max` (the batch limit in force, 500 unless an operator raised it).
    #[error("count must be between 1 and {max}, got {count}")]
    InvalidCount {
        /// The count asked for.
        count: i64,
        /// The upper bound in force.
        max: i64,
    },
    /// Any other input that breaks a rule; the message names the field and the rule.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// One code of the batch could not be made unique within its attempt budget (the Django
    /// service this port started from raised `RuntimeError` with the same message).
    #[error("Failed to generate a unique voucher code with prefix '{prefix}' after {attempts} attempts")]
    CodeSpaceExhausted {
        /// The batch's prefix.
        prefix: String,
        /// Attempts spent on the code that failed.
        attempts: u32,
    },
    /// Another transaction holding the same rows could not be waited out (PostgreSQL deadlock
    /// or serialization failure, SQLite lock timeout): nothing was written, the call may be
    /// retried. (The Django service raised `IntegrityError` on any duplicate; this is raised only
    /// when waiting cannot help.)
    #[error("a concurrent write conflicted with this one and it was rolled back; retry")]
    CodeConflict(#[source] StoreError),
    /// No conference with this slug.
    #[error("conference {} not found", quoted(.0))]
    ConferenceNotFound(String),
    /// A restriction names a ticket type that the conference does not have.
    #[error("applicable_ticket_types: ticket type {} does not exist in conference {}", quoted(.slug), quoted(.conference))]
    UnknownTicketType {
        /// The conference's slug.
        conference: String,
        /// The ticket type asked for.
        slug: String,
    },
    /// A restriction names an add-on that the conference does not have.
    #[error("applicable_addons: add-on {} does not exist in conference {}", quoted(.slug), quoted(.conference))]
    UnknownAddon {
        /// The conference's slug.
        conference: String,
        /// The add-on asked for.
        slug: String,
    },
    /// No voucher with this code (ignoring case) in the conference.
    #[error("voucher {} not found in conference {}", quoted(.code), quoted(.conference))]
    VoucherNotFound {
        /// The conference's slug.
        conference: String,
        /// The code asked for.
        code: String,
    },
    /// No batch with this id in the conference.
    #[error("batch {id} not found in conference {}", quoted(.conference))]
    BatchNotFound {
        /// The conference's slug.
        conference: String,
        /// The batch id asked for.
        id: i64,
    },
    /// No account with this email.
    #[error("no account with email {}", quoted(.0))]
    AccountNotFound(String),
    /// Signing in failed: no such account, a disabled one, or a wrong password (the message
    /// does not say which).
    #[error("the email or the password is not right")]
    LoginFailed,
    /// No unrevoked token with this id.
    #[error("no active token with id {0}")]
    TokenNotFound(i64),
    /// An idempotency key was sent again with a different request.
    #[error("Idempotency-Key {key:?} was already used with a different request body")]
    IdempotencyKeyReused {
        /// The key.
        key: String,
    },
    /// The voucher exists but cannot be redeemed now; nothing changed.
    #[error("voucher {} cannot be redeemed: {}", quoted(.code), .reason.message())]
    NotRedeemable {
        /// The voucher's code.
        code: String,
        /// Which rule failed.
        reason: crate::domain::InvalidReason,
    },
    /// A slug or code that must be unique is taken.
    #[error("{what} {} already exists{scope}", quoted(.value))]
    Duplicate {
        /// What kind of thing (`conference`, `ticket type`, `add-on`, `voucher code`).
        what: &'static str,
        /// The input field holding the duplicate.
        field: &'static str,
        /// The duplicate value.
        value: String,
        /// ` in conference "x"` where the uniqueness is per conference.
        scope: String,
    },
    /// A unique index refused a row that no rule of the use case expected to collide (a race
    /// with a concurrent write of the same value); nothing was written.
    #[error("a concurrent write created the same unique value; nothing was written, retry")]
    UniqueViolation(#[source] StoreError),
    /// The source of random codes failed (the operating system's generator).
    #[error("the random generator failed")]
    Random(#[source] Cause),
    /// The caller's sink for streamed vouchers failed (e.g. the output file could not be
    /// written); the batch was rolled back.
    #[error("writing the generated vouchers failed")]
    Sink(#[source] std::io::Error),
    /// An answer to be stored for replay could not be encoded, or a stored one could not be
    /// decoded; nothing was written.
    #[error("a stored answer could not be encoded or decoded")]
    StoredAnswer(#[source] serde_json::Error),
    /// The database does not do this; the message says what to use instead.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The database cannot be reached now; nothing was written, retry shortly.
    #[error("the database cannot be reached; nothing was written, try again shortly")]
    DatabaseUnavailable(#[source] StoreError),
    /// The database failed; the cause is kept for the log, not for the user.
    #[error("the database failed")]
    Database(#[source] StoreError),
}

/// The one place a database failure becomes a use-case error. A lost race that cannot be waited
/// out is [`VoucherError::CodeConflict`]; an unexpected unique violation is
/// [`VoucherError::UniqueViolation`]; anything else is [`VoucherError::Database`]. Use cases that
/// expect a unique violation (a taken slug) map it to [`VoucherError::Duplicate`] first.
impl From<StoreError> for VoucherError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => VoucherError::CodeConflict(error),
            StoreError::UniqueViolation { .. } => VoucherError::UniqueViolation(error),
            StoreError::Unavailable(_) => VoucherError::DatabaseUnavailable(error),
            StoreError::Unsupported(what) => VoucherError::Unsupported(what),
            other => VoucherError::Database(other),
        }
    }
}

impl VoucherError {
    /// A stable machine-readable code (`invalid_count`, `not_found`, ...), used as the API's
    /// `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            VoucherError::InvalidCount { .. } => "invalid_count",
            VoucherError::NotRedeemable { reason, .. } => reason.as_str(),
            VoucherError::Invalid(_) => "invalid_input",
            VoucherError::CodeSpaceExhausted { .. } => "code_space_exhausted",
            VoucherError::CodeConflict(_) => "code_conflict",
            VoucherError::ConferenceNotFound(_)
            | VoucherError::VoucherNotFound { .. }
            | VoucherError::BatchNotFound { .. }
            | VoucherError::TokenNotFound(_)
            | VoucherError::AccountNotFound(_) => "not_found",
            VoucherError::LoginFailed => "login_failed",
            VoucherError::IdempotencyKeyReused { .. } => "idempotency_key_reused",
            VoucherError::UnknownTicketType { .. } => "unknown_ticket_type",
            VoucherError::UnknownAddon { .. } => "unknown_addon",
            VoucherError::Duplicate { .. } | VoucherError::UniqueViolation(_) => "duplicate",
            VoucherError::Random(_)
            | VoucherError::Sink(_)
            | VoucherError::StoredAnswer(_)
            | VoucherError::Database(_) => "internal",
            VoucherError::DatabaseUnavailable(_) => "database_unavailable",
            VoucherError::Unsupported(_) => "unsupported",
        }
    }

    /// The input field at fault, where there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            VoucherError::InvalidCount { .. } => Some("count"),
            VoucherError::Invalid(e) => Some(e.field),
            VoucherError::CodeSpaceExhausted { .. } => Some("prefix"),
            VoucherError::UnknownTicketType { .. } => Some("applicable_ticket_types"),
            VoucherError::UnknownAddon { .. } => Some("applicable_addons"),
            VoucherError::Duplicate { field, .. } => Some(field),
            VoucherError::IdempotencyKeyReused { .. } => Some("Idempotency-Key"),
            _ => None,
        }
    }

    /// True when the caller's input is at fault (CLI exit status 2, HTTP 4xx).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            VoucherError::InvalidCount { .. }
                | VoucherError::Invalid(_)
                | VoucherError::UnknownTicketType { .. }
                | VoucherError::UnknownAddon { .. }
                | VoucherError::ConferenceNotFound(_)
                | VoucherError::VoucherNotFound { .. }
                | VoucherError::BatchNotFound { .. }
                | VoucherError::TokenNotFound(_)
                | VoucherError::AccountNotFound(_)
                | VoucherError::LoginFailed
                | VoucherError::IdempotencyKeyReused { .. }
                | VoucherError::Duplicate { .. }
        )
    }
}
