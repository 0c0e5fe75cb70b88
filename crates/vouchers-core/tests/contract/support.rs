//! Fixtures and raw-SQL helpers shared by the contract tests.

use std::collections::HashSet;

use rust_decimal::Decimal;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{PgPool, SqlitePool};
use vouchers_core::domain::{
    Batch, NewAddOn, NewConference, NewTicketType, VoucherType, CODE_ALPHABET, CODE_SUFFIX_LEN,
};
use vouchers_core::service::catalog;
use vouchers_core::service::codegen::CodeSource;
use vouchers_core::service::generate::VoucherSink;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::{Backend, Store};
use vouchers_core::{
    generate_voucher_codes_with, GenerateOptions, GeneratedBatch, Limits, VoucherBulkConfig, VoucherError,
};

/// The main conference (America/New_York).
pub const CONF: &str = "pycon";
/// A second conference with its own ticket type.
pub const OTHER: &str = "djangocon";
/// The main conference's ticket types, sorted.
pub const TICKET_TYPES: [&str; 3] = ["corporate", "individual", "student"];
/// The main conference's add-ons, sorted.
pub const ADDONS: [&str; 2] = ["dinner", "tshirt"];
/// The only ticket type of the other conference.
pub const OTHER_TICKET_TYPE: &str = "sprint-pass";
/// The prefix most tests generate with.
pub const PREFIX: &str = "SPEAKER-";

/// Generation with an injected code source (forced collisions, failures).
pub async fn generate_with_source(
    store: &dyn Store,
    limits: &Limits,
    config: &VoucherBulkConfig,
    source: &mut dyn CodeSource,
) -> Result<GeneratedBatch, VoucherError> {
    let options = GenerateOptions { code_source: Some(source), ..GenerateOptions::default() };
    Ok(generate_voucher_codes_with(store, limits, config, options).await?.generated)
}

/// Generation streamed to `sink`; the answer is the batch.
pub async fn generate_streaming(
    store: &dyn Store,
    limits: &Limits,
    config: &VoucherBulkConfig,
    sink: &mut VoucherSink<'_>,
) -> Result<Batch, VoucherError> {
    let options = GenerateOptions { sink: Some(sink), ..GenerateOptions::default() };
    let generated = generate_voucher_codes_with(store, limits, config, options).await?.generated;
    assert!(generated.vouchers.is_empty(), "streamed vouchers are not collected too");
    Ok(generated.batch)
}

/// Creates both conferences and their catalogue through the service.
pub async fn fixture(store: &dyn Store) {
    let new = NewConference::parse(CONF, "PyCon US 2027", "2027-05-14", "2027-05-22", "America/New_York").unwrap();
    let conference = catalog::create_conference(store, &new).await.unwrap();
    assert_eq!(conference.slug, CONF);
    assert_eq!(conference.timezone.name(), "America/New_York");
    // Created out of order: listings and restrictions must come back sorted.
    for (slug, name, price, hidden) in [
        ("student", "Student", "100", false),
        ("individual", "Individual", "400.00", false),
        ("corporate", "Corporate", "750.5", true),
    ] {
        let tt = NewTicketType::parse(slug, name, price, hidden).unwrap();
        let created = catalog::create_ticket_type(store, CONF, &tt).await.unwrap();
        assert_eq!((created.slug.as_str(), created.conference.as_str()), (slug, CONF));
    }
    for (slug, name, price) in [("tshirt", "T-shirt", "25"), ("dinner", "Dinner", "80.00")] {
        let addon = NewAddOn::parse(slug, name, price).unwrap();
        catalog::create_addon(store, CONF, &addon).await.unwrap();
    }

    let other = NewConference::parse(OTHER, "DjangoCon Europe", "2027-06-01", "2027-06-05", "Europe/Berlin").unwrap();
    catalog::create_conference(store, &other).await.unwrap();
    let tt = NewTicketType::parse(OTHER_TICKET_TYPE, "Sprint pass", "0", false).unwrap();
    catalog::create_ticket_type(store, OTHER, &tt).await.unwrap();
}

/// Owned strings.
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// An exact decimal.
pub fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

