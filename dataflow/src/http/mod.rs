//! The HTTP server of SPEC §7 (`--serve`, `--follow`): health, metrics and the query API on one
//! port. It runs on its own thread with a small tokio runtime, apart from the timely workers, so
//! no request can stall the dataflow. Binding is done before the run starts: a port that is
//! taken is a start-up error, not a silent run without a server. Port 0 picks a free port,
//! which is logged (`http server listening`).
//!
//! The query API (`api`, `sse`) answers from the process's [`Served`] state, which the
//! dataflow's `graph::serve` operator keeps complete and consistent (`served`, `state`);
//! `params` checks query parameters and `auth` API keys.

pub mod api;
pub mod auth;
pub mod params;
pub mod served;
mod sse;
pub mod state;

pub use api::{api_routes, ApiContext};
pub use served::Served;
pub use state::ServeUpdate;

pub mod health;

use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Where the server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// Listening IP address (`http.bind_address`).
    pub bind_address: String,
    /// Listening port; 0 picks a free one (`http.port`, `DATA_PROC_HEALTH_PORT`).
    pub port: u16,
}

/// Settings of the query API (`[http]`): keys and how long final bars stay queryable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiOptions {
    /// API keys (`key` or `key:tenant`); empty = the API is open.
    pub api_keys: Vec<crate::config::Secret>,
    /// Final bars stay queryable this long (event time).
    pub serve_history_ms: u64,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            api_keys: Vec::new(),
            serve_history_ms: 7 * 86_400_000,
        }
    }
}

/// A running server; dropping it (or [`HttpServer::stop`]) shuts it down.
pub struct HttpServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// The address the server is bound to (with the port picked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests, lets running ones finish and joins the server thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The paths of [`base_routes`].
pub const BASE_PATHS: [&str; 2] = ["/health/live", "/metrics"];

/// The routes every server has: liveness and metrics.
pub fn base_routes() -> Router {
    Router::new()
        .route("/health/live", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
}

async fn metrics() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(),
    )
}

/// Binds `opts` and serves `router` on a thread of its own until the returned server is stopped.
pub fn start(opts: &HttpOptions, router: Router) -> Result<HttpServer, String> {
    let router = health::observe(router);
    let addr = format!("{}:{}", opts.bind_address, opts.port);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tickflow-http")
        .enable_all()
        .build()
        .map_err(|e| format!("http server: cannot start its runtime: {e}"))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&addr))
        .map_err(|e| format!("http server: cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("http server: {addr}: {e}"))?;
    tracing::info!(addr = %bound, "http server listening");
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("tickflow-http".into())
        .spawn(move || {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = runtime.block_on(async move { serve.await }) {
                tracing::error!(error = %e, "http server failed");
            }
        })
        .map_err(|e| format!("http server: cannot start its thread: {e}"))?;
    Ok(HttpServer {
        addr: bound,
        stop: Some(stop),
        thread: Some(thread),
    })
}
