-- The HTTP API (SQLite). Paired with postgres/0002_api.sql.
-- api_token keeps only the SHA-256 of a token's secret (hex), found through its unique index.
-- idempotency_key keeps the first response of a bulk request per (conference, key); it is
-- written in the same transaction as the batch, so a key exists only with its batch.

CREATE TABLE api_token (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    scope         TEXT    NOT NULL CHECK (scope IN ('admin', 'manage', 'checkout')),
    conference_id INTEGER REFERENCES conference (id),
    name          TEXT,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    CHECK ((scope = 'admin') = (conference_id IS NULL))
);

CREATE TABLE idempotency_key (
    id            INTEGER PRIMARY KEY,
    conference_id INTEGER NOT NULL REFERENCES conference (id),
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status        INTEGER NOT NULL,
    response      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (conference_id, key)
);
