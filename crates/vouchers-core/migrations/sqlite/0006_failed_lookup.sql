-- Failed code lookups per caller (SQLite). Paired with postgres/0006_failed_lookup.sql.
-- PostgreSQL deployments share the guessing limit's window between instances through this
-- table; an SQLite deployment is one process and keeps its window in memory, so the table stays
-- empty there (it exists so both schemas stay the same).
CREATE TABLE failed_lookup (
    token_id INTEGER NOT NULL,
    address  TEXT    NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX failed_lookup_caller ON failed_lookup (token_id, address, at);
