-- A redemption in one statement (SQLite). Paired in purpose with postgres/0008_redeem_abort.sql.
-- `INSERT INTO redeem_request` runs this trigger: it refuses (and so undoes) the whole statement
-- when the order holds an unreleased redemption ('vouchers: replay') or the voucher cannot be
-- used at that instant ('vouchers: not usable'); otherwise it consumes one use, writes the
-- order's redemption with its answer (new, or the released row taken back) and the audit record.
-- The statement takes the write lock when it starts, so the checks and the writes are one step.
CREATE VIEW redeem_request AS
SELECT 0 AS voucher_id, '' AS order_ref, 0 AS at, '' AS response, 0 AS audit_at, 0 AS conference_id,
       '' AS actor_kind, 0 AS actor_id, '' AS actor_name, '' AS action, '' AS target, '' AS changes
 WHERE 0;

CREATE TRIGGER redeem_request_insert INSTEAD OF INSERT ON redeem_request
BEGIN
    SELECT RAISE(ABORT, 'vouchers: replay')
     WHERE EXISTS (SELECT 1 FROM redemption
                    WHERE voucher_id = NEW.voucher_id AND order_ref = NEW.order_ref AND released_at IS NULL);
    SELECT RAISE(ABORT, 'vouchers: not usable')
     WHERE NOT EXISTS (SELECT 1 FROM voucher
                        WHERE id = NEW.voucher_id AND is_active AND times_used < max_uses
                          AND (valid_from IS NULL OR valid_from <= NEW.at)
                          AND (valid_until IS NULL OR valid_until >= NEW.at));
    UPDATE voucher SET times_used = times_used + 1, updated_at = NEW.at WHERE id = NEW.voucher_id;
    UPDATE redemption SET redeemed_at = NEW.at, released_at = NULL, response = NEW.response
     WHERE voucher_id = NEW.voucher_id AND order_ref = NEW.order_ref;
    INSERT INTO redemption (voucher_id, order_ref, redeemed_at, response)
    SELECT NEW.voucher_id, NEW.order_ref, NEW.at, NEW.response
     WHERE NOT EXISTS (SELECT 1 FROM redemption WHERE voucher_id = NEW.voucher_id AND order_ref = NEW.order_ref);
    INSERT INTO audit_log (at, conference_id, actor_kind, actor_id, actor_name, action, target, changes)
    VALUES (NEW.audit_at, NEW.conference_id, NEW.actor_kind, NEW.actor_id, NEW.actor_name, NEW.action, NEW.target,
            NEW.changes);
END;
