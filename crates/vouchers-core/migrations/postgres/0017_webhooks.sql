-- Webhooks (PostgreSQL). Paired with sqlite/0017_webhooks.sql.
--
-- A subscription (`webhook`) asks for some event types of one conference (`events`: one bit per
-- type, as `domain::EventType::bit` numbers them) to be POSTed to `url`, signed with `secret`
-- (and, for a day after a rotation, with `previous_secret` too).
--
-- An event is written as one `webhook_delivery` row per enabled subscription that wants it, in
-- the transaction of the change it reports: a change that rolls back leaves no delivery, and one
-- that commits cannot lose its deliveries. The body is written once and sent as is on every
-- attempt (with the same `event_id`).
--
-- A sender delivers one subscription at a time: it leases the `webhook` row (`lease_owner`,
-- `lease_until`; claimed with SKIP LOCKED) and sends its pending deliveries in id order, the
-- first one before the next, so a receiver gets one subscription's events in order; a sender
-- killed mid-delivery leaves the lease to run out, and another sender sends the same delivery.
CREATE TABLE webhook (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id         bigint      NOT NULL REFERENCES conference (id),
    url                   text        NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000),
    secret                text        NOT NULL,
    previous_secret       text,
    previous_secret_until timestamptz,
    events                bigint      NOT NULL CHECK (events > 0),
    enabled               boolean     NOT NULL DEFAULT true,
    disabled_reason       text,
    lease_owner           text,
    lease_until           timestamptz,
    delivered_through     bigint      NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX webhook_conference ON webhook (conference_id, id);

CREATE TABLE webhook_delivery (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       bigint      NOT NULL REFERENCES webhook (id),
    conference_id    bigint      NOT NULL REFERENCES conference (id),
    event_id         text        NOT NULL,
    event_type       text        NOT NULL,
    body             text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         bigint      NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL,
    last_status_code bigint,
    last_error       text,
    response_body    text,
    first_attempt_at timestamptz,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL
);
