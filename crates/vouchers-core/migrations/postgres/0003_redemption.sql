-- Redemptions at checkout (PostgreSQL). Paired with sqlite/0003_redemption.sql.
-- One row per (voucher, order): redeeming the same order again replays `response`; releasing
-- sets released_at and gives the use back; redeeming a released order again reuses the row.

CREATE TABLE redemption (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    voucher_id  bigint      NOT NULL REFERENCES voucher (id),
    order_ref   text        NOT NULL CHECK (char_length(order_ref) BETWEEN 1 AND 200),
    redeemed_at timestamptz NOT NULL,
    released_at timestamptz,
    response    text        NOT NULL,
    UNIQUE (voucher_id, order_ref)
);
