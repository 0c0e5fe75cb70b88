-- One-time set-password links (SQLite). Paired with postgres/0020_password_link.sql, which says
-- what each part is for. Instants are microseconds since the epoch, as everywhere in this schema.
CREATE TABLE password_link (
    link_hash  TEXT    PRIMARY KEY CHECK (length(link_hash) = 64),
    account_id INTEGER NOT NULL UNIQUE REFERENCES account (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
