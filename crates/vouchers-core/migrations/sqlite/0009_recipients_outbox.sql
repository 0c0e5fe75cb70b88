-- Recipients, the mail outbox and imported batches (SQLite). Paired with
-- postgres/0009_recipients_outbox.sql.

-- A voucher may be handed to one recipient: a lower-cased email, a name and free-form tags (a
-- JSON object of text values), with the time it was assigned. One email holds at most one code
-- of a batch: the unique index decides, so two organizers assigning at once cannot both give
-- the same person a code of the same batch.
ALTER TABLE voucher ADD COLUMN recipient_email TEXT;
ALTER TABLE voucher ADD COLUMN recipient_name TEXT;
ALTER TABLE voucher ADD COLUMN recipient_tags TEXT;
ALTER TABLE voucher ADD COLUMN assigned_at INTEGER;
CREATE UNIQUE INDEX voucher_batch_recipient ON voucher (batch_id, recipient_email)
    WHERE recipient_email IS NOT NULL AND batch_id IS NOT NULL;
CREATE INDEX voucher_recipient_email ON voucher (conference_id, recipient_email)
    WHERE recipient_email IS NOT NULL;

-- Where a batch came from: `generate` (random codes) or `import` (codes chosen elsewhere; each
-- voucher carries its own terms, the batch row holds the first row's).
ALTER TABLE voucher_batch ADD COLUMN source TEXT NOT NULL DEFAULT 'generate'
    CHECK (source IN ('generate', 'import'));

-- The transactional outbox: one message per voucher, written in the same transaction that
-- decides to send it, rendered once (so a retry sends the very same text), delivered later by a
-- sender that claims rows. `sending` rows carry a lease: a sender that dies mid-send leaves the
-- row to be claimed again when its lease ends. `attempts` fences a late sender out: a result is
-- recorded only by the claim that made the current attempt. A temporary failure at
-- `attempt_limit` attempts fails the message; retrying a failed message allows as many again.
CREATE TABLE outbox_message (
    id              INTEGER PRIMARY KEY,
    conference_id   INTEGER NOT NULL REFERENCES conference (id),
    batch_id        INTEGER NOT NULL,
    voucher_id      INTEGER NOT NULL UNIQUE REFERENCES voucher (id),
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
CREATE INDEX outbox_message_due ON outbox_message (status, next_attempt_at);
CREATE INDEX outbox_message_batch ON outbox_message (conference_id, batch_id, id);
