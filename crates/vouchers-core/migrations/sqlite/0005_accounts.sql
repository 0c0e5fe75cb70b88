-- Organizer accounts and console sessions (SQLite). Paired with postgres/0005_accounts.sql.
-- account.email is unique ignoring case; only an Argon2id hash of the password is stored.
-- account_conference grants a `manage` account its conferences. console_session keeps only the
-- SHA-256 of a session's secret (its cookie), so a copy of the database opens no session.
CREATE TABLE account (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'manage')),
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

CREATE TABLE account_conference (
    account_id    INTEGER NOT NULL REFERENCES account (id),
    conference_id INTEGER NOT NULL REFERENCES conference (id),
    PRIMARY KEY (account_id, conference_id)
);

CREATE TABLE console_session (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    account_id   INTEGER NOT NULL REFERENCES account (id),
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX console_session_account ON console_session (account_id);
