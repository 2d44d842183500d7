//! A ClickHouse stop/start and a Redis restart during a `tickflow run --follow` (issue 4 item 7),
//! against private servers this test owns (never the shared ones).
//!
//! The followed topics hold the bundled samples and generated simple-CSV documents; more
//! documents (300k ticks) are produced while both servers are down. The job must wait (still
//! running, retries logged), keep its memory bounded (RSS growth during the outage well below
//! what buffering the outage's rows would take) and lose nothing: once the servers are back and
//! everything arrived, SIGTERM drains the run, and ClickHouse (`FINAL WHERE NOT deleted`) and the
//! served Redis keys equal the `dir:` output the same process wrote (a file sink the outage does
//! not touch), field by field. Windows still open at the drain are the one allowed difference:
//! `dir:` omits them, the live sinks hold their provisional bars — so ClickHouse's final bars
//! must equal the `dir:` bars, and a served bar must be the `dir:` one or a provisional bar of a
//! later window.

use super::{tickflow, tickflow_bin};
use connectors::kafka::mock::MockBroker;
use rdkafka::producer::{BaseProducer, Producer};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use tickflow_tests::compare::{
    assert_redis_equals_dir_where, assert_tables_equal_dir, assert_tables_equal_dir_where, ch_rows,
    count, dir_records, expected_redis, redis_con, redis_json, same, served_keys, time_ms, Target,
    TABLES,
};
use tickflow_tests::kafka::{produce_samples, send, settings};
use tickflow_tests::servers::{PrivateClickhouse, PrivateRedis};

const GENERATED: &str = "e2e.outage.generated.v1";
const NODES: usize = 200;
/// 2027-01-01T00:00:00Z: after every sample, so generated ticks are never late.
const GEN_START_MS: i64 = 1_798_761_600_000;

