//! End to end into real servers: the bundled samples (plus malformed records, for dead
//! letters) through the pipeline into ClickHouse, Redis and `dir:` at once. ClickHouse
//! `FINAL WHERE NOT deleted` and the served Redis keys must equal the `dir:` files field by
//! field (all fields but `source` and `ingested_at`); a second run of the same input changes
//! nothing and publishes nothing; and a Redis restart plus a ClickHouse stop/start in the
//! middle of a run end with the same complete state. Servers: the shared test servers
//! (`TICKFLOW_TEST_CLICKHOUSE_URL`, `TICKFLOW_TEST_REDIS_URL`; the tests fail when they are
//! unreachable) and, for the outage test, private servers it owns.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tickflow::runtime::{run, RunOptions};
use tickflow::spec::{parse_input, OutputSpec};
use tickflow_tests::repo_root;
use tickflow_tests::servers::{clickhouse_url, redis_url, PrivateClickhouse, PrivateRedis};

use tickflow_tests::compare::{
    assert_clickhouse_equals_dir, assert_redis_equals_dir, cleanup, count, require_servers, same,
    unique, Obj, Target,
};

fn run_all(t: &Target, inputs: &[String], out: &Path, batch_rows: usize, flush_ms: u64) {
    let reference =
        tickflow::cli::reference_rows(&format!("dir:{}", repo_root().join("reference").display()))
            .expect("bundled reference data loads");
    let mut opts = RunOptions {
        workers: 2,
        batch_max_bytes: 64 * 1024,
        ..RunOptions::default()
    };
    opts.normalize.reference = reference;
    for i in inputs {
        opts.inputs.push(parse_input(i).expect("input"));
    }
    let dir = connectors::dir::DirConfig::parse(&out.display().to_string(), false).expect("dir");
    opts.outputs = vec![
        OutputSpec::Dir(dir),
        OutputSpec::Clickhouse,
        OutputSpec::Redis,
    ];
    opts.sinks.clickhouse.url = t.ch_url.clone();
    opts.sinks.clickhouse.database = t.db.clone();
    opts.sinks.clickhouse.batch_max_rows = batch_rows;
    opts.sinks.redis.url = t.redis_url.clone();
    opts.sinks.redis.key_prefix = format!("{}:", t.prefix);
    opts.sinks.redis.batch_max_keys = batch_rows;
    opts.sinks.flush_interval_ms = flush_ms;
    opts.sinks.retry_max_backoff_ms = 400;
    let report = run(opts).expect("run").expect("report");
    assert!(
        report.total.sink_errors.is_empty(),
        "{:?}",
        report.total.sink_errors
    );
}

fn sample_inputs() -> Vec<String> {
    vec![
        format!("dir:{}", repo_root().join("samples").display()),
        "generator:mode=malformed,count=300,seed=7".into(),
    ]
}

fn subscribe(t: &Target) -> mpsc::Receiver<Obj> {
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (url, prefix) = (t.redis_url.clone(), format!("{}:", t.prefix));
    std::thread::spawn(move || {
        let mut con = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection())
            .expect("redis");
        let mut sub = con.as_pubsub();
        sub.subscribe("projection.updates").expect("subscribe");
        let _ = ready_tx.send(());
        while let Ok(m) = sub.get_message() {
            let payload: String = m.get_payload().expect("payload");
            let v: Obj = serde_json::from_str(&payload).expect("message JSON");
            if v["key"].as_str().is_some_and(|k| k.starts_with(&prefix)) && tx.send(v).is_err() {
                break;
            }
        }
    });
    ready_rx.recv().expect("subscribed");
    rx
}

fn drain(rx: &mpsc::Receiver<Obj>) -> Vec<Obj> {
    let mut v = Vec::new();
    while let Ok(m) = rx.recv_timeout(Duration::from_millis(500)) {
        v.push(m);
    }
    v
}

#[test]
fn samples_into_clickhouse_and_redis_equal_the_dir_output_and_rerun_changes_nothing() {
    let t = Target {
        ch_url: clickhouse_url(),
        db: unique("tf_e2e"),
        redis_url: redis_url(),
        prefix: unique("tf_e2e"),
    };
    require_servers(&t);
    let updates = subscribe(&t);
    let out = tempfile::tempdir().expect("tempdir");
    run_all(&t, &sample_inputs(), out.path(), 10_000, 1_000);
    assert_clickhouse_equals_dir(&t, out.path());
    let served = assert_redis_equals_dir(&t, out.path());
    // Every served key was published, and its last message carries its final value.
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    for m in drain(&updates) {
        last.insert(
            m["key"].as_str().unwrap_or_default().to_string(),
            m["value"].clone(),
        );
    }
    assert_eq!(
        last.keys().collect::<Vec<_>>(),
        served.keys().collect::<Vec<_>>(),
        "published keys"
    );
    for (k, v) in &served {
        assert!(
            same(&Value::Object(v.clone()), &last[k]),
            "last message of {k}"
        );
    }
    // Re-delivery: the same input again changes no row and publishes nothing.
    let out2 = tempfile::tempdir().expect("tempdir");
    run_all(&t, &sample_inputs(), out2.path(), 10_000, 1_000);
    assert_clickhouse_equals_dir(&t, out.path());
    assert_redis_equals_dir(&t, out.path());
    let again = drain(&updates);
    assert!(
        again.is_empty(),
        "re-delivery published {} changes, e.g. {:?}",
        again.len(),
        again.first()
    );
    cleanup(&t);
}

#[test]
fn a_redis_restart_and_a_clickhouse_stop_start_mid_run_lose_nothing() {
    let mut redis_srv = PrivateRedis::start();
    let mut ch_srv = PrivateClickhouse::start();
    let t = Target {
        ch_url: ch_srv.url(),
        db: "data_processing".into(),
        redis_url: redis_srv.url(),
        prefix: "outage".into(),
    };
    let inputs = vec![
        "generator:mode=batch,count=60000,seed=11".to_string(),
        format!("dir:{}", repo_root().join("samples").display()),
        "generator:mode=malformed,count=200,seed=3".into(),
    ];
    let out = tempfile::tempdir().expect("tempdir");
    let retries_before = tickflow::graph::retries_total();
    let (done_tx, done_rx) = mpsc::channel();
    let (t2, out_path) = (
        Target {
            ch_url: t.ch_url.clone(),
            db: t.db.clone(),
            redis_url: t.redis_url.clone(),
            prefix: t.prefix.clone(),
        },
        out.path().to_path_buf(),
    );
    let runner = std::thread::spawn(move || {
        run_all(&t2, &inputs, &out_path, 500, 20);
        let _ = done_tx.send(());
    });
    // The outage starts once rows are arriving.
    let started = std::time::Instant::now();
    while count(&t, "market_ticks") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no row arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        done_rx.try_recv().is_err(),
        "the run ended before the outage: make the input larger"
    );
    redis_srv.down();
    ch_srv.down();
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        done_rx.try_recv().is_err(),
        "the run ended while the servers were down"
    );
    redis_srv.up();
    ch_srv.up();
    runner.join().expect("run thread");
    assert!(
        tickflow::graph::retries_total() > retries_before,
        "the sinks never reported Unavailable"
    );
    assert_clickhouse_equals_dir(&t, out.path());
    assert_redis_equals_dir(&t, out.path());
}
