//! Kafka plumbing shared by `tickflow generate|replay|dlq`: the `[kafka]` client settings, a
//! producer of raw messages that reports what it delivered, and a bounded reader of a whole
//! topic (every partition from its start to its high watermark at the time of the call).
//!
//! Failures are strings naming the topic and librdkafka's error, never a credential: a message
//! the brokers did not acknowledge within [`FLUSH_TIMEOUT`] fails the flush.

use crate::cli::load_config;
use crate::config::FlagOverrides;
use connectors::kafka::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long a flush waits for every acknowledgement.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a read waits for metadata, watermarks and messages before giving up.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The `[kafka]` settings of the configuration (file, then `DATA_PROC_*` environment).
pub fn settings(config: Option<&Path>) -> Result<KafkaSettings, ExitCode> {
    let config = load_config(config, &FlagOverrides::default())?;
    let mut errors = Vec::new();
    let s = crate::runtime::kafka_settings(&config.kafka, &mut errors);
    if errors.is_empty() {
        Ok(s)
    } else {
        for e in errors {
            eprintln!("error: {e}");
        }
        Err(ExitCode::from(2))
    }
}

/// The document topic of a market (`ingestion.{market}.raw.v1` by default): the configured
/// native topic whose name contains `.{code}.`.
pub fn market_topic(settings: &KafkaSettings, market_code: &str) -> Option<String> {
    let needle = format!(".{}.", market_code.to_ascii_lowercase());
    settings
        .topics
        .in_native
        .iter()
        .find(|t| t.contains(&needle))
        .cloned()
}

/// A producer of raw messages with a `format` header.
pub struct RawProducer {
    producer: BaseProducer,
    /// Messages handed to the producer so far.
    pub sent: u64,
}

impl RawProducer {
    /// An idempotent producer with `settings`.
    pub fn new(settings: &KafkaSettings) -> Result<RawProducer, String> {
        let producer = settings
            .producer_config()
            .create()
            .map_err(|e| format!("kafka producer: {e}"))?;
        Ok(RawProducer { producer, sent: 0 })
    }

    /// Produces one message, waiting while the local queue is full.
    pub fn send(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        payload: &[u8],
        format: Option<&str>,
    ) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(payload);
            if let Some(k) = key {
                record = record.key(k);
            }
            if let Some(f) = format {
                record = record.headers(OwnedHeaders::new().insert(Header {
                    key: "format",
                    value: Some(f),
                }));
            }
            match self.producer.send(record) {
                Ok(()) => {
                    self.sent += 1;
                    self.producer.poll(Duration::ZERO);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                    if started.elapsed() < FLUSH_TIMEOUT =>
                {
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => return Err(format!("kafka produce to {topic}: {e}")),
            }
        }
    }

    /// Waits until every message sent is acknowledged.
    pub fn flush(&mut self) -> Result<(), String> {
        self.producer
            .flush(FLUSH_TIMEOUT)
            .map_err(|e| format!("kafka flush: {e}"))
    }
}

/// One message read back from a topic.
#[derive(Clone, Debug)]
pub struct ReadMessage {
    /// Partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Key, if any.
    pub key: Option<Vec<u8>>,
    /// Payload (empty for a tombstone).
    pub payload: Vec<u8>,
    /// Producer or broker timestamp, epoch ms.
    pub timestamp_ms: Option<i64>,
    /// The `format` header, if any.
    pub format: Option<String>,
}

/// Reads every message of `topic` present now (all partitions, start to high watermark),
/// ordered by (partition, offset). An unknown topic is an error naming it.
pub fn read_topic(settings: &KafkaSettings, topic: &str) -> Result<Vec<ReadMessage>, String> {
    let consumer: BaseConsumer = settings
        .consumer_config()
        .create()
        .map_err(|e| format!("kafka consumer: {e}"))?;
    let meta = consumer
        .fetch_metadata(Some(topic), READ_TIMEOUT)
        .map_err(|e| format!("kafka metadata of {topic}: {e}"))?;
    let partitions: Vec<i32> = meta
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(format!("kafka topic {topic} does not exist"));
    }
    let mut list = TopicPartitionList::new();
    let mut remaining = 0usize;
    let mut ends = std::collections::BTreeMap::new();
    for &p in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, READ_TIMEOUT)
            .map_err(|e| format!("kafka watermarks of {topic}/{p}: {e}"))?;
        if high > low {
            list.add_partition_offset(topic, p, Offset::Offset(low))
                .map_err(|e| e.to_string())?;
            ends.insert(p, high);
            remaining += 1;
        }
    }
    let mut out = Vec::new();
    if remaining == 0 {
        return Ok(out);
    }
    consumer.assign(&list).map_err(|e| e.to_string())?;
    let mut last_progress = Instant::now();
    while remaining > 0 {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                last_progress = Instant::now();
                let p = m.partition();
                let end = ends.get(&p).copied().unwrap_or(0);
                if m.offset() >= end {
                    continue;
                }
                let format = m.headers().and_then(|h| {
                    h.iter()
                        .find(|h| h.key == "format")
                        .and_then(|h| h.value)
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                });
                out.push(ReadMessage {
                    partition: p,
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().unwrap_or(&[]).to_vec(),
                    timestamp_ms: m.timestamp().to_millis(),
                    format,
                });
                if m.offset() + 1 >= end {
                    remaining -= 1;
                }
            }
            Some(Err(e)) => return Err(format!("kafka read of {topic}: {e}")),
            None if last_progress.elapsed() > READ_TIMEOUT => {
                return Err(format!("kafka read of {topic}: no progress for 60 s"))
            }
            None => {}
        }
    }
    out.sort_by_key(|m| (m.partition, m.offset));
    Ok(out)
}

/// The payload of the message at `topic/partition@offset`, or `None` when it cannot be read
/// within a few seconds (deleted by retention, brokers down).
pub fn read_message(
    settings: &KafkaSettings,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Option<Vec<u8>> {
    let consumer: BaseConsumer = settings.consumer_config().create().ok()?;
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Offset(offset))
        .ok()?;
    consumer.assign(&list).ok()?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) if m.offset() == offset => {
                return Some(m.payload().unwrap_or(&[]).to_vec())
            }
            Some(Ok(m)) if m.offset() > offset => return None,
            _ => {}
        }
    }
    None
}
