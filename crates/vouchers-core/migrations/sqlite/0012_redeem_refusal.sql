-- A refused redemption says which rule refused it (SQLite). Paired with
-- postgres/0012_redeem_refusal.sql.
--
-- `INSERT INTO redeem_request` (store/sqlite/mod.rs) now carries `refusal`: why the voucher cannot
-- be used at that instant, computed in the same statement by the one SQL expression
-- store::sql::refusal ('' when it can be used). The trigger no longer decides usability itself:
-- it aborts the whole statement with the refusal as its message, or with 'vouchers: replay' when
-- the order holds an unreleased redemption; otherwise it consumes one use, writes the order's
-- redemption with its answer (new, or the released row taken back) and the audit record. The
-- statement takes the write lock when it starts, so the decision and the writes are one step.
-- RAISE takes only a literal message, hence one line per reason; an unknown reason aborts too.
DROP TRIGGER redeem_request_insert;
DROP VIEW redeem_request;

CREATE VIEW redeem_request AS
SELECT 0 AS voucher_id, '' AS order_ref, 0 AS at, '' AS response, 0 AS audit_at, 0 AS conference_id,
       '' AS actor_kind, 0 AS actor_id, '' AS actor_name, '' AS action, '' AS target, '' AS changes,
       '' AS refusal
 WHERE 0;

CREATE TRIGGER redeem_request_insert INSTEAD OF INSERT ON redeem_request
BEGIN
    SELECT RAISE(ABORT, 'vouchers: replay')
     WHERE EXISTS (SELECT 1 FROM redemption
                    WHERE voucher_id = NEW.voucher_id AND order_ref = NEW.order_ref AND released_at IS NULL);
    SELECT RAISE(ABORT, 'vouchers: not_found') WHERE NEW.refusal = 'not_found';
    SELECT RAISE(ABORT, 'vouchers: inactive') WHERE NEW.refusal = 'inactive';
    SELECT RAISE(ABORT, 'vouchers: used_up') WHERE NEW.refusal = 'used_up';
    SELECT RAISE(ABORT, 'vouchers: not_yet_valid') WHERE NEW.refusal = 'not_yet_valid';
    SELECT RAISE(ABORT, 'vouchers: expired') WHERE NEW.refusal = 'expired';
    SELECT RAISE(ABORT, 'vouchers: refused') WHERE NEW.refusal IS NOT '';
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
