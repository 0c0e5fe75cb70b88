-- Cart minimums of a voucher and of a batch (SQLite). Paired with postgres/0014_minimums.sql.
-- A cart may use the voucher only with at least `min_quantity` qualifying items and, when
-- `min_subtotal` (in cents) is set, at least that qualifying subtotal. Existing rows: 1 and
-- none, which every cart meets, so nothing changes for them.
ALTER TABLE voucher ADD COLUMN min_quantity INTEGER NOT NULL DEFAULT 1 CHECK (min_quantity >= 1);
ALTER TABLE voucher ADD COLUMN min_subtotal INTEGER CHECK (min_subtotal > 0);
ALTER TABLE voucher_batch ADD COLUMN min_quantity INTEGER NOT NULL DEFAULT 1 CHECK (min_quantity >= 1);
ALTER TABLE voucher_batch ADD COLUMN min_subtotal INTEGER CHECK (min_subtotal > 0);
