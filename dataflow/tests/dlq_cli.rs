//! `tickflow dlq reprocess` over the dead letters of `tickflow run` on malformed generator
//! output: from the `dir:` sink's file and from the dead-letter topic (librdkafka's mock cluster).

mod support;

use connectors::kafka::mock::MockBroker;
use std::path::Path;
use support::{ok, payloads};

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
    // Time ranges select by the message timestamp: all of them now, none in the future.
    let dry = ["dlq", "reprocess", "--input", &topic, "--dry-run"];
    let all = [
        &dry[..],
        &[
            "--from",
            "2020-01-01T00:00:00Z",
            "--to",
            "2100-01-01T00:00:00Z",
        ],
    ]
    .concat();
    assert_eq!(still_dead(&ok(d, &b, &all)), letters.len());
    let none = [&dry[..], &["--from", "2100-01-01T00:00:00Z"]].concat();
    assert_eq!(still_dead(&ok(d, &b, &none)), 0);
    ok(
        d,
        &b,
        &["dlq", "reprocess", "--input", &topic, "--output", "kafka"],
    );
    let after = payloads(&broker, dlt);
    assert_eq!(after.len(), 2 * letters.len());
    let keys = |p: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(p).unwrap();
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        (k, v)
    };
    for (old, new) in after[..letters.len()].iter().zip(&after[letters.len()..]) {
        let ((old_keys, old), (new_keys, new)) = (keys(old), keys(new));
        assert_eq!(new["retry_count"], 1, "{new}");
        assert_eq!(old["retry_count"], 0, "{old}");
        // Re-produced as the Kafka sink writes letters: same fields, same event id.
        assert_eq!(old_keys, new_keys);
        assert_eq!(old["event_id"], new["event_id"]);
    }
}

#[test]
fn dlq_reprocess_reframes_rows_from_their_kafka_message() {
    let broker = MockBroker::start(1).expect("mock cluster");
    let b = broker.bootstrap_servers().to_string();
    let dlt = "processing.deadletter.market.ticks.v1";
    for t in [
        dlt,
        "csv.v1",
        "normalized.market.ticks.v1",
        "enriched.market.ticks.v1",
    ] {
        broker.create_topic(t, 1).unwrap();
    }
    for t in [
        "aggregation.bars.v1",
        "pricing.curve.updates.v1",
        "served.market.latest_prices.v1",
    ] {
        broker.create_topic(t, 1).unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let gen = [
        "generate",
        "--mode",
        "malformed",
        "--format",
        "simple-csv",
        "--count",
        "60",
    ];
    ok(d, &b, &[&gen[..], &["--output", "kafka:csv.v1"]].concat());
    ok(
        d,
        &b,
        &["run", "--input", "kafka:csv.v1", "--output", "kafka"],
    );
    let letters = payloads(&broker, dlt);
    assert!(letters.len() >= 3, "{}", letters.len());
    let first: serde_json::Value = serde_json::from_slice(&letters[0]).unwrap();
    assert!(
        first["source"].as_str().unwrap().starts_with("csv.v1/0@"),
        "{first}"
    );
    // Each bare row gets the header of its own message back, so the reasons are the original
    // ones (a row without its header would be a PARSE_ERROR).
    let said = ok(
        d,
        &b,
        &[
            "dlq",
            "reprocess",
            "--input",
            &format!("kafka:{dlt}"),
            "--dry-run",
        ],
    );
    assert_eq!(still_dead(&said), letters.len(), "{said}");
    for l in &letters {
        let v: serde_json::Value = serde_json::from_slice(l).unwrap();
        let line = format!(
            "{} still dead {}: {}",
            v["event_id"].as_str().unwrap(),
            v["error_code"].as_str().unwrap(),
            v["error_message"].as_str().unwrap()
        );
        assert!(said.contains(&line), "{line}\n{said}");
    }
}
