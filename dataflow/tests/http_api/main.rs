//! The query API of a real `tickflow run --serve` (SPEC §7), checked against the `dir:` output
//! of the same run (the independent oracle): every latest price, bar and curve, at 2 workers
//! and in each of 2 processes; 400/404 answers; API keys (401/403); live subscriptions that see
//! a correction's retraction; fuzzed parameters and concurrent requests while a job runs.

mod client;
mod live;
#[path = "../support/mod.rs"]
mod support;

use client::{csv_rows, enc, get, get_auth, get_json, same_as_csv, Server};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

const HISTORY: (&str, &str) = ("DATA_PROC_HTTP_SERVE_HISTORY_MS", "3153600000000");

/// Checks every answer of the server at `addr` against the `dir:` files in `out`.
fn check_against_dir(addr: SocketAddr, out: &Path) {
    // Latest prices: one by one, as lists per tenant, and the predecessor's route.
    let (header, rows) = csv_rows(&out.join("latest.csv"));
    assert!(
        rows.len() > 20,
        "too few latest rows for a meaningful check"
    );
    let mut per_tenant: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for row in &rows {
        let (t, i) = (enc(&row[0]), enc(&row[1]));
        let one = get_json(addr, &format!("/v1/latest?tenant_id={t}&instrument_id={i}"));
        assert!(same_as_csv(&header, row, &one), "{row:?} vs {one}");
        let p = get_json(
            addr,
            &format!("/projections/latest_price?instrument_id={i}&tenant_id={t}"),
        );
        assert_eq!(p, one);
        per_tenant
            .entry(row[0].clone())
            .or_default()
            .push(row.clone());
    }
    for (tenant, rows) in &per_tenant {
        let list = get_json(
            addr,
            &format!("/v1/latest?tenant_id={}&prefix=", enc(tenant)),
        );
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), rows.len(), "tenant {tenant}");
        for (row, got) in rows.iter().zip(list) {
            assert!(same_as_csv(&header, row, got), "{row:?} vs {got}");
        }
    }
    // Bars: every bar of every instrument, in the bars.csv order.
    let (header, rows) = csv_rows(&out.join("bars.csv"));
    let mut per_instrument: BTreeMap<(String, String), Vec<Vec<String>>> = BTreeMap::new();
    for row in rows {
        per_instrument
            .entry((row[0].clone(), row[1].clone()))
            .or_default()
            .push(row);
    }
    assert!(per_instrument.len() > 20);
    for ((tenant, inst), rows) in &per_instrument {
        let q = format!(
            "/v1/bars?tenant_id={}&instrument_id={}",
            enc(tenant),
            enc(inst)
        );
        let got = get_json(addr, &q);
        let got = got.as_array().expect("array");
        assert_eq!(got.len(), rows.len(), "{q}");
        for (row, bar) in rows.iter().zip(got) {
            assert!(same_as_csv(&header, row, bar), "{row:?} vs {bar}");
        }
        // A half-open range of one interval: [start of the 2nd bar, start of the 4th).
        let hourly: Vec<&Vec<String>> = rows.iter().filter(|r| r[2] == "1h").collect();
        if hourly.len() >= 4 {
            let q = format!(
                "{q}&interval=1h&from={}&to={}",
                enc(&hourly[1][3]),
                enc(&hourly[3][3])
            );
            let got = get_json(addr, &q);
            let starts: Vec<&str> = got
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["window_start"].as_str().unwrap())
                .collect();
            assert_eq!(
                starts,
                [hourly[1][3].as_str(), hourly[2][3].as_str()],
                "{q}"
            );
        }
    }
    // Curves: every curve's points, in curves.jsonl order; horizons on the predecessor route.
    let text = std::fs::read_to_string(out.join("curves.jsonl")).unwrap();
    let mut curves: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = (
            v["tenant_id"].as_str().unwrap().to_string(),
            v["curve_id"].as_str().unwrap().to_string(),
        );
        curves.entry(key).or_default().push(v);
    }
    assert!(curves.len() > 5);
    for ((tenant, id), points) in &curves {
        let got = get_json(
            addr,
            &format!("/v1/curves/{}?tenant_id={}", enc(id), enc(tenant)),
        );
        assert_eq!(got["curve_id"], Value::from(id.as_str()));
        assert_eq!(got["points"].as_array().unwrap(), points, "curve {id}");
        let h = get_json(
            addr,
            &format!(
                "/projections/curve_snapshot?instrument_id={}&tenant_id={}&horizon=he0",
                enc(id),
                enc(tenant)
            ),
        );
        let want: Vec<&Value> = points
            .iter()
            .filter(|p| {
                p["tenor"]
                    .as_str()
                    .unwrap()
                    .to_ascii_uppercase()
                    .starts_with("HE0")
            })
            .collect();
        let got: Vec<&Value> = h["points"].as_array().unwrap().iter().collect();
        assert_eq!(got, want, "curve {id} horizon he0");
    }
}

