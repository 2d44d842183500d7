//! The HTTP server's base routes on a free port: liveness, Prometheus text with the build info,
//! 404 for unknown paths, and a taken port refused at start.

use std::io::{Read, Write};
use std::net::TcpStream;
use tickflow::http::{base_routes, start, HttpOptions};

fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    (status, body.unwrap_or_default())
}

#[test]
fn base_routes_answer_and_a_taken_port_is_an_error() {
    let opts = HttpOptions {
        bind_address: "127.0.0.1".into(),
        port: 0,
    };
    let server = start(&opts, base_routes()).unwrap();
    let addr = server.addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(get(addr, "/health/live"), (200, "ok\n".into()));
    let (status, body) = get(addr, "/metrics");
    assert_eq!(status, 200);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        body.contains(&format!("tickflow_build_info{{version=\"{version}\"}} 1")),
        "{body}"
    );
    assert_eq!(get(addr, "/nope").0, 404);
    let taken = HttpOptions {
        port: addr.port(),
        ..opts
    };
    let err = start(&taken, base_routes()).err().unwrap();
    assert!(err.contains("cannot listen"), "{err}");
    server.stop();
    assert!(TcpStream::connect(addr).is_err());
}
