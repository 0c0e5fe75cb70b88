-- Counts kept as writes happen (SQLite), so that no page counts every voucher or redemption.
-- Paired with postgres/0022_tallies.sql.
--
-- batch_tally: per conference and batch (batch_key: the batch's id, 0 for vouchers added by
-- hand) what the usage report and the reports' funnel show, except holds (they lapse with time,
-- so they are counted from the few live ones). redemption_tally: standing redemptions and their
-- discount per 15-minute bucket (bucket = seconds since the epoch / 900, domain::BUCKET_SECONDS).
-- `shard` spreads one batch's or bucket's writes over rows on PostgreSQL; SQLite has one writer,
-- so it keeps shard 0. A row is a sum of its changes: a reader adds a key's shards up.
--
-- Each count is kept by the triggers below from the rows themselves (a voucher's, a
-- redemption's or an outbox message's old values taken away, its new ones added), so every
-- write path counts, however it changes the rows. The tests compare them with full counts after
-- every kind of write (crates/vouchers-core/tests/tallies.rs).
CREATE TABLE batch_tally (
    conference_id INTEGER NOT NULL,
    batch_key     INTEGER NOT NULL,
    shard         INTEGER NOT NULL,
    issued        INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 0,
    fully_used    INTEGER NOT NULL DEFAULT 0,
    uses_consumed INTEGER NOT NULL DEFAULT 0,
    uses_left     INTEGER NOT NULL DEFAULT 0,
    assigned      INTEGER NOT NULL DEFAULT 0,
    emailed       INTEGER NOT NULL DEFAULT 0,
    redeemed      INTEGER NOT NULL DEFAULT 0,
    released      INTEGER NOT NULL DEFAULT 0,
    discount      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conference_id, batch_key, shard)
) WITHOUT ROWID;

CREATE TABLE redemption_tally (
    conference_id INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    shard         INTEGER NOT NULL,
    redeemed      INTEGER NOT NULL DEFAULT 0,
    discount      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conference_id, bucket, shard)
) WITHOUT ROWID;

-- What is there now.
INSERT INTO batch_tally (conference_id, batch_key, shard, issued, active, fully_used, uses_consumed, uses_left,
                         assigned)
SELECT conference_id, coalesce(batch_id, 0), 0, count(*), total(is_active <> 0),
       total(times_used >= max_uses), total(times_used),
       total(CASE WHEN is_active <> 0 THEN max_uses - times_used ELSE 0 END), total(recipient_email IS NOT NULL)
  FROM voucher GROUP BY conference_id, coalesce(batch_id, 0);

INSERT INTO batch_tally (conference_id, batch_key, shard, redeemed, released, discount)
SELECT v.conference_id, coalesce(v.batch_id, 0), 0, total(r.released_at IS NULL), total(r.released_at IS NOT NULL),
       total(CASE WHEN r.released_at IS NULL THEN r.discount ELSE 0 END)
  FROM redemption r JOIN voucher v ON v.id = r.voucher_id
 WHERE true GROUP BY v.conference_id, coalesce(v.batch_id, 0)
    ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
   SET redeemed = excluded.redeemed, released = excluded.released, discount = excluded.discount;

INSERT INTO batch_tally (conference_id, batch_key, shard, emailed)
SELECT conference_id, batch_id, 0, count(*)
  FROM outbox_message WHERE status = 'sent' AND voucher_id IS NOT NULL
 GROUP BY conference_id, batch_id
    ON CONFLICT (conference_id, batch_key, shard) DO UPDATE SET emailed = excluded.emailed;

INSERT INTO redemption_tally (conference_id, bucket, shard, redeemed, discount)
SELECT v.conference_id, r.redeemed_at / 1000000 / 900, 0, count(*), total(r.discount)
  FROM redemption r JOIN voucher v ON v.id = r.voucher_id
 WHERE r.released_at IS NULL
 GROUP BY v.conference_id, r.redeemed_at / 1000000 / 900;

-- A voucher stays in its conference and batch (nothing moves one), so that its redemptions and
-- emails stay counted where they are.
CREATE TRIGGER voucher_keeps_its_batch BEFORE UPDATE OF conference_id, batch_id ON voucher
WHEN OLD.conference_id IS NOT NEW.conference_id OR OLD.batch_id IS NOT NEW.batch_id
BEGIN
    SELECT RAISE(ABORT, 'vouchers: a voucher stays in its conference and batch');
END;

-- A conference's vouchers in id order (the lists page by id), without sorting the conference.
CREATE INDEX voucher_conference_order ON voucher (conference_id, id);

