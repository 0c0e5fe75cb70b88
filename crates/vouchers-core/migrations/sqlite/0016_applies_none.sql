-- "Applies to none" on the voucher and batch rows (SQLite). Paired with
-- postgres/0016_applies_none.sql, which says why.
ALTER TABLE voucher ADD COLUMN applies_none INTEGER NOT NULL DEFAULT 0 CHECK (applies_none BETWEEN 0 AND 3);
ALTER TABLE voucher_batch ADD COLUMN applies_none INTEGER NOT NULL DEFAULT 0 CHECK (applies_none BETWEEN 0 AND 3);

UPDATE voucher
   SET applies_none = (SELECT CASE WHEN s.no_ticket_types THEN 1 ELSE 0 END + CASE WHEN s.no_addons THEN 2 ELSE 0 END
                         FROM restriction_set s WHERE s.id = voucher.restriction_set_id)
 WHERE restriction_set_id IN (SELECT id FROM restriction_set WHERE no_ticket_types OR no_addons);
UPDATE voucher_batch
   SET applies_none = (SELECT CASE WHEN s.no_ticket_types THEN 1 ELSE 0 END + CASE WHEN s.no_addons THEN 2 ELSE 0 END
                         FROM restriction_set s WHERE s.id = voucher_batch.restriction_set_id)
 WHERE restriction_set_id IN (SELECT id FROM restriction_set WHERE no_ticket_types OR no_addons);

ALTER TABLE restriction_set DROP COLUMN no_ticket_types;
ALTER TABLE restriction_set DROP COLUMN no_addons;
