//! Client configuration of the Kafka connector, from the `[kafka]` config section.
//!
//! [`KafkaSettings`] holds what the job's configuration says (brokers, group, security, sizes,
//! topics); [`KafkaSettings::consumer_config`] and [`KafkaSettings::producer_config`] turn it into
//! librdkafka properties. TLS and SASL options pass through unchanged; passwords are held in
//! [`Password`], whose `Debug` masks them, and are only handed to librdkafka. Building a config
//! never fails: librdkafka rejects bad values when a client is created (a
//! [`rdkafka::error::KafkaError::ClientCreation`] naming the property, never its value).

use operators::parse::Format;
use rdkafka::config::ClientConfig;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A password handed to librdkafka and to nothing else: `Debug` shows `***` (or `""` when unset).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Password {
        Password(value.into())
    }

    /// True when unset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

/// The topics of SPEC §2.4 (defaults there; configurable under `[kafka.topics]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaTopics {
    /// Canonical envelopes in (format `envelope`, one envelope per message).
    pub in_envelopes: String,
    /// Per-market topics of whole native documents (`ingestion.{iso}.raw.v1`).
    pub in_native: Vec<String>,
    /// Normalized ticks out.
    pub out_normalized: String,
    /// Enriched ticks out.
    pub out_enriched: String,
    /// Bars out.
    pub out_bars: String,
    /// Curve point updates out.
    pub out_curves: String,
    /// Latest prices out.
    pub out_latest_prices: String,
    /// Dead letters out.
    pub out_dead_letters: String,
}

impl Default for KafkaTopics {
    fn default() -> Self {
        KafkaTopics {
            in_envelopes: "ingestion.market.ticks.raw.v1".into(),
            in_native: ["miso", "caiso", "ercot", "pjm", "nyiso", "isone", "spp"]
                .iter()
                .map(|m| format!("ingestion.{m}.raw.v1"))
                .collect(),
            out_normalized: "normalized.market.ticks.v1".into(),
            out_enriched: "enriched.market.ticks.v1".into(),
            out_bars: "aggregation.bars.v1".into(),
            out_curves: "pricing.curve.updates.v1".into(),
            out_latest_prices: "served.market.latest_prices.v1".into(),
            out_dead_letters: "processing.deadletter.market.ticks.v1".into(),
        }
    }
}

/// Where a partition without a committed offset (and no given position) starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OffsetReset {
    /// The oldest retained message.
    #[default]
    Earliest,
    /// The end of the partition: only messages produced from now on.
    Latest,
}

/// Everything the Kafka source and sink need from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaSettings {
    /// `bootstrap.servers`: `host:port` comma-separated.
    pub bootstrap: String,
    /// `group.id`: committed offsets are stored under it (partitions are assigned manually).
    pub consumer_group: String,
    /// `client.id`.
    pub client_id: String,
    /// `security.protocol` (`plaintext`, `ssl`, `sasl_plaintext`, `sasl_ssl`).
    pub security_protocol: String,
    /// `sasl.mechanism` (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`); `None` without SASL.
    pub sasl_mechanism: Option<String>,
    /// `sasl.username`.
    pub sasl_username: String,
    /// `sasl.password`.
    pub sasl_password: Password,
    /// `ssl.ca.location`.
    pub ssl_ca_location: Option<PathBuf>,
    /// `ssl.certificate.location`.
    pub ssl_certificate_location: Option<PathBuf>,
    /// `ssl.key.location`.
    pub ssl_key_location: Option<PathBuf>,
    /// `ssl.key.password`.
    pub ssl_key_password: Password,
    /// Largest message produced or fetched (whole native documents are one message).
    pub message_max_bytes: u64,
    /// Producer `compression.type` (`none`, `gzip`, `snappy`, `lz4`, `zstd`).
    pub compression: String,
    /// Where partitions without a committed offset start.
    pub auto_offset_reset: OffsetReset,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// `fetch.wait.max.ms`: how long a broker may hold a fetch that found no new data. Real
    /// brokers answer as soon as data arrives; librdkafka's mock cluster holds an empty fetch for
    /// this long, so it bounds the produce → consume delay there.
    pub fetch_wait_max_ms: u64,
    /// Topic names.
    pub topics: KafkaTopics,
    /// Format hint per input topic (messages' `format` header beats it).
    pub topic_formats: BTreeMap<String, Format>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            bootstrap: "localhost:9092".into(),
            consumer_group: "tickflow".into(),
            client_id: "tickflow".into(),
            security_protocol: "plaintext".into(),
            sasl_mechanism: None,
            sasl_username: String::new(),
            sasl_password: Password::default(),
            ssl_ca_location: None,
            ssl_certificate_location: None,
            ssl_key_location: None,
            ssl_key_password: Password::default(),
            message_max_bytes: 64 << 20,
            compression: "lz4".into(),
            auto_offset_reset: OffsetReset::Earliest,
            session_timeout_ms: 30_000,
            fetch_wait_max_ms: 10,
            topics: KafkaTopics::default(),
            topic_formats: BTreeMap::new(),
        }
    }
}

