-- The audit log (PostgreSQL). Paired with sqlite/0007_audit.sql.
-- Every write appends one row in its own transaction: when, who (cli, token, account or
-- system, with the credential's id and a name), what (action, target) and the values written
-- (JSON; for a change, each field's old and new value). Never a secret.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL,
    conference_id bigint REFERENCES conference (id),
    actor_kind    text        NOT NULL,
    actor_id      bigint,
    actor_name    text,
    action        text        NOT NULL,
    target        text        NOT NULL,
    changes       text        NOT NULL
);
CREATE INDEX audit_log_conference ON audit_log (conference_id, id);