-- Vouchers.
CREATE TRIGGER voucher_tally_insert AFTER INSERT ON voucher
BEGIN
    INSERT INTO batch_tally (conference_id, batch_key, shard, issued, active, fully_used, uses_consumed, uses_left,
                             assigned)
    VALUES (NEW.conference_id, coalesce(NEW.batch_id, 0), 0, 1, NEW.is_active <> 0, NEW.times_used >= NEW.max_uses,
            NEW.times_used, CASE WHEN NEW.is_active <> 0 THEN NEW.max_uses - NEW.times_used ELSE 0 END,
            NEW.recipient_email IS NOT NULL)
        ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
       SET issued = issued + 1, active = active + excluded.active, fully_used = fully_used + excluded.fully_used,
           uses_consumed = uses_consumed + excluded.uses_consumed, uses_left = uses_left + excluded.uses_left,
           assigned = assigned + excluded.assigned;
END;

CREATE TRIGGER voucher_tally_update AFTER UPDATE OF conference_id, batch_id, is_active, times_used, max_uses,
                                                    recipient_email ON voucher
WHEN OLD.conference_id IS NOT NEW.conference_id OR OLD.batch_id IS NOT NEW.batch_id
  OR OLD.is_active IS NOT NEW.is_active OR OLD.times_used IS NOT NEW.times_used OR OLD.max_uses IS NOT NEW.max_uses
  OR (OLD.recipient_email IS NULL) IS NOT (NEW.recipient_email IS NULL)
BEGIN
    UPDATE batch_tally
       SET issued = issued - 1, active = active - (OLD.is_active <> 0),
           fully_used = fully_used - (OLD.times_used >= OLD.max_uses), uses_consumed = uses_consumed - OLD.times_used,
           uses_left = uses_left - CASE WHEN OLD.is_active <> 0 THEN OLD.max_uses - OLD.times_used ELSE 0 END,
           assigned = assigned - (OLD.recipient_email IS NOT NULL)
     WHERE conference_id = OLD.conference_id AND batch_key = coalesce(OLD.batch_id, 0) AND shard = 0;
    INSERT INTO batch_tally (conference_id, batch_key, shard, issued, active, fully_used, uses_consumed, uses_left,
                             assigned)
    VALUES (NEW.conference_id, coalesce(NEW.batch_id, 0), 0, 1, NEW.is_active <> 0, NEW.times_used >= NEW.max_uses,
            NEW.times_used, CASE WHEN NEW.is_active <> 0 THEN NEW.max_uses - NEW.times_used ELSE 0 END,
            NEW.recipient_email IS NOT NULL)
        ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
       SET issued = issued + 1, active = active + excluded.active, fully_used = fully_used + excluded.fully_used,
           uses_consumed = uses_consumed + excluded.uses_consumed, uses_left = uses_left + excluded.uses_left,
           assigned = assigned + excluded.assigned;
END;

CREATE TRIGGER voucher_tally_delete AFTER DELETE ON voucher
BEGIN
    UPDATE batch_tally
       SET issued = issued - 1, active = active - (OLD.is_active <> 0),
           fully_used = fully_used - (OLD.times_used >= OLD.max_uses), uses_consumed = uses_consumed - OLD.times_used,
           uses_left = uses_left - CASE WHEN OLD.is_active <> 0 THEN OLD.max_uses - OLD.times_used ELSE 0 END,
           assigned = assigned - (OLD.recipient_email IS NOT NULL)
     WHERE conference_id = OLD.conference_id AND batch_key = coalesce(OLD.batch_id, 0) AND shard = 0;
END;

-- Redemptions: counted under their voucher's conference and batch, and standing ones under
-- the bucket of their time.
CREATE TRIGGER redemption_tally_insert AFTER INSERT ON redemption
BEGIN
    INSERT INTO batch_tally (conference_id, batch_key, shard, redeemed, released, discount)
    SELECT v.conference_id, coalesce(v.batch_id, 0), 0, NEW.released_at IS NULL, NEW.released_at IS NOT NULL,
           CASE WHEN NEW.released_at IS NULL THEN NEW.discount ELSE 0 END
      FROM voucher v WHERE v.id = NEW.voucher_id
        ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
       SET redeemed = redeemed + excluded.redeemed, released = released + excluded.released,
           discount = discount + excluded.discount;
    INSERT INTO redemption_tally (conference_id, bucket, shard, redeemed, discount)
    SELECT v.conference_id, NEW.redeemed_at / 1000000 / 900, 0, 1, NEW.discount
      FROM voucher v WHERE v.id = NEW.voucher_id AND NEW.released_at IS NULL
        ON CONFLICT (conference_id, bucket, shard) DO UPDATE
       SET redeemed = redeemed + 1, discount = discount + excluded.discount;
END;

CREATE TRIGGER redemption_tally_update AFTER UPDATE OF voucher_id, redeemed_at, released_at, discount ON redemption
WHEN OLD.voucher_id IS NOT NEW.voucher_id OR OLD.redeemed_at IS NOT NEW.redeemed_at
  OR OLD.released_at IS NOT NEW.released_at OR OLD.discount IS NOT NEW.discount
