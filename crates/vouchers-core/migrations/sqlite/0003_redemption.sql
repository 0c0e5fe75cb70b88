-- Redemptions at checkout (SQLite). Paired with postgres/0003_redemption.sql.
-- One row per (voucher, order): redeeming the same order again replays `response`; releasing
-- sets released_at and gives the use back; redeeming a released order again reuses the row.

CREATE TABLE redemption (
    id          INTEGER PRIMARY KEY,
    voucher_id  INTEGER NOT NULL REFERENCES voucher (id),
    order_ref   TEXT    NOT NULL CHECK (length(order_ref) BETWEEN 1 AND 200),
    redeemed_at INTEGER NOT NULL,
    released_at INTEGER,
    response    TEXT    NOT NULL,
    UNIQUE (voucher_id, order_ref)
);
