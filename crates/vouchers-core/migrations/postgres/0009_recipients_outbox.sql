-- Recipients, the mail outbox and imported batches (PostgreSQL). Paired with
-- sqlite/0009_recipients_outbox.sql, which says what each part is for.

ALTER TABLE voucher ADD COLUMN recipient_email text;
ALTER TABLE voucher ADD COLUMN recipient_name text;
ALTER TABLE voucher ADD COLUMN recipient_tags text;
ALTER TABLE voucher ADD COLUMN assigned_at timestamptz;
CREATE UNIQUE INDEX voucher_batch_recipient ON voucher (batch_id, recipient_email)
    WHERE recipient_email IS NOT NULL AND batch_id IS NOT NULL;
CREATE INDEX voucher_recipient_email ON voucher (conference_id, recipient_email)
    WHERE recipient_email IS NOT NULL;

ALTER TABLE voucher_batch ADD COLUMN source text NOT NULL DEFAULT 'generate'
    CHECK (source IN ('generate', 'import'));

CREATE TABLE outbox_message (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id   bigint      NOT NULL REFERENCES conference (id),
    batch_id        bigint      NOT NULL,
    voucher_id      bigint      NOT NULL UNIQUE REFERENCES voucher (id),
    recipient_email text        NOT NULL,
    recipient_name  text        NOT NULL,
    subject         text        NOT NULL,
    body_text       text        NOT NULL,
    body_html       text,
    message_key     text        NOT NULL UNIQUE,
    status          text        NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        bigint      NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    attempt_limit   bigint      NOT NULL,
    last_error      text,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX outbox_message_due ON outbox_message (status, next_attempt_at);
CREATE INDEX outbox_message_batch ON outbox_message (conference_id, batch_id, id);
