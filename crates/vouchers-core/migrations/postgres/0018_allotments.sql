-- Sponsor allotments (PostgreSQL). Paired with sqlite/0018_allotments.sql.
--
-- An allotment gives one sponsor `seats` passes. Its terms are a voucher batch of its own
-- (`batch_id`), made when the allotment is; each pass the sponsor assigns mints one voucher of
-- that batch for one attendee. `assigned` counts the passes given out: every add, removal,
-- resize and close is one conditional UPDATE of this row, so two tabs adding at once, or the
-- deadline closing while a late add runs, are put in order by the row's lock and the CHECK
-- holds whatever runs concurrently. `closed_at` is set at the deadline, with `returned`, the
-- passes nobody was given (seats - assigned). `link_hash` is the SHA-256 of the sponsor's
-- secret link (NULL: revoked); a new link replaces it, so the old one stops at once.
CREATE TABLE allotment (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id bigint      NOT NULL REFERENCES conference (id),
    batch_id      bigint      NOT NULL UNIQUE REFERENCES voucher_batch (id),
    sponsor       text        NOT NULL CHECK (char_length(sponsor) BETWEEN 1 AND 200),
    contact       text        NOT NULL,
    seats         bigint      NOT NULL CHECK (seats >= 1),
    assigned      bigint      NOT NULL DEFAULT 0 CHECK (assigned >= 0 AND assigned <= seats),
    deadline      timestamptz NOT NULL,
    closed_at     timestamptz,
    returned      bigint      NOT NULL DEFAULT 0 CHECK (returned >= 0),
    link_hash     text        UNIQUE CHECK (link_hash IS NULL OR char_length(link_hash) = 64),
    subject       text,
    template      text,
    html_template text,
    reminder_days text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX allotment_conference ON allotment (conference_id, id);
CREATE INDEX allotment_open ON allotment (deadline) WHERE closed_at IS NULL;

-- A reminder to the contact, once per (days before, deadline): the primary key decides, so two
-- instances never send the same reminder; a new deadline arms the reminders again.
CREATE TABLE allotment_reminder (
    allotment_id bigint      NOT NULL REFERENCES allotment (id),
    days         bigint      NOT NULL CHECK (days >= 1),
    deadline     timestamptz NOT NULL,
    sent_at      timestamptz NOT NULL,
    PRIMARY KEY (allotment_id, days, deadline)
);

-- A sponsor's browser session: the SHA-256 of its cookie, scoped to one allotment. A new or
-- revoked link deletes them.
CREATE TABLE sponsor_session (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   text        NOT NULL UNIQUE CHECK (char_length(token_hash) = 64),
    allotment_id bigint      NOT NULL REFERENCES allotment (id),
    csrf_token   text        NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX sponsor_session_allotment ON sponsor_session (allotment_id);

-- A message of the outbox may go to an allotment's contact (a reminder): it has no voucher.
ALTER TABLE outbox_message ALTER COLUMN voucher_id DROP NOT NULL;
