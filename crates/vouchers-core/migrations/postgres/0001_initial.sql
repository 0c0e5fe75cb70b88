-- Initial schema (PostgreSQL). Paired with sqlite/0001_initial.sql.
-- Native types: timestamptz instants, numeric(10,2) amounts, boolean flags.

CREATE TABLE conference (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text        NOT NULL UNIQUE,
    name        text        NOT NULL,
    start_date  date        NOT NULL,
    end_date    date        NOT NULL,
    timezone    text        NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE ticket_type (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id    bigint        NOT NULL REFERENCES conference (id),
    slug             text          NOT NULL,
    name             text          NOT NULL,
    price            numeric(10,2) NOT NULL CHECK (price >= 0),
    requires_voucher boolean       NOT NULL DEFAULT false,
    is_active        boolean       NOT NULL DEFAULT true,
    UNIQUE (conference_id, slug)
);

CREATE TABLE addon (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id bigint        NOT NULL REFERENCES conference (id),
    slug          text          NOT NULL,
    name          text          NOT NULL,
    price         numeric(10,2) NOT NULL CHECK (price >= 0),
    is_active     boolean       NOT NULL DEFAULT true,
    UNIQUE (conference_id, slug)
);

-- A set of ticket types and add-ons that vouchers apply to. Every voucher of a batch points at
-- one set, so a batch writes a handful of link rows, not count x restrictions. Sets are immutable
-- and shared between identical restrictions (same key).
CREATE TABLE restriction_set (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id bigint NOT NULL REFERENCES conference (id),
    key           text   NOT NULL,
    UNIQUE (conference_id, key)
);

CREATE TABLE restriction_set_ticket_type (
    restriction_set_id bigint NOT NULL REFERENCES restriction_set (id),
    ticket_type_id     bigint NOT NULL REFERENCES ticket_type (id),
    PRIMARY KEY (restriction_set_id, ticket_type_id)
);

CREATE TABLE restriction_set_addon (
    restriction_set_id bigint NOT NULL REFERENCES restriction_set (id),
    addon_id           bigint NOT NULL REFERENCES addon (id),
    PRIMARY KEY (restriction_set_id, addon_id)
);

CREATE TABLE voucher_batch (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id          bigint        NOT NULL REFERENCES conference (id),
    prefix                 text          NOT NULL,
    count                  bigint        NOT NULL CHECK (count >= 1),
    voucher_type           text          NOT NULL CHECK (voucher_type IN ('comp', 'percentage', 'fixed_amount')),
    discount_value         numeric(10,2) NOT NULL CHECK (discount_value >= 0),
    max_uses               bigint        NOT NULL CHECK (max_uses >= 1),
    valid_from             timestamptz,
    valid_until            timestamptz,
    unlocks_hidden_tickets boolean       NOT NULL,
    restriction_set_id     bigint REFERENCES restriction_set (id),
    created_at             timestamptz   NOT NULL,
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from)
);

CREATE INDEX voucher_batch_conference ON voucher_batch (conference_id, id);

-- restriction_set_id and batch_id carry no foreign key: a foreign key is checked once per
-- inserted row, and on PostgreSQL each such check cost about 1.4 ms per 500 vouchers (measured,
-- a fifth of a whole batch). Both parents are written in the same transaction as their vouchers,
-- by the only code path that sets these columns, and nothing ever deletes a batch or a
-- restriction set. conference_id keeps its foreign key.
CREATE TABLE voucher (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id          bigint        NOT NULL REFERENCES conference (id),
    code                   text          NOT NULL CHECK (char_length(code) BETWEEN 1 AND 100),
    voucher_type           text          NOT NULL CHECK (voucher_type IN ('comp', 'percentage', 'fixed_amount')),
    discount_value         numeric(10,2) NOT NULL CHECK (discount_value >= 0),
    max_uses               bigint        NOT NULL CHECK (max_uses >= 1),
    times_used             bigint        NOT NULL DEFAULT 0 CHECK (times_used >= 0 AND times_used <= max_uses),
    valid_from             timestamptz,
    valid_until            timestamptz,
    unlocks_hidden_tickets boolean       NOT NULL,
    is_active              boolean       NOT NULL DEFAULT true,
    restriction_set_id     bigint,
    batch_id               bigint,
    created_at             timestamptz   NOT NULL,
    updated_at             timestamptz   NOT NULL,
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from)
);

-- Codes are unique per conference ignoring case: 'speaker-abc' can never sit beside
-- 'SPEAKER-ABC'. Codes are ASCII (checked by the service), so lower() is ASCII case folding.
CREATE UNIQUE INDEX voucher_conference_code ON voucher (conference_id, lower(code));
CREATE INDEX voucher_batch_id ON voucher (batch_id) WHERE batch_id IS NOT NULL;
