-- Sponsor allotments (SQLite). Paired with postgres/0018_allotments.sql, which says what each
-- part is for. Instants are microseconds since the epoch, as everywhere in this schema.
CREATE TABLE allotment (
    id            INTEGER PRIMARY KEY,
    conference_id INTEGER NOT NULL REFERENCES conference (id),
    batch_id      INTEGER NOT NULL UNIQUE REFERENCES voucher_batch (id),
    sponsor       TEXT    NOT NULL CHECK (length(sponsor) BETWEEN 1 AND 200),
    contact       TEXT    NOT NULL,
    seats         INTEGER NOT NULL CHECK (seats >= 1),
    assigned      INTEGER NOT NULL DEFAULT 0 CHECK (assigned >= 0 AND assigned <= seats),
    deadline      INTEGER NOT NULL,
    closed_at     INTEGER,
    returned      INTEGER NOT NULL DEFAULT 0 CHECK (returned >= 0),
    link_hash     TEXT    UNIQUE CHECK (link_hash IS NULL OR length(link_hash) = 64),
    subject       TEXT,
    template      TEXT,
    html_template TEXT,
    reminder_days TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX allotment_conference ON allotment (conference_id, id);
CREATE INDEX allotment_open ON allotment (deadline) WHERE closed_at IS NULL;

CREATE TABLE allotment_reminder (
    allotment_id INTEGER NOT NULL REFERENCES allotment (id),
    days         INTEGER NOT NULL CHECK (days >= 1),
    deadline     INTEGER NOT NULL,
    sent_at      INTEGER NOT NULL,
    PRIMARY KEY (allotment_id, days, deadline)
);

CREATE TABLE sponsor_session (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    allotment_id INTEGER NOT NULL REFERENCES allotment (id),
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX sponsor_session_allotment ON sponsor_session (allotment_id);

-- A message of the outbox may go to an allotment's contact (a reminder): it has no voucher.
-- SQLite cannot drop a NOT NULL in place, so the table is copied into its new shape.
CREATE TABLE outbox_message_new (
    id              INTEGER PRIMARY KEY,
    conference_id   INTEGER NOT NULL REFERENCES conference (id),
    batch_id        INTEGER NOT NULL,
    voucher_id      INTEGER UNIQUE REFERENCES voucher (id),
    recipient_email TEXT    NOT NULL,
    recipient_name  TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT,
    message_key     TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    attempt_limit   INTEGER NOT NULL,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    sent_at         INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
INSERT INTO outbox_message_new
SELECT id, conference_id, batch_id, voucher_id, recipient_email, recipient_name, subject, body_text, body_html,
       message_key, status, attempts, attempt_limit, last_error, next_attempt_at, lease_until, sent_at,
       created_at, updated_at
  FROM outbox_message;
DROP TABLE outbox_message;
ALTER TABLE outbox_message_new RENAME TO outbox_message;
CREATE INDEX outbox_message_due ON outbox_message (status, next_attempt_at);
CREATE INDEX outbox_message_batch ON outbox_message (conference_id, batch_id, id);
