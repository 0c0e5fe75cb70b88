//! Fresh databases for tests: a SQLite file in a temporary folder, or a PostgreSQL database
//! created for the test on the server named by `VOUCHERS_TEST_POSTGRES_URL` and dropped after.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::Connection;

use super::{connect, DatabaseUrl, Store};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "VOUCHERS_TEST_POSTGRES_URL";

/// A database that exists for one test.
pub struct TestDb {
    /// The store, migrated.
    pub store: Arc<dyn Store>,
    /// Its URL, for starting processes on the same database.
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    /// A fresh SQLite file (not `:memory:`: every pooled connection would get its own database).
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = DatabaseUrl::new(format!("sqlite://{}", dir.path().join("vouchers.db").display()));
        let store = connect(&url).await.expect("open SQLite test database");
        Self { store, url, cleanup: Cleanup::Dir(dir) }
    }

    /// A fresh PostgreSQL database. Panics (fails the test, never skips it) if
    /// `VOUCHERS_TEST_POSTGRES_URL` is unset or the server cannot be reached.
    pub async fn postgres() -> Self {
        let admin_url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
            panic!("{POSTGRES_URL_VAR} is not set: this is a PostgreSQL test; run scripts/test.sh, which skips the PostgreSQL half visibly when the variable is unset")
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
        let url = DatabaseUrl::new(parsed.to_string());
        let store = connect(&url).await.expect("open PostgreSQL test database");
        Self { store, url, cleanup: Cleanup::Postgres { admin_url, name } }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; use a thread with its own runtime. FORCE ends
            // the store's pooled connections.
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
}
