//! A reference change in PostgreSQL while a `--follow` run reads a Kafka topic: the bundled
//! reference set is loaded with `tickflow migrate --load-reference dir:reference` into a schema
//! of this test; a first set of ticks is produced and awaited in ClickHouse; then a new version
//! of the instrument (another `product_tier`, `valid_from` inside the first set's hours) is
//! inserted, and after the source's refresh interval a second set is produced. Ticks of the
//! second set (event time ≥ `valid_from`) carry the new tier; the first set's rows keep the old
//! one, including those whose event time is after `valid_from` (emitted ticks are not
//! rewritten). A followed run has no clean stop yet: the test ends it with SIGKILL (`Child::kill`).
//!
//! Found here (since fixed: a pending source now moves its time to the reader's next round):
//! with `--follow`, what a partition delivered reached the sinks only once the partition had been
//! silent for `aggregation.idle_timeout_ms` and sent its idle marker; the test still sets 300 ms.
//! The reference change is awaited by time (30 refresh intervals), as the run reports no
//! "change applied" event.

use super::{tickflow, Target};
use connectors::kafka::mock::MockBroker;
use connectors::postgres::{connect, PgDsn};
use rdkafka::producer::{BaseProducer, Producer};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use tickflow_tests::compare::{ch_rows, cleanup, count, num, require_servers, shared_target};
use tickflow_tests::kafka::{send, settings};

const TOPIC: &str = "e2e.reference.change.v1";
const INSTRUMENT: &str = "PJM.DA.WESTERN HUB";
const VALID_FROM: &str = "2025-07-01T03:00:00Z";

fn base_dsn() -> String {
    std::env::var("TICKFLOW_TEST_PG_DSN").unwrap_or_else(|_| {
        "host=127.0.0.1 port=55432 user=postgres dbname=tickflow sslmode=disable".to_string()
    })
}

/// A fresh schema; returns the DSN whose search path is it (as dataflow/tests/postgres_reference.rs).
fn schema(name: &str) -> String {
    let base = base_dsn();
    let mut admin = connect(&PgDsn::new(base.as_str())).unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable ({e}); run `scripts/services.sh up` or set TICKFLOW_TEST_PG_DSN")
    });
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .expect("create schema");
    if base.contains("://") {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-csearch_path%3D{name}")
    } else {
        format!("{base} options='-csearch_path={name}'")
    }
}

/// Kills (SIGKILL) the followed run however the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One simple-CSV document: hourly DA ticks of the hub on 2025-07-01, price 100 + hour.
fn document(hours: std::ops::Range<u32>) -> String {
    let mut csv = String::from("ts,market,run,node,price,volume,revision\n");
    for h in hours {
        csv.push_str(&format!(
            "2025-07-01T{h:02}:00:00Z,PJM,DA,WESTERN HUB,{}.0,10,0\n",
            100 + h
        ));
    }
    csv
}

fn produce(bootstrap: &str, doc: &str) {
    let producer: BaseProducer = settings(bootstrap)
        .producer_config()
        .create()
        .expect("producer");
    send(&producer, TOPIC, 0, doc.as_bytes(), Some("simple-csv"));
    producer.flush(Duration::from_secs(30)).expect("flush");
}

