-- The audit log (SQLite). Paired with postgres/0007_audit.sql.
-- Every write appends one row in its own transaction: when, who (cli, token, account or
-- system, with the credential's id and a name), what (action, target) and the values written
-- (JSON; for a change, each field's old and new value). Never a secret.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    conference_id INTEGER REFERENCES conference (id),
    actor_kind    TEXT    NOT NULL,
    actor_id      INTEGER,
    actor_name    TEXT,
    action        TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    changes       TEXT    NOT NULL
);
CREATE INDEX audit_log_conference ON audit_log (conference_id, id);
