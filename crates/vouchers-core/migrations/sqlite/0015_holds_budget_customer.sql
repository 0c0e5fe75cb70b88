-- Holds for open carts, money budgets and once-per-customer (SQLite). Paired with
-- postgres/0015_holds_budget_customer.sql, which says what each column is for. Instants are
-- microseconds since the epoch, amounts cents.
--
-- The redemption trigger of migration 0012 gains three reasons: the two cart rules, which the
-- statement now receives from the application and judges last, and 'locked', which sends the
-- redemption to the path that takes the voucher's lock and counts its holds, budget and
-- customers (a voucher with a live hold, a budget or once-per-customer).
ALTER TABLE conference ADD COLUMN hold_seconds INTEGER NOT NULL DEFAULT 1800
    CHECK (hold_seconds BETWEEN 1 AND 604800);

-- A restriction set may apply to no ticket type, or to no add-on (`"none"`), where an empty
-- list of links still means all of them.
ALTER TABLE restriction_set ADD COLUMN no_ticket_types INTEGER NOT NULL DEFAULT 0;
ALTER TABLE restriction_set ADD COLUMN no_addons INTEGER NOT NULL DEFAULT 0;

ALTER TABLE voucher ADD COLUMN holds_until INTEGER;
ALTER TABLE voucher ADD COLUMN budget INTEGER CHECK (budget > 0);
ALTER TABLE voucher ADD COLUMN budget_used INTEGER NOT NULL DEFAULT 0 CHECK (budget_used >= 0);
ALTER TABLE voucher ADD COLUMN once_per_customer INTEGER NOT NULL DEFAULT 0;
ALTER TABLE voucher_batch ADD COLUMN budget INTEGER CHECK (budget > 0);
ALTER TABLE voucher_batch ADD COLUMN once_per_customer INTEGER NOT NULL DEFAULT 0;

ALTER TABLE redemption ADD COLUMN discount INTEGER NOT NULL DEFAULT 0;

CREATE TABLE voucher_hold (
    id         INTEGER PRIMARY KEY,
    voucher_id INTEGER NOT NULL REFERENCES voucher (id),
    cart_ref   TEXT    NOT NULL CHECK (length(cart_ref) BETWEEN 1 AND 200),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    discount   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (voucher_id, cart_ref)
);
CREATE INDEX voucher_hold_expires ON voucher_hold (expires_at);

CREATE TABLE customer_use (
    scope         TEXT    NOT NULL,
    customer      TEXT    NOT NULL,
    voucher_id    INTEGER NOT NULL REFERENCES voucher (id),
    hold_id       INTEGER REFERENCES voucher_hold (id),
    redemption_id INTEGER REFERENCES redemption (id),
    expires_at    INTEGER,
    PRIMARY KEY (scope, customer),
    CHECK ((hold_id IS NULL) <> (redemption_id IS NULL))
);
CREATE INDEX customer_use_hold ON customer_use (hold_id) WHERE hold_id IS NOT NULL;
CREATE INDEX customer_use_redemption ON customer_use (redemption_id) WHERE redemption_id IS NOT NULL;

DROP TRIGGER redeem_request_insert;

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
END;
