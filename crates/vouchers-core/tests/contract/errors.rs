//! Failures from outside the service: the database refusing a write, a failing sink.

use vouchers_core::domain::Voucher;
use vouchers_core::service::add::add_voucher;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::{Backend, StoreError};
use vouchers_core::{generate_voucher_codes, Limits, VoucherError};

use crate::add::request;
use crate::support::*;

/// Makes every insert into `voucher` fail the way a role without INSERT privilege does
/// (PostgreSQL SQLSTATE 42501 `insufficient_privilege`; SQLite has no privileges, so an
/// aborting trigger stands in).
async fn deny_voucher_inserts(db: &TestDb, raw: &Raw) {
    match db.store.backend() {
        Backend::Postgres => {
            raw.execute(
                "CREATE FUNCTION deny_voucher_insert() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                     RAISE EXCEPTION 'permission denied for table voucher' USING ERRCODE = 'insufficient_privilege';
                 END $$",
            )
            .await;
            raw.execute(
                "CREATE TRIGGER deny_voucher_insert BEFORE INSERT ON voucher
                 FOR EACH STATEMENT EXECUTE FUNCTION deny_voucher_insert()",
            )
            .await;
        }
        Backend::Sqlite => {
            raw.execute(
                "CREATE TRIGGER deny_voucher_insert BEFORE INSERT ON voucher
                 BEGIN SELECT RAISE(ABORT, 'permission denied for table voucher'); END",
            )
            .await;
        }
    }
}

/// A write the database refuses for good (not a lost race) must not be reported as a retryable
/// `CodeConflict`, and must leave nothing behind.
async fn refused_write_is_not_a_conflict(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    deny_voucher_inserts(&db, &raw).await;
    let before = raw.counts().await;

    let err = generate_voucher_codes(store, &Limits::default(), &restricted_config(5)).await.unwrap_err();
    assert!(
        matches!(err, VoucherError::Database(StoreError::Database(_))),
        "a permission error must be an internal database error, not {err:?} ({err})"
    );
    assert_eq!(err.code(), "internal");
    assert!(!err.is_input_error());
    assert_eq!(raw.counts().await, before);

    let err = add_voucher(store, &request(CONF, "DENIED")).await.unwrap_err();
    assert!(matches!(err, VoucherError::Database(StoreError::Database(_))), "{err:?}");
    assert_eq!(raw.counts().await, before);
}

/// The streaming entry point hands over chunks before the commit; a failing sink aborts it all.
async fn streaming_sink(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let limits = Limits { max_batch: 20_000, ..Limits::default() };
    let before = raw.counts().await;

    let mut seen = 0usize;
    let mut sink = |chunk: &[Voucher]| {
        seen += chunk.len();
        Err(std::io::Error::other("sink full"))
    };
    let err = generate_streaming(store, &limits, &restricted_config(20_000), &mut sink).await.unwrap_err();
    assert!(matches!(err, VoucherError::Sink(ref e) if e.to_string() == "sink full"), "{err:?}");
    assert_eq!(seen, 10_000, "the sink gets the first chunk, then the call stops");
    assert_eq!(raw.counts().await, before, "a failed sink left rows behind");

    let mut chunks = Vec::new();
    let mut sink = |chunk: &[Voucher]| {
        chunks.push(chunk.to_vec());
        Ok(())
    };
    let batch = generate_streaming(store, &limits, &restricted_config(15_001), &mut sink).await.unwrap();
    assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [10_000, 5_001]);
    let all: Vec<&Voucher> = chunks.iter().flatten().collect();
    assert!(all.iter().all(|v| v.batch_id == Some(batch.id)));
    assert_eq!(distinct_ignoring_case(all.iter().map(|v| v.code.as_str())), 15_001);
    assert_eq!(raw.count("voucher").await, 15_001);
}

both_backends!(refused_write_is_not_a_conflict, streaming_sink);
