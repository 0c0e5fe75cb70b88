-- Webhooks (SQLite). Paired with postgres/0016_webhooks.sql, which says what each part is for.
-- Instants are microseconds since the epoch, as everywhere in this schema.
CREATE TABLE webhook (
    id                    INTEGER PRIMARY KEY,
    conference_id         INTEGER NOT NULL REFERENCES conference (id),
    url                   TEXT    NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    secret                TEXT    NOT NULL,
    previous_secret       TEXT,
    previous_secret_until INTEGER,
    events                INTEGER NOT NULL CHECK (events > 0),
    enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    disabled_reason       TEXT,
    lease_owner           TEXT,
    lease_until           INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX webhook_conference ON webhook (conference_id, id);

CREATE TABLE webhook_delivery (
    id               INTEGER PRIMARY KEY,
    webhook_id       INTEGER NOT NULL REFERENCES webhook (id),
    conference_id    INTEGER NOT NULL REFERENCES conference (id),
    event_id         TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    response_body    TEXT,
    first_attempt_at INTEGER,
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_delivery_pending ON webhook_delivery (webhook_id, id) WHERE status = 'pending';
CREATE INDEX webhook_delivery_conference ON webhook_delivery (conference_id, id);