BEGIN
    UPDATE batch_tally
       SET redeemed = redeemed - (OLD.released_at IS NULL), released = released - (OLD.released_at IS NOT NULL),
           discount = discount - CASE WHEN OLD.released_at IS NULL THEN OLD.discount ELSE 0 END
     WHERE (conference_id, batch_key, shard) = (SELECT v.conference_id, coalesce(v.batch_id, 0), 0
                                                  FROM voucher v WHERE v.id = OLD.voucher_id);
    UPDATE redemption_tally SET redeemed = redeemed - 1, discount = discount - OLD.discount
     WHERE OLD.released_at IS NULL
       AND (conference_id, bucket, shard) = (SELECT v.conference_id, OLD.redeemed_at / 1000000 / 900, 0
                                               FROM voucher v WHERE v.id = OLD.voucher_id);
    INSERT INTO batch_tally (conference_id, batch_key, shard, redeemed, released, discount)
    SELECT v.conference_id, coalesce(v.batch_id, 0), 0, NEW.released_at IS NULL, NEW.released_at IS NOT NULL,
           CASE WHEN NEW.released_at IS NULL THEN NEW.discount ELSE 0 END
      FROM voucher v WHERE v.id = NEW.voucher_id
        ON CONFLICT (conference_id, batch_key, shard) DO UPDATE
       SET redeemed = redeemed + excluded.redeemed, released = released + excluded.released,
           discount = discount + excluded.discount;
    INSERT INTO redemption_tally (conference_id, bucket, shard, redeemed, discount)
    SELECT v.conference_id, NEW.redeemed_at / 1000000 / 900, 0, 1, NEW.discount
      FROM voucher v WHERE v.id = NEW.voucher_id AND NEW.released_at IS NULL
        ON CONFLICT (conference_id, bucket, shard) DO UPDATE
       SET redeemed = redeemed + 1, discount = discount + excluded.discount;
END;

CREATE TRIGGER redemption_tally_delete AFTER DELETE ON redemption
BEGIN
    UPDATE batch_tally
       SET redeemed = redeemed - (OLD.released_at IS NULL), released = released - (OLD.released_at IS NOT NULL),
           discount = discount - CASE WHEN OLD.released_at IS NULL THEN OLD.discount ELSE 0 END
     WHERE (conference_id, batch_key, shard) = (SELECT v.conference_id, coalesce(v.batch_id, 0), 0
                                                  FROM voucher v WHERE v.id = OLD.voucher_id);
    UPDATE redemption_tally SET redeemed = redeemed - 1, discount = discount - OLD.discount
     WHERE OLD.released_at IS NULL
       AND (conference_id, bucket, shard) = (SELECT v.conference_id, OLD.redeemed_at / 1000000 / 900, 0
                                               FROM voucher v WHERE v.id = OLD.voucher_id);
END;

-- Emails sent with a voucher.
CREATE TRIGGER outbox_tally_insert AFTER INSERT ON outbox_message
WHEN NEW.status = 'sent' AND NEW.voucher_id IS NOT NULL
BEGIN
    INSERT INTO batch_tally (conference_id, batch_key, shard, emailed) VALUES (NEW.conference_id, NEW.batch_id, 0, 1)
        ON CONFLICT (conference_id, batch_key, shard) DO UPDATE SET emailed = emailed + 1;
END;

CREATE TRIGGER outbox_tally_update AFTER UPDATE OF conference_id, batch_id, voucher_id, status ON outbox_message
WHEN (OLD.status = 'sent' AND OLD.voucher_id IS NOT NULL) IS NOT (NEW.status = 'sent' AND NEW.voucher_id IS NOT NULL)
  OR (NEW.status = 'sent' AND NEW.voucher_id IS NOT NULL
      AND (OLD.conference_id IS NOT NEW.conference_id OR OLD.batch_id IS NOT NEW.batch_id))
BEGIN
    UPDATE batch_tally SET emailed = emailed - 1
     WHERE OLD.status = 'sent' AND OLD.voucher_id IS NOT NULL
       AND conference_id = OLD.conference_id AND batch_key = OLD.batch_id AND shard = 0;
    INSERT INTO batch_tally (conference_id, batch_key, shard, emailed)
    SELECT NEW.conference_id, NEW.batch_id, 0, 1 WHERE NEW.status = 'sent' AND NEW.voucher_id IS NOT NULL
        ON CONFLICT (conference_id, batch_key, shard) DO UPDATE SET emailed = emailed + 1;
END;

CREATE TRIGGER outbox_tally_delete AFTER DELETE ON outbox_message
WHEN OLD.status = 'sent' AND OLD.voucher_id IS NOT NULL
BEGIN
    UPDATE batch_tally SET emailed = emailed - 1
     WHERE conference_id = OLD.conference_id AND batch_key = OLD.batch_id AND shard = 0;
END;
