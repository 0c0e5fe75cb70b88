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

-- Readable codes are unique by their key.
CREATE UNIQUE INDEX voucher_readable_fold_key ON voucher (conference_id, fold_key) WHERE readable;
CREATE INDEX voucher_fold_key ON voucher (conference_id, fold_key);

-- A readable code beside a seed code with the same key: an index cannot say "when either is
-- readable", so these triggers do, inside the statement (SQLite has one writer, so the check and
-- the insert are one step). The row is skipped like a unique conflict under ON CONFLICT DO
-- NOTHING: the insert returns no row for it, and the caller reports or redraws the code.
CREATE TRIGGER voucher_readable_fold_conflict BEFORE INSERT ON voucher
WHEN NEW.readable AND EXISTS (
    SELECT 1 FROM voucher o WHERE o.conference_id = NEW.conference_id AND o.fold_key = NEW.fold_key)
BEGIN
    SELECT RAISE(IGNORE);
END;

CREATE TRIGGER voucher_seed_fold_conflict BEFORE INSERT ON voucher
WHEN NOT NEW.readable AND EXISTS (
    SELECT 1 FROM voucher o WHERE o.conference_id = NEW.conference_id AND o.fold_key = NEW.fold_key AND o.readable)
BEGIN
    SELECT RAISE(IGNORE);
END;
