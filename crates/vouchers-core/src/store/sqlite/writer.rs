//! The one writer connection of a SQLite store, taken in turn.
//!
//! Write transactions wait for it in a `tokio::sync::Mutex`, which is fair: first come, first
//! served. The connection is handed to the next writer the moment the previous one commits (a
//! pool would first test it on release, in a task of its own), so a queue of writers never waits
//! on anything but the transactions ahead of it, and never sleeps in SQLite's busy handler.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, Executor, SqliteConnection};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::store::StoreError;

struct State {
    /// `None` once the store is closed.
    conn: Option<SqliteConnection>,
    /// A transaction is open on it.
    open: bool,
}

/// The writer connection behind its FIFO line.
#[derive(Clone)]
pub(super) struct Writer {
    state: Arc<Mutex<State>>,
    /// How long a writer waits for its turn.
    wait: Duration,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("wait", &self.wait).finish_non_exhaustive()
    }
}

/// The writer connection inside a `BEGIN IMMEDIATE` transaction, held until [`WriterTx::commit`];
/// dropped without it, the transaction is rolled back before the next writer's turn.
pub(in crate::store) struct WriterTx(Option<OwnedMutexGuard<State>>);

impl Writer {
    pub(super) fn new(conn: SqliteConnection, wait: Duration) -> Self {
        Self { state: Arc::new(Mutex::new(State { conn: Some(conn), open: false })), wait }
    }

    /// Waits for this writer's turn (at most `wait`), for statements that are each their own
    /// transaction (one statement that writes takes the write lock when it starts).
    pub(super) async fn lock(&self) -> Result<WriterTx, StoreError> {
        self.begin_with(None).await
    }

    /// Waits for this writer's turn (at most `wait`), then begins a transaction that holds the
    /// database's write lock.
    pub(super) async fn begin(&self) -> Result<WriterTx, StoreError> {
        self.begin_with(Some("BEGIN IMMEDIATE")).await
    }

    async fn begin_with(&self, begin: Option<&str>) -> Result<WriterTx, StoreError> {
        let mut state = tokio::time::timeout(self.wait, Arc::clone(&self.state).lock_owned())
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
        let open = state.open;
        let conn = state.conn.as_mut().ok_or(StoreError::Unavailable(sqlx::Error::PoolClosed))?;
        if open {
            // Left open by a transaction dropped where no runtime could roll it back, or whose
            // rollback failed because SQLite had already rolled it back itself (a full disk does
            // that): either way none is open once this returns, and an error here would only
            // say so.
            let _ = conn.execute("ROLLBACK").await;
        }
        state.open = false;
        if let Some(begin) = begin {
            let conn = state.conn.as_mut().ok_or(StoreError::Unavailable(sqlx::Error::PoolClosed))?;
            conn.execute(begin).await?;
            state.open = true;
        }
        Ok(WriterTx(Some(state)))
    }

    /// Waits for the writer to be free, then closes its connection.
    pub(super) async fn close(&self) {
        let conn = self.state.lock().await.conn.take();
        if let Some(conn) = conn {
            let _ = conn.close().await;
        }
    }
}

impl WriterTx {
    fn state(&mut self) -> &mut State {
        self.0.as_mut().expect("a WriterTx holds its guard until it is dropped")
    }

    /// Undoes the transaction and hands the connection to the next writer.
    pub(super) async fn rollback(mut self) -> Result<(), StoreError> {
        self.execute("ROLLBACK").await?;
        self.state().open = false;
        Ok(())
    }

    /// Makes the transaction durable and hands the connection to the next writer.
    pub(super) async fn commit(mut self) -> Result<(), StoreError> {
        self.execute("COMMIT").await?;
        self.state().open = false;
        Ok(())
    }
}

impl Deref for WriterTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        let state = self.0.as_ref().expect("a WriterTx holds its guard until it is dropped");
        state.conn.as_ref().expect("the connection stays while a transaction holds it")
    }
}

impl DerefMut for WriterTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.state().conn.as_mut().expect("the connection stays while a transaction holds it")
    }
}

impl Drop for WriterTx {
    fn drop(&mut self) {
        let Some(mut state) = self.0.take() else { return };
        if !state.open {
            return;
        }
        // Roll back before the next writer's turn: the task keeps the guard until it is done.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(conn) = state.conn.as_mut() {
                    if conn.execute("ROLLBACK").await.is_ok() {
                        state.open = false;
                    }
                }
            });
        }
    }
}
