-- Code formats: readable alphabets, lengths, check characters and folded matching (SQLite).
-- Paired with postgres/0010_code_formats.sql.

-- How a batch's codes look. Batches made before this migration have the seed's format.
ALTER TABLE voucher_batch ADD COLUMN alphabet TEXT NOT NULL DEFAULT 'seed'
    CHECK (alphabet IN ('seed', 'readable'));
ALTER TABLE voucher_batch ADD COLUMN code_length INTEGER NOT NULL DEFAULT 8
    CHECK (code_length BETWEEN 6 AND 32);
ALTER TABLE voucher_batch ADD COLUMN check_char INTEGER NOT NULL DEFAULT 0 CHECK (check_char IN (0, 1));

-- Every code carries its folded key (upper case, O as 0, I and L as 1, without hyphens and
-- spaces: domain::fold_key), and whether it is readable (matched by that key). Two codes of a
-- conference with the same key cannot both exist when either of them is readable; two seed codes
-- keep today's rule only (the same code ignoring case).
ALTER TABLE voucher ADD COLUMN readable INTEGER NOT NULL DEFAULT 0 CHECK (readable IN (0, 1));
ALTER TABLE voucher ADD COLUMN fold_key TEXT NOT NULL DEFAULT '';
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
    ON voucher (conference_id, fold_key, (CASE WHEN readable THEN '' ELSE code END) COLLATE NOCASE);
DROP INDEX voucher_conference_code;

-- Which conferences have readable codes: a seed code is checked against them only then (a seed
-- code never enters this index).
CREATE INDEX voucher_readable ON voucher (conference_id) WHERE readable;

-- A readable code beside a seed code with the same key is refused by the insert of codes
-- (store/sqlite/insert.rs: it looks the chunk's keys up in these indexes first, and skips a code
-- whose key is held by a code of the other kind, or by any code for a readable one). SQLite has
-- one writer, so that check and the insert are one step. (Triggers did the same at 57 % more
-- instructions for a batch of 500 seed codes, measured with callgrind, so they were not kept.)