/// `count` 25 % vouchers with prefix `SPEAKER-` in the main conference, `VoucherBulkConfig::new`'s defaults otherwise.
pub fn config(count: i64) -> VoucherBulkConfig {
    VoucherBulkConfig::new(CONF, PREFIX, count, VoucherType::Percentage, dec("25"))
}

/// Like [`config`], restricted to all 3 ticket types and both add-ons, given unsorted.
pub fn restricted_config(count: i64) -> VoucherBulkConfig {
    let mut cfg = config(count);
    cfg.terms.applicable_ticket_types = strings(&["student", "corporate", "individual"]).into();
    cfg.terms.applicable_addons = strings(&["tshirt", "dinner"]).into();
    cfg
}

/// Asserts `code` is `prefix` followed by 8 characters of A-Z0-9.
pub fn assert_generated(code: &str, prefix: &str) {
    let suffix = code.strip_prefix(prefix).unwrap_or_else(|| panic!("{code:?} does not start with {prefix:?}"));
    assert_eq!(suffix.len(), CODE_SUFFIX_LEN, "{code:?}");
    assert!(suffix.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code:?}");
}

/// How many distinct codes, ignoring ASCII case.
pub fn distinct_ignoring_case<'a>(codes: impl IntoIterator<Item = &'a str>) -> usize {
    codes.into_iter().map(str::to_ascii_uppercase).collect::<HashSet<_>>().len()
}

/// Row counts of the tables a write may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub voucher: i64,
    pub voucher_batch: i64,
    pub restriction_set: i64,
    pub restriction_set_ticket_type: i64,
    pub restriction_set_addon: i64,
}

/// A separate connection pool on the test database, for raw SQL.
pub enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Raw {
    pub async fn connect(db: &TestDb) -> Self {
        match db.store.backend() {
            Backend::Sqlite => Raw::Sqlite(
                vouchers_core::store::no_maintenance(SqlitePoolOptions::new())
                    .max_connections(1)
                    .connect(db.url.expose())
                    .await
                    .unwrap(),
            ),
            Backend::Postgres => Raw::Postgres(
                vouchers_core::store::no_maintenance(PgPoolOptions::new())
                    .max_connections(1)
                    .connect(db.url.expose())
                    .await
                    .unwrap(),
            ),
        }
    }

    /// `SELECT COUNT(*) FROM table`.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap(),
            Raw::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap(),
        }
    }

    /// Runs a statement valid on both backends; returns the rows affected.
    /// The single integer a query answers.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }

    pub async fn execute(&self, sql: &str) -> u64 {
        match self {
            Raw::Sqlite(pool) => sqlx::query(sql).execute(pool).await.unwrap().rows_affected(),
            Raw::Postgres(pool) => sqlx::query(sql).execute(pool).await.unwrap().rows_affected(),
        }
    }

    /// Runs a statement that may be refused; the database's message when it is.
    pub async fn try_execute(&self, sql: &str) -> Result<u64, String> {
        let done = match self {
            Raw::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|d| d.rows_affected()),
            Raw::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|d| d.rows_affected()),
        };
        done.map_err(|e| e.to_string())
    }

    pub async fn counts(&self) -> Counts {
        Counts {
            voucher: self.count("voucher").await,
            voucher_batch: self.count("voucher_batch").await,
            restriction_set: self.count("restriction_set").await,
            restriction_set_ticket_type: self.count("restriction_set_ticket_type").await,
            restriction_set_addon: self.count("restriction_set_addon").await,
        }
    }
}

