//! The SQLite write-ahead log stays bounded under writes that never pause and readers that
//! always overlap: passive checkpoints alone never reach its end, so it used to grow without
//! bound (850 MB in 3 minutes of load). PostgreSQL has no such file of ours.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vouchers_core::service::catalog;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::WAL_TRUNCATE_ABOVE;

use crate::support::*;

fn wal_size(db: &TestDb) -> u64 {
    let path = db.url.expose().trim_start_matches("sqlite://").split('?').next().unwrap().to_owned();
    std::fs::metadata(format!("{path}-wal")).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_wal_is_truncated_past_its_bound_while_readers_overlap() {
    let db = TestDb::sqlite().await;
    fixture(&*db.store).await;
    // Readers that never stop, through the store's own pool.
    let reading = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, reading) = (Arc::clone(&db.store), Arc::clone(&reading));
            tokio::spawn(async move {
                while reading.load(Ordering::Relaxed) {
                    catalog::conference(&*store, CONF).await.unwrap();
                }
            })
        })
        .collect();
    // A writer of its own that never checkpoints: 40 MiB of pages into the log.
    let Raw::Sqlite(pool) = Raw::connect(&db).await else { unreachable!() };
    sqlx::query("PRAGMA wal_autocheckpoint = 0").execute(&pool).await.unwrap();
    sqlx::query("CREATE TABLE filler (x BLOB)").execute(&pool).await.unwrap();
    let mut largest = 0;
    for _ in 0..40 {
        sqlx::query("INSERT INTO filler VALUES (randomblob(1048576))").execute(&pool).await.unwrap();
        largest = largest.max(wal_size(&db));
    }
    assert!(largest > WAL_TRUNCATE_ABOVE, "the log grew past the bound: {largest} bytes");
    // Within seconds, with the readers still going, the log is back under its bound.
    let started = Instant::now();
    while wal_size(&db) > WAL_TRUNCATE_ABOVE {
        assert!(started.elapsed() < Duration::from_secs(10), "the log is still {} bytes", wal_size(&db));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    reading.store(false, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM filler").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 40, "every write is still there");
}
