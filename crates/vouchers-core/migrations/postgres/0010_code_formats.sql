-- Code formats: readable alphabets, lengths, check characters and folded matching (PostgreSQL).
-- Paired with sqlite/0010_code_formats.sql.

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

-- One unique index over every code, by its folded key, in place of the index on the code alone
-- (voucher_conference_code, 0001). A readable code holds its key alone (the third column is
-- empty); seed codes may share a key and are told apart by the code, ignoring case. So it keeps
-- both rules: two seed codes equal ignoring case cannot both exist (equal codes fold the same),
-- and two readable codes with the same key cannot either. Every lookup of a typed code seeks
-- (conference, key) in it. One index where there was one keeps inserts as cheap as they were.
CREATE UNIQUE INDEX voucher_fold_key
    ON voucher (conference_id, fold_key, (CASE WHEN readable THEN '' ELSE lower(code) END));
DROP INDEX voucher_conference_code;

-- Which conferences have readable codes: a seed code is checked against them only then (a seed
-- code never enters this index).
CREATE INDEX voucher_readable ON voucher (conference_id) WHERE readable;

-- A readable code beside a seed code with the same key is refused by the one statement that
-- inserts codes (store/postgres/insert.rs: NOT EXISTS through these indexes), run under a
-- transaction-level advisory lock on the conference: shared by transactions inserting seed
-- codes, exclusive for readable ones, so the two kinds never insert into one conference at once
-- and each sees the other's committed codes. (An exclusion constraint over a GiST index did the
-- same inside the table, at about twice the time of a batch of 500 seed codes, so it was not
-- kept.)
