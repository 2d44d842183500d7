//! `tickflow generate --output kafka`, `tickflow replay` and `tickflow dlq reprocess` as users
//! run them, against librdkafka's mock cluster, each checked against the file form of the same data.

use connectors::kafka::mock::MockBroker;
use connectors::kafka::KafkaSettings;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;
use tickflow::kafka_io::read_topic;

fn tickflow(dir: &Path, bootstrap: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .current_dir(dir)
        .env("DATA_PROC_KAFKA_BOOTSTRAP", bootstrap)
        .env("DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", "6000")
        .env_remove("DATA_PROC_WORKERS")
        .output()
        .expect("run tickflow")
}

fn ok(dir: &Path, bootstrap: &str, args: &[&str]) -> String {
    let o = tickflow(dir, bootstrap, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{args:?}: {text}");
    text
}

fn payloads(broker: &MockBroker, topic: &str) -> Vec<Vec<u8>> {
    let s = KafkaSettings::for_bootstrap(broker.bootstrap_servers());
    read_topic(&s, topic)
        .unwrap()
        .into_iter()
        .map(|m| m.payload)
        .collect()
}

/// Rows of simple-CSV documents (each `header\nrow\n`), header dropped.
fn rows(docs: &[Vec<u8>]) -> Vec<String> {
    docs.iter()
        .flat_map(|d| {
            let text = String::from_utf8(d.clone()).unwrap();
            text.lines().skip(1).map(str::to_string).collect::<Vec<_>>()
        })
        .collect()
}

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

/// Per-letter report lines saying "still dead".
fn still_dead(said: &str) -> usize {
    said.lines()
        .filter(|l| l.contains(" still dead ") && !l.starts_with("reprocessed"))
        .count()
}

fn dead_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn dlq_reprocess_from_file_and_topic() {
    let broker = MockBroker::start(1).expect("mock cluster");
    let b = broker.bootstrap_servers().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(
        d,
        &b,
        &[
            "generate",
            "--mode",
            "malformed",
            "--format",
            "simple-csv",
            "--count",
            "60",
            "--output",
            "m.csv",
        ],
    );
    ok(
        d,
        &b,
        &[
            "generate",
            "--mode",
            "malformed",
            "--format",
            "envelope",
            "--count",
            "60",
            "--seed",
            "7",
            "--output",
            "m.jsonl",
        ],
    );
    let inputs = ["--input", "file:m.csv", "--input", "file:m.jsonl"];
    ok(
        d,
        &b,
        &[&["run"][..], &inputs, &["--output", "dir:o"]].concat(),
    );
    let letters = dead_lines(&d.join("o/dead_letters.jsonl"));
    assert!(letters.len() >= 4, "{}", letters.len());

    // Dry run: every letter reported still dead, nothing written.
    let said = ok(
        d,
        &b,
        &[
            "dlq",
            "reprocess",
            "--input",
            "file:o/dead_letters.jsonl",
            "--dry-run",
            "--output",
            "dir:r0",
        ],
    );
    assert_eq!(still_dead(&said), letters.len(), "{said}");
    assert!(!d.join("r0").exists());
    // Offsets select lines [1, 3).
    let said = ok(
        d,
        &b,
        &[
            "dlq",
            "reprocess",
            "--input",
            "file:o/dead_letters.jsonl",
            "--dry-run",
            "--from",
            "1",
            "--to",
            "3",
        ],
    );
    assert_eq!(still_dead(&said), 2, "{said}");

    // A hand-fixed letter (the first simple-CSV row) becomes accepted.
    let mut text = String::new();
    let mut fixed_id = String::new();
    for mut l in letters.clone() {
        if fixed_id.is_empty() && l["source"].as_str().unwrap().starts_with("m.csv:") {
            let raw = l["raw_event"].as_str().unwrap().to_string();
            let mut cells: Vec<String> = raw.split(',').map(str::to_string).collect();
            cells[4] = "42.5".into(); // price column of the generator's simple CSV
            l["raw_event"] = cells.join(",").into();
            fixed_id = l["event_id"].as_str().unwrap().to_string();
        }
        text.push_str(&l.to_string());
        text.push('\n');
    }
    assert!(!fixed_id.is_empty());
    std::fs::write(d.join("fixed.jsonl"), text).unwrap();
    let said = ok(
        d,
        &b,
        &[
            "dlq",
            "reprocess",
            "--input",
            "file:fixed.jsonl",
            "--output",
            "dir:r",
        ],
    );
    assert!(
        said.contains(&format!("{fixed_id} accepted 1 ticks")),
        "{said}"
    );
    let still = dead_lines(&d.join("r/dead_letters.jsonl"));
    assert_eq!(still.len(), letters.len() - 1);
    assert!(still.iter().all(|l| l["retry_count"] == 1));
    // The recovered record runs through the pipeline as one tick at price 42.5.
    ok(d, &b, &["run", "--input", "dir:r", "--output", "dir:o2"]);
    let ticks = std::fs::read_to_string(d.join("o2/ticks.jsonl")).unwrap();
    assert_eq!(ticks.lines().count(), 1, "{ticks}");
    assert!(ticks.contains("42.5"), "{ticks}");

    // The dead-letter topic written by `run --output kafka`.
    let dlt = "processing.deadletter.market.ticks.v1";
    for t in [
        dlt,
        "normalized.market.ticks.v1",
        "enriched.market.ticks.v1",
        "aggregation.bars.v1",
        "pricing.curve.updates.v1",
        "served.market.latest_prices.v1",
    ] {
        broker.create_topic(t, 1).unwrap();
    }
    ok(
        d,
        &b,
        &[&["run"][..], &inputs, &["--output", "kafka"]].concat(),
    );
    assert_eq!(payloads(&broker, dlt).len(), letters.len());
    let topic = format!("kafka:{dlt}");
    let said = ok(d, &b, &["dlq", "reprocess", "--input", &topic, "--dry-run"]);
    assert_eq!(still_dead(&said), letters.len(), "{said}");
    assert_eq!(payloads(&broker, dlt).len(), letters.len());
    ok(
        d,
        &b,
        &["dlq", "reprocess", "--input", &topic, "--output", "kafka"],
    );
    let after = payloads(&broker, dlt);
    assert_eq!(after.len(), 2 * letters.len());
    for p in &after[letters.len()..] {
        let v: serde_json::Value = serde_json::from_slice(p).unwrap();
        assert_eq!(v["retry_count"], 1, "{v}");
    }
}
