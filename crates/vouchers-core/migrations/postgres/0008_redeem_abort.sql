-- A redemption in one autocommitted statement (PostgreSQL only; SQLite needs nothing new).
-- The statement claims the order's redemption, then consumes a use only when the claim took a
-- row. When the claim took a row but no use was left, the whole statement must be undone: it
-- calls this function, whose exception rolls the statement back, and the application reads the
-- SQLSTATE and message as "cannot be used now".
CREATE FUNCTION vouchers_abort_redemption() RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'vouchers: voucher not usable';
END
$$;
