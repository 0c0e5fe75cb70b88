-- Initial schema (SQLite). Paired with postgres/0001_initial.sql.
-- Instants are INTEGER microseconds since the Unix epoch (UTC); amounts are INTEGER cents
-- (a percentage is stored in hundredths, 25.00% = 2500); booleans are 0/1.

CREATE TABLE conference (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    start_date  TEXT    NOT NULL,
    end_date    TEXT    NOT NULL,
    timezone    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE ticket_type (
    id               INTEGER PRIMARY KEY,
    conference_id    INTEGER NOT NULL REFERENCES conference (id),
    slug             TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    price_cents      INTEGER NOT NULL CHECK (price_cents >= 0),
    requires_voucher INTEGER NOT NULL DEFAULT 0,
    is_active        INTEGER NOT NULL DEFAULT 1,
    UNIQUE (conference_id, slug)
);

CREATE TABLE addon (
    id            INTEGER PRIMARY KEY,
    conference_id INTEGER NOT NULL REFERENCES conference (id),
    slug          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    price_cents   INTEGER NOT NULL CHECK (price_cents >= 0),
    is_active     INTEGER NOT NULL DEFAULT 1,
    UNIQUE (conference_id, slug)
);

-- A set of ticket types and add-ons that vouchers apply to. Every voucher of a batch points at
-- one set, so a batch writes a handful of link rows, not count x restrictions. Sets are immutable
-- and shared between identical restrictions (same key).
CREATE TABLE restriction_set (
    id            INTEGER PRIMARY KEY,
    conference_id INTEGER NOT NULL REFERENCES conference (id),
    key           TEXT    NOT NULL,
    UNIQUE (conference_id, key)
);

CREATE TABLE restriction_set_ticket_type (
    restriction_set_id INTEGER NOT NULL REFERENCES restriction_set (id),
    ticket_type_id     INTEGER NOT NULL REFERENCES ticket_type (id),
    PRIMARY KEY (restriction_set_id, ticket_type_id)
) WITHOUT ROWID;

CREATE TABLE restriction_set_addon (
    restriction_set_id INTEGER NOT NULL REFERENCES restriction_set (id),
    addon_id           INTEGER NOT NULL REFERENCES addon (id),
    PRIMARY KEY (restriction_set_id, addon_id)
) WITHOUT ROWID;

CREATE TABLE voucher_batch (
    id                     INTEGER PRIMARY KEY,
    conference_id          INTEGER NOT NULL REFERENCES conference (id),
    prefix                 TEXT    NOT NULL,
    count                  INTEGER NOT NULL CHECK (count >= 1),
    voucher_type           TEXT    NOT NULL CHECK (voucher_type IN ('comp', 'percentage', 'fixed_amount')),
    discount_cents         INTEGER NOT NULL CHECK (discount_cents >= 0),
    max_uses               INTEGER NOT NULL CHECK (max_uses >= 1),
    valid_from             INTEGER,
    valid_until            INTEGER,
    unlocks_hidden_tickets INTEGER NOT NULL,
    restriction_set_id     INTEGER REFERENCES restriction_set (id),
    created_at             INTEGER NOT NULL,
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from)
);

CREATE INDEX voucher_batch_conference ON voucher_batch (conference_id, id);

-- code is compared ignoring ASCII case (COLLATE NOCASE), so the unique index refuses
-- 'speaker-abc' beside 'SPEAKER-ABC'.
-- restriction_set_id and batch_id carry no foreign key: a foreign key is checked once per
-- inserted row, and on PostgreSQL each such check cost about 1.4 ms per 500 vouchers (measured,
-- a fifth of a whole batch). Both parents are written in the same transaction as their vouchers,
-- by the only code path that sets these columns, and nothing ever deletes a batch or a
-- restriction set. conference_id keeps its foreign key.
CREATE TABLE voucher (
    id                     INTEGER PRIMARY KEY,
    conference_id          INTEGER NOT NULL REFERENCES conference (id),
    code                   TEXT    NOT NULL COLLATE NOCASE CHECK (length(code) BETWEEN 1 AND 100),
    voucher_type           TEXT    NOT NULL CHECK (voucher_type IN ('comp', 'percentage', 'fixed_amount')),
    discount_cents         INTEGER NOT NULL CHECK (discount_cents >= 0),
    max_uses               INTEGER NOT NULL CHECK (max_uses >= 1),
    times_used             INTEGER NOT NULL DEFAULT 0 CHECK (times_used >= 0 AND times_used <= max_uses),
    valid_from             INTEGER,
    valid_until            INTEGER,
    unlocks_hidden_tickets INTEGER NOT NULL,
    is_active              INTEGER NOT NULL DEFAULT 1,
    restriction_set_id     INTEGER,
    batch_id               INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from)
);

CREATE UNIQUE INDEX voucher_conference_code ON voucher (conference_id, code);
CREATE INDEX voucher_batch_id ON voucher (batch_id) WHERE batch_id IS NOT NULL;