/// The 400/404 answers of SPEC §7.
fn check_errors(addr: SocketAddr) {
    for (path, status) in [
        ("/v1/latest?instrument_id=NOPE.X", 404),
        ("/v1/curves/NOPE", 404),
        ("/projections/latest_price?instrument_id=NOPE", 404),
        ("/projections/curve_snapshot?instrument_id=NOPE", 404),
        ("/v1/latest", 400),
        ("/v1/latest?instrument_id=a&prefix=b", 400),
        ("/v1/latest?instrument_id=a&at=tomorrow", 400),
        ("/v1/latest?instrument_id=a&color=red", 400),
        ("/v1/bars", 400),
        ("/v1/bars?instrument_id=X&interval=7m", 400),
        (
            "/v1/bars?instrument_id=X&from=2024-11-04T00:00:00Z&to=2024-11-03T00:00:00Z",
            400,
        ),
        ("/v1/bars?instrument_id=X&from=%ZZ", 400),
        ("/v1/subscribe?view=ticks", 400),
        ("/projections/latest_price?tenant_id=default", 400),
    ] {
        let (got, body) = get(addr, path);
        assert_eq!(got, status, "{path}: {body}");
        let v: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        assert!(
            !v["error"].as_str().unwrap_or("").is_empty(),
            "{path}: {body}"
        );
    }
    assert_eq!(get(addr, "/v1/latest?prefix=NOPE.").1, "[]");
    assert_eq!(
        get(
            addr,
            "/v1/bars?instrument_id=NOPE&from=1900-01-01T00:00:00Z&to=2200-01-01T00:00:00Z"
        )
        .1,
        "[]"
    );
}

#[test]
fn answers_match_the_dir_output_at_two_workers() {
    let tmp = tempfile::tempdir().unwrap();
    // A history long enough for the samples' March and November days (pruning: unit tests).
    let mut server = Server::start(
        tmp.path(),
        &["--serve", "--output", "dir:out", "-w", "2"],
        &[HISTORY],
    );
    server.wait_for("serving its final state");
    check_against_dir(server.addr, &tmp.path().join("out"));
    check_errors(server.addr);
    // The final state stays served until SIGTERM, which ends the run cleanly.
    assert!(server.running());
    assert!(server.terminate().success());
}

#[test]
fn every_process_of_a_cluster_answers_completely() {
    let tmp = tempfile::tempdir().unwrap();
    let port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    std::fs::write(
        tmp.path().join("hosts"),
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", port(), port()),
    )
    .unwrap();
    let args = |i: &'static str| {
        [
            "--serve",
            "--output",
            "dir:out",
            "-w",
            "2",
            "-n",
            "2",
            "-p",
            i,
            "--hostfile",
            "hosts",
        ]
    };
    let mut p1 = Server::start(tmp.path(), &args("1"), &[HISTORY]);
    let mut p0 = Server::start(tmp.path(), &args("0"), &[HISTORY]);
    p0.wait_for("serving its final state");
    p1.wait_for("serving its final state");
    for s in [&p0, &p1] {
        check_against_dir(s.addr, &tmp.path().join("out"));
    }
    assert!(p1.terminate().success());
    assert!(p0.terminate().success());
}

