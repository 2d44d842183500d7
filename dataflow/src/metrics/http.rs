//! `tickflow_http_requests_total{route,status}`: an axum middleware counting every answered
//! request by its route *template* (`MatchedPath`, e.g. `/v1/curves/{curve_id}`), never by the
//! concrete path, so a client cannot grow the label set; requests matching no route count
//! under `route="unmatched"`.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Counts the request once its response is ready.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    let route = route.as_deref().unwrap_or("unmatched");
    super::families::families()
        .http_requests
        .with_label_values(&[route, response.status().as_str()])
        .inc();
    response
}