fn wait_for_ticks(t: &Target, n: u64, run: &mut Killed, log: &std::path::Path) {
    let started = Instant::now();
    while count(t, "market_ticks") < n {
        if let Ok(Some(status)) = run.0.try_wait() {
            panic!(
                "the followed run ended ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{n} ticks did not arrive in ClickHouse:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A key added to the `api_keys` table while the job runs (its SHA-256 is computed by
/// PostgreSQL in the test).
const LIVE_KEY: &str = "e2e-live-key";

/// The HTTP status of `GET /v1/latest` on `port` with `key` as bearer (authentication comes
/// before the query is read: 401 means the key was refused).
fn latest_status(port: u16, key: &str) -> u16 {
    let r = ureq::get(&format!("http://127.0.0.1:{port}/v1/latest?tenant=default"))
        .set("Authorization", &format!("Bearer {key}"))
        .timeout(Duration::from_secs(5))
        .call();
    match r {
        Ok(resp) => resp.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("GET /v1/latest: {e}"),
    }
}

/// Polls until `GET /v1/latest` with `key` answers `want` (true) or 10 s pass (false).
fn status_becomes(port: u16, key: &str, want: impl Fn(u16) -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if want(latest_status(port, key)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// product_tier of the hub's ticks by price (= 100 + hour).
fn tiers(t: &Target) -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = ch_rows(t, "market_ticks")
        .into_iter()
        .filter(|r| r["instrument_id"] == INSTRUMENT)
        .map(|r| {
            let hour = num(&r["price"]).map(|p| p as u32 - 100).unwrap_or(999);
            (hour, r["product_tier"].as_str().unwrap_or("").to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_postgres_reference_change_mid_stream_applies_to_later_ticks_and_rewrites_none() {
    let t = shared_target("tf_e2e_ref");
    require_servers(&t);
    let dsn = schema(&t.prefix);
    let broker = MockBroker::start(1).expect("mock cluster");
    broker.create_topic(TOPIC, 1).expect("topic");
    let tmp = tempfile::tempdir().expect("tempdir");
    let migrate = tickflow(&t, broker.bootstrap_servers(), tmp.path())
        .env("DATA_PROC_POSTGRES_DSN", &dsn)
        .args(["migrate", "--load-reference"])
        .arg(format!(
            "dir:{}",
            tickflow_tests::repo_root().join("reference").display()
        ))
        .output();
    super::succeeded(migrate, "tickflow migrate --load-reference");

    let log = tmp.path().join("run.log");
    let log_file = std::fs::File::create(&log).expect("log");
    let port = tickflow_tests::servers::free_port();
    let child = tickflow(&t, broker.bootstrap_servers(), tmp.path())
        .env("DATA_PROC_POSTGRES_DSN", &dsn)
        .env("DATA_PROC_REFERENCE_REFRESH_INTERVAL_MS", "100")
        .env("DATA_PROC_OUTPUT_FLUSH_INTERVAL_MS", "50")
        // Periodic flushes insert into ClickHouse at once (default: at most every 2 s).
        .env("DATA_PROC_CLICKHOUSE_INSERT_INTERVAL_MS", "50")
        // A followed partition's ticks reach the sinks only once it goes idle (see the
        // module doc): a short idle timeout keeps the test quick.
        .env("DATA_PROC_AGGREGATION_IDLE_TIMEOUT_MS", "300")
        .args(["run", "--follow", "--reference", "postgres", "-w", "1"])
        .args(["--input", &format!("kafka:{TOPIC}")])
        .args(["--output", "clickhouse", "--output", "redis"])
        .env("DATA_PROC_HEALTH_PORT", port.to_string())
        .arg("--serve")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("spawn tickflow run --follow");
    let mut run = Killed(child);

    // First set: hours 0..6, half of them at or after the coming version's valid_from.
    produce(broker.bootstrap_servers(), &document(0..6));
    wait_for_ticks(&t, 6, &mut run, &log);
    let before = tiers(&t);
    assert_eq!(before.len(), 6, "{before:?}");
    assert!(
        before.iter().all(|(_, tier)| tier == "standard"),
        "{before:?}"
    );

    // The change: a new version of the hub from 03:00 on.
    let mut pg = connect(&PgDsn::new(dsn.as_str())).expect("postgres");
    let inserted = pg
        .execute(
            &format!(
                "INSERT INTO taxonomy_instruments (tenant_id, instrument_id, commodity, region, \
                 product_tier, unit, contract_size, tick_size, metadata, active, valid_from) \
                 SELECT tenant_id, instrument_id, commodity, region, 'e2e-premium', unit, \
                 contract_size, tick_size, metadata, true, '{VALID_FROM}' \
                 FROM taxonomy_instruments WHERE tenant_id = 'default' AND instrument_id = $1"
            ),
            &[&INSTRUMENT],
        )
        .expect("insert the new version");
    assert_eq!(inserted, 1, "the hub is in the bundled reference set");
    // The source polls every 100 ms; 30 intervals is ample for the change to be applied.
    std::thread::sleep(Duration::from_secs(3));

    // Second set: hours 6..12, all after valid_from.
    produce(broker.bootstrap_servers(), &document(6..12));
    wait_for_ticks(&t, 12, &mut run, &log);
    let after = tiers(&t);
    assert_eq!(after.len(), 12, "{after:?}");
    for (hour, tier) in &after {
        let want = if *hour < 6 { "standard" } else { "e2e-premium" };
        assert_eq!(tier, want, "tick of hour {hour}: {after:?}");
    }
    // The API keys are live too: the bundled table closes the API, a key inserted now opens
    // it to its holder, and deactivating it revokes it — no restart.
    assert_eq!(latest_status(port, LIVE_KEY), 401, "not a key yet");
    pg.execute(
        &format!(
            "INSERT INTO api_keys (tenant_id, key_sha256, scopes) \
             VALUES ('default', encode(sha256('{LIVE_KEY}'::bytea), 'hex'), '{{read}}')"
        ),
        &[],
    )
    .expect("insert an api key");
    assert!(
        status_becomes(port, LIVE_KEY, |s| s != 401),
        "the inserted key was not accepted within 10 s"
    );
    pg.execute(
        &format!(
            "UPDATE api_keys SET active = false, updated_at = now() \
             WHERE key_sha256 = encode(sha256('{LIVE_KEY}'::bytea), 'hex')"
        ),
        &[],
    )
    .expect("deactivate the api key");
    assert!(
        status_becomes(port, LIVE_KEY, |s| s == 401),
        "the deactivated key was still accepted after 10 s"
    );
    drop(run);
    cleanup(&t);
    let _ = pg.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", t.prefix));
}
