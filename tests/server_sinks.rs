//! End to end into real servers: the bundled samples (plus malformed records, for dead
//! letters) through the pipeline into ClickHouse, Redis and `dir:` at once. ClickHouse
//! `FINAL WHERE NOT deleted` and the served Redis keys must equal the `dir:` files field by
//! field (all fields but `source` and `ingested_at`); a second run of the same input changes
//! nothing and publishes nothing; and a Redis restart plus a ClickHouse stop/start in the
//! middle of a run end with the same complete state. Servers: the shared test servers
//! (`TICKFLOW_TEST_CLICKHOUSE_URL`, `TICKFLOW_TEST_REDIS_URL`; the tests fail when they are
//! unreachable) and, for the outage test, private servers it owns.

use operators::model::render;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tickflow::runtime::{run, RunOptions};
use tickflow::spec::{parse_input, OutputSpec};
use tickflow_tests::repo_root;
use tickflow_tests::servers::{clickhouse_url, redis_url, PrivateClickhouse, PrivateRedis};

type Obj = Map<String, Value>;

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000)
        .unwrap_or(0);
    format!("{prefix}_{}_{nanos}", std::process::id())
}

struct Target {
    ch_url: String,
    db: String,
    redis_url: String,
    prefix: String,
}

fn require_servers(t: &Target) {
    let ok = ureq::get(&format!("{}/ping", t.ch_url)).call().is_ok();
    assert!(ok, "ClickHouse is not reachable at {}: run `scripts/services.sh up` or set TICKFLOW_TEST_CLICKHOUSE_URL", t.ch_url);
    let r = redis::Client::open(t.redis_url.as_str())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(3)));
    assert!(
        r.is_ok(),
        "Redis is not reachable at {}: run `scripts/services.sh up` or set TICKFLOW_TEST_REDIS_URL",
        t.redis_url
    );
}

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

// ---- reading both sides ----------------------------------------------------------------

fn ch_rows(t: &Target, table: &str) -> Vec<Obj> {
    let sql = format!(
        "SELECT * FROM {}.{table} FINAL WHERE NOT deleted FORMAT JSONEachRow",
        t.db
    );
    let mut body = String::new();
    std::io::Read::read_to_string(
        &mut ureq::post(&format!("{}/", t.ch_url))
            .send_string(&sql)
            .expect("select")
            .into_reader(),
        &mut body,
    )
    .expect("body");
    body.lines()
        .map(|l| serde_json::from_str::<Obj>(l).expect("row"))
        .collect()
}

fn dir_records(dir: &Path, stem: &str) -> Vec<Obj> {
    let jsonl = dir.join(format!("{stem}.jsonl"));
    if jsonl.exists() {
        let text = std::fs::read_to_string(jsonl).expect("read");
        return text
            .lines()
            .map(|l| serde_json::from_str::<Obj>(l).expect("json"))
            .collect();
    }
    let mut r = csv::Reader::from_path(dir.join(format!("{stem}.csv"))).expect("csv");
    let headers = r.headers().expect("header").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| {
                    let v = match (h, v) {
                        (_, "") if h != "quality_flags" => Value::Null,
                        ("quality_flags", s) => Value::Array(
                            s.split(';')
                                .filter(|x| !x.is_empty())
                                .map(Value::from)
                                .collect(),
                        ),
                        (_, "true") => Value::Bool(true),
                        (_, "false") => Value::Bool(false),
                        (_, s) => s
                            .parse::<f64>()
                            .map(Value::from)
                            .unwrap_or_else(|_| Value::from(s)),
                    };
                    (h.to_string(), v)
                })
                .collect()
        })
        .collect()
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Equal as the `dir:` renders them: numbers to 6 decimals, booleans as 0/1, times via `_ms`.
fn same(dir: &Value, other: &Value) -> bool {
    match (dir, other) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(b), o) => o.as_bool() == Some(*b) || num(o) == Some(f64::from(u8::from(*b))),
        (Value::Number(_), o) => match (num(dir), num(o)) {
            (Some(a), Some(b)) => render::num(a) == render::num(b),
            _ => false,
        },
        (Value::String(a), Value::String(b)) => a == b,
        (Value::String(a), o) => num(o).is_some_and(|b| a.parse::<f64>().ok() == Some(b)),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

fn time_ms(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(operators::model::render::parse_rfc3339_ms)
}

/// Compares every field of a `dir:` record with the ClickHouse row (times by their `_ms`).
fn compare_row(what: &str, dir: &Obj, ch: &Obj) -> Result<(), String> {
    for (k, v) in dir {
        if k == "source" || k == "ingested_at" || k == "raw_truncated" && v == &Value::Bool(false) {
            continue;
        }
        let ok = match ch.get(&format!("{k}_ms")) {
            Some(ms) => time_ms(v).is_some() && num(ms).map(|x| x as i64) == time_ms(v),
            None => ch.get(k).is_some_and(|c| same(v, c)),
        };
        if !ok {
            return Err(format!(
                "{what}: field {k}: dir {v} vs clickhouse {:?}",
                ch.get(k)
            ));
        }
    }
    Ok(())
}

fn key_of(table: &str, o: &Obj) -> String {
    let f = |k: &str| match o.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    };
    let t = |k: &str| {
        o.get(&format!("{k}_ms"))
            .and_then(num)
            .map(|x| x as i64)
            .or_else(|| o.get(k).and_then(time_ms))
            .unwrap_or_default()
    };
    match table {
        "market_ticks" => f("tick_id"),
        "ohlc_bars" => f("bar_id"),
        "latest_prices" => format!("{}|{}", f("tenant_id"), f("instrument_id")),
        "curve_points" => format!(
            "{}|{}|{}|{}",
            f("tenant_id"),
            f("curve_id"),
            t("delivery_start"),
            f("tenor")
        ),
        _ => f("event_id"),
    }
}

