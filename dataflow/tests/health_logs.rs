//! Health and logs of a running job (SPEC §7, §9): a `--follow` run on Kafka whose Redis sink
//! points at a closed port shows that sink down with its last error at `/health` (503) while
//! `/health/ready` stays 200 (reference loaded, source connected); with `--log-format json` every
//! log line is a JSON object, and no password from the Redis, PostgreSQL or ClickHouse settings
//! appears in the logs, the health report or the metrics.

#[path = "support/follow.rs"]
mod follow;
mod support;

use follow::wait_for;
use std::time::Duration;

const TOPIC: &str = "prices.v1";
const SECRETS: [&str; 3] = ["S3cretRedisPw", "S3cretPgPw", "S3cretChPw"];

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn sink_down_shows_in_health_and_json_logs_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, bootstrap) = support::broker_with(TOPIC, 1);
    let producer = support::producer(&bootstrap);
    support::send_csv(
        &producer,
        TOPIC,
        0,
        "ts,instrument_id,price\n2025-01-01T00:00:00Z,PJM.RT.X,10\n2025-01-01T00:05:00Z,PJM.RT.X,11\n",
    );
    rdkafka::producer::Producer::flush(&producer, Duration::from_secs(10)).unwrap();
    let redis = format!("redis://:{}@127.0.0.1:{}/0", SECRETS[0], closed_port());
    let pg = format!(
        "postgres://tickflow:{}@127.0.0.1:{}/db",
        SECRETS[1],
        closed_port()
    );
    let ch = format!("http://default:{}@127.0.0.1:{}", SECRETS[2], closed_port());
    let job = follow::spawn(
        dir.path(),
        &bootstrap,
        TOPIC,
        &["--output", "redis", "--log-format", "json"],
        &[
            ("DATA_PROC_REDIS_URL", redis.as_str()),
            ("DATA_PROC_POSTGRES_DSN", pg.as_str()),
            ("DATA_PROC_CLICKHOUSE_URL", ch.as_str()),
            ("DATA_PROC_OUTPUT_RETRY_MAX_BACKOFF_MS", "200"),
        ],
    );

    let (status, body) = job.get("/health/ready");
    assert_eq!((status, body.as_str()), (200, "{\"ready\":true}"));
    // The sink fails once the first records reach it.
    let report: serde_json::Value = wait_for(Duration::from_secs(60), "sink:redis down", || {
        let (status, body) = job.get("/health");
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        (status == 503 && v["checks"]["sink:redis"]["status"] == "down").then_some(v)
    });
    assert_eq!(report["status"], "down");
    assert_eq!(report["ready"], true);
    let error = report["checks"]["sink:redis"]["last_error"]
        .as_str()
        .unwrap();
    assert!(error.contains("redis"), "{error}");
    assert!(
        report["checks"]["sink:redis"]["last_error_at_ms"]
            .as_i64()
            .unwrap()
            > 0
    );
    for check in ["source:kafka", "reference"] {
        assert_eq!(report["checks"][check]["status"], "up", "{check}: {report}");
    }
    let (_, metrics) = job.get("/metrics");
    let samples = support_prom::parse(&metrics);
    assert!(support_prom::sum(&samples, "tickflow_sink_errors_total", &[("sink", "redis")]) >= 1.0);
    assert!(
        support_prom::sum(
            &samples,
            "tickflow_http_requests_total",
            &[("route", "/health"), ("status", "503")]
        ) >= 1.0
    );
    let health_text = job.get("/health").1;

    let log = job.stop(Duration::from_secs(10));
    assert!(log.len() > 3, "{log:?}");
    for line in &log {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        assert!(v["fields"]["message"].is_string(), "{line}");
    }
    assert!(
        log.iter().any(|l| l.contains("sink unavailable")),
        "the redis outage is logged: {log:?}"
    );
    for secret in SECRETS {
        for text in log.iter().chain([&health_text, &metrics]) {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}

#[path = "support/prom.rs"]
mod support_prom;
