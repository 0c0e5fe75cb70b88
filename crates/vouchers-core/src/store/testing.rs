//! Fresh databases for tests: a SQLite file in a temporary folder, or a PostgreSQL database
//! created for the test on the server named by `VOUCHERS_TEST_POSTGRES_URL` and dropped after
//! (also when the test panics). A PostgreSQL test panics, and so fails, when the variable is unset
//! or the server cannot be reached: it is never skipped from inside. `scripts/test.sh` leaves
//! the PostgreSQL tests out by name (`--skip postgres::`) when the variable is unset, and says so;
//! `.ci/run` always sets it.
//!
//! [`crate::both_backends!`] declares a test once for each backend.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::Connection;

use super::{connect, DatabaseUrl, Store};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "VOUCHERS_TEST_POSTGRES_URL";

/// A database that exists for one test, migrated, with its store open.
pub struct TestDb {
    /// The store, migrated.
    pub store: Arc<dyn Store>,
    /// Its URL, for starting processes on the same database.
    pub url: DatabaseUrl,
    // Dropped after the store's fields: the folder or database goes last.
    _place: Place,
}

enum Place {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] PgDatabase),
}

/// An empty PostgreSQL database (nothing migrated), dropped when this value is, even if the test
/// panics. For tests whose processes must create the schema themselves.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// The database's URL.
    pub url: DatabaseUrl,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl PgDatabase {
    /// Creates the database on the server named by `VOUCHERS_TEST_POSTGRES_URL`. Panics (fails
    /// the test) if the variable is unset or the server cannot be reached.
    pub async fn create() -> Self {
        let admin_url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
            panic!("{POSTGRES_URL_VAR} is not set: this is a PostgreSQL test; run scripts/test.sh, which leaves the PostgreSQL tests out by name and says so when the variable is unset")
        });
        let name = format!(
            "vouchers_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {}: {e}", DatabaseUrl::new(admin_url.clone())));
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let mut parsed = url::Url::parse(&admin_url).expect("VOUCHERS_TEST_POSTGRES_URL is a URL");
        parsed.set_path(&name);
        Self { admin_url, name, url: DatabaseUrl::new(parsed.to_string()) }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a test's runtime: use a thread with its own runtime. FORCE ends the
        // connections still open (a store's pool, a killed server's sessions).
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async move {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::Executor::execute(&mut admin, sql.as_str()).await.ok()?;
                Some(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test database {}", self.url);
        }
    }
}

impl TestDb {
    /// A fresh SQLite file (not `:memory:`: every pooled connection would get its own database).
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = DatabaseUrl::new(format!("sqlite://{}", dir.path().join("vouchers.db").display()));
        let store = connect(&url).await.expect("open SQLite test database");
        Self { store, url, _place: Place::Dir(dir) }
    }

    /// A fresh PostgreSQL database, migrated (see [`PgDatabase::create`]).
    pub async fn postgres() -> Self {
        let database = PgDatabase::create().await;
        let url = database.url.clone();
        let store = connect(&url).await.expect("open PostgreSQL test database");
        Self { store, url, _place: Place::Postgres(database) }
    }

    /// The database as a test function takes it when it needs nothing more.
    pub async fn as_is(self) -> Self {
        self
    }
}

/// Declares each listed `async fn name(arg)` of the calling module as two tests: `sqlite::name`
/// on a fresh SQLite file and `postgres::name` on a fresh PostgreSQL database. `with SETUP;`
/// names an `async fn(TestDb) -> Arg` that turns the database into the test's argument (a test
/// app with a fixture, say); without it the test takes the [`TestDb`] itself.
///
/// ```text
/// vouchers_core::both_backends!(generates_a_batch, refuses_a_bad_count);
/// vouchers_core::both_backends!(with crate::support::TestApp::new; lists_vouchers);
/// ```
#[macro_export]
macro_rules! both_backends {
    (with $setup:path; $($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = $crate::store::testing::TestDb::sqlite().await;
                    super::$name($setup(db).await).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = $crate::store::testing::TestDb::postgres().await;
                    super::$name($setup(db).await).await
                }
            )+
        }
    };
    ($($name:ident),+ $(,)?) => {
        $crate::both_backends!(with $crate::store::testing::TestDb::as_is; $($name),+);
    };
}
