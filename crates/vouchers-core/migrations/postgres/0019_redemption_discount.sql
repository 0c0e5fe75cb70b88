-- A redemption records the discount it gave (PostgreSQL). Paired with sqlite/0019_redemption_discount.sql.
-- The one-statement redemption (store/postgres/redeem.rs) now writes the discount; redemptions
-- written before get theirs from their stored answer (the priced cart's `pricing.discount`; none
-- without a cart), so the reports' "discount given" covers them too.
UPDATE redemption
   SET discount = CAST(CAST(response AS jsonb) #>> '{pricing,discount}' AS numeric(12,2))
 WHERE discount = 0 AND response LIKE '{%' AND CAST(response AS jsonb) #>> '{pricing,discount}' IS NOT NULL;
