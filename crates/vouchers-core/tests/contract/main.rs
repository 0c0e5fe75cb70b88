//! Contract tests of `vouchers-core`: every test runs once on SQLite (`...::sqlite::name`) and
//! once on PostgreSQL (`...::postgres::name`, needs `VOUCHERS_TEST_POSTGRES_URL`).
#![allow(clippy::unwrap_used, missing_docs)]

/// Declares each listed `async fn name(db: TestDb)` of the calling module as two tests:
/// `sqlite::name` on a fresh SQLite file and `postgres::name` on a fresh PostgreSQL database.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(vouchers_core::store::testing::TestDb::sqlite().await).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(vouchers_core::store::testing::TestDb::postgres().await).await
                }
            )+
        }
    };
}

mod add;
mod api;
mod catalog;
mod checkout;
mod collisions;
mod concurrency;
mod errors;
mod generate;
mod query;
mod support;
mod validation;