#[test]
fn api_keys_guard_queries_but_not_health() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        tmp.path(),
        &["--serve", "--output", "null"],
        &[("DATA_PROC_API_KEYS", "admin-s3cret,acme-s3cret:acme")],
    );
    server.wait_for("serving its final state");
    let a = server.addr;
    let q = "/v1/latest?prefix=PJM.";
    assert_eq!(get_auth(a, q, None).0, 401);
    assert_eq!(get_auth(a, q, Some("wrong")).0, 401);
    assert_eq!(get_auth(a, "/v1/subscribe?view=latest", None).0, 401);
    let (status, body) = get_auth(a, q, Some("admin-s3cret"));
    assert_eq!(status, 200);
    assert!(body.len() > 2, "{body}");
    // A tenant key reads its own tenant only.
    assert_eq!(get_auth(a, q, Some("acme-s3cret")).0, 403);
    assert_eq!(
        get_auth(a, "/v1/curves/X?tenant_id=default", Some("acme-s3cret")).0,
        403
    );
    assert_eq!(
        get_auth(a, "/v1/latest?prefix=&tenant_id=acme", Some("acme-s3cret")),
        (200, "[]".into())
    );
    assert_eq!(
        get_auth(
            a,
            "/projections/latest_price?instrument_id=X&tenant_id=acme",
            Some("acme-s3cret")
        )
        .0,
        404
    );
    // Keys of the reference table `api_keys` (the bundled test keys), beside the configured ones.
    assert_eq!(get_auth(a, q, Some("tickflow-test-key")), (200, body));
    assert_eq!(
        get_auth(
            a,
            "/v1/latest?prefix=&tenant_id=acme",
            Some("tickflow-test-key")
        )
        .0,
        403
    );
    assert_eq!(get_auth(a, q, Some("tickflow-revoked-test-key")).0, 401);
    // Probes stay open.
    assert_eq!(get(a, "/health/live").0, 200);
    assert_eq!(get(a, "/metrics").0, 200);
    let log = server.log().join("\n");
    assert!(!log.contains("s3cret"), "a key was logged");
    assert!(server.terminate().success());
}

#[test]
fn openapi_document_lists_exactly_the_routes() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(doc).unwrap()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: std::collections::BTreeSet<String> =
        doc["paths"].as_object().unwrap().keys().cloned().collect();
    // Served by the health module (issue 5, item 4), merged into the same router.
    let health = ["/health", "/health/ready"];
    let routed: std::collections::BTreeSet<String> = tickflow::http::api::ROUTE_PATHS
        .iter()
        .chain(tickflow::http::BASE_PATHS.iter())
        .chain(health.iter())
        .map(|s| s.to_string())
        .collect();
    assert_eq!(documented, routed);
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(
            item["get"]["responses"]["200"].is_object(),
            "{path} documents no 200 answer"
        );
    }
    // And every documented query route is routed by a real server (no bare 404).
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        tmp.path(),
        &[
            "--serve",
            "--output",
            "null",
            "--input",
            "generator:mode=batch,count=50,seed=1",
        ],
        &[],
    );
    server.wait_for("serving its final state");
    for path in tickflow::http::api::ROUTE_PATHS
        .iter()
        .chain(tickflow::http::BASE_PATHS.iter())
    {
        let (status, body) = get(server.addr, &path.replace("{curve_id}", "X"));
        assert!(status != 404 || !body.is_empty(), "{path} is not routed");
        assert!(status != 405, "{path}");
    }
}
