//! Reading ClickHouse rows, `dir:` records and served Redis values, and comparing them field by
//! field as the `dir:` renders them (shared by `server_sinks` and `e2e_servers`). Also where a
//! test writes ([`Target`]: its own ClickHouse database and Redis key prefix), the reachability
//! check that fails a test with a clear message, and the cleanup of a target.

use operators::model::render;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

pub type Obj = Map<String, Value>;

/// Where a test writes: a ClickHouse database and a Redis key prefix.
pub struct Target {
    pub ch_url: String,
    pub db: String,
    pub redis_url: String,
    pub prefix: String,
}

pub fn ch_rows(t: &Target, table: &str) -> Vec<Obj> {
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

pub fn dir_records(dir: &Path, stem: &str) -> Vec<Obj> {
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

pub fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Equal as the `dir:` renders them: numbers to 6 decimals, booleans as 0/1, times via `_ms`.
pub fn same(dir: &Value, other: &Value) -> bool {
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

pub fn time_ms(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(operators::model::render::parse_rfc3339_ms)
}

/// Compares every field of a `dir:` record with the ClickHouse row (times by their `_ms`).
pub fn compare_row(what: &str, dir: &Obj, ch: &Obj) -> Result<(), String> {
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

pub fn key_of(table: &str, o: &Obj) -> String {
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

pub const TABLES: [(&str, &str); 5] = [
    ("market_ticks", "ticks"),
    ("ohlc_bars", "bars"),
    ("latest_prices", "latest"),
    ("curve_points", "curves"),
    ("dead_letters", "dead_letters"),
];

pub fn assert_clickhouse_equals_dir(t: &Target, out: &Path) {
    assert_tables_equal_dir(t, out, &TABLES);
}

/// [`assert_clickhouse_equals_dir`] for some of the tables.
pub fn assert_tables_equal_dir(t: &Target, out: &Path, tables: &[(&str, &str)]) {
    assert_tables_equal_dir_where(t, out, tables, &|_| true);
}

/// [`assert_tables_equal_dir`] over the ClickHouse rows `keep` accepts.
pub fn assert_tables_equal_dir_where(
    t: &Target,
    out: &Path,
    tables: &[(&str, &str)],
    keep: &dyn Fn(&Obj) -> bool,
) {
    for &(table, stem) in tables {
        let dir = dir_records(out, stem);
        let ch: BTreeMap<String, Obj> = ch_rows(t, table)
            .into_iter()
            .filter(|r| keep(r))
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

pub fn count(t: &Target, table: &str) -> u64 {
    let sql = format!("SELECT count() FROM {}.{table}", t.db);
    ureq::post(&format!("{}/", t.ch_url))
        .send_string(&sql)
        .ok()
        .and_then(|r| r.into_string().ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

pub fn redis_con(t: &Target) -> redis::Connection {
    redis::Client::open(t.redis_url.as_str())
        .and_then(|c| c.get_connection())
        .expect("redis")
}

pub fn redis_json(con: &mut redis::Connection, key: &str) -> Option<Obj> {
    let v: Option<String> = redis::cmd("GET").arg(key).query(con).expect("GET");
    v.map(|s| serde_json::from_str(&s).expect("served JSON"))
}

/// Served values of the final state: key → JSON, derived from the `dir:` files.
pub fn expected_redis(t: &Target, out: &Path) -> BTreeMap<String, Obj> {
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

pub fn served_keys(con: &mut redis::Connection, prefix: &str) -> Vec<String> {
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

pub fn assert_redis_equals_dir(t: &Target, out: &Path) -> BTreeMap<String, Obj> {
    assert_redis_equals_dir_where(t, out, &|_| true)
}

/// [`assert_redis_equals_dir`] over the served keys `keep` accepts.
pub fn assert_redis_equals_dir_where(
    t: &Target,
    out: &Path,
    keep: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, Obj> {
    let mut want = expected_redis(t, out);
    want.retain(|k, _| keep(k));
    let mut con = redis_con(t);
    let mut served = served_keys(&mut con, &t.prefix);
    served.retain(|k| keep(k));
    assert_eq!(
        served,
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

/// A name unique to this process and moment (`{prefix}_{pid}_{nanos}`).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000)
        .unwrap_or(0);
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// A target on the shared servers with its own database and key prefix.
pub fn shared_target(prefix: &str) -> Target {
    Target {
        ch_url: crate::servers::clickhouse_url(),
        db: unique(prefix),
        redis_url: crate::servers::redis_url(),
        prefix: unique(prefix),
    }
}

/// Fails (clearly) when ClickHouse or Redis of `t` is unreachable.
pub fn require_servers(t: &Target) {
    let ok = ureq::get(&format!("{}/ping", t.ch_url)).call().is_ok();
    assert!(ok, "ClickHouse is not reachable at {}: run `scripts/services.sh up` or set TICKFLOW_TEST_CLICKHOUSE_URL", t.ch_url);
    let r = redis::Client::open(t.redis_url.as_str())
        .and_then(|c| c.get_connection_with_timeout(std::time::Duration::from_secs(3)));
    assert!(
        r.is_ok(),
        "Redis is not reachable at {}: run `scripts/services.sh up` or set TICKFLOW_TEST_REDIS_URL",
        t.redis_url
    );
}

/// Drops the target's database and deletes its keys.
pub fn cleanup(t: &Target) {
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
