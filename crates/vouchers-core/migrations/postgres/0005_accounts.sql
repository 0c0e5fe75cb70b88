-- Organizer accounts and console sessions (PostgreSQL). Paired with sqlite/0005_accounts.sql.
-- account.email is unique ignoring case; only an Argon2id hash of the password is stored.
-- account_conference grants a `manage` account its conferences. console_session keeps only the
-- SHA-256 of a session's secret (its cookie), so a copy of the database opens no session.
CREATE TABLE account (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'manage')),
    created_at    timestamptz NOT NULL,
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX account_email_key ON account (lower(email));

CREATE TABLE account_conference (
    account_id    bigint NOT NULL REFERENCES account (id),
    conference_id bigint NOT NULL REFERENCES conference (id),
    PRIMARY KEY (account_id, conference_id)
);

CREATE TABLE console_session (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   text        NOT NULL UNIQUE CHECK (char_length(token_hash) = 64),
    account_id   bigint      NOT NULL REFERENCES account (id),
    csrf_token   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX console_session_account ON console_session (account_id);
