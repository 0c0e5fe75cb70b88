//! The connection loop of [`crate::serve`]: HTTP/1.1 connections served by hyper with bounds a
//! client cannot stretch.
//!
//! - A request head must arrive within [`crate::Settings::header_read_timeout`], and so must the
//!   next one on a kept-alive connection: a client that sends half a head, or none, is cut off
//!   (slowloris).
//! - At most [`crate::Settings::max_connections`] connections are open at once; the next client
//!   waits in the kernel's accept queue until one closes.
//! - hyper accepts heads up to 1 MiB so that the limits of [`crate::router`] (URI length, header
//!   size and count) answer in the API's JSON error shape; only a head beyond that, or one that
//!   does not parse (a malformed `Content-Length`), gets hyper's own bare 400, 414 or 431.
//! - On shutdown the listener closes, every connection finishes the request it is serving, and
//!   idle connections are closed; after [`crate::Settings::drain_timeout`] whatever still runs is
//!   cut off and the process exits.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::Settings;

/// The largest request head hyper itself reads; the router's own limits are far below it.
const HYPER_MAX_HEAD: usize = 1024 * 1024;
/// The most header lines hyper itself reads; the router's own limit is far below it.
const HYPER_MAX_HEADERS: usize = 1000;

/// Accepts connections on `listener` and serves `app` on each until `shutdown` completes, then
/// waits for the requests in flight.
pub(crate) async fn run(
    listener: TcpListener,
    app: Router,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(HYPER_MAX_HEAD)
        .max_headers(HYPER_MAX_HEADERS);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(settings.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!(drain_timeout = ?settings.drain_timeout, "requests still running at the drain timeout were cut off");
    }
    Ok(())
}
