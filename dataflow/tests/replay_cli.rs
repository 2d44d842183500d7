//! `tickflow generate --output kafka` and `tickflow replay` as users run them, against
//! librdkafka's mock cluster, each checked against the file form of the same data.

mod support;

use connectors::kafka::mock::MockBroker;
use std::time::Instant;
use support::{ok, payloads, rows, tickflow};

#[test]
fn generate_to_kafka_equals_generate_to_file() {
    let broker = MockBroker::start(1).expect("mock cluster");
    let b = broker.bootstrap_servers().to_string();
    for t in [
        "ingestion.market.ticks.raw.v1",
        "ingestion.pjm.raw.v1",
        "csv.v1",
    ] {
        broker.create_topic(t, 1).unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (format, out) in [
        ("envelope", "kafka"),
        ("pjm-da", "kafka"),
        ("simple-csv", "kafka:csv.v1"),
    ] {
        let base = [
            "generate",
            "--mode",
            "malformed",
            "--format",
            format,
            "--count",
            "40",
        ];
        ok(d, &b, &[&base[..], &["--output", "f.out"]].concat());
        let said = ok(d, &b, &[&base[..], &["--output", out]].concat());
        let file = std::fs::read_to_string(d.join("f.out")).unwrap();
        match format {
            "envelope" => {
                let got = payloads(&broker, "ingestion.market.ticks.raw.v1");
                let lines: Vec<&str> = file.lines().filter(|l| !l.is_empty()).collect();
                assert_eq!(got.len(), lines.len(), "{said}");
                for (g, l) in got.iter().zip(&lines) {
                    assert_eq!(String::from_utf8_lossy(g), *l);
                }
                assert!(
                    said.contains(&format!("produced {} messages", lines.len())),
                    "{said}"
                );
            }
            "pjm-da" => {
                let got = payloads(&broker, "ingestion.pjm.raw.v1");
                assert_eq!(got, vec![file.as_bytes().to_vec()]);
            }
            _ => {
                let got = payloads(&broker, "csv.v1");
                let want: Vec<&str> = file.lines().skip(1).filter(|l| !l.is_empty()).collect();
                assert_eq!(rows(&got), want);
                let header = file.lines().next().unwrap();
                assert!(got.iter().all(|m| m.starts_with(header.as_bytes())));
            }
        }
    }
    // Simple CSV has no default topic.
    let o = tickflow(
        d,
        &b,
        &[
            "generate",
            "--format",
            "simple-csv",
            "--count",
            "3",
            "--output",
            "kafka",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn replay_emits_exactly_the_in_range_rows_in_event_time_order() {
    let broker = MockBroker::start(1).expect("mock cluster");
    let b = broker.bootstrap_servers().to_string();
    broker.create_topic("replayed.v1", 2).unwrap();
    broker.create_topic("ingestion.pjm.raw.v1", 1).unwrap();
    broker.create_topic("pjm.replayed.v1", 1).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(
        d,
        &b,
        &[
            "generate",
            "--format",
            "simple-csv",
            "--count",
            "300",
            "--output",
            "h.csv",
        ],
    );
    let file = std::fs::read_to_string(d.join("h.csv")).unwrap();
    let (from, to) = ("2025-07-01T00:00:10Z", "2025-07-01T00:00:25Z");
    // Independent: rows whose ts (column 0, RFC 3339 UTC) is in [from, to), stably sorted by ts.
    let mut want: Vec<&str> = file
        .lines()
        .skip(1)
        .filter(|l| {
            let ts = l.split(',').next().unwrap();
            ts >= from && ts < to
        })
        .collect();
    want.sort_by_key(|l| l.split(',').next().unwrap().to_string());
    assert!(
        want.len() > 10 && want.len() < file.lines().count() - 10,
        "{}",
        want.len()
    );
    let args = [
        "replay",
        "--input",
        "file:h.csv",
        "--from",
        from,
        "--to",
        to,
        "--speed",
        "max",
    ];
    ok(
        d,
        &b,
        &[&args[..], &["--output", "kafka:replayed.v1"]].concat(),
    );
    let mut got = rows(&payloads(&broker, "replayed.v1"));
    let mut sorted_want = want.clone();
    got.sort();
    sorted_want.sort();
    assert_eq!(got, sorted_want);
    ok(d, &b, &[&args[..], &["--output", "file:r.csv"]].concat());
    let r = std::fs::read_to_string(d.join("r.csv")).unwrap();
    assert_eq!(r.lines().skip(1).collect::<Vec<_>>(), want);
    // dir: reads each file the same way.
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::copy(d.join("h.csv"), d.join("sub/h.csv")).unwrap();
    let dir_args = [
        "replay",
        "--input",
        "dir:sub",
        "--from",
        from,
        "--to",
        to,
        "--output",
        "file:r2.csv",
    ];
    ok(d, &b, &dir_args);
    assert_eq!(std::fs::read_to_string(d.join("r2.csv")).unwrap(), r);

    // Native documents from Kafka are replayed whole when any record is in range.
    ok(
        d,
        &b,
        &[
            "generate", "--format", "pjm-da", "--count", "30", "--output", "p.csv",
        ],
    );
    ok(
        d,
        &b,
        &[
            "generate", "--format", "pjm-da", "--count", "30", "--output", "kafka",
        ],
    );
    let doc = std::fs::read(d.join("p.csv")).unwrap();
    let native = [
        "replay",
        "--input",
        "kafka:ingestion.pjm.raw.v1",
        "--output",
        "kafka:pjm.replayed.v1",
    ];
    ok(
        d,
        &b,
        &[
            &native[..],
            &[
                "--from",
                "2030-01-01T00:00:00Z",
                "--to",
                "2031-01-01T00:00:00Z",
            ],
        ]
        .concat(),
    );
    assert!(payloads(&broker, "pjm.replayed.v1").is_empty());
    ok(
        d,
        &b,
        &[
            &native[..],
            &[
                "--from",
                "2000-01-01T00:00:00Z",
                "--to",
                "2100-01-01T00:00:00Z",
            ],
        ]
        .concat(),
    );
    assert_eq!(payloads(&broker, "pjm.replayed.v1"), vec![doc]);
}

#[test]
fn replay_paces_by_event_time() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let csv = "ts,instrument_id,price\n2024-11-03T05:00:00Z,PJM.RT.A,1\n2024-11-03T05:00:02Z,PJM.RT.A,2\n2024-11-03T05:00:04Z,PJM.RT.A,3\n2024-11-03T05:00:06Z,PJM.RT.A,4\n";
    std::fs::write(d.join("t.csv"), csv).unwrap();
    let args = [
        "replay",
        "--input",
        "file:t.csv",
        "--output",
        "file:o.csv",
        "--from",
        "2024-11-03T00:00:00Z",
        "--to",
        "2024-11-04T00:00:00Z",
    ];
    // 6 s of event time at 3x: about 2 s; as fast as possible: well under that.
    let started = Instant::now();
    ok(d, "127.0.0.1:1", &[&args[..], &["--speed", "3"]].concat());
    let paced = started.elapsed().as_secs_f64();
    assert!((1.9..30.0).contains(&paced), "{paced}");
    assert_eq!(std::fs::read_to_string(d.join("o.csv")).unwrap(), csv);
    let started = Instant::now();
    ok(d, "127.0.0.1:1", &[&args[..], &["--speed", "max"]].concat());
    assert!(started.elapsed().as_secs_f64() < paced);
}

#[test]
fn continuous_generate_streams_to_kafka_while_it_runs() {
    let broker = MockBroker::start(1).expect("mock cluster");
    let b = broker.bootstrap_servers().to_string();
    broker.create_topic("stream.v1", 1).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Unbounded: messages must arrive while the generator still runs (nothing held back).
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args([
            "generate",
            "--mode",
            "continuous",
            "--format",
            "envelope",
            "--rate",
            "50",
        ])
        .args(["--output", "kafka:stream.v1"])
        .current_dir(tmp.path())
        .env("DATA_PROC_KAFKA_BOOTSTRAP", &b)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut seen = 0;
    while seen < 5 && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        seen = payloads(&broker, "stream.v1").len();
    }
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(seen >= 5, "{seen}");
    assert!(still_running);
}
