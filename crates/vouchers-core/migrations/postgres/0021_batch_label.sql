-- A batch has a name and a note for people (postgres); both empty for batches made before.
-- Paired with sqlite/0021_batch_label.sql.
ALTER TABLE voucher_batch ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE voucher_batch ADD COLUMN note TEXT NOT NULL DEFAULT '';
