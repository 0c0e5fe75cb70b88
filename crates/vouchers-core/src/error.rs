//! The errors a use case can return. Each variant is something a caller can act on; the CLI and
//! the HTTP API map them to exit codes and statuses in one place each, and neither looks at a
//! [`StoreError`]: the one `From<StoreError>` below decides what a database failure means to a
//! caller.

use crate::domain::{quoted, InvalidInput, RowError};
use crate::store::StoreError;

/// `error` then each `source`, joined with `: ` (skipping a cause its parent already repeats):
/// what a log line or the CLI says of a failure.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut shown = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !shown.ends_with(&text) {
            shown.push_str(": ");
            shown.push_str(&text);
        }
        source = cause.source();
    }
    shown
}

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
    /// Rows of an input file or list break rules: each with its line and field (the first
    /// [`VoucherError::ROWS_SHOWN`] are listed); nothing was written.
    #[error("{field}: {} invalid, nothing was written: {}{}", rows_said(.total), list_rows(.rows), more_rows(.rows.len(), *.total))]
    InvalidRows {
        /// The input holding the rows (`recipients`, `file`).
        field: &'static str,
        /// The first bad rows.
        rows: Vec<RowError>,
        /// How many bad rows were found in all.
        total: usize,
    },
    /// A batch has fewer active, unused, unassigned codes than there are recipients.
    #[error("batch {batch} has {available} unassigned codes, {needed} are needed; nothing was assigned")]
    NotEnoughCodes {
        /// The batch.
        batch: i64,
        /// Recipients to give a code.
        needed: usize,
        /// Codes it can give.
        available: usize,
    },
    /// No failed message with this id in the conference's outbox.
    #[error("no failed message with id {0} in this conference's outbox")]
    MessageNotFound(i64),
    /// No webhook subscription with this id in the conference.
    #[error("no webhook with id {0} in this conference")]
    WebhookNotFound(i64),
    /// No webhook delivery with this id in the conference.
    #[error("no webhook delivery with id {0} in this conference")]
    DeliveryNotFound(i64),
    /// No allotment with this id in the conference.
    #[error("no allotment with id {0} in this conference")]
    AllotmentNotFound(i64),
    /// No attendee with this id in the allotment (or one who redeemed their code already).
    #[error("no attendee with id {0} that can still be changed in this allotment (a redeemed code stays)")]
    AttendeeNotFound(i64),
    /// An allotment has fewer passes left than the attendees asked for; nothing was assigned.
    #[error("{asked} attendee(s) to add but {left} pass(es) left of {seats}; nothing was added")]
    NoSeatsLeft {
        /// Attendees asked for.
        asked: usize,
        /// Passes left.
        left: i64,
        /// The allotment's passes.
        seats: i64,
    },
    /// The allotment's deadline has passed: its page is read-only.
    #[error("the deadline has passed: unassigned passes went back to the organizer, and nothing can be changed")]
    AllotmentClosed,
    /// Fewer seats than passes already assigned.
    #[error("seats: {assigned} passes are assigned already; seats must be at least {assigned}, got {seats}")]
    SeatsBelowAssigned {
        /// Passes assigned.
        assigned: i64,
        /// Seats asked for.
        seats: i64,
    },
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
    /// A restriction or a cart line names a ticket type that the conference does not have.
    #[error(
        "{field}: ticket type {} does not exist in conference {}{}",
        quoted(.slug), quoted(.conference), crate::domain::did_you_mean(.suggestion)
    )]
    UnknownTicketType {
        /// The input field naming it (`applicable_ticket_types`, `lines`).
        field: &'static str,
        /// The conference's slug.
        conference: String,
        /// The ticket type asked for.
        slug: String,
        /// The conference's ticket type closest to it, if one is close.
        suggestion: Option<String>,
    },
    /// A restriction or a cart line names an add-on that the conference does not have.
    #[error(
        "{field}: add-on {} does not exist in conference {}{}",
        quoted(.slug), quoted(.conference), crate::domain::did_you_mean(.suggestion)
    )]
    UnknownAddon {
        /// The input field naming it (`applicable_addons`, `lines`).
        field: &'static str,
        /// The conference's slug.
        conference: String,
        /// The add-on asked for.
        slug: String,
        /// The conference's add-on closest to it, if one is close.
        suggestion: Option<String>,
    },
    /// No ticket type or add-on with this slug in the conference (the target of a change).
    #[error("{what} {} not found in conference {}", quoted(.slug), quoted(.conference))]
    CatalogItemNotFound {
        /// `ticket type` or `add-on`.
        what: &'static str,
        /// The conference's slug.
        conference: String,
        /// The slug asked for.
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
    /// The code has the shape of a check-character batch of the conference but a wrong check
    /// character: a typo, decided from the batch formats alone.
    #[error("voucher {} in conference {} looks mistyped: check the code for a typo", quoted(.code), quoted(.conference))]
    Mistyped {
        /// The conference's slug.
        conference: String,
        /// The code asked for.
        code: String,
    },
    /// The batch's codes could be guessed faster than the deployment's floor allows.
    #[error(
        "these codes could be guessed in {expected} by an attacker at the token-wide ceiling of {per_minute} \
         failed lookups per minute, under the floor of {floor}; to make them safe use {advice}"
    )]
    WeakCodes {
        /// The expected time to find a code, in words.
        expected: String,
        /// The failed lookups a minute it assumes (the token-wide ceiling).
        per_minute: u32,
        /// The floor, in words.
        floor: String,
        /// What would make the batch safe.
        advice: String,
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
    #[error("voucher {} cannot be redeemed: {}", quoted(.code), .detail.as_deref().unwrap_or(.reason.message()))]
    NotRedeemable {
        /// The voucher's code.
        code: String,
        /// Which rule failed.
        reason: crate::domain::InvalidReason,
        /// What is missing, where the reason alone does not say (a cart below a minimum).
        detail: Option<String>,
        /// For `held`: when the first hold that takes the uses ends.
        retry_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The cart has no live hold of this voucher.
    #[error("cart {} holds no use of voucher {} (it never held one, or its hold ended or was released)", quoted(.cart_ref), quoted(.code))]
    HoldNotFound {
        /// The voucher's code.
        code: String,
        /// The cart.
        cart_ref: String,
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
    /// Work moved off the async workers (rendering messages, hashing a password) did not finish:
    /// its thread panicked or the runtime is shutting down; nothing was written.
    #[error("a background task failed")]
    Task(#[source] Cause),
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
    /// The database's disk is full; nothing was written, retry once space is freed.
    #[error("the database's disk is full; nothing was written, try again once space is freed")]
    StorageFull(#[source] StoreError),
    /// The database cannot be reached now; nothing was written, retry shortly.
    #[error("the database cannot be reached; nothing was written, try again shortly")]
    DatabaseUnavailable(#[source] StoreError),
    /// The database failed; the cause is kept for the log, not for the user.
    #[error("the database failed")]
    Database(#[source] StoreError),
}

impl VoucherError {
    /// How many bad rows an [`VoucherError::InvalidRows`] lists.
    pub const ROWS_SHOWN: usize = 20;
}

fn rows_said(total: &usize) -> String {
    if *total == 1 {
        "1 row is".to_owned()
    } else {
        format!("{total} rows are")
    }
}

fn list_rows(rows: &[RowError]) -> String {
    rows.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn more_rows(shown: usize, total: usize) -> String {
    if total > shown {
        format!("; and {} more", total - shown)
    } else {
        String::new()
    }
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
            StoreError::StorageFull(_) => VoucherError::StorageFull(error),
            StoreError::Unsupported(what) => VoucherError::Unsupported(what),
            other => VoucherError::Database(other),
        }
    }
}

/// The body of every error answer: the API's error responses, and what a failing CLI command
/// prints on stdout with `--format json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, for a program (`code`, `field`) and for a person (`message`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// A stable machine-readable code: `invalid_count`, `invalid_input`, `malformed_json`,
    /// `unauthorized`, `forbidden`, `not_found`, `duplicate`, `payload_too_large`, `internal`, ...
    #[cfg_attr(feature = "openapi", schema(example = "invalid_count"))]
    pub code: String,
    /// A sentence naming the field and the rule; generic for server faults.
    #[cfg_attr(feature = "openapi", schema(example = "count must be between 1 and 500, got 501"))]
    pub message: String,
    /// The input field or parameter at fault, if any.
    #[cfg_attr(feature = "openapi", schema(example = "count"))]
    pub field: Option<String>,
    /// For `held`: seconds until the first hold that takes the uses ends (also in
    /// `Retry-After`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<i64>,
}

impl ErrorBody {
    /// The answer for a use-case error; `message` is what the caller is told.
    pub fn new(code: impl Into<String>, message: impl Into<String>, field: Option<String>) -> Self {
        Self { error: ErrorDetail { code: code.into(), message: message.into(), field, retry_after_seconds: None } }
    }

    /// The answer, with how long to wait before trying again.
    pub fn retry_after(mut self, seconds: Option<i64>) -> Self {
        self.error.retry_after_seconds = seconds;
        self
    }
}

/// What kind of failure an error is: the one classification both faces read, the API for its
/// HTTP status and the CLI for its exit status (the README's error table lists both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input breaks a rule, or names something inside it that does not exist (a
    /// restriction's ticket type): HTTP 422, exit status 2.
    Invalid,
    /// The target of the request does not exist (conference, voucher, batch, token, account):
    /// HTTP 404, exit status 3.
    NotFound,
    /// A rule refused it at checkout, or it conflicts with what exists (used up, expired, a
    /// duplicate, a lost race): HTTP 409, exit status 4.
    Refused,
    /// Wrong credentials: HTTP 401 (only the console's sign-in), exit status 4.
    Unauthenticated,
    /// The database cannot be reached now; retry: HTTP 503, exit status 1.
    Unavailable,
    /// This backend does not do it: HTTP 501, exit status 1.
    Unsupported,
    /// A fault (the database failed, a write failed): HTTP 500, exit status 1.
    Internal,
}

impl VoucherError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VoucherError::InvalidCount { .. }
            | VoucherError::Invalid(_)
            | VoucherError::InvalidRows { .. }
            | VoucherError::UnknownTicketType { .. }
            | VoucherError::UnknownAddon { .. }
            | VoucherError::CodeSpaceExhausted { .. }
            | VoucherError::WeakCodes { .. }
            | VoucherError::IdempotencyKeyReused { .. } => ErrorKind::Invalid,
            VoucherError::ConferenceNotFound(_)
            | VoucherError::VoucherNotFound { .. }
            | VoucherError::CatalogItemNotFound { .. }
            | VoucherError::Mistyped { .. }
            | VoucherError::HoldNotFound { .. }
            | VoucherError::BatchNotFound { .. }
            | VoucherError::TokenNotFound(_)
            | VoucherError::MessageNotFound(_)
            | VoucherError::WebhookNotFound(_)
            | VoucherError::DeliveryNotFound(_)
            | VoucherError::AllotmentNotFound(_)
            | VoucherError::AttendeeNotFound(_)
            | VoucherError::AccountNotFound(_) => ErrorKind::NotFound,
            VoucherError::LoginFailed => ErrorKind::Unauthenticated,
            VoucherError::Duplicate { .. }
            | VoucherError::NotEnoughCodes { .. }
            | VoucherError::NoSeatsLeft { .. }
            | VoucherError::AllotmentClosed
            | VoucherError::SeatsBelowAssigned { .. }
            | VoucherError::NotRedeemable { .. }
            | VoucherError::CodeConflict(_)
            | VoucherError::UniqueViolation(_) => ErrorKind::Refused,
            VoucherError::Random(_)
            | VoucherError::Task(_)
            | VoucherError::Sink(_)
            | VoucherError::StoredAnswer(_)
            | VoucherError::Database(_) => ErrorKind::Internal,
            VoucherError::DatabaseUnavailable(_) | VoucherError::StorageFull(_) => ErrorKind::Unavailable,
            VoucherError::Unsupported(_) => ErrorKind::Unsupported,
        }
    }

    /// A stable machine-readable code (`invalid_count`, `not_found`, ...), used as the API's
    /// `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            VoucherError::InvalidCount { .. } => "invalid_count",
            VoucherError::NotRedeemable { reason, .. } => reason.as_str(),
            VoucherError::Invalid(_) | VoucherError::InvalidRows { .. } => "invalid_input",
            VoucherError::NotEnoughCodes { .. } => "not_enough_codes",
            VoucherError::NoSeatsLeft { .. } => "no_seats_left",
            VoucherError::AllotmentClosed => "allotment_closed",
            VoucherError::SeatsBelowAssigned { .. } => "seats_below_assigned",
            VoucherError::CodeSpaceExhausted { .. } => "code_space_exhausted",
            VoucherError::WeakCodes { .. } => "weak_codes",
            VoucherError::Mistyped { .. } => "mistyped",
            VoucherError::HoldNotFound { .. } => "hold_not_found",
            VoucherError::CodeConflict(_) => "code_conflict",
            VoucherError::ConferenceNotFound(_)
            | VoucherError::VoucherNotFound { .. }
            | VoucherError::CatalogItemNotFound { .. }
            | VoucherError::BatchNotFound { .. }
            | VoucherError::TokenNotFound(_)
            | VoucherError::MessageNotFound(_)
            | VoucherError::WebhookNotFound(_)
            | VoucherError::DeliveryNotFound(_)
            | VoucherError::AllotmentNotFound(_)
            | VoucherError::AttendeeNotFound(_)
            | VoucherError::AccountNotFound(_) => "not_found",
            VoucherError::LoginFailed => "login_failed",
            VoucherError::IdempotencyKeyReused { .. } => "idempotency_key_reused",
            VoucherError::UnknownTicketType { .. } => "unknown_ticket_type",
            VoucherError::UnknownAddon { .. } => "unknown_addon",
            VoucherError::Duplicate { .. } | VoucherError::UniqueViolation(_) => "duplicate",
            VoucherError::Random(_)
            | VoucherError::Task(_)
            | VoucherError::Sink(_)
            | VoucherError::StoredAnswer(_)
            | VoucherError::Database(_) => "internal",
            VoucherError::DatabaseUnavailable(_) => "database_unavailable",
            VoucherError::StorageFull(_) => "storage_full",
            VoucherError::Unsupported(_) => "unsupported",
        }
    }

    /// For a code refused because holds take its uses: whole seconds from `now` until the first
    /// of them ends (at least 1).
    pub fn retry_after(&self, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
        match self {
            VoucherError::NotRedeemable { retry_at: Some(at), .. } => {
                let micros = (*at - now).num_microseconds().unwrap_or(i64::MAX);
                Some(micros.saturating_add(999_999).div_euclid(1_000_000).max(1))
            }
            _ => None,
        }
    }

    /// The input field at fault, where there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            VoucherError::InvalidCount { .. } => Some("count"),
            VoucherError::Invalid(e) => Some(e.field),
            VoucherError::InvalidRows { field, .. } => Some(field),
            VoucherError::CodeSpaceExhausted { .. } => Some("prefix"),
            VoucherError::WeakCodes { .. } => Some("length"),
            VoucherError::Mistyped { .. } => Some("code"),
            VoucherError::UnknownTicketType { field, .. } | VoucherError::UnknownAddon { field, .. } => Some(field),
            VoucherError::Duplicate { field, .. } => Some(field),
            VoucherError::SeatsBelowAssigned { .. } => Some("seats"),
            VoucherError::IdempotencyKeyReused { .. } => Some("Idempotency-Key"),
            _ => None,
        }
    }

    /// True when the person who typed the input can fix it (a console form shows the message
    /// beside the form): invalid input, a missing target, a duplicate, wrong credentials.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            VoucherError::InvalidCount { .. }
                | VoucherError::Invalid(_)
                | VoucherError::InvalidRows { .. }
                | VoucherError::NotEnoughCodes { .. }
                | VoucherError::MessageNotFound(_)
                | VoucherError::WebhookNotFound(_)
                | VoucherError::DeliveryNotFound(_)
                | VoucherError::AllotmentNotFound(_)
                | VoucherError::AttendeeNotFound(_)
                | VoucherError::NoSeatsLeft { .. }
                | VoucherError::AllotmentClosed
                | VoucherError::SeatsBelowAssigned { .. }
                | VoucherError::UnknownTicketType { .. }
                | VoucherError::UnknownAddon { .. }
                | VoucherError::ConferenceNotFound(_)
                | VoucherError::VoucherNotFound { .. }
                | VoucherError::CatalogItemNotFound { .. }
                | VoucherError::Mistyped { .. }
                | VoucherError::WeakCodes { .. }
                | VoucherError::BatchNotFound { .. }
                | VoucherError::TokenNotFound(_)
                | VoucherError::AccountNotFound(_)
                | VoucherError::LoginFailed
                | VoucherError::IdempotencyKeyReused { .. }
                | VoucherError::Duplicate { .. }
        )
    }
}
