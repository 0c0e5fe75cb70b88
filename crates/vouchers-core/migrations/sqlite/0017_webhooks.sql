-- Webhooks (SQLite). Paired with postgres/0017_webhooks.sql, which says what each part is for.
-- Instants are microseconds since the epoch, as everywhere in this schema.
CREATE TABLE webhook (
    id                    INTEGER PRIMARY KEY,
    conference_id         INTEGER NOT NULL REFERENCES conference (id),
    url                   TEXT    NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    secret                TEXT    NOT NULL,
    previous_secret       TEXT,
    previous_secret_until INTEGER,
    events                INTEGER NOT NULL CHECK (events > 0),
    enabled               INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    disabled_reason       TEXT,
    lease_owner           TEXT,
    lease_until           INTEGER,
    delivered_through     INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX webhook_conference ON webhook (conference_id, id);

CREATE TABLE webhook_delivery (
    id               INTEGER PRIMARY KEY,
    webhook_id       INTEGER NOT NULL REFERENCES webhook (id),
    conference_id    INTEGER NOT NULL REFERENCES conference (id),
    event_id         TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    response_body    TEXT,
    first_attempt_at INTEGER,
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL
);

-- The one-statement redemption writes its `voucher.redeemed` event itself: the view takes the
-- event (id, type, body, the type's bit; NULL id: none), and the trigger, after the use is
-- consumed, writes it for every enabled subscription of the conference that wants it, with the
-- count of uses the redemption left in place of the body's `"times_used":__TIMES_USED__` (no
-- JSON parsing inside the writer's turn). The rest of the trigger is migration 0015's, unchanged.
DROP TRIGGER redeem_request_insert;
DROP VIEW redeem_request;

CREATE VIEW redeem_request AS
SELECT 0 AS voucher_id, '' AS order_ref, 0 AS at, '' AS response, 0 AS audit_at, 0 AS conference_id,
       '' AS actor_kind, 0 AS actor_id, '' AS actor_name, '' AS action, '' AS target, '' AS changes,
       '' AS refusal, '' AS event_id, '' AS event_type, '' AS event_body, 0 AS event_bit
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
    UPDATE redemption SET redeemed_at = NEW.at, released_at = NULL, response = NEW.response, discount = 0
     WHERE voucher_id = NEW.voucher_id AND order_ref = NEW.order_ref;
    INSERT INTO redemption (voucher_id, order_ref, redeemed_at, response)
    SELECT NEW.voucher_id, NEW.order_ref, NEW.at, NEW.response
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
