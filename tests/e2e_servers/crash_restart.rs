//! Effectively exactly-once across crashes (SPEC §11, issue 4 item 7): a `--follow` run from
//! Kafka into ClickHouse and Redis is killed with SIGKILL at seeded random points while a
//! producer keeps writing, and restarted on the same consumer group each time; once the
//! producer is done, a bounded run of the same group continues from the last commit to the
//! end. An uninterrupted bounded run of another group into another target reads the same
//! messages. Both targets must then be identical — every ClickHouse row after `FINAL` (all columns but `source` and
//! `ingested_at`, versions included) and every served Redis value: nothing lost, nothing
//! doubled, no window rewritten from a subset of its ticks.
//!
//! The killed runs must have committed (periodic commits, `kafka.commit_interval_ms`) between
//! the kills, else the restarts would re-read everything and prove nothing: the test asserts
//! the group's committed offsets moved while the runs were killed. It can fail: committing the
//! judged end instead of the first record of the oldest open window makes a restart write that
//! window from a subset of its ticks (checked by hand, see docs/design.md).
//!
//! Seed: `TICKFLOW_CRASH_SEED` (default 7), printed on failure.
//!
//! The final runs are bounded (they end by themselves, and no idle timeout decides anything).
//! Found with a followed-and-drained variant (fixed in `write_sinks`): sinks were flushed only
//! when the frontier advanced *and* the flush interval had passed, so when a followed input went
//! quiet right after a flush its tail stayed in the sinks' buffers (and uncommitted) until more
//! data came — about one run in two under load never saw all its ticks in ClickHouse.

use super::{tickflow, Target};
use connectors::kafka::mock::MockBroker;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;
use tickflow_tests::compare::{
    ch_rows, cleanup, redis_con, redis_json, require_servers, served_keys, shared_target, Obj,
    TABLES,
};

const TOPIC: &str = "e2e.crash.restart.v1";
const PARTITIONS: i32 = 2;
/// Minutes of data per partition (two instruments each, one message a minute).
const MINUTES: u32 = 240;
const KILLS: usize = 4;

/// Ends the run however the test ends.
pub(super) struct Run(pub(super) Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// xorshift64*: the kill points, from the seed.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        lo + self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % (hi - lo)
    }
}

fn message(p: i32, m: u32) -> String {
    let at = format!("2024-11-03T{:02}:{:02}:00Z", 5 + m / 60, m % 60);
    format!(
        "ts,instrument_id,price\n{at},CRASH.P{p}A,{}.25\n{at},CRASH.P{p}B,{}.5\n",
        20 + m,
        40 + m % 7
    )
}

fn produce(bootstrap: &str, from: u32, to: u32, pace: Duration) {
    produce_to(bootstrap, TOPIC, PARTITIONS, from..to, pace);
}

/// Produces minutes `range` of every partition of `topic`, one minute every `pace`.
pub(super) fn produce_to(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    range: std::ops::Range<u32>,
    pace: Duration,
) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("producer");
    for m in range {
        for p in 0..partitions {
            let body = message(p, m);
            let headers = rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
                key: "format",
                value: Some("simple-csv"),
            });
            producer
                .send(
                    BaseRecord::<(), _>::to(topic)
                        .partition(p)
                        .payload(body.as_bytes())
                        .headers(headers),
                )
                .map_err(|(e, _)| e)
                .expect("produce");
        }
        producer.poll(Duration::ZERO);
        std::thread::sleep(pace);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

fn committed(bootstrap: &str, group: &str) -> Vec<i64> {
    committed_in(bootstrap, group, TOPIC, PARTITIONS)
}

/// The committed offsets of `group` for every partition of `topic` (-1: none).
pub(super) fn committed_in(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let settings = connectors::kafka::KafkaSettings {
        bootstrap: bootstrap.into(),
        consumer_group: group.into(),
        ..Default::default()
    };
    connectors::kafka::committed_offsets(&settings, topic, partitions)
        .expect("committed offsets")
        .into_iter()
        .map(|o| o.unwrap_or(-1))
        .collect()
}

fn command(t: &Target, bootstrap: &str, group: &str, dir: &Path) -> std::process::Command {
    let mut c = tickflow(t, bootstrap, dir);
    c.args(["run", "--input", &format!("kafka:{TOPIC}")])
        .args(["--output", "clickhouse", "--output", "redis", "-w", "2"])
        .env("DATA_PROC_CONSUMER_GROUP", group)
        .env("DATA_PROC_AGGREGATION_BAR_INTERVALS", "5m,1h")
        .env("DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", "0")
        .env("DATA_PROC_AGGREGATION_MAX_LATE_MS", "0")
        .env("DATA_PROC_OUTPUT_FLUSH_INTERVAL_MS", "100")
        // Periodic flushes insert into ClickHouse at once (default: at most every 2 s).
        .env("DATA_PROC_CLICKHOUSE_INSERT_INTERVAL_MS", "100")
        .env("DATA_PROC_KAFKA_COMMIT_INTERVAL_MS", "200")
        .env(
            "RUST_LOG",
            std::env::var("TICKFLOW_CRASH_LOG").unwrap_or_else(|_| "info".into()),
        );
    c
}

/// A followed run, killed when dropped.
fn follow(t: &Target, bootstrap: &str, group: &str, dir: &Path, log: &str) -> Run {
    let out = std::fs::File::create(dir.join(log)).expect("log");
    let err = out.try_clone().expect("log");
    let child = command(t, bootstrap, group, dir)
        .arg("--follow")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn tickflow");
    Run(child)
}

