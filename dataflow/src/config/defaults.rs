//! Every default value of the configuration, in one place. `docs/config.md` and `config print`
//! read them back from here through serialization; nothing else spells a default.

use super::model::*;
use super::secret::{Secret, SecretUrl};
use super::types::{
    BarInterval, Compression, DeployEnv, LogFormat, OffsetReset, SaslMechanism, SecurityProtocol,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const SECOND_MS: u64 = 1000;
const DAY_MS: u64 = 86_400 * SECOND_MS;

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            tenant_id: "default".into(),
            env: DeployEnv::Local,
            inputs: Vec::new(),
            batch_max_bytes: MIB,
            epoch_ms: 50,
            state_dir: PathBuf::new(),
            checkpoint_interval_ms: 10 * SECOND_MS,
            shutdown_timeout_ms: 30 * SECOND_MS,
        }
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            workers: 1,
            processes: 1,
            process_index: 0,
            hostfile: PathBuf::new(),
            peer_dns: String::new(),
            peer_port: 2101,
            bind_address: "0.0.0.0".into(),
            startup_timeout_ms: 120 * SECOND_MS,
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for AggregationConfig {
    fn default() -> Self {
        AggregationConfig {
            bar_intervals: vec![BarInterval::M5, BarInterval::H1, BarInterval::D1],
            watermark_delay_ms: 30 * SECOND_MS,
            allowed_lateness_ms: 300 * SECOND_MS,
            idle_timeout_ms: 60 * SECOND_MS,
            markets: BTreeMap::new(),
            sources: BTreeMap::new(),
        }
    }
}

impl Default for NormalizationConfig {
    fn default() -> Self {
        NormalizationConfig {
            min_price: -1000.0,
            max_price: 10_000.0,
            markets: BTreeMap::new(),
        }
    }
}

impl Default for ReferenceConfig {
    fn default() -> Self {
        ReferenceConfig {
            source: "embedded".into(),
            refresh_interval_ms: 5 * SECOND_MS,
        }
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            sinks: vec!["dir:out".into()],
            changes: false,
            flush_interval_ms: SECOND_MS,
            retry_max_backoff_ms: 30 * SECOND_MS,
            sort_memory_bytes: connectors::dir::DEFAULT_SORT_MEMORY_BYTES as u64,
        }
    }
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            bootstrap: "localhost:9092".into(),
            consumer_group: "tickflow".into(),
            client_id: "tickflow".into(),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: SaslMechanism::None,
            sasl_username: String::new(),
            sasl_password: Secret::default(),
            ssl_ca_location: PathBuf::new(),
            ssl_certificate_location: PathBuf::new(),
            ssl_key_location: PathBuf::new(),
            ssl_key_password: Secret::default(),
            message_max_bytes: 64 * MIB,
            compression: Compression::Lz4,
            auto_offset_reset: OffsetReset::Earliest,
            session_timeout_ms: 30 * SECOND_MS,
            fetch_wait_max_ms: 10,
            commit_interval_ms: 5 * SECOND_MS,
            topics: KafkaTopics::default(),
            topic_formats: BTreeMap::new(),
        }
    }
}

impl Default for KafkaTopics {
    fn default() -> Self {
        KafkaTopics {
            in_envelopes: "ingestion.market.ticks.raw.v1".into(),
            in_miso: "ingestion.miso.raw.v1".into(),
            in_caiso: "ingestion.caiso.raw.v1".into(),
            in_ercot: "ingestion.ercot.raw.v1".into(),
            in_pjm: "ingestion.pjm.raw.v1".into(),
            in_nyiso: "ingestion.nyiso.raw.v1".into(),
            in_isone: "ingestion.isone.raw.v1".into(),
            in_spp: "ingestion.spp.raw.v1".into(),
            out_normalized: "normalized.market.ticks.v1".into(),
            out_enriched: "enriched.market.ticks.v1".into(),
            out_bars: "aggregation.bars.v1".into(),
            out_curves: "pricing.curve.updates.v1".into(),
            out_latest_prices: "served.market.latest_prices.v1".into(),
            out_dead_letters: "processing.deadletter.market.ticks.v1".into(),
        }
    }
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            dsn: SecretUrl::new("postgresql://localhost:5432/data_proc"),
        }
    }
}

impl Default for ClickhouseConfig {
    fn default() -> Self {
        ClickhouseConfig {
            url: "http://localhost:8123".into(),
            database: "data_processing".into(),
            user: "default".into(),
            password: Secret::default(),
            ca_path: PathBuf::new(),
            request_timeout_ms: 30 * SECOND_MS,
            batch_max_rows: 100_000,
            buffer_max_bytes: 32 * MIB,
            insert_interval_ms: 2 * SECOND_MS,
            ttl_days: 0,
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: SecretUrl::new("redis://localhost:6379/0"),
            ca_path: PathBuf::new(),
            key_prefix: String::new(),
            ship_interval_ms: connectors::redis::DEFAULT_SHIP_INTERVAL_MS,
        }
    }
}

// Written out although derivable: every default lives in this file.
#[allow(clippy::derivable_impls)]
impl Default for ProjectionConfig {
    fn default() -> Self {
        ProjectionConfig {
            cache_ttl_seconds: 0,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            port: 8080,
            bind_address: "127.0.0.1".into(),
            api_keys: Vec::new(),
            serve_history_ms: 7 * DAY_MS,
        }
    }
}
