//! What a database failure is, as the use cases see it: the one `From<sqlx::Error>` sorts the
//! driver's errors into the few kinds a use case treats differently.

/// A database failure, with the cause kept for logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused a row; `constraint` names the index.
    #[error("unique constraint {constraint} violated")]
    UniqueViolation {
        /// The index or constraint name reported by the database.
        constraint: String,
    },
    /// The transaction lost a race it cannot wait out (deadlock, serialization failure, lock
    /// timeout) and was rolled back.
    #[error("transaction conflict")]
    Conflict(#[source] sqlx::Error),
    /// The database cannot be reached (refused, reset or timed-out connections, a server
    /// shutting down): nothing was written, and the call may succeed once it is back.
    #[error("no connection")]
    Unavailable(#[source] sqlx::Error),
    /// The database's disk is full (SQLite `SQLITE_FULL`, or the shared-memory file that cannot
    /// grow; PostgreSQL `53100 disk_full`): nothing was written, and a write may succeed once
    /// space is freed.
    #[error("the database's disk is full")]
    StorageFull(#[source] sqlx::Error),
    /// Any other database error.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// Opening or locking the database file's directory failed.
    #[error("the database file's directory cannot be opened")]
    Setup(#[source] std::io::Error),
    /// The database file cannot be created.
    #[error("the database file cannot be created")]
    CreateFile(#[source] std::io::Error),
    /// The backup's file cannot be created.
    #[error("the backup file cannot be created")]
    BackupFile(#[source] std::io::Error),
    /// This backend does not do that; the message says what to use instead.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The database URL is not one we can use.
    #[error("invalid database URL: {0}")]
    Url(String),
    /// A parameter could not be encoded as JSON (SQLite binds lists as JSON arrays).
    #[error("a parameter could not be encoded as JSON")]
    Encode(#[source] serde_json::Error),
    /// A stored value does not decode (a bug or a hand-edited database).
    #[error("stored data does not decode: {0}")]
    Corrupt(String),
}

/// True for the errors a full disk gives: SQLite `SQLITE_FULL` (13, with its extended codes) and
/// `SQLITE_IOERR_SHMSIZE` (4874: the `-shm` file cannot grow), PostgreSQL `53100 disk_full`.
fn is_disk_full(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else { return false };
    let code = db.code().unwrap_or_default();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        code.parse::<i32>().is_ok_and(|c| c & 0xff == 13 || c == 4874)
    } else {
        code == "53100"
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        match error {
            sqlx::migrate::MigrateError::Execute(inner) if is_disk_full(&inner) => StoreError::StorageFull(inner),
            other => StoreError::Migrate(other),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if matches!(
            error,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed
        ) {
            return StoreError::Unavailable(error);
        }
        if is_disk_full(&error) {
            return StoreError::StorageFull(error);
        }
        if let sqlx::Error::Database(db) = &error {
            // PostgreSQL going away: admin_shutdown, crash_shutdown, cannot_connect_now, and the
            // connection_exception class (08...).
            let code = db.code().unwrap_or_default();
            if matches!(code.as_ref(), "57P01" | "57P02" | "57P03") || code.starts_with("08") {
                return StoreError::Unavailable(error);
            }
            if db.is_unique_violation() {
                return StoreError::UniqueViolation { constraint: db.constraint().unwrap_or_default().to_owned() };
            }
            // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
            // PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
            let code = db.code().unwrap_or_default();
            let conflict = if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
            } else {
                matches!(code.as_ref(), "40001" | "40P01" | "55P03")
            };
            if conflict {
                return StoreError::Conflict(error);
            }
        }
        StoreError::Database(error)
    }
}
