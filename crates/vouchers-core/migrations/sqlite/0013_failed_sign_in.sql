-- Failed console sign-ins (SQLite). Paired with postgres/0013_failed_sign_in.sql.
-- PostgreSQL deployments share the sign-in limit's window between instances through this table;
-- an SQLite deployment is one process and keeps its window in memory, so the table stays empty
-- there (it exists so both schemas stay the same).
CREATE TABLE failed_sign_in (
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX failed_sign_in_key ON failed_sign_in (key, at);
