-- An idempotency key stores the use case's answer only: which HTTP status it maps to is the HTTP
-- layer's business (a created batch is always 201). Paired with sqlite/0004_idempotency_answer.sql.
ALTER TABLE idempotency_key DROP COLUMN status;