/// librdkafka's ceiling for `message.max.bytes`.
const RDKAFKA_MESSAGE_MAX_BYTES: u64 = 1_000_000_000;

impl KafkaSettings {
    /// Settings for the brokers at `bootstrap`, everything else default.
    pub fn for_bootstrap(bootstrap: impl Into<String>) -> KafkaSettings {
        KafkaSettings {
            bootstrap: bootstrap.into(),
            ..KafkaSettings::default()
        }
    }

    /// The format of an input topic's messages when they carry no `format` header: the
    /// `topic_formats` entry, else `envelope` for the envelope topic, else `None` (detected
    /// from each document's content).
    pub fn topic_format(&self, topic: &str) -> Option<Format> {
        self.topic_formats
            .get(topic)
            .copied()
            .or_else(|| (topic == self.topics.in_envelopes).then_some(Format::Envelope))
    }

    fn message_max(&self) -> u64 {
        self.message_max_bytes
            .clamp(1000, RDKAFKA_MESSAGE_MAX_BYTES)
    }

    /// Properties shared by consumers and producers: brokers, client id, security.
    fn common(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap)
            .set("client.id", &self.client_id)
            .set("security.protocol", &self.security_protocol)
            .set("message.max.bytes", self.message_max().to_string());
        if let Some(m) = &self.sasl_mechanism {
            c.set("sasl.mechanism", m)
                .set("sasl.username", &self.sasl_username)
                .set("sasl.password", &self.sasl_password.0);
        }
        for (key, path) in [
            ("ssl.ca.location", &self.ssl_ca_location),
            ("ssl.certificate.location", &self.ssl_certificate_location),
            ("ssl.key.location", &self.ssl_key_location),
        ] {
            if let Some(p) = path {
                c.set(key, p.to_string_lossy());
            }
        }
        if !self.ssl_key_password.is_empty() {
            c.set("ssl.key.password", &self.ssl_key_password.0);
        }
        c
    }

    /// A consumer of manually assigned partitions: no auto-commit (positions are committed
    /// explicitly), fetches sized for whole documents of up to `message_max_bytes`.
    pub fn consumer_config(&self) -> ClientConfig {
        let mut c = self.common();
        let max = self.message_max();
        c.set("group.id", &self.consumer_group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("session.timeout.ms", self.session_timeout_ms.to_string())
            .set("fetch.wait.max.ms", self.fetch_wait_max_ms.to_string())
            .set(
                "auto.offset.reset",
                match self.auto_offset_reset {
                    OffsetReset::Earliest => "earliest",
                    OffsetReset::Latest => "latest",
                },
            )
            .set("max.partition.fetch.bytes", max.to_string())
            .set("fetch.max.bytes", max.to_string())
            .set("receive.message.max.bytes", (max + (1 << 20)).to_string());
        c
    }

    /// An idempotent producer whose deliveries are acknowledged by all in-sync replicas.
    pub fn producer_config(&self) -> ClientConfig {
        let mut c = self.common();
        c.set("acks", "all")
            .set("enable.idempotence", "true")
            .set("compression.type", &self.compression)
            .set("linger.ms", "5");
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_and_passed_through() {
        let s = KafkaSettings {
            security_protocol: "sasl_ssl".into(),
            sasl_mechanism: Some("SCRAM-SHA-512".into()),
            sasl_username: "svc".into(),
            sasl_password: Password::new("hunter2"),
            ssl_key_password: Password::new("k3y"),
            ssl_ca_location: Some("/etc/ca.pem".into()),
            ..KafkaSettings::default()
        };
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("k3y"),
            "{shown}"
        );
        let c = s.consumer_config();
        assert_eq!(c.get("sasl.password"), Some("hunter2"));
        assert_eq!(c.get("ssl.key.password"), Some("k3y"));
        assert_eq!(c.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(c.get("ssl.ca.location"), Some("/etc/ca.pem"));
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        let p = s.producer_config();
        assert_eq!(p.get("acks"), Some("all"));
        assert_eq!(p.get("message.max.bytes"), Some("67108864"));
        assert_eq!(p.get("compression.type"), Some("lz4"));
    }

    #[test]
    fn topic_formats() {
        let mut s = KafkaSettings::default();
        s.topic_formats
            .insert("ingestion.pjm.raw.v1".into(), Format::PjmDa);
        assert_eq!(
            s.topic_format("ingestion.market.ticks.raw.v1"),
            Some(Format::Envelope)
        );
        assert_eq!(s.topic_format("ingestion.pjm.raw.v1"), Some(Format::PjmDa));
        assert_eq!(s.topic_format("ingestion.spp.raw.v1"), None);
    }
}
