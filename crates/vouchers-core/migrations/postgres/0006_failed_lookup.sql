-- Failed code lookups per caller (PostgreSQL). Paired with sqlite/0006_failed_lookup.sql.
-- Every instance counts a caller's failures in the last minute here, so several instances
-- behind a balancer allow the configured limit once, not once each. A failure is one insert
-- (which also drops that caller's rows older than the window); a successful lookup writes
-- nothing.
CREATE TABLE failed_lookup (
    token_id bigint      NOT NULL,
    address  text        NOT NULL,
    at       timestamptz NOT NULL
);
CREATE INDEX failed_lookup_caller ON failed_lookup (token_id, address, at);
