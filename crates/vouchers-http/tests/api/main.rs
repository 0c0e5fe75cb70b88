//! API tests of `vouchers-http`, in process through the router (one smoke test on a real
//! socket). Every test runs on SQLite (`...::sqlite::name`) and on PostgreSQL
//! (`...::postgres::name`, needs `VOUCHERS_TEST_POSTGRES_URL`).
#![allow(clippy::unwrap_used, missing_docs)]

/// Declares each listed `async fn name(app: TestApp)` of the calling module as two tests:
/// `sqlite::name` and `postgres::name`, each on a fresh database with the fixture loaded.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = vouchers_core::store::testing::TestDb::sqlite().await;
                    super::$name(crate::support::TestApp::new(db).await).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = vouchers_core::store::testing::TestDb::postgres().await;
                    super::$name(crate::support::TestApp::new(db).await).await
                }
            )+
        }
    };
}

mod authorization;
mod batches;
mod catalog;
mod checkout;
mod conferences;
mod errors;
mod export;
mod health;
mod idempotency;
mod socket;
mod support;
mod vouchers;
