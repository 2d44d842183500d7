//! Health routes (SPEC §7), always open: `/health` answers 200 when every check of the health
//! registry (`crate::health`) is up and 503 otherwise, with the per-check JSON (status, last
//! error); `/health/ready` answers 200 once the reference data is loaded and every source is
//! connected, 503 before. [`observe`] also wraps a router with the request counter
//! (`tickflow_http_requests_total`), so every route of the server is counted.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

/// `/health` and `/health/ready`.
pub fn routes() -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/health/ready", get(ready))
}

/// `router` with the health routes merged in and every request counted.
pub fn observe(router: Router) -> Router {
    router.merge(routes()).layer(axum::middleware::from_fn(
        crate::metrics::http::count_requests,
    ))
}

async fn health() -> impl IntoResponse {
    let report = crate::health::report();
    let code = match report.status {
        crate::health::Status::Up => StatusCode::OK,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    (code, Json(report))
}

async fn ready() -> impl IntoResponse {
    let ready = crate::health::ready();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(serde_json::json!({ "ready": ready })))
}