/// A bounded run of `group` to the end of the topic.
fn bounded(t: &Target, bootstrap: &str, group: &str, dir: &Path) {
    let o = command(t, bootstrap, group, dir)
        .output()
        .expect("run tickflow");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "bounded run of {group} failed:\n{text}");
}

/// The target's state: table → key → row (without `source`, `ingested_at*`); Redis served
/// key (prefix removed) → value.
pub(super) fn state(t: &Target) -> BTreeMap<String, BTreeMap<String, Obj>> {
    let mut all = BTreeMap::new();
    for (table, _) in &TABLES {
        let rows = ch_rows(t, table)
            .into_iter()
            .map(|mut r| {
                r.retain(|k, _| k != "source" && !k.starts_with("ingested_at"));
                (tickflow_tests::compare::key_of(table, &r), r)
            })
            .collect();
        all.insert(table.to_string(), rows);
    }
    let mut con = redis_con(t);
    let mut served = BTreeMap::new();
    for k in served_keys(&mut con, &t.prefix) {
        let mut v = redis_json(&mut con, &k).unwrap_or_default();
        v.retain(|k, _| k != "source" && !k.starts_with("ingested_at"));
        served.insert(k[t.prefix.len()..].to_string(), v);
    }
    all.insert("redis".into(), served);
    all
}

#[test]
fn sigkill_at_random_points_and_restarts_end_identical_to_an_uninterrupted_run() {
    let seed = crash_seed();
    let crashed = shared_target("tf_crash");
    let reference = shared_target("tf_crash_ref");
    require_servers(&crashed);
    let (_broker, bootstrap) = broker_with(TOPIC, PARTITIONS);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();

    // The producer writes for ~12 s while the runs are killed and restarted.
    let producer = {
        let b = bootstrap.clone();
        std::thread::spawn(move || produce(&b, 0, MINUTES, Duration::from_millis(50)))
    };
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut commits = vec![committed(&bootstrap, "crash")];
    for k in 0..KILLS {
        let log = format!("crash-{k}.log");
        let run = follow(&crashed, &bootstrap, "crash", dir, &log);
        std::thread::sleep(Duration::from_millis(rng.next_ms(1_500, 4_000)));
        drop(run); // SIGKILL
        commits.push(committed(&bootstrap, "crash"));
    }
    producer.join().expect("producer");
    bounded(&crashed, &bootstrap, "crash", dir);
    assert_eq!(
        committed(&bootstrap, "crash"),
        vec![i64::from(MINUTES); PARTITIONS as usize],
        "the bounded run commits the end"
    );
    // The uninterrupted run, of its own group, into its own target.
    bounded(&reference, &bootstrap, "whole", dir);

    let context = format!("seed {seed}, committed offsets after each kill: {commits:?}");
    eprintln!("{context}");
    assert_resumed_mid_stream(&commits, MINUTES, &context);

    let got = state(&crashed);
    let want = state(&reference);
    assert!(want["market_ticks"].len() == 2 * PARTITIONS as usize * MINUTES as usize);
    assert!(!want["ohlc_bars"].is_empty() && !want["redis"].is_empty());
    assert_same_state(&got, &want, &context);
    cleanup(&crashed);
    cleanup(&reference);
}

/// The killed runs committed, and not only at the start (restarts resumed mid-stream), but
/// not everything either (the last restart had something left to re-derive): `commits` are
/// the committed offsets after each kill, `end` the offset every partition ends at.
pub(super) fn assert_resumed_mid_stream(commits: &[Vec<i64>], end: u32, context: &str) {
    let moved = commits
        .windows(2)
        .filter(|w| w[1].iter().zip(&w[0]).any(|(a, b)| a > b))
        .count();
    assert!(moved >= 1, "no periodic commit between kills: {context}");
    assert!(
        commits
            .last()
            .is_some_and(|c| c.iter().all(|o| *o < i64::from(end))),
        "the killed runs committed everything: nothing left to re-derive ({context})"
    );
}

/// Every row and served value of `want` is in `got`, equal, and `got` has nothing more.
pub(super) fn assert_same_state(
    got: &BTreeMap<String, BTreeMap<String, Obj>>,
    want: &BTreeMap<String, BTreeMap<String, Obj>>,
    context: &str,
) {
    for (what, rows) in want {
        let other = &got[what];
        for (key, row) in rows {
            match other.get(key) {
                None => panic!("{what} {key}: lost ({context})"),
                Some(o) => assert_eq!(
                    Value::Object(o.clone()),
                    Value::Object(row.clone()),
                    "{what} {key} differs ({context})"
                ),
            }
        }
        let extra: Vec<&String> = other.keys().filter(|k| !rows.contains_key(*k)).collect();
        assert!(extra.is_empty(), "{what}: extra rows {extra:?} ({context})");
    }
}

/// The seed of the kill points: `TICKFLOW_CRASH_SEED`, default 7.
pub(super) fn crash_seed() -> u64 {
    std::env::var("TICKFLOW_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
}

/// A mock cluster with `topic` of `partitions` partitions, and its bootstrap address (the
/// broker lives as long as the returned handle).
pub(super) fn broker_with(topic: &str, partitions: i32) -> (MockBroker, String) {
    let broker = MockBroker::start(1).expect("mock cluster");
    broker.create_topic(topic, partitions).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_string();
    (broker, bootstrap)
}
