-- The alphabet of codes made of A-Z and 0-9 is named after what it is: 'alnum' (PostgreSQL).
-- Paired with sqlite/0011_alnum.sql. Input still accepts 'seed' as an alias; the database holds
-- only 'alnum' and 'readable'.
ALTER TABLE voucher_batch DROP CONSTRAINT voucher_batch_alphabet_check;
UPDATE voucher_batch SET alphabet = 'alnum' WHERE alphabet = 'seed';
ALTER TABLE voucher_batch
    ALTER COLUMN alphabet SET DEFAULT 'alnum',
    ADD CONSTRAINT voucher_batch_alphabet_check CHECK (alphabet IN ('alnum', 'readable'));
