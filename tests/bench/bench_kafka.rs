//! `tickflow-bench-kafka`: the Kafka side of `scripts/bench_servers.sh` (librdkafka's mock
//! cluster in this process, reached over loopback by the `tickflow run` under test).
//!
//! - `preload TOPIC TICKS PARTITIONS`: creates the topic, produces `TICKS` simple-CSV ticks as
//!   documents of 1,000 rows (header `format: simple-csv`) dealt over the partitions, prints the
//!   bootstrap servers, and keeps the broker up until standard input closes.
//! - `latency TOPIC RATE SECONDS REDIS_URL KEY_PREFIX`: creates the topic, prints the bootstrap
//!   servers, waits for a line on standard input (the pipeline is up), subscribes to Redis
//!   `projection.updates`, then produces `RATE` ticks/s for `SECONDS` (a 1-row-per-tick
//!   simple-CSV document every 10 ms whose ticks' event time `ts` is the wall-clock ms of
//!   producing them), and prints p50/p95/p99/max of (receive time of a `latest_price` update −
//!   its `ts`): produce-to-visible-in-Redis latency (both clocks are this machine's).
//!
//! Exits 2 on bad arguments, 1 on a broker or Redis error.

use connectors::kafka::mock::MockBroker;
use rdkafka::producer::{BaseProducer, Producer};
use std::io::BufRead;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tickflow_tests::kafka::{send, settings};

const NODES: usize = 200;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn document(rows: impl Iterator<Item = (i64, usize, f64)>) -> String {
    let mut csv = String::from("ts,market,run,node,price,volume,revision\n");
    for (ms, node, price) in rows {
        csv.push_str(&format!(
            "{},PJM,RT,BENCH{node:03},{price:.2},1,0\n",
            rfc3339(ms)
        ));
    }
    csv
}

fn wait_stdin_line() {
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}

fn preload(broker: &MockBroker, topic: &str, ticks: u64, partitions: i32) -> Result<(), String> {
    let producer: BaseProducer = settings(broker.bootstrap_servers())
        .producer_config()
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .map_err(|e| e.to_string())?;
    let base_ms = 1_751_328_000_000i64; // 2025-07-01T00:00:00Z
    let mut produced = 0u64;
    let mut doc_no = 0u64;
    while produced < ticks {
        let n = (ticks - produced).min(1_000);
        let rows = (0..n).map(|i| {
            let k = produced + i;
            let ms = base_ms + (k / NODES as u64) as i64 * 1_000;
            (
                ms,
                (k % NODES as u64) as usize,
                20.0 + (k % 977) as f64 / 10.0,
            )
        });
        let p = (doc_no % partitions as u64) as i32;
        send(
            &producer,
            topic,
            p,
            document(rows).as_bytes(),
            Some("simple-csv"),
        );
        producer.poll(Duration::ZERO);
        produced += n;
        doc_no += 1;
    }
    producer
        .flush(Duration::from_secs(120))
        .map_err(|e| e.to_string())
}

