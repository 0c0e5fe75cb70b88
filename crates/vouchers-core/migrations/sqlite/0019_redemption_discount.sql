-- A redemption records the discount it gave (SQLite). Paired with postgres/0019_redemption_discount.sql.
-- The one-statement redemption wrote `discount = 0` (only the locked path, a voucher with a
-- budget, recorded it); the view takes the discount now (cents) and the trigger writes it. The
-- rest of the view and the trigger are migration 0017's, unchanged. Redemptions written before
-- get their discount from their stored answer (the priced cart's `pricing.discount`; none
-- without a cart), so the reports' "discount given" covers them too.
UPDATE redemption
   SET discount = CAST(round(CAST(json_extract(response, '$.pricing.discount') AS REAL) * 100) AS INTEGER)
 WHERE discount = 0 AND json_valid(response) AND json_extract(response, '$.pricing.discount') IS NOT NULL;

DROP TRIGGER redeem_request_insert;
DROP VIEW redeem_request;

CREATE VIEW redeem_request AS
SELECT 0 AS voucher_id, '' AS order_ref, 0 AS at, '' AS response, 0 AS audit_at, 0 AS conference_id,
       '' AS actor_kind, 0 AS actor_id, '' AS actor_name, '' AS action, '' AS target, '' AS changes,
       '' AS refusal, '' AS event_id, '' AS event_type, '' AS event_body, 0 AS event_bit, 0 AS discount
 WHERE 0;

CREATE TRIGGER redeem_request_insert INSTEAD OF INSERT ON redeem_request
BEGIN
    SELECT RAISE(ABORT, 'vouchers: replay')
     WHERE EXISTS (SELECT 1 FROM redemption
                    WHERE voucher_id = NEW.voucher_id AND order_ref = NEW.order_ref AND released_at IS NULL);
    SELECT RAISE(ABORT, 'vouchers: locked') WHERE NEW.refusal = 'locked';
    SELECT RAISE(ABORT, 'vouchers: not_found') WHERE NEW.refusal = 'not_found';
    SELECT RAISE(ABORT, 'vouchers: inactive') WHERE NEW.refusal = 'inactive';
    SELECT RAISE(ABORT, 'vouchers: not_yet_valid') WHERE NEW.refusal = 'not_yet_valid';
    SELECT RAISE(ABORT, 'vouchers: expired') WHERE NEW.refusal = 'expired';
    SELECT RAISE(ABORT, 'vouchers: used_up') WHERE NEW.refusal = 'used_up';
    SELECT RAISE(ABORT, 'vouchers: not_applicable') WHERE NEW.refusal = 'not_applicable';
    SELECT RAISE(ABORT, 'vouchers: below_minimum') WHERE NEW.refusal = 'below_minimum';
    SELECT RAISE(ABORT, 'vouchers: refused') WHERE NEW.refusal IS NOT '';
    UPDATE voucher SET times_used = times_used + 1, updated_at = NEW.at WHERE id = NEW.voucher_id;
    UPDATE redemption SET redeemed_at = NEW.at, released_at = NULL, response = NEW.response, discount = NEW.discount
     WHERE voucher_id = NEW.voucher_id AND order_ref = NEW.order_ref;
    INSERT INTO redemption (voucher_id, order_ref, redeemed_at, response, discount)
    SELECT NEW.voucher_id, NEW.order_ref, NEW.at, NEW.response, NEW.discount
     WHERE NOT EXISTS (SELECT 1 FROM redemption WHERE voucher_id = NEW.voucher_id AND order_ref = NEW.order_ref);
    INSERT INTO audit_log (at, conference_id, actor_kind, actor_id, actor_name, action, target, changes)
    VALUES (NEW.audit_at, NEW.conference_id, NEW.actor_kind, NEW.actor_id, NEW.actor_name, NEW.action, NEW.target,
            NEW.changes);
    INSERT INTO webhook_delivery (webhook_id, conference_id, event_id, event_type, body, status, attempts,
                                  next_attempt_at, created_at)
    SELECT w.id, w.conference_id, NEW.event_id, NEW.event_type,
           replace(NEW.event_body, '"times_used":__TIMES_USED__',
                   '"times_used":' || (SELECT times_used FROM voucher WHERE id = NEW.voucher_id)),
           'pending', 0, NEW.at, NEW.at
      FROM webhook w
     WHERE NEW.event_id IS NOT NULL AND w.conference_id = NEW.conference_id AND w.enabled
       AND (w.events & NEW.event_bit) <> 0;
END;
