-- Counts kept as writes happen (PostgreSQL), so that no page counts every voucher or
-- redemption. Paired with sqlite/0022_tallies.sql, which says what each count is.
--
-- Here the triggers run once per statement, over the statement's changed rows (transition
-- tables), and add each key's change with one upsert in key order: a bulk change of 100,000
-- vouchers writes a few rows, and two statements take the rows they share in the same order.
-- `shard` (the voucher's id modulo 8) spreads one batch's (and one bucket's) concurrent
-- checkouts over 8 rows, so that they do not all wait for one row. An update that changes no
-- count (a hold's `holds_until`, `updated_at`) writes nothing.
CREATE TABLE batch_tally (
    conference_id bigint  NOT NULL,
    batch_key     bigint  NOT NULL,
    shard         integer NOT NULL,
    issued        bigint  NOT NULL DEFAULT 0,
    active        bigint  NOT NULL DEFAULT 0,
    fully_used    bigint  NOT NULL DEFAULT 0,
    uses_consumed numeric NOT NULL DEFAULT 0,
    uses_left     numeric NOT NULL DEFAULT 0,
    assigned      bigint  NOT NULL DEFAULT 0,
    emailed       bigint  NOT NULL DEFAULT 0,
    redeemed      bigint  NOT NULL DEFAULT 0,
    released      bigint  NOT NULL DEFAULT 0,
    discount      numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (conference_id, batch_key, shard)
);

CREATE TABLE redemption_tally (
    conference_id bigint  NOT NULL,
    bucket        bigint  NOT NULL,
    shard         integer NOT NULL,
    redeemed      bigint  NOT NULL DEFAULT 0,
    discount      numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (conference_id, bucket, shard)
);

-- What is there now.
INSERT INTO batch_tally (conference_id, batch_key, shard, issued, active, fully_used, uses_consumed, uses_left,
                         assigned)
SELECT conference_id, coalesce(batch_id, 0), CAST(id % 8 AS integer), count(*), count(*) FILTER (WHERE is_active),
       count(*) FILTER (WHERE times_used >= max_uses), coalesce(sum(times_used), 0),
       coalesce(sum(CASE WHEN is_active THEN max_uses - times_used ELSE 0 END), 0),
       count(*) FILTER (WHERE recipient_email IS NOT NULL)
  FROM voucher GROUP BY 1, 2, 3;

INSERT INTO batch_tally AS t (conference_id, batch_key, shard, redeemed, released, discount)
SELECT v.conference_id, coalesce(v.batch_id, 0), CAST(v.id % 8 AS integer), count(*) FILTER (WHERE r.released_at IS NULL),
       count(*) FILTER (WHERE r.released_at IS NOT NULL), coalesce(sum(r.discount) FILTER (WHERE r.released_at IS NULL), 0)
  FROM redemption r JOIN voucher v ON v.id = r.voucher_id
 GROUP BY 1, 2, 3
    ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
   SET redeemed = excluded.redeemed, released = excluded.released, discount = excluded.discount;

INSERT INTO batch_tally AS t (conference_id, batch_key, shard, emailed)
SELECT conference_id, batch_id, CAST(voucher_id % 8 AS integer), count(*)
  FROM outbox_message WHERE status = 'sent' AND voucher_id IS NOT NULL
 GROUP BY 1, 2, 3
    ON CONFLICT (conference_id, batch_key, shard) DO UPDATE SET emailed = excluded.emailed;

INSERT INTO redemption_tally (conference_id, bucket, shard, redeemed, discount)
SELECT v.conference_id, CAST(floor(extract(epoch FROM r.redeemed_at)) AS bigint) / 900, CAST(v.id % 8 AS integer),
       count(*), coalesce(sum(r.discount), 0)
  FROM redemption r JOIN voucher v ON v.id = r.voucher_id
 WHERE r.released_at IS NULL
 GROUP BY 1, 2, 3;

-- A voucher stays in its conference and batch (nothing moves one), so that its redemptions and
-- emails stay counted where they are.
CREATE FUNCTION voucher_keeps_its_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'vouchers: a voucher stays in its conference and batch';
END $$;

CREATE TRIGGER voucher_keeps_its_batch BEFORE UPDATE OF conference_id, batch_id ON voucher FOR EACH ROW
    WHEN (OLD.conference_id IS DISTINCT FROM NEW.conference_id OR OLD.batch_id IS DISTINCT FROM NEW.batch_id)
    EXECUTE FUNCTION voucher_keeps_its_batch();

-- Vouchers: each changed row's old values counted -1, its new ones +1, summed per key.
CREATE FUNCTION voucher_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO batch_tally AS t (conference_id, batch_key, shard, issued, active, fully_used, uses_consumed,
                                      uses_left, assigned)
        SELECT * FROM (
            SELECT conference_id, coalesce(batch_id, 0) AS batch_key, CAST(id % 8 AS integer) AS shard,
                   coalesce(sum(sign), 0) AS issued, coalesce(sum(sign) FILTER (WHERE is_active), 0) AS active,
                   coalesce(sum(sign) FILTER (WHERE times_used >= max_uses), 0) AS fully_used,
                   coalesce(sum(sign * times_used), 0) AS uses_consumed,
                   coalesce(sum(sign * CASE WHEN is_active THEN max_uses - times_used ELSE 0 END), 0) AS uses_left,
                   coalesce(sum(sign) FILTER (WHERE recipient_email IS NOT NULL), 0) AS assigned
              FROM (SELECT id, conference_id, batch_id, is_active, times_used, max_uses, recipient_email, 1 AS sign FROM new_rows) d
             GROUP BY 1, 2, 3) k
         WHERE (issued, active, fully_used, uses_consumed, uses_left, assigned) <> (0, 0, 0, 0, 0, 0)
         ORDER BY 1, 2, 3
            ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
           SET issued = t.issued + excluded.issued, active = t.active + excluded.active,
               fully_used = t.fully_used + excluded.fully_used, uses_consumed = t.uses_consumed + excluded.uses_consumed,
               uses_left = t.uses_left + excluded.uses_left, assigned = t.assigned + excluded.assigned;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO batch_tally AS t (conference_id, batch_key, shard, issued, active, fully_used, uses_consumed,
                                      uses_left, assigned)
        SELECT * FROM (
            SELECT conference_id, coalesce(batch_id, 0) AS batch_key, CAST(id % 8 AS integer) AS shard,
                   coalesce(sum(sign), 0) AS issued, coalesce(sum(sign) FILTER (WHERE is_active), 0) AS active,
                   coalesce(sum(sign) FILTER (WHERE times_used >= max_uses), 0) AS fully_used,
                   coalesce(sum(sign * times_used), 0) AS uses_consumed,
                   coalesce(sum(sign * CASE WHEN is_active THEN max_uses - times_used ELSE 0 END), 0) AS uses_left,
                   coalesce(sum(sign) FILTER (WHERE recipient_email IS NOT NULL), 0) AS assigned
              FROM (SELECT id, conference_id, batch_id, is_active, times_used, max_uses, recipient_email, 1 AS sign FROM new_rows UNION ALL SELECT id, conference_id, batch_id, is_active, times_used, max_uses, recipient_email, -1 AS sign FROM old_rows) d
             GROUP BY 1, 2, 3) k
         WHERE (issued, active, fully_used, uses_consumed, uses_left, assigned) <> (0, 0, 0, 0, 0, 0)
         ORDER BY 1, 2, 3
            ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
           SET issued = t.issued + excluded.issued, active = t.active + excluded.active,
               fully_used = t.fully_used + excluded.fully_used, uses_consumed = t.uses_consumed + excluded.uses_consumed,
               uses_left = t.uses_left + excluded.uses_left, assigned = t.assigned + excluded.assigned;
    ELSE
        INSERT INTO batch_tally AS t (conference_id, batch_key, shard, issued, active, fully_used, uses_consumed,
                                      uses_left, assigned)
        SELECT * FROM (
            SELECT conference_id, coalesce(batch_id, 0) AS batch_key, CAST(id % 8 AS integer) AS shard,
                   coalesce(sum(sign), 0) AS issued, coalesce(sum(sign) FILTER (WHERE is_active), 0) AS active,
                   coalesce(sum(sign) FILTER (WHERE times_used >= max_uses), 0) AS fully_used,
                   coalesce(sum(sign * times_used), 0) AS uses_consumed,
                   coalesce(sum(sign * CASE WHEN is_active THEN max_uses - times_used ELSE 0 END), 0) AS uses_left,
                   coalesce(sum(sign) FILTER (WHERE recipient_email IS NOT NULL), 0) AS assigned
              FROM (SELECT id, conference_id, batch_id, is_active, times_used, max_uses, recipient_email, -1 AS sign FROM old_rows) d
             GROUP BY 1, 2, 3) k
         WHERE (issued, active, fully_used, uses_consumed, uses_left, assigned) <> (0, 0, 0, 0, 0, 0)
         ORDER BY 1, 2, 3
            ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
           SET issued = t.issued + excluded.issued, active = t.active + excluded.active,
               fully_used = t.fully_used + excluded.fully_used, uses_consumed = t.uses_consumed + excluded.uses_consumed,
               uses_left = t.uses_left + excluded.uses_left, assigned = t.assigned + excluded.assigned;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER voucher_tally_insert AFTER INSERT ON voucher
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION voucher_tally();
CREATE TRIGGER voucher_tally_update AFTER UPDATE ON voucher
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION voucher_tally();
CREATE TRIGGER voucher_tally_delete AFTER DELETE ON voucher
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION voucher_tally();

-- Redemptions: under their voucher's conference and batch, and standing ones under their bucket.
CREATE FUNCTION redemption_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH d AS (SELECT v.conference_id, coalesce(v.batch_id, 0) AS batch_key, CAST(v.id % 8 AS integer) AS shard,
                          x.sign, x.redeemed_at, x.released_at, x.discount
                     FROM (SELECT voucher_id, redeemed_at, released_at, discount, 1 AS sign FROM new_rows) x JOIN voucher v ON v.id = x.voucher_id),
             batches AS (
            INSERT INTO batch_tally AS t (conference_id, batch_key, shard, redeemed, released, discount)
            SELECT * FROM (
                SELECT conference_id, batch_key, shard,
                       coalesce(sum(sign) FILTER (WHERE released_at IS NULL), 0) AS redeemed,
                       coalesce(sum(sign) FILTER (WHERE released_at IS NOT NULL), 0) AS released,
                       coalesce(sum(sign * discount) FILTER (WHERE released_at IS NULL), 0) AS discount
                  FROM d GROUP BY 1, 2, 3) k
             WHERE (redeemed, released, discount) <> (0, 0, 0)
             ORDER BY 1, 2, 3
                ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
               SET redeemed = t.redeemed + excluded.redeemed, released = t.released + excluded.released,
                   discount = t.discount + excluded.discount)
        INSERT INTO redemption_tally AS t (conference_id, bucket, shard, redeemed, discount)
        SELECT * FROM (
            SELECT conference_id, CAST(floor(extract(epoch FROM redeemed_at)) AS bigint) / 900 AS bucket, shard,
                   coalesce(sum(sign), 0) AS redeemed, coalesce(sum(sign * discount), 0) AS discount
              FROM d WHERE released_at IS NULL GROUP BY 1, 2, 3) k
         WHERE (redeemed, discount) <> (0, 0)
         ORDER BY 1, 2, 3
            ON CONFLICT (conference_id, bucket, shard) DO UPDATE
           SET redeemed = t.redeemed + excluded.redeemed, discount = t.discount + excluded.discount;
    ELSIF TG_OP = 'UPDATE' THEN
        WITH d AS (SELECT v.conference_id, coalesce(v.batch_id, 0) AS batch_key, CAST(v.id % 8 AS integer) AS shard,
                          x.sign, x.redeemed_at, x.released_at, x.discount
                     FROM (SELECT voucher_id, redeemed_at, released_at, discount, 1 AS sign FROM new_rows UNION ALL SELECT voucher_id, redeemed_at, released_at, discount, -1 AS sign FROM old_rows) x JOIN voucher v ON v.id = x.voucher_id),
             batches AS (
            INSERT INTO batch_tally AS t (conference_id, batch_key, shard, redeemed, released, discount)
            SELECT * FROM (
                SELECT conference_id, batch_key, shard,
                       coalesce(sum(sign) FILTER (WHERE released_at IS NULL), 0) AS redeemed,
                       coalesce(sum(sign) FILTER (WHERE released_at IS NOT NULL), 0) AS released,
                       coalesce(sum(sign * discount) FILTER (WHERE released_at IS NULL), 0) AS discount
                  FROM d GROUP BY 1, 2, 3) k
             WHERE (redeemed, released, discount) <> (0, 0, 0)
             ORDER BY 1, 2, 3
                ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
               SET redeemed = t.redeemed + excluded.redeemed, released = t.released + excluded.released,
                   discount = t.discount + excluded.discount)
        INSERT INTO redemption_tally AS t (conference_id, bucket, shard, redeemed, discount)
        SELECT * FROM (
            SELECT conference_id, CAST(floor(extract(epoch FROM redeemed_at)) AS bigint) / 900 AS bucket, shard,
                   coalesce(sum(sign), 0) AS redeemed, coalesce(sum(sign * discount), 0) AS discount
              FROM d WHERE released_at IS NULL GROUP BY 1, 2, 3) k
         WHERE (redeemed, discount) <> (0, 0)
         ORDER BY 1, 2, 3
            ON CONFLICT (conference_id, bucket, shard) DO UPDATE
           SET redeemed = t.redeemed + excluded.redeemed, discount = t.discount + excluded.discount;
    ELSE
        WITH d AS (SELECT v.conference_id, coalesce(v.batch_id, 0) AS batch_key, CAST(v.id % 8 AS integer) AS shard,
                          x.sign, x.redeemed_at, x.released_at, x.discount
                     FROM (SELECT voucher_id, redeemed_at, released_at, discount, -1 AS sign FROM old_rows) x JOIN voucher v ON v.id = x.voucher_id),
             batches AS (
            INSERT INTO batch_tally AS t (conference_id, batch_key, shard, redeemed, released, discount)
            SELECT * FROM (
                SELECT conference_id, batch_key, shard,
                       coalesce(sum(sign) FILTER (WHERE released_at IS NULL), 0) AS redeemed,
                       coalesce(sum(sign) FILTER (WHERE released_at IS NOT NULL), 0) AS released,
                       coalesce(sum(sign * discount) FILTER (WHERE released_at IS NULL), 0) AS discount
                  FROM d GROUP BY 1, 2, 3) k
             WHERE (redeemed, released, discount) <> (0, 0, 0)
             ORDER BY 1, 2, 3
                ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
               SET redeemed = t.redeemed + excluded.redeemed, released = t.released + excluded.released,
                   discount = t.discount + excluded.discount)
        INSERT INTO redemption_tally AS t (conference_id, bucket, shard, redeemed, discount)
        SELECT * FROM (
            SELECT conference_id, CAST(floor(extract(epoch FROM redeemed_at)) AS bigint) / 900 AS bucket, shard,
                   coalesce(sum(sign), 0) AS redeemed, coalesce(sum(sign * discount), 0) AS discount
              FROM d WHERE released_at IS NULL GROUP BY 1, 2, 3) k
         WHERE (redeemed, discount) <> (0, 0)
         ORDER BY 1, 2, 3
            ON CONFLICT (conference_id, bucket, shard) DO UPDATE
           SET redeemed = t.redeemed + excluded.redeemed, discount = t.discount + excluded.discount;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER redemption_tally_insert AFTER INSERT ON redemption
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION redemption_tally();
CREATE TRIGGER redemption_tally_update AFTER UPDATE ON redemption
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION redemption_tally();
CREATE TRIGGER redemption_tally_delete AFTER DELETE ON redemption
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION redemption_tally();

-- Emails sent with a voucher.
CREATE FUNCTION outbox_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO batch_tally AS t (conference_id, batch_key, shard, emailed)
        SELECT * FROM (
            SELECT conference_id, batch_id, CAST(voucher_id % 8 AS integer), coalesce(sum(sign), 0) AS emailed
              FROM (SELECT conference_id, batch_id, voucher_id, status, 1 AS sign FROM new_rows) d WHERE status = 'sent' AND voucher_id IS NOT NULL GROUP BY 1, 2, 3) k
         WHERE emailed <> 0
         ORDER BY 1, 2, 3
            ON CONFLICT (conference_id, batch_key, shard) DO UPDATE SET emailed = t.emailed + excluded.emailed;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO batch_tally AS t (conference_id, batch_key, shard, emailed)
        SELECT * FROM (
            SELECT conference_id, batch_id, CAST(voucher_id % 8 AS integer), coalesce(sum(sign), 0) AS emailed
              FROM (SELECT conference_id, batch_id, voucher_id, status, 1 AS sign FROM new_rows UNION ALL SELECT conference_id, batch_id, voucher_id, status, -1 AS sign FROM old_rows) d WHERE status = 'sent' AND voucher_id IS NOT NULL GROUP BY 1, 2, 3) k
         WHERE emailed <> 0
         ORDER BY 1, 2, 3
            ON CONFLICT (conference_id, batch_key, shard) DO UPDATE SET emailed = t.emailed + excluded.emailed;
    ELSE
        INSERT INTO batch_tally AS t (conference_id, batch_key, shard, emailed)
        SELECT * FROM (
            SELECT conference_id, batch_id, CAST(voucher_id % 8 AS integer), coalesce(sum(sign), 0) AS emailed
              FROM (SELECT conference_id, batch_id, voucher_id, status, -1 AS sign FROM old_rows) d WHERE status = 'sent' AND voucher_id IS NOT NULL GROUP BY 1, 2, 3) k
         WHERE emailed <> 0
         ORDER BY 1, 2, 3
            ON CONFLICT (conference_id, batch_key, shard) DO UPDATE SET emailed = t.emailed + excluded.emailed;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_message_tally_insert AFTER INSERT ON outbox_message
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION outbox_tally();
CREATE TRIGGER outbox_message_tally_update AFTER UPDATE ON outbox_message
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION outbox_tally();
CREATE TRIGGER outbox_message_tally_delete AFTER DELETE ON outbox_message
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION outbox_tally();