/// Kills the run however the test ends.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `docs` documents of the generated feed, `rows` ticks each, starting at tick `first`:
/// 5-minute intervals, one tick per node and interval, to partitions 0 and 1 in turn.
fn produce_generated(producer: &BaseProducer, first: usize, docs: usize, rows: usize) {
    for d in 0..docs {
        let mut csv = String::from("ts,market,run,node,price,volume,revision\n");
        for r in 0..rows {
            let k = first + d * rows + r;
            let ms = GEN_START_MS + (k / NODES) as i64 * 300_000;
            csv.push_str(&format!(
                "{},PJM,RT,GEN{:03},{}.25,1,0\n",
                rfc3339(ms),
                k % NODES,
                20 + k % 97
            ));
        }
        send(
            producer,
            GENERATED,
            (d % 2) as i32,
            csv.as_bytes(),
            Some("simple-csv"),
        );
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn alive(run: &mut Run, log_path: &Path) {
    if let Ok(Some(status)) = run.0.try_wait() {
        panic!("the followed run ended ({status}):\n{}", log(log_path));
    }
}

/// Ticks and dead letters in ClickHouse (duplicates count).
fn arrived(t: &Target) -> u64 {
    count(t, "market_ticks") + count(t, "dead_letters")
}

/// Waits until at least `n` ticks or dead letters arrived and the count is stable.
fn wait_rows(t: &Target, n: u64, run: &mut Run, log_path: &Path) {
    let started = Instant::now();
    let mut last = (0, Instant::now());
    loop {
        alive(run, log_path);
        let c = arrived(t);
        if c != last.0 {
            last = (c, Instant::now());
        } else if c >= n && last.1.elapsed() > Duration::from_millis(1_500) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{c} ticks and dead letters, expected at least {n}:\n{}",
            log(log_path)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn is_final(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || v.as_u64() == Some(1) || v.as_str() == Some("1")
}

#[test]
fn a_clickhouse_stop_start_and_a_redis_restart_during_follow_lose_nothing() {
    let _ = tickflow_bin();
    let mut redis_srv = PrivateRedis::start();
    let mut ch_srv = PrivateClickhouse::start();
    let t = Target {
        ch_url: ch_srv.url(),
        db: "data_processing".into(),
        redis_url: redis_srv.url(),
        prefix: "outage".into(),
    };
    let broker = MockBroker::start(1).expect("mock cluster");
    let mut topics = produce_samples(&broker);
    broker.create_topic(GENERATED, 2).expect("topic");
    topics.push(GENERATED.to_string());
    let producer: BaseProducer = settings(broker.bootstrap_servers())
        .producer_config()
        .create()
        .expect("producer");
    produce_generated(&producer, 0, 20, 500);

    let tmp = tempfile::tempdir().expect("tempdir");
    let log_path = tmp.path().join("run.log");
    let out = tmp.path().join("out");
    let input = format!("kafka:{}", topics.join(","));
    let child = tickflow(&t, broker.bootstrap_servers(), tmp.path())
        .env("DATA_PROC_OUTPUT_FLUSH_INTERVAL_MS", "100")
        // Periodic flushes insert into ClickHouse at once (default: at most every 2 s).
        .env("DATA_PROC_CLICKHOUSE_INSERT_INTERVAL_MS", "100")
        .env("DATA_PROC_OUTPUT_RETRY_MAX_BACKOFF_MS", "400")
        .env("DATA_PROC_AGGREGATION_IDLE_TIMEOUT_MS", "500")
        .env("DATA_PROC_LOG_LEVEL", "info")
        .args(["run", "--follow", "--input", &input, "-w", "2"])
        .args(["--output", &format!("dir:{}", out.display())])
        .args(["--output", "clickhouse", "--output", "redis"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("tickflow run --follow");
    let mut run = Run(child);
    wait_rows(&t, 10_000, &mut run, &log_path);

    // The outage: both servers down while 300k more ticks arrive on the followed topic.
    redis_srv.down();
    ch_srv.down();
    let rss_before_kb = rss_kb(run.0.id());
    let started = Instant::now();
    produce_generated(&producer, 10_000, 300, 1_000);
    let mut rss_max_kb = rss_before_kb;
    while started.elapsed() < Duration::from_secs(5) {
        alive(&mut run, &log_path);
        rss_max_kb = rss_max_kb.max(rss_kb(run.0.id()));
        std::thread::sleep(Duration::from_millis(50));
    }
    let growth_mb = rss_max_kb.saturating_sub(rss_before_kb) / 1024;
    eprintln!(
        "RSS before the outage {} MB, max during it {} MB",
        rss_before_kb / 1024,
        rss_max_kb / 1024
    );
    // Holding the outage's rows rendered would take several hundred MB.
    assert!(
        growth_mb < 150,
        "RSS grew by {growth_mb} MB during the outage"
    );
    ch_srv.up();
    redis_srv.up();
    produce_generated(&producer, 310_000, 10, 500);
    wait_rows(&t, 315_000, &mut run, &log_path);

    // Everything arrived: drain.
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(run.0.id() as i32, libc::SIGTERM) }, 0);
    let started = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = run.0.try_wait() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = log(&log_path);
    assert!(status.success(), "drain failed ({status}):\n{text}");
    assert!(
        text.contains("sink unavailable"),
        "the sinks never reported the outage:\n{text}"
    );

    // Everything the dir: sink wrote is in ClickHouse and Redis.
    assert_tables_equal_dir(&t, &out, &[TABLES[0], TABLES[2], TABLES[3]]);
    assert_tables_equal_dir_where(&t, &out, &[TABLES[1]], &|r| is_final(&r["is_final"]));
    assert_eq!(
        ch_rows(&t, "dead_letters").len(),
        dir_records(&out, "dead_letters").len(),
        "dead letters"
    );
    let want = expected_redis(&t, &out);
    let is_bar = |k: &str| k.contains(":served:bar:");
    assert_redis_equals_dir_where(&t, &out, &|k| !is_bar(k));
    let mut con = redis_con(&t);
    let mut bars = 0;
    for k in served_keys(&mut con, &t.prefix)
        .into_iter()
        .filter(|k| is_bar(k))
    {
        let got = redis_json(&mut con, &k).expect("served bar");
        match want.get(&k) {
            Some(w) if is_final(&got["is_final"]) => {
                let (a, b) = (Value::Object(w.clone()), Value::Object(got));
                assert!(same(&a, &b), "{k}: dir {a} vs redis {b}");
                bars += 1;
            }
            w => {
                assert!(
                    !is_final(&got["is_final"])
                        && w.is_none_or(
                            |w| time_ms(&w["window_start"]) < time_ms(&got["window_start"])
                        ),
                    "{k}: served {got:?}, dir {w:?}"
                )
            }
        }
    }
    assert!(bars > 0, "no served bar compared");
    assert!(
        want.keys()
            .filter(|k| is_bar(k))
            .all(|k| redis_json(&mut con, k).is_some()),
        "a dir bar is not served"
    );
    let (ticks, dead) = (
        ch_rows(&t, "market_ticks").len(),
        ch_rows(&t, "dead_letters").len(),
    );
    eprintln!("{ticks} ticks, {dead} dead letters");
    assert!(
        ticks + dead >= 315_000,
        "{ticks} ticks, {dead} dead letters"
    );
    assert_redis_equals_dir_where(&t, &out, &|k| {
        !(k.contains(":served:bar:") && k.contains("PUSHER"))
    });
}
