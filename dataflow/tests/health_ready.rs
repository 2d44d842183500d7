//! Readiness flips only once the reference data and every source are up (own process: the
//! health registry is process-wide), and `/health` reports each check with its last error.

use std::io::{Read, Write};
use std::net::TcpStream;
use tickflow::health;
use tickflow::http::{base_routes, start, HttpOptions};

fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    (status, text.split_once("\r\n\r\n").unwrap().1.to_string())
}

#[test]
fn ready_flips_after_reference_and_sources_are_up() {
    let server = start(
        &HttpOptions {
            bind_address: "127.0.0.1".into(),
            port: 0,
        },
        base_routes(),
    )
    .unwrap();
    let addr = server.addr();
    // Nothing registered yet: not ready, not healthy.
    assert_eq!(get(addr, "/health/ready").0, 503);
    assert_eq!(get(addr, "/health").0, 503);
    health::register("source:kafka");
    health::up_with("reference", "3 rows".into());
    assert_eq!(
        get(addr, "/health/ready"),
        (503, "{\"ready\":false}".into())
    );
    health::up("source:kafka");
    assert_eq!(get(addr, "/health/ready"), (200, "{\"ready\":true}".into()));
    assert_eq!(get(addr, "/health").0, 200);
    // A sink failing makes /health 503 with its (redacted) error; readiness stays.
    health::down(
        "sink:clickhouse",
        "cannot reach http://u:pw@127.0.0.1:1: refused",
    );
    let (status, body) = get(addr, "/health");
    assert_eq!(status, 503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], true);
    assert_eq!(v["checks"]["sink:clickhouse"]["status"], "down");
    assert_eq!(
        v["checks"]["sink:clickhouse"]["last_error"],
        "cannot reach http://***@127.0.0.1:1: refused"
    );
    assert_eq!(v["checks"]["reference"]["detail"], "3 rows");
    // Recovery: up again, the last error is kept for the operator.
    health::up("sink:clickhouse");
    let (status, body) = get(addr, "/health");
    assert_eq!(status, 200);
    assert!(body.contains("cannot reach"), "{body}");
    // A source that stalls makes the process not ready.
    health::down("source:kafka", "broker down");
    assert_eq!(get(addr, "/health/ready").0, 503);
    server.stop();
}

#[test]
fn request_counter_labels_route_templates_never_paths() {
    use axum::routing::get as route_get;
    let router = axum::Router::new().route("/v1/curves/{curve_id}", route_get(|| async { "x" }));
    let server = start(
        &HttpOptions {
            bind_address: "127.0.0.1".into(),
            port: 0,
        },
        router,
    )
    .unwrap();
    let addr = server.addr();
    assert_eq!(get(addr, "/v1/curves/PJM.DA.X.2025-01-01").0, 200);
    assert_eq!(get(addr, "/v1/curves/other").0, 200);
    assert_eq!(get(addr, "/no/such/path").0, 404);
    let text = tickflow::metrics::render();
    assert!(
        text.contains(
            "tickflow_http_requests_total{route=\"/v1/curves/{curve_id}\",status=\"200\"} 2"
        ),
        "{text}"
    );
    assert!(
        text.contains("tickflow_http_requests_total{route=\"unmatched\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(!text.contains("PJM.DA.X"), "{text}");
    server.stop();
}
