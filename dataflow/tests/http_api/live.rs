//! A `--follow` Kafka job: live subscriptions see a correction as a retraction and the new
//! value, and fuzzed parameters, hundreds of concurrent requests and 2,000 open connections all get an answer while the
//! job keeps running.

use super::client::{enc, get, get_json, Server, ADMIN_KEY};
use super::support::{broker_with, producer, send_csv};
use rdkafka::producer::Producer;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TOPIC: &str = "prices.v1";

/// Opens `/v1/subscribe?QUERY` and forwards `(event, data)` pairs.
fn subscribe(addr: SocketAddr, query: &str) -> mpsc::Receiver<(String, String)> {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /v1/subscribe?{query} HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\n\r\n"
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut event = String::new();
        for line in BufReader::new(s).lines().map_while(Result::ok) {
            if let Some(e) = line.strip_prefix("event: ").or(line.strip_prefix("event:")) {
                event = e.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                if tx.send((event.clone(), d.to_string())).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

fn next(rx: &mpsc::Receiver<(String, String)>) -> (String, serde_json::Value) {
    let (e, d) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("an event within 60 s");
    (
        e,
        serde_json::from_str(&d).unwrap_or_else(|err| panic!("{err}: {d}")),
    )
}

fn send(bootstrap: &str, body: &str) {
    let p = producer(bootstrap);
    send_csv(&p, TOPIC, 0, body);
    p.flush(Duration::from_secs(10)).unwrap();
}

/// A tiny deterministic generator for the fuzz.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
}

fn fuzz_path(r: &mut Lcg) -> String {
    let route = r.pick(&[
        "/v1/latest",
        "/v1/bars",
        "/v1/curves/TEST%2FX",
        "/projections/latest_price",
        "/projections/curve_snapshot",
        "/v1/latest/",
        "/v1/bars/x",
    ]);
    let names = [
        "instrument_id",
        "prefix",
        "at",
        "tenant_id",
        "interval",
        "from",
        "to",
        "horizon",
        "x",
        "",
    ];
    let values = [
        "TEST.X",
        "",
        "1h",
        "5m",
        "2024-11-03T05:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "-1",
        "%00",
        "%ZZ",
        "\u{1F600}",
        "a&b=c",
        "2024-02-30T00:00:00Z",
    ];
    let mut q = String::new();
    for i in 0..(r.next() % 5) {
        if i > 0 {
            q.push('&');
        }
        let v = r.pick(&values);
        let v = if v.starts_with('%') {
            v.to_string()
        } else {
            enc(v)
        };
        q.push_str(&format!("{}={v}", r.pick(&names)));
    }
    if r.next().is_multiple_of(7) {
        q.push_str(&"z".repeat(5000));
    }
    format!("{route}?{q}")
}

#[test]
fn live_job_streams_corrections_and_survives_load() {
    let tmp = tempfile::tempdir().unwrap();
    let (_broker, bootstrap) = broker_with(TOPIC, 1);
    send(&bootstrap, "ts,instrument_id,price,revision\n2024-11-03T05:00:00Z,TEST.X,10,0\n2024-11-03T05:01:00Z,TEST.X,11,0\n");
    let mut server = Server::start(
        tmp.path(),
        &[
            "--input",
            &format!("kafka:{TOPIC}"),
            "--follow",
            "--output",
            "null",
            "-w",
            "2",
        ],
        &[
            ("DATA_PROC_KAFKA_BOOTSTRAP", &bootstrap),
            ("DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", "6000"),
            ("DATA_PROC_CONSUMER_GROUP", "http-api-test"),
            ("DATA_PROC_AGGREGATION_BAR_INTERVALS", "5m"),
            ("DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", "0"),
            ("DATA_PROC_AGGREGATION_MAX_LATE_MS", "86400000"),
            ("DATA_PROC_PIPELINE_SHUTDOWN_TIMEOUT_MS", "20000"),
        ],
    );
    let addr = server.addr;
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(addr, "/v1/latest?instrument_id=TEST.X").0 != 200 {
        assert!(
            Instant::now() < deadline,
            "the first message never became visible"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let latest = get_json(addr, "/v1/latest?instrument_id=TEST.X");
    assert_eq!(latest["price"], serde_json::json!(11));
    // `at`: the point price in effect at 05:00:30 is the 05:00 tick's.
    let at = get_json(
        addr,
        "/v1/latest?instrument_id=TEST.X&at=2024-11-03T05:00:30Z",
    );
    assert_eq!(at["price"], serde_json::json!(10));
    assert_eq!(
        get(
            addr,
            "/v1/latest?instrument_id=TEST.X&at=2024-11-03T04:00:00Z"
        )
        .0,
        404
    );
    let listed = get_json(addr, "/v1/latest?prefix=TEST.&at=2024-11-03T05:00:30Z");
    assert_eq!(listed[0]["price"], serde_json::json!(10));
    let open = get_json(addr, "/v1/bars?instrument_id=TEST.X&interval=5m");
    assert_eq!(open[0]["is_final"], serde_json::json!(false));
    assert_eq!(open[0]["close"], serde_json::json!(11));

    let subs: Vec<_> = (0..3)
        .map(|_| subscribe(addr, "view=latest&instrument_id=TEST.X"))
        .collect();
    let bars = subscribe(addr, "view=bars&prefix=TEST.&interval=5m");
    for rx in &subs {
        let (e, snap) = next(rx);
        assert_eq!(e, "snapshot");
        assert_eq!(snap["view"], "latest");
        assert_eq!(snap["records"][0]["price"], serde_json::json!(11));
    }
    let (e, snap) = next(&bars);
    assert_eq!(
        (e.as_str(), snap["records"].as_array().unwrap().len()),
        ("snapshot", 1)
    );

    // A correction of the 05:01 tick: every subscriber sees the retraction, then the new value.
    send(
        &bootstrap,
        "ts,instrument_id,price,revision\n2024-11-03T05:01:00Z,TEST.X,12,1\n",
    );
    for rx in &subs {
        let (e, old) = next(rx);
        assert_eq!(
            (e.as_str(), &old["diff"]),
            ("update", &serde_json::json!(-1))
        );
        assert_eq!(old["record"]["price"], serde_json::json!(11));
        let (e, new) = next(rx);
        assert_eq!(
            (e.as_str(), &new["diff"]),
            ("update", &serde_json::json!(1))
        );
        assert_eq!(new["record"]["price"], serde_json::json!(12));
        assert!(new["record"]["quality_flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "corrected"));
    }
    let (_, old) = next(&bars);
    let (_, new) = next(&bars);
    assert_eq!(
        (&old["diff"], &old["record"]["close"]),
        (&serde_json::json!(-1), &serde_json::json!(11))
    );
    assert_eq!(
        (&new["diff"], &new["record"]["close"]),
        (&serde_json::json!(1), &serde_json::json!(12))
    );
    assert_eq!(new["record"]["revision"], serde_json::json!(3));

    // Fuzzed parameters and a few hundred concurrent requests: every one gets an answer.
    let workers: Vec<_> = (0..8u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut r = Lcg(t + 1);
                let mut statuses = Vec::new();
                for _ in 0..40 {
                    let path = fuzz_path(&mut r);
                    let (status, _) = get(addr, &path);
                    assert!(
                        matches!(status, 200 | 400 | 404 | 414 | 431),
                        "{path}: {status}"
                    );
                    statuses.push(status);
                }
                statuses
            })
        })
        .collect();
    // Meanwhile the job keeps ingesting.
    send(
        &bootstrap,
        "ts,instrument_id,price,revision\n2024-11-03T05:02:00Z,TEST.X,13,0\n",
    );
    let statuses: Vec<u16> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert_eq!(statuses.len(), 320);
    assert!(
        statuses.contains(&200) && statuses.contains(&400),
        "{statuses:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while get_json(addr, "/v1/latest?instrument_id=TEST.X")["price"] != serde_json::json!(13) {
        assert!(Instant::now() < deadline, "ingestion stalled under load");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Thousands of connections open at once, each with a request in flight: all are answered.
    const OPEN: usize = 2_000;
    let mut conns: Vec<TcpStream> = (0..OPEN)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    for c in conns.iter_mut() {
        c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        write!(
            c,
            "GET /v1/latest?instrument_id=TEST.X HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\n\r\n"
        )
        .unwrap();
    }
    let answered = conns
        .iter_mut()
        .map(|c| {
            let mut text = String::new();
            c.read_to_string(&mut text).is_ok() && text.starts_with("HTTP/1.0 200")
        })
        .filter(|ok| *ok)
        .count();
    assert_eq!(answered, OPEN, "of {OPEN} concurrent requests");
    assert!(server.running());
    assert!(server.terminate().success());
}
