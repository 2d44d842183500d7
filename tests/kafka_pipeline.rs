//! The pipeline from and to Kafka, against librdkafka's mock cluster (in this process; the
//! pipeline's clients reach it over loopback like any broker).
//!
//! The bundled samples are produced to the SPEC §2.4 input topics (each native document one
//! message on its market's topic, each envelope line one message on the envelope topic), and the
//! run from `kafka:` must produce the same `dir:` output as the run from the files — all fields
//! but `source` (and the dead letters' ids derived from it). The Kafka sink's messages, consumed
//! back, must be exactly the updates of the `dir:` change logs of the same run.

use connectors::kafka::mock::MockBroker;
use connectors::kafka::KafkaTopics;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use tickflow::runtime::RunOptions;
use tickflow::spec::{parse_input, parse_output};
use tickflow_tests::kafka::{produce_samples, send, settings, BATCH_BYTES, ENVELOPES};
use tickflow_tests::{repo_root, run_with};

fn kafka_run(
    bootstrap: &str,
    topics: &[String],
    out: &Path,
    workers: usize,
    changes: bool,
    kafka_out: bool,
) {
    run_with(&[], out, workers, changes, |o: &mut RunOptions| {
        o.batch_max_bytes = BATCH_BYTES;
        o.kafka = settings(bootstrap);
        // A finished run commits its positions: every run reads as its own consumer group.
        o.kafka.consumer_group = format!("tickflow-test-{}", out.display());
        o.inputs
            .push(parse_input(&format!("kafka:{}", topics.join(","))).unwrap());
        if kafka_out {
            o.outputs.push(parse_output("kafka", changes).unwrap());
        }
    });
}

/// A JSON-lines file with `source` (and for dead letters the ids derived from it) removed.
fn without_source(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut v: Vec<String> = text
        .lines()
        .map(|l| {
            let mut j: Value = serde_json::from_str(l).unwrap();
            if let Some(o) = j.as_object_mut() {
                for k in ["source", "event_id", "index"] {
                    o.remove(k);
                }
            }
            j.to_string()
        })
        .collect();
    v.sort();
    v
}

fn assert_same_output(files: &Path, kafka: &Path) {
    for name in ["bars.csv", "latest.csv", "curves.jsonl"] {
        let a = std::fs::read_to_string(files.join(name)).unwrap();
        let b = std::fs::read_to_string(kafka.join(name)).unwrap();
        assert!(a.lines().count() > 1, "{name} is empty");
        if a != b {
            let la: std::collections::BTreeSet<&str> = a.lines().collect();
            let lb: std::collections::BTreeSet<&str> = b.lines().collect();
            let only_a: Vec<_> = la.difference(&lb).take(8).collect();
            let only_b: Vec<_> = lb.difference(&la).take(8).collect();
            panic!(
                "{name} differs ({} vs {} lines)\n--- only from files\n{only_a:#?}\n--- only from kafka\n{only_b:#?}",
                la.len(),
                lb.len()
            );
        }
    }
    for name in ["ticks.jsonl", "dead_letters.jsonl"] {
        let a = without_source(&files.join(name));
        let b = without_source(&kafka.join(name));
        assert_eq!(a.len(), b.len(), "{name}: line counts");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{name}");
        }
    }
}

#[test]
fn samples_from_kafka_equal_samples_from_files_at_1_and_2_workers() {
    let broker = MockBroker::start(1).expect("mock cluster");
    let topics = produce_samples(&broker);
    let tmp = tempfile::tempdir().unwrap();
    let files = tmp.path().join("files");
    run_with(
        &[format!("dir:{}", repo_root().join("samples").display())],
        &files,
        1,
        false,
        |o| o.batch_max_bytes = BATCH_BYTES,
    );
    for workers in [1, 2] {
        let out = tmp.path().join(format!("kafka-w{workers}"));
        kafka_run(
            broker.bootstrap_servers(),
            &topics,
            &out,
            workers,
            false,
            false,
        );
        assert_same_output(&files, &out);
    }
}

/// Every message of `topic` (all partitions, from the beginning) as (key, JSON body).
fn consume_all(bootstrap: &str, topic: &str) -> Vec<(String, Value)> {
    let consumer: BaseConsumer = settings(bootstrap).consumer_config().create().unwrap();
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let parts: Vec<i32> = md.topics()[0].partitions().iter().map(|p| p.id()).collect();
    let mut list = TopicPartitionList::new();
    let mut total = 0;
    for p in &parts {
        let (_, high) = consumer
            .fetch_watermarks(topic, *p, Duration::from_secs(10))
            .unwrap();
        total += high;
        list.add_partition_offset(topic, *p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&list).unwrap();
    let mut out = Vec::new();
    let started = std::time::Instant::now();
    while (out.len() as i64) < total {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "consuming {topic}"
        );
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            let key = String::from_utf8(m.key().unwrap_or_default().to_vec()).unwrap();
            out.push((key, serde_json::from_slice(m.payload().unwrap()).unwrap()));
        }
    }
    out
}