impl Raw {
    /// Where the counts the database keeps (migration 0022's `batch_tally` and
    /// `redemption_tally`, summed over their shards) differ from counting every row now: one
    /// line per key that differs, none when they agree.
    pub async fn tally_drift(&self) -> Vec<String> {
        let cents = |sum: &str| match self {
            Raw::Sqlite(_) => format!("CAST(coalesce({sum}, 0) AS BIGINT)"),
            Raw::Postgres(_) => format!("CAST(round(coalesce({sum}, 0) * 100) AS BIGINT)"),
        };
        let bucket = match self {
            Raw::Sqlite(_) => "r.redeemed_at / 1000000 / 900",
            Raw::Postgres(_) => "CAST(floor(extract(epoch FROM r.redeemed_at)) AS BIGINT) / 900",
        };
        let sums = "CAST(sum(issued) AS BIGINT), CAST(sum(active) AS BIGINT), CAST(sum(fully_used) AS BIGINT), \
                    CAST(sum(uses_consumed) AS BIGINT), CAST(sum(uses_left) AS BIGINT), CAST(sum(assigned) AS BIGINT), \
                    CAST(sum(emailed) AS BIGINT), CAST(sum(redeemed) AS BIGINT), CAST(sum(released) AS BIGINT)";
        let kept = format!(
            "SELECT conference_id, batch_key, {sums}, {} FROM batch_tally GROUP BY 1, 2",
            cents("sum(discount)")
        );
        let counted = format!(
            "SELECT conference_id, batch_key, {sums}, {} FROM (
                 SELECT conference_id, coalesce(batch_id, 0) AS batch_key, 1 AS issued,
                        CASE WHEN is_active THEN 1 ELSE 0 END AS active,
                        CASE WHEN times_used >= max_uses THEN 1 ELSE 0 END AS fully_used,
                        times_used AS uses_consumed, CASE WHEN is_active THEN max_uses - times_used ELSE 0 END AS uses_left,
                        CASE WHEN recipient_email IS NOT NULL THEN 1 ELSE 0 END AS assigned,
                        0 AS emailed, 0 AS redeemed, 0 AS released, 0 AS discount
                   FROM voucher
                 UNION ALL
                 SELECT v.conference_id, coalesce(v.batch_id, 0), 0, 0, 0, 0, 0, 0, 0,
                        CASE WHEN r.released_at IS NULL THEN 1 ELSE 0 END, CASE WHEN r.released_at IS NULL THEN 0 ELSE 1 END,
                        CASE WHEN r.released_at IS NULL THEN r.discount ELSE 0 END
                   FROM redemption r JOIN voucher v ON v.id = r.voucher_id
                 UNION ALL
                 SELECT conference_id, batch_id, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0
                   FROM outbox_message WHERE status = 'sent' AND voucher_id IS NOT NULL) c
              GROUP BY 1, 2",
            cents("sum(discount)")
        );
        let kept_buckets = format!(
            "SELECT conference_id, bucket, CAST(sum(redeemed) AS BIGINT), {} FROM redemption_tally GROUP BY 1, 2",
            cents("sum(discount)")
        );
        let counted_buckets = format!(
            "SELECT v.conference_id, {bucket}, count(*), {} FROM redemption r JOIN voucher v ON v.id = r.voucher_id
              WHERE r.released_at IS NULL GROUP BY 1, 2",
            cents("sum(r.discount)")
        );
        let mut drift = Vec::new();
        for (what, kept, counted) in [("batch", kept, counted), ("bucket", kept_buckets, counted_buckets)] {
            let (kept, counted) = (self.keyed(&kept).await, self.keyed(&counted).await);
            let keys: std::collections::BTreeSet<&(i64, i64)> = kept.keys().chain(counted.keys()).collect();
            for key in keys {
                let none = vec![0; kept.values().chain(counted.values()).next().map_or(0, Vec::len)];
                let (k, c) = (kept.get(key).unwrap_or(&none), counted.get(key).unwrap_or(&none));
                if k != c {
                    drift.push(format!("{what} {key:?}: kept {k:?}, counted {c:?}"));
                }
            }
        }
        drift
    }

    /// Rows of integers keyed by their first two columns.
    async fn keyed(&self, sql: &str) -> std::collections::BTreeMap<(i64, i64), Vec<i64>> {
        use sqlx::Row;
        let mut keyed = std::collections::BTreeMap::new();
        macro_rules! read {
            ($pool:expr) => {
                for row in sqlx::query(sql).fetch_all($pool).await.unwrap() {
                    let values: Vec<i64> = (0..row.len()).map(|i| row.get::<i64, _>(i)).collect();
                    keyed.insert((values[0], values[1]), values[2..].to_vec());
                }
            };
        }
        match self {
            Raw::Sqlite(pool) => read!(pool),
            Raw::Postgres(pool) => read!(pool),
        }
        keyed
    }
}

/// Asserts that the counts the database keeps equal a full count of the rows.
pub async fn assert_tallies(db: &TestDb) {
    let drift = Raw::connect(db).await.tally_drift().await;
    assert!(drift.is_empty(), "kept counts differ from the rows:\n{}", drift.join("\n"));
}
