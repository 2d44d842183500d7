//! Kafka helpers of the tests (against librdkafka's mock cluster): the SPEC §2.4 input topic
//! of each bundled sample, client settings, and producing the samples as users' producers would.

use crate::repo_root;
use connectors::kafka::mock::MockBroker;
use connectors::kafka::{KafkaSettings, KafkaTopics};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub const ENVELOPES: &str = "ingestion.market.ticks.raw.v1";
pub const SIMPLE: &str = "ingestion.simple.raw.v1";
/// Batches hold a whole sample file (and a whole partition's envelopes), so the file run and
/// the Kafka run cut the same batches: lateness is decided per batch (SPEC §4), and the envelope
/// file cut into 64 KiB stripes would judge its later stripes against a watermark that the
/// partitions of the envelope topic (one batch each) never see.
pub const BATCH_BYTES: u64 = 1 << 20;

/// The input topic of a sample file (by the market its name belongs to).
pub fn topic_of(name: &str) -> &'static str {
    let n = name.to_ascii_lowercase();
    if n.ends_with(".jsonl") {
        ENVELOPES
    } else if n.contains("prc_lmp") {
        "ingestion.caiso.raw.v1"
    } else if n.contains("expost") || n.contains("rt_lmp_final.csv") {
        "ingestion.miso.raw.v1"
    } else if n.contains("lbmp") || n.contains("zone") {
        "ingestion.nyiso.raw.v1"
    } else if n.contains("lmp-sl") || n.contains("rtbm") {
        "ingestion.spp.raw.v1"
    } else if n.contains("ww_dalmp") || n.contains("lmp_rt_final") {
        "ingestion.isone.raw.v1"
    } else if n.starts_with("cdr.") || n.starts_with("np4") {
        "ingestion.ercot.raw.v1"
    } else if n.contains("hrl_lmps") {
        "ingestion.pjm.raw.v1"
    } else {
        SIMPLE
    }
}

pub fn settings(bootstrap: &str) -> KafkaSettings {
    let mut s = KafkaSettings {
        consumer_group: "tickflow-test".into(),
        session_timeout_ms: 6000,
        topics: KafkaTopics::default(),
        ..KafkaSettings::for_bootstrap(bootstrap)
    };
    s.topic_formats
        .insert(SIMPLE.into(), operators::parse::Format::SimpleCsv);
    s
}

/// Produces the samples: every native document to its own partition of its market's topic (so
/// each is a feed of its own, as each file is), envelope lines spread over 3 partitions by
/// instrument (so one identity's arrivals keep their order). Returns the input topics.
pub fn produce_samples(broker: &MockBroker) -> Vec<String> {
    let dir = repo_root().join("samples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut per_topic: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        per_topic
            .entry(topic_of(&name))
            .or_default()
            .push(std::fs::read(f).unwrap());
    }
    let producer: BaseProducer = settings(broker.bootstrap_servers())
        .producer_config()
        .create()
        .unwrap();
    for (topic, docs) in &per_topic {
        if *topic == ENVELOPES {
            broker.create_topic(topic, 3).unwrap();
            for doc in docs {
                for line in doc.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    let v: Value = serde_json::from_slice(line).unwrap();
                    let key = v["payload"]["symbol"].as_str().unwrap_or("").to_string();
                    let p = (key.bytes().map(u32::from).sum::<u32>() % 3) as i32;
                    send(&producer, topic, p, line, None);
                }
            }
        } else {
            broker.create_topic(topic, docs.len() as i32).unwrap();
            // The simple topic's format travels in a header, so a `tickflow run` subprocess
            // needs no per-topic configuration.
            let format = (*topic == SIMPLE).then_some("simple-csv");
            for (p, doc) in docs.iter().enumerate() {
                send(&producer, topic, p as i32, doc, format);
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    per_topic.keys().map(|t| t.to_string()).collect()
}

pub fn send(producer: &BaseProducer, topic: &str, p: i32, body: &[u8], format: Option<&str>) {
    let mut record = BaseRecord::<(), [u8]>::to(topic).partition(p).payload(body);
    if let Some(f) = format {
        record = record.headers(OwnedHeaders::new().insert(Header {
            key: "format",
            value: Some(f),
        }));
    }
    producer.send(record).map_err(|(e, _)| e).unwrap();
}