const TABLES: [(&str, &str); 5] = [
    ("market_ticks", "ticks"),
    ("ohlc_bars", "bars"),
    ("latest_prices", "latest"),
    ("curve_points", "curves"),
    ("dead_letters", "dead_letters"),
];

fn assert_clickhouse_equals_dir(t: &Target, out: &Path) {
    for (table, stem) in TABLES {
        let dir = dir_records(out, stem);
        let ch: BTreeMap<String, Obj> = ch_rows(t, table)
            .into_iter()
            .map(|r| (key_of(table, &r), r))
            .collect();
        assert_eq!(
            ch.len(),
            dir.len(),
            "{table}: rows after FINAL vs {stem} lines"
        );
        assert!(
            !dir.is_empty(),
            "{stem} is empty: the comparison would prove nothing"
        );
        for d in &dir {
            let k = key_of(table, d);
            let row = ch
                .get(&k)
                .unwrap_or_else(|| panic!("{table}: no row for {k}"));
            compare_row(table, d, row).unwrap();
        }
    }
}

fn count(t: &Target, table: &str) -> u64 {
    let sql = format!("SELECT count() FROM {}.{table}", t.db);
    ureq::post(&format!("{}/", t.ch_url))
        .send_string(&sql)
        .ok()
        .and_then(|r| r.into_string().ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn redis_con(t: &Target) -> redis::Connection {
    redis::Client::open(t.redis_url.as_str())
        .and_then(|c| c.get_connection())
        .expect("redis")
}

fn redis_json(con: &mut redis::Connection, key: &str) -> Option<Obj> {
    let v: Option<String> = redis::cmd("GET").arg(key).query(con).expect("GET");
    v.map(|s| serde_json::from_str(&s).expect("served JSON"))
}

/// Served values of the final state: key → JSON, derived from the `dir:` files.
fn expected_redis(t: &Target, out: &Path) -> BTreeMap<String, Obj> {
    let p = &t.prefix;
    let s = |o: &Obj, k: &str| {
        o[k].as_str()
            .map(str::to_string)
            .unwrap_or_else(|| o[k].to_string())
    };
    let mut want = BTreeMap::new();
    for l in dir_records(out, "latest") {
        want.insert(
            format!(
                "{p}:served:latest_price:{}:{}",
                s(&l, "tenant_id"),
                s(&l, "instrument_id")
            ),
            l,
        );
    }
    let mut last: BTreeMap<String, Obj> = BTreeMap::new();
    for b in dir_records(out, "bars") {
        let k = format!(
            "{p}:served:bar:{}:{}:{}",
            s(&b, "tenant_id"),
            s(&b, "instrument_id"),
            s(&b, "interval")
        );
        let newer = last
            .get(&k)
            .is_none_or(|o| time_ms(&o["window_start"]) < time_ms(&b["window_start"]));
        if newer {
            last.insert(k, b);
        }
    }
    want.extend(last);
    let mut curves: BTreeMap<String, Vec<Obj>> = BTreeMap::new();
    for c in dir_records(out, "curves") {
        curves
            .entry(format!(
                "{p}:served:curve_snapshot:{}:{}",
                s(&c, "tenant_id"),
                s(&c, "curve_id")
            ))
            .or_default()
            .push(c);
    }
    for (k, mut points) in curves {
        points.sort_by_key(|o| (time_ms(&o["delivery_start"]), s(o, "tenor")));
        let mut snap = Obj::new();
        snap.insert("tenant_id".into(), points[0]["tenant_id"].clone());
        snap.insert("curve_id".into(), points[0]["curve_id"].clone());
        snap.insert(
            "points".into(),
            Value::Array(points.into_iter().map(Value::Object).collect()),
        );
        want.insert(k, snap);
    }
    want
}

fn served_keys(con: &mut redis::Connection, prefix: &str) -> Vec<String> {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:served:*"))
        .query(con)
        .expect("KEYS");
    let mut v: Vec<String> = keys
        .into_iter()
        .filter(|k| {
            !k.ends_with(":version") && !k.ends_with(":points") && !k.ends_with(":point_versions")
        })
        .collect();
    v.sort();
    v
}

fn assert_redis_equals_dir(t: &Target, out: &Path) -> BTreeMap<String, Obj> {
    let want = expected_redis(t, out);
    let mut con = redis_con(t);
    assert_eq!(
        served_keys(&mut con, &t.prefix),
        want.keys().cloned().collect::<Vec<_>>(),
        "served keys"
    );
    for (k, w) in &want {
        let got = redis_json(&mut con, k).unwrap_or_else(|| panic!("{k} missing"));
        let (a, b) = (Value::Object(w.clone()), Value::Object(got));
        assert!(same(&a, &b), "{k}: dir {a} vs redis {b}");
    }
    want
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

fn cleanup(t: &Target) {
    let _ = ureq::post(&format!("{}/", t.ch_url))
        .send_string(&format!("DROP DATABASE IF EXISTS {}", t.db));
    if let Ok(mut con) = redis::Client::open(t.redis_url.as_str()).and_then(|c| c.get_connection())
    {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", t.prefix))
            .query(&mut con)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut con);
        }
    }
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
