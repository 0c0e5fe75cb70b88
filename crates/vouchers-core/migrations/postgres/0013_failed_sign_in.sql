-- Failed console sign-ins (PostgreSQL). Paired with sqlite/0013_failed_sign_in.sql.
-- Every instance counts the failures of the last minute here, against the client's address and
-- against the account named (by its parsed email) or the browser that signed in to it before,
-- so several instances behind a balancer allow the configured limit once, not once each. A
-- failure is one insert per key (which also drops that key's rows older than the window); a
-- successful sign-in writes nothing here.
CREATE TABLE failed_sign_in (
    key text        NOT NULL,
    at  timestamptz NOT NULL
);
CREATE INDEX failed_sign_in_key ON failed_sign_in (key, at);
