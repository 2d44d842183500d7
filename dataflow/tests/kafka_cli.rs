//! `tickflow run --input kafka:TOPIC` as users run it: the `[kafka]` settings from the
//! environment, a bounded run that ends at the high watermarks, its output like the file run's.

use connectors::kafka::mock::MockBroker;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn run(dir: &Path, input: &str, out: &str, bootstrap: &str) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(["run", "--input", input, "--output", out, "-w", "2"])
        .current_dir(dir)
        .env("DATA_PROC_KAFKA_BOOTSTRAP", bootstrap)
        .env("DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", "6000")
        .env_remove("DATA_PROC_WORKERS")
        .output()
        .expect("run tickflow");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    text
}

#[test]
fn a_bounded_kafka_run_ends_and_matches_the_file_run() {
    let broker = MockBroker::start(1).expect("mock cluster");
    broker.create_topic("prices.v1", 2).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("ts,instrument_id,price\n");
    for i in 0..60 {
        csv.push_str(&format!(
            "2024-11-03T05:{:02}:00Z,PJM.RT.N{},{}.5\n",
            i,
            i % 3,
            20 + i
        ));
    }
    std::fs::write(tmp.path().join("t.csv"), &csv).unwrap();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap_servers())
        .create()
        .unwrap();
    // The whole simple-CSV document as one message, with its format named in a header.
    let headers = rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
        key: "format",
        value: Some("simple-csv"),
    });
    producer
        .send(
            BaseRecord::<(), _>::to("prices.v1")
                .partition(1)
                .payload(csv.as_bytes())
                .headers(headers),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    producer.flush(Duration::from_secs(30)).unwrap();
    let summary = run(
        tmp.path(),
        "kafka:prices.v1",
        "dir:k",
        broker.bootstrap_servers(),
    );
    assert!(summary.contains("60"), "{summary}");
    run(
        tmp.path(),
        "file:t.csv",
        "dir:f",
        broker.bootstrap_servers(),
    );
    for f in ["bars.csv", "latest.csv"] {
        let a = std::fs::read_to_string(tmp.path().join("f").join(f)).unwrap();
        let b = std::fs::read_to_string(tmp.path().join("k").join(f)).unwrap();
        assert!(a.lines().count() > 3);
        assert_eq!(a, b, "{f}");
    }
    let ticks = std::fs::read_to_string(tmp.path().join("k/ticks.jsonl")).unwrap();
    assert!(ticks.contains("\"source\":\"prices.v1/1@0:2\""), "{ticks}");
    // A missing topic fails before any worker starts, naming it.
    let o = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(["run", "--input", "kafka:missing.v1", "--output", "null"])
        .current_dir(tmp.path())
        .env("DATA_PROC_KAFKA_BOOTSTRAP", broker.bootstrap_servers())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.v1"));
}