fn s(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

/// (record id, version, diff) of each message, sorted; asserts every key.
fn changes(msgs: &[(String, Value)], key_field: &str) -> Vec<(String, String, i64)> {
    let mut v: Vec<_> = msgs
        .iter()
        .map(|(key, j)| {
            assert_eq!(*key, s(j, key_field), "message key");
            (
                s(j, "record_id"),
                s(j, "version"),
                j["diff"].as_i64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn csv_changes(
    path: &Path,
    id: impl Fn(&[&str]) -> String,
    version: usize,
) -> Vec<(String, String, i64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut v: Vec<_> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let diff = f[f.len() - 1].parse().unwrap();
            (id(&f), f[version].to_string(), diff)
        })
        .collect();
    v.sort();
    v
}

fn jsonl_changes(path: &Path, id: impl Fn(&Value) -> String) -> Vec<(String, String, i64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut v: Vec<_> = text
        .lines()
        .map(|l| {
            let j: Value = serde_json::from_str(l).unwrap();
            (id(&j), s(&j, "version"), j["diff"].as_i64().unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_kafka_sink_publishes_exactly_the_change_log_with_keys_and_malformed_input_is_dead_lettered()
{
    let broker = MockBroker::start(1).expect("mock cluster");
    let bootstrap = broker.bootstrap_servers().to_string();
    let mut topics = produce_samples(&broker);
    // Malformed messages: bytes that are not UTF-8 and JSON that is no envelope on the envelope
    // topic; a document of no known format on a native topic.
    let producer: BaseProducer = settings(&bootstrap).producer_config().create().unwrap();
    broker.create_topic("ingestion.bad.raw.v1", 1).unwrap();
    send(&producer, ENVELOPES, 0, b"\xff\xfe not utf-8 \x00", None);
    send(&producer, ENVELOPES, 1, br#"{"not":"an envelope"}"#, None);
    send(
        &producer,
        "ingestion.bad.raw.v1",
        0,
        b"hello,world\n1,2\n",
        None,
    );
    send(
        &producer,
        "ingestion.bad.raw.v1",
        0,
        b"node,price\nX,1\n",
        Some("pjm-da"),
    );
    producer.flush(Duration::from_secs(30)).unwrap();
    topics.push("ingestion.bad.raw.v1".into());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("log");
    kafka_run(&bootstrap, &topics, &out, 2, true, true);
    let t = KafkaTopics::default();

    let bars = consume_all(&bootstrap, &t.out_bars);
    let bar_log = csv_changes(&out.join("bars.changes.csv"), |f| f[17].to_string(), 15);
    assert!(!bar_log.is_empty());
    assert_eq!(changes(&bars, "instrument_id"), bar_log, "bars");

    let latest = consume_all(&bootstrap, &t.out_latest_prices);
    let latest_log = csv_changes(
        &out.join("latest.changes.csv"),
        |f| format!("{}/{}", f[0], f[1]),
        5,
    );
    assert_eq!(changes(&latest, "instrument_id"), latest_log, "latest");

    let curves = consume_all(&bootstrap, &t.out_curves);
    let curve_log = jsonl_changes(&out.join("curves.changes.jsonl"), |j| {
        format!("{}/{}", s(j, "curve_id"), s(j, "tenor"))
    });
    assert_eq!(changes(&curves, "curve_id"), curve_log, "curves");

    let ticks = consume_all(&bootstrap, &t.out_normalized);
    let tick_log = jsonl_changes(&out.join("ticks.changes.jsonl"), |j| s(j, "tick_id"));
    assert_eq!(changes(&ticks, "instrument_id"), tick_log, "ticks");
    assert!(ticks.iter().all(|(_, j)| j.get("commodity").is_none()));
    let enriched = consume_all(&bootstrap, &t.out_enriched);
    assert!(!enriched.is_empty() && enriched.len() <= ticks.len());
    assert!(enriched.iter().all(|(_, j)| j.get("commodity").is_some()));

    let dead = consume_all(&bootstrap, &t.out_dead_letters);
    let dead_log = std::fs::read_to_string(out.join("dead_letters.changes.jsonl")).unwrap();
    assert_eq!(dead.len(), dead_log.lines().count(), "dead letters");
    for (key, j) in &dead {
        assert_eq!(*key, s(j, "event_id"));
    }
    let find = |prefix: &str, code: &str| {
        dead.iter()
            .filter(|(_, j)| s(j, "source").starts_with(prefix) && s(j, "error_code") == code)
            .map(|(_, j)| j.clone())
            .collect::<Vec<_>>()
    };
    let binary = find(&format!("{ENVELOPES}/0@"), "PARSE_ERROR");
    assert_eq!(binary.len(), 1, "{dead:?}");
    assert_eq!(s(&binary[0], "raw_encoding"), "base64");
    assert!(!s(&binary[0], "error_message").is_empty());
    assert_eq!(
        find(&format!("{ENVELOPES}/1@"), "CONTRACT_VIOLATION").len(),
        1
    );
    let native = find("ingestion.bad.raw.v1/0@0:", "PARSE_ERROR");
    assert_eq!(native.len(), 1, "{dead:?}");
    assert_eq!(s(&native[0], "raw_event"), "hello,world\n1,2\n");
    // The `format` header names a format the document does not satisfy.
    let hinted = find("ingestion.bad.raw.v1/0@1:", "PARSE_ERROR");
    assert_eq!(hinted.len(), 1, "{dead:?}");
}
