-- Code formats: readable alphabets, lengths, check characters and folded matching (PostgreSQL).
-- Paired with sqlite/0010_code_formats.sql.

-- The exclusion constraint below compares a bigint, a text and a boolean in one GiST index.
-- btree_gist ships with PostgreSQL and is a trusted extension: a role that may create objects
-- in the database may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- How a batch's codes look. Batches made before this migration have the seed's format.
ALTER TABLE voucher_batch
    ADD COLUMN alphabet    text     NOT NULL DEFAULT 'seed' CHECK (alphabet IN ('seed', 'readable')),
    ADD COLUMN code_length smallint NOT NULL DEFAULT 8 CHECK (code_length BETWEEN 6 AND 32),
    ADD COLUMN check_char  boolean  NOT NULL DEFAULT false;

-- Every code carries its folded key (upper case, O as 0, I and L as 1, without hyphens and
-- spaces: domain::fold_key), and whether it is readable (matched by that key).
ALTER TABLE voucher
    ADD COLUMN readable boolean NOT NULL DEFAULT false,
    ADD COLUMN fold_key text    NOT NULL DEFAULT '';
UPDATE voucher
   SET fold_key = replace(replace(replace(replace(replace(upper(code), '-', ''), ' ', ''), 'O', '0'), 'I', '1'),
                          'L', '1');

-- Readable codes are unique by their key.
CREATE UNIQUE INDEX voucher_readable_fold_key ON voucher (conference_id, fold_key) WHERE readable;

-- A readable code and a seed code with the same key cannot both exist. Like a unique index, the
-- constraint makes a concurrent insert of a conflicting row wait for the first transaction, and
-- ON CONFLICT DO NOTHING (without a target) skips a conflicting row. Two seed codes keep today's
-- rule only (the same code ignoring case, voucher_conference_code).
ALTER TABLE voucher ADD CONSTRAINT voucher_fold_key_readable_seed
    EXCLUDE USING gist (conference_id WITH =, fold_key WITH =, readable WITH <>);
