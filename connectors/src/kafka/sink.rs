//! [`KafkaSink`]: the out topics of SPEC §2.4 (messages as [`super::encode`] describes).
//!
//! One idempotent producer per worker (`acks=all`), written to without blocking; a full local
//! queue makes `write` wait for deliveries (backpressure). [`Sink::flush`] returns once every
//! message produced so far is acknowledged by all in-sync replicas. A message the brokers did not
//! take (timeout, broker down past librdkafka's own retries) is kept and produced again, and the
//! flush reports [`SinkError::Unavailable`] so the caller retries it; [`Sink::finish`] retries with
//! capped backoff. A message the client rejects outright (larger than `message_max_bytes`, unknown
//! topic) is [`SinkError::Fatal`]. Delivery is at-least-once: consumers dedupe by (record id,
//! version, diff).

use super::config::KafkaSettings;
use super::encode::{encode, OutMessage, OutTopic};
use crate::sink::{Sink, SinkError, Update};
use operators::model::FeedTable;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A message that was not delivered: (topic, key, payload, error).
type Failed = (String, Vec<u8>, Vec<u8>, String);

/// Collects undelivered messages from the delivery reports.
#[derive(Default)]
struct SinkContext {
    failed: Mutex<Vec<Failed>>,
}

impl ClientContext for SinkContext {}

impl ProducerContext for SinkContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, m)) = result {
            if let Ok(mut failed) = self.failed.lock() {
                failed.push((
                    m.topic().to_string(),
                    m.key().unwrap_or(&[]).to_vec(),
                    m.payload().unwrap_or(&[]).to_vec(),
                    e.to_string(),
                ));
            }
        }
    }
}

/// How long one flush waits for acknowledgements before reporting the sink unavailable.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `write` waits for room in a full local queue before reporting unavailable.
const QUEUE_WAIT: Duration = Duration::from_secs(60);
/// `finish` retries a failing flush this long at most.
const FINISH_DEADLINE: Duration = Duration::from_secs(600);

/// One worker's producer to the out topics.
pub struct KafkaSink {
    producer: BaseProducer<SinkContext>,
    topics: BTreeMap<OutTopic, String>,
    feeds: Arc<FeedTable>,
    buf: Vec<OutMessage>,
    counts: BTreeMap<&'static str, u64>,
}

impl KafkaSink {
    /// A sink producing with `settings` (topics from `settings.topics`).
    pub fn new(settings: &KafkaSettings, feeds: Arc<FeedTable>) -> Result<KafkaSink, SinkError> {
        let producer = settings
            .producer_config()
            .create_with_context(SinkContext::default())
            .map_err(|e| SinkError::Fatal(format!("kafka producer: {e}")))?;
        let t = &settings.topics;
        let topics = OutTopic::ALL
            .into_iter()
            .zip([
                &t.out_normalized,
                &t.out_enriched,
                &t.out_bars,
                &t.out_curves,
                &t.out_latest_prices,
                &t.out_dead_letters,
            ])
            .map(|(k, v)| (k, v.clone()))
            .collect();
        Ok(KafkaSink {
            producer,
            topics,
            feeds,
            buf: Vec::new(),
            counts: BTreeMap::new(),
        })
    }

    /// Produces one message, waiting for room in the local queue.
    fn send(&self, topic: &str, key: &[u8], payload: &[u8]) -> Result<(), SinkError> {
        let started = Instant::now();
        loop {
            let record = BaseRecord::to(topic).key(key).payload(payload);
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    if started.elapsed() > QUEUE_WAIT {
                        return Err(SinkError::Unavailable(
                            "kafka producer queue stayed full".into(),
                        ));
                    }
                    self.producer.poll(Duration::from_millis(100));
                }
                Err((e, _)) => {
                    return Err(SinkError::Fatal(format!("kafka produce to {topic}: {e}")))
                }
            }
        }
    }

    fn take_failed(&self) -> Vec<Failed> {
        self.producer
            .context()
            .failed
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }
}

impl Sink for KafkaSink {
    fn kind(&self) -> &'static str {
        "kafka"
    }
    fn durable_on_flush(&self) -> bool {
        true
    }

    fn write(&mut self, _time: u64, update: Update<'_>) -> Result<(), SinkError> {
        self.buf.clear();
        encode(update, &self.feeds, &mut self.buf);
        let msgs = std::mem::take(&mut self.buf);
        for m in &msgs {
            let Some(topic) = self.topics.get(&m.topic) else {
                continue;
            };
            self.send(topic, m.key.as_bytes(), m.payload.as_bytes())?;
            *self.counts.entry(m.topic.stem()).or_default() += 1;
        }
        self.buf = msgs;
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        let flushed = self.producer.flush(FLUSH_TIMEOUT);
        let failed = self.take_failed();
        let first = failed.first().map(|f| f.3.clone());
        for (topic, key, payload, _) in &failed {
            self.send(topic, key, payload)?;
        }
        if let Some(why) = first {
            return Err(SinkError::Unavailable(format!(
                "{} kafka messages not delivered ({why}); produced again",
                failed.len()
            )));
        }
        flushed.map_err(|e| SinkError::Unavailable(format!("kafka flush: {e}")))
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.flush() {
                Ok(()) => return Ok(()),
                Err(SinkError::Unavailable(why)) if started.elapsed() < FINISH_DEADLINE => {
                    tracing::warn!(error = %why, "kafka sink: retrying delivery");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn counts(&self) -> Vec<(&'static str, u64)> {
        self.counts.iter().map(|(k, v)| (*k, *v)).collect()
    }
}
