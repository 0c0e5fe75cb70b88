-- One-time set-password links (PostgreSQL). Paired with sqlite/0020_password_link.sql.
--
-- An account made without a password (or one whose password was forgotten) gets a link with a
-- random secret; only the SHA-256 (hex) of the secret is stored, so a copy of the database sets
-- no password. An account has at most one link (`account_id` is unique): a new one replaces the
-- old. Setting the password deletes the row in the same statement that finds it, so a link works
-- once even when two requests present it at the same moment; past `expires_at` it opens nothing.
-- An account's password_hash is '' while it waits for its first password (no hash matches it).
CREATE TABLE password_link (
    link_hash  text        PRIMARY KEY CHECK (char_length(link_hash) = 64),
    account_id bigint      NOT NULL UNIQUE REFERENCES account (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
