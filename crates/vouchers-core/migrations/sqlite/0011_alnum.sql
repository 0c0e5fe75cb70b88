-- The alphabet of codes made of A-Z and 0-9 is named after what it is: 'alnum' (SQLite).
-- Paired with postgres/0011_alnum.sql. Input still accepts 'seed' as an alias; the database holds
-- only 'alnum' and 'readable'.
--
-- SQLite cannot change a CHECK constraint in place: the column is renamed (its CHECK follows),
-- a new one with the new CHECK takes its values, and the old one is dropped.
ALTER TABLE voucher_batch RENAME COLUMN alphabet TO alphabet_before_0011;
ALTER TABLE voucher_batch ADD COLUMN alphabet TEXT NOT NULL DEFAULT 'alnum'
    CHECK (alphabet IN ('alnum', 'readable'));
UPDATE voucher_batch SET alphabet = CASE alphabet_before_0011 WHEN 'readable' THEN 'readable' ELSE 'alnum' END;
ALTER TABLE voucher_batch DROP COLUMN alphabet_before_0011;