fn latency(
    broker: &MockBroker,
    topic: &str,
    rate: u64,
    seconds: u64,
    redis_url: &str,
    prefix: &str,
) -> Result<(), String> {
    let producer: BaseProducer = settings(broker.bootstrap_servers())
        .producer_config()
        .set("linger.ms", "0")
        .create()
        .map_err(|e| e.to_string())?;
    let (tx, rx) = std::sync::mpsc::channel::<(i64, i64)>();
    let mut con = redis::Client::open(redis_url)
        .and_then(|c| c.get_connection())
        .map_err(|e| e.to_string())?;
    let prefix = prefix.to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sub = con.as_pubsub();
        if sub.subscribe("projection.updates").is_err() {
            return;
        }
        let _ = ready_tx.send(());
        while let Ok(m) = sub.get_message() {
            let received = now_ms();
            let Ok(payload) = m.get_payload::<String>() else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&payload) else {
                continue;
            };
            let key = v["key"].as_str().unwrap_or_default();
            if !key.starts_with(&prefix) || !key.contains(":latest_price:") {
                continue;
            }
            let ts = v["value"]["ts"]
                .as_str()
                .or_else(|| v["value"]["interval_start"].as_str())
                .and_then(|s| s.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond());
            if let Some(ts) = ts {
                if tx.send((received, received - ts)).is_err() {
                    break;
                }
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "cannot subscribe to projection.updates".to_string())?;
    let per_tick_ms = 10u64;
    let per_doc = (rate * per_tick_ms / 1_000).max(1) as usize;
    // LATENCY_WARMUP_S (default 2): produced first and not counted — the first second of a
    // run includes the consumer finding the new data (see BENCHMARKS.md); 0 counts everything.
    let warmup_s: u64 = std::env::var("LATENCY_WARMUP_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let counted_from_ms = now_ms() + (warmup_s * 1_000) as i64;
    let start = Instant::now();
    let mut k = 0usize;
    let mut doc_no = 0u64;
    while start.elapsed() < Duration::from_secs(seconds + warmup_s) {
        let ms = now_ms();
        let rows =
            (0..per_doc).map(|i| (ms, (k + i) % NODES, 20.0 + ((k + i) % 977) as f64 / 10.0));
        send(
            &producer,
            topic,
            0,
            document(rows).as_bytes(),
            Some("simple-csv"),
        );
        producer.poll(Duration::ZERO);
        k += per_doc;
        doc_no += 1;
        let next = Duration::from_millis(doc_no * per_tick_ms);
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let _ = producer.flush(Duration::from_secs(30));
    let sent_s = start.elapsed().as_secs_f64();
    // Updates still in flight get 5 s to arrive.
    let mut lat: Vec<i64> = Vec::new();
    let mut trace = String::new();
    while let Ok((received, l)) = rx.recv_timeout(Duration::from_secs(5)) {
        if received - l < counted_from_ms {
            continue; // produced during the warm-up
        }
        lat.push(l);
        trace.push_str(&format!("{received} {l}\n"));
    }
    // LATENCY_TRACE=FILE: every update's receive time (epoch ms) and latency, to see when
    // the slow ones happen.
    if let Ok(path) = std::env::var("LATENCY_TRACE") {
        std::fs::write(&path, trace).map_err(|e| format!("{path}: {e}"))?;
    }
    if lat.is_empty() {
        return Err("no latest_price update arrived in Redis".into());
    }
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];
    println!(
        "produced {k} ticks in {sent_s:.1} s ({:.0} ticks/s); {} latest_price updates \
         after a {warmup_s} s warm-up; produce-to-Redis latency ms: p50 {} p95 {} p99 {} max {}",
        k as f64 / sent_s,
        lat.len(),
        q(0.5),
        q(0.95),
        q(0.99),
        lat[lat.len() - 1]
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: tickflow-bench-kafka preload TOPIC TICKS PARTITIONS | \
                 latency TOPIC RATE SECONDS REDIS_URL KEY_PREFIX";
    let broker = match MockBroker::start(1) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: mock cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("preload"), Some(topic)) => match (num(2), num(3)) {
            (Some(ticks), Some(parts)) if parts > 0 => broker
                .create_topic(topic, parts as i32)
                .map_err(|e| e.to_string())
                .and_then(|_| preload(&broker, topic, ticks, parts as i32))
                .map(|_| {
                    println!("{}", broker.bootstrap_servers());
                    wait_stdin_line();
                }),
            _ => Err(usage.into()),
        },
        (Some("latency"), Some(topic)) => match (num(2), num(3), args.get(4), args.get(5)) {
            (Some(rate), Some(secs), Some(url), Some(prefix)) => broker
                .create_topic(topic, 1)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    println!("{}", broker.bootstrap_servers());
                    wait_stdin_line();
                    latency(&broker, topic, rate, secs, url, prefix)
                }),
            _ => Err(usage.into()),
        },
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
