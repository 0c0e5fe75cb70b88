-- "Applies to none" on the voucher and batch rows (PostgreSQL). Paired with
-- sqlite/0016_applies_none.sql.
--
-- Migration 0015 kept it on the shared restriction set (`no_ticket_types`, `no_addons`). It moves
-- to the rows themselves, so the checkout's one read needs no other table to tell "all" from
-- "none": bit 1 (no ticket type) and bit 2 (no add-on) of `applies_none`; without its bit, a kind
-- with no restriction links still means all of it. Existing rows keep their meaning.
ALTER TABLE voucher ADD COLUMN applies_none smallint NOT NULL DEFAULT 0 CHECK (applies_none BETWEEN 0 AND 3);
ALTER TABLE voucher_batch ADD COLUMN applies_none smallint NOT NULL DEFAULT 0 CHECK (applies_none BETWEEN 0 AND 3);

UPDATE voucher v
   SET applies_none = (CASE WHEN s.no_ticket_types THEN 1 ELSE 0 END) + (CASE WHEN s.no_addons THEN 2 ELSE 0 END)
  FROM restriction_set s
 WHERE s.id = v.restriction_set_id AND (s.no_ticket_types OR s.no_addons);
UPDATE voucher_batch b
   SET applies_none = (CASE WHEN s.no_ticket_types THEN 1 ELSE 0 END) + (CASE WHEN s.no_addons THEN 2 ELSE 0 END)
  FROM restriction_set s
 WHERE s.id = b.restriction_set_id AND (s.no_ticket_types OR s.no_addons);

ALTER TABLE restriction_set DROP COLUMN no_ticket_types;
ALTER TABLE restriction_set DROP COLUMN no_addons;
