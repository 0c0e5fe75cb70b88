-- A refused redemption says which rule refused it (PostgreSQL). Paired with
-- sqlite/0012_redeem_refusal.sql.
--
-- The redemption statement (store/postgres/redeem.rs) decides, from the voucher row it locks,
-- whether a use can be consumed and, if not, why (the one SQL expression store::sql::refusal).
-- When its claim of the order took a row but no use was consumed, it calls this function with
-- that reason: the exception undoes the whole statement, and the application reads the reason
-- back from the message ('vouchers: used_up', ...).
CREATE FUNCTION vouchers_refuse_redemption(refusal text) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'vouchers: ' || refusal;
END
$$;
