-- The HTTP API (PostgreSQL). Paired with sqlite/0002_api.sql.
-- api_token keeps only the SHA-256 of a token's secret (hex), found through its unique index.
-- idempotency_key keeps the first response of a bulk request per (conference, key); it is
-- written in the same transaction as the batch, so a key exists only with its batch.

CREATE TABLE api_token (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    text        NOT NULL UNIQUE CHECK (char_length(token_hash) = 64),
    scope         text        NOT NULL CHECK (scope IN ('admin', 'manage', 'checkout')),
    conference_id bigint REFERENCES conference (id),
    name          text,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    CHECK ((scope = 'admin') = (conference_id IS NULL))
);

CREATE TABLE idempotency_key (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id bigint      NOT NULL REFERENCES conference (id),
    key           text        NOT NULL,
    request_hash  text        NOT NULL,
    status        integer     NOT NULL,
    response      text        NOT NULL,
    created_at    timestamptz NOT NULL,
    UNIQUE (conference_id, key)
);
