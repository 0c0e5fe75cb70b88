-- Holds for open carts, money budgets and once-per-customer (PostgreSQL). Paired with
-- sqlite/0015_holds_budget_customer.sql.
--
-- A hold keeps one use of a voucher for a cart until `expires_at`; an expired hold stops counting
-- by itself (every reader compares `expires_at` with now) and `serve` deletes it a day later.
-- `voucher.holds_until` is the latest expiry any hold of the voucher ever had: while it is in the
-- past no hold of the voucher is live, and the one-statement redemption may count uses from the
-- voucher row alone; otherwise the redemption takes the voucher's lock and counts its holds.
--
-- A budget caps the discount all redemptions of a voucher give together: `budget_used` is what
-- unreleased redemptions gave (each redemption keeps its `discount` to give back on release), and
-- each live hold reserves its `discount`.
--
-- Once per customer: `customer_use` has one row per (scope, customer) while the customer holds or
-- redeemed a code of the scope (`batch:<id>`, or `voucher:<id>` for a voucher added alone); its
-- primary key is what refuses a second code to the same customer, whatever runs at once. A row of
-- a hold carries the hold's expiry and stops counting with it.
ALTER TABLE conference ADD COLUMN hold_seconds bigint NOT NULL DEFAULT 1800
    CHECK (hold_seconds BETWEEN 1 AND 604800);

-- A restriction set may apply to no ticket type, or to no add-on (`"none"`), where an empty
-- list of links still means all of them.
ALTER TABLE restriction_set ADD COLUMN no_ticket_types boolean NOT NULL DEFAULT false;
ALTER TABLE restriction_set ADD COLUMN no_addons boolean NOT NULL DEFAULT false;

ALTER TABLE voucher ADD COLUMN holds_until timestamptz;
ALTER TABLE voucher ADD COLUMN budget numeric(10,2) CHECK (budget > 0);
ALTER TABLE voucher ADD COLUMN budget_used numeric(12,2) NOT NULL DEFAULT 0 CHECK (budget_used >= 0);
ALTER TABLE voucher ADD COLUMN once_per_customer boolean NOT NULL DEFAULT false;
ALTER TABLE voucher_batch ADD COLUMN budget numeric(10,2) CHECK (budget > 0);
ALTER TABLE voucher_batch ADD COLUMN once_per_customer boolean NOT NULL DEFAULT false;

ALTER TABLE redemption ADD COLUMN discount numeric(12,2) NOT NULL DEFAULT 0;

CREATE TABLE voucher_hold (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    voucher_id bigint        NOT NULL REFERENCES voucher (id),
    cart_ref   text          NOT NULL CHECK (char_length(cart_ref) BETWEEN 1 AND 200),
    created_at timestamptz   NOT NULL,
    expires_at timestamptz   NOT NULL,
    discount   numeric(12,2) NOT NULL DEFAULT 0,
    UNIQUE (voucher_id, cart_ref)
);
CREATE INDEX voucher_hold_expires ON voucher_hold (expires_at);

CREATE TABLE customer_use (
    scope         text        NOT NULL,
    customer      text        NOT NULL,
    voucher_id    bigint      NOT NULL REFERENCES voucher (id),
    hold_id       bigint REFERENCES voucher_hold (id),
    redemption_id bigint REFERENCES redemption (id),
    expires_at    timestamptz,
    PRIMARY KEY (scope, customer),
    CHECK ((hold_id IS NULL) <> (redemption_id IS NULL))
);
CREATE INDEX customer_use_hold ON customer_use (hold_id) WHERE hold_id IS NOT NULL;
CREATE INDEX customer_use_redemption ON customer_use (redemption_id) WHERE redemption_id IS NOT NULL;
