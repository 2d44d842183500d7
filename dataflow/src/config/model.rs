//! The configuration structs, one per TOML section. Every struct takes its defaults from
//! `defaults.rs` (`#[serde(default)]`) and rejects unknown fields. Optional paths and secrets are
//! empty when unset (so that every field always has a value to print and document); per-market
//! and per-source overrides are maps whose entries hold only what they override.

use super::secret::{Secret, SecretUrl};
use super::types::{
    BarInterval, Compression, DeployEnv, LogFormat, OffsetReset, SaslMechanism, SecurityProtocol,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The effective configuration of one tickflow process (SPEC §9).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[pipeline]`: tenant, environment, inputs, batching, state and shutdown.
    pub pipeline: PipelineConfig,
    /// `[cluster]`: workers and processes.
    pub cluster: ClusterConfig,
    /// `[logging]`: log level and format.
    pub logging: LoggingConfig,
    /// `[aggregation]`: bar intervals, watermarks and lateness (SPEC §4).
    pub aggregation: AggregationConfig,
    /// `[normalization]`: price bounds for the `out_of_range` flag.
    pub normalization: NormalizationConfig,
    /// `[reference]`: where reference data comes from (SPEC §5).
    pub reference: ReferenceConfig,
    /// `[output]`: sinks and their flushing (SPEC §6).
    pub output: OutputConfig,
    /// `[kafka]`: brokers, topics, security (SPEC §2.4).
    pub kafka: KafkaConfig,
    /// `[postgres]`: reference-data database.
    pub postgres: PostgresConfig,
    /// `[clickhouse]`: analytic sink.
    pub clickhouse: ClickhouseConfig,
    /// `[redis]`: serving cache.
    pub redis: RedisConfig,
    /// `[projection]`: Redis projection behaviour.
    pub projection: ProjectionConfig,
    /// `[http]`: query API and health server (SPEC §7).
    pub http: HttpConfig,
}

/// `[pipeline]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Tenant of records that carry none.
    pub tenant_id: String,
    /// Deployment environment.
    pub env: DeployEnv,
    /// Input specs (`file:PATH[?format=NAME]`, `dir:PATH`, `kafka:TOPIC[,TOPIC…]`,
    /// `generator:…`); empty = the bundled sample files.
    pub inputs: Vec<String>,
    /// Simple-CSV and envelope feeds are cut into batches at the first record boundary after
    /// this many bytes (SPEC §4).
    pub batch_max_bytes: u64,
    /// Processing-time epoch of live feeds: one timely timestamp per this many milliseconds.
    pub epoch_ms: u64,
    /// Directory for operator checkpoints and committed positions; empty = no checkpoints.
    pub state_dir: PathBuf,
    /// How often state is checkpointed under `state_dir`.
    pub checkpoint_interval_ms: u64,
    /// On SIGTERM: time allowed to stop sources, drain sinks and commit positions.
    pub shutdown_timeout_ms: u64,
}

/// `[cluster]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Timely worker threads per process.
    pub workers: u32,
    /// Number of processes in the cluster.
    pub processes: u32,
    /// This process's index, `0..processes`.
    pub process_index: u32,
    /// File listing `host:port` of every process, one a line; with `processes > 1` this or
    /// `peer_dns` is required.
    pub hostfile: PathBuf,
    /// Peer host name pattern (`{i}` = process index); empty = use `hostfile`.
    pub peer_dns: String,
    /// With `peer_dns`: the port every process listens on for its peers.
    pub peer_port: u16,
    /// With `peer_dns`: the IP address this process listens on for its peers.
    pub bind_address: String,
    /// With `processes > 1`: how long peers are waited for before the process gives up.
    pub startup_timeout_ms: u64,
}

/// `[logging]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// Level filter: a level (`trace` … `error`, `off`) or `target=level` directives, comma-separated.
    pub level: String,
    /// Line format.
    pub format: LogFormat,
}

/// `[aggregation]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AggregationConfig {
    /// Bar intervals computed for every instrument.
    pub bar_intervals: Vec<BarInterval>,
    /// A feed's watermark trails its greatest event time by this much.
    pub watermark_delay_ms: u64,
    /// A window stays open for a tick until `window_end + allowed_lateness_ms` ≤ the watermark.
    pub allowed_lateness_ms: u64,
    /// A live feed silent this long stops holding the global watermark back.
    pub idle_timeout_ms: u64,
    /// Overrides per market code (`PJM`, `NYISO`, `ISONE`, `MISO`, `CAISO`, `ERCOT`, `SPP`).
    pub markets: BTreeMap<String, TimingOverride>,
    /// Overrides per source (a Kafka topic or an input path as given); these beat market overrides.
    pub sources: BTreeMap<String, TimingOverride>,
}

/// Watermark and lateness settings that override the `[aggregation]` ones; unset = inherited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimingOverride {
    /// Overrides `aggregation.watermark_delay_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark_delay_ms: Option<u64>,
    /// Overrides `aggregation.allowed_lateness_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_lateness_ms: Option<u64>,
    /// Overrides `aggregation.idle_timeout_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
}

/// `[normalization]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NormalizationConfig {
    /// Prices below this ($/MWh) are flagged `out_of_range`.
    pub min_price: f64,
    /// Prices above this ($/MWh) are flagged `out_of_range`.
    pub max_price: f64,
    /// Bounds per market code.
    pub markets: BTreeMap<String, PriceBounds>,
}

/// Price bounds that override the `[normalization]` ones; unset = inherited.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriceBounds {
    /// Overrides `normalization.min_price`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_price: Option<f64>,
    /// Overrides `normalization.max_price`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_price: Option<f64>,
}

/// `[reference]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReferenceConfig {
    /// `embedded` (bundled tables), `dir:PATH` (CSV tables) or `postgres`.
    pub source: String,
    /// How often reference tables are re-read.
    pub refresh_interval_ms: u64,
}

/// `[output]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// Sink specs: `dir:PATH[?views=…]`, `kafka`, `clickhouse`, `redis`, `stdout`, `null`.
    pub sinks: Vec<String>,
    /// Write `{stem}.changes.*` update logs instead of final state in `dir:` sinks.
    pub changes: bool,
    /// Sinks flush buffered records at least this often.
    pub flush_interval_ms: u64,
    /// Cap of the exponential retry backoff of a sink that is down.
    pub retry_max_backoff_ms: u64,
    /// Memory a sorting `dir:` writer uses before spilling sorted runs to disk.
    pub sort_memory_bytes: u64,
}

/// `[kafka]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port` comma-separated.
    pub bootstrap: String,
    /// Consumer group id.
    pub consumer_group: String,
    /// Client id reported to the brokers.
    pub client_id: String,
    /// `security.protocol`.
    pub security_protocol: SecurityProtocol,
    /// `sasl.mechanism`; required with a `sasl_*` protocol.
    pub sasl_mechanism: SaslMechanism,
    /// `sasl.username`.
    pub sasl_username: String,
    /// `sasl.password`.
    pub sasl_password: Secret,
    /// `ssl.ca.location`: CA bundle (PEM) used to verify brokers; empty = system store.
    pub ssl_ca_location: PathBuf,
    /// `ssl.certificate.location`: client certificate (PEM) for mutual TLS.
    pub ssl_certificate_location: PathBuf,
    /// `ssl.key.location`: client private key (PEM) for mutual TLS.
    pub ssl_key_location: PathBuf,
    /// `ssl.key.password`: password of the client private key.
    pub ssl_key_password: Secret,
    /// Largest message produced or fetched (whole native documents travel as one message).
    pub message_max_bytes: u64,
    /// Producer compression.
    pub compression: Compression,
    /// Where a group without committed offsets starts reading.
    pub auto_offset_reset: OffsetReset,
    /// Consumer session timeout.
    pub session_timeout_ms: u64,
    /// How long a broker may hold a fetch that found no new data (`fetch.wait.max.ms`).
    pub fetch_wait_max_ms: u64,
    /// Safe positions are committed at most this often while a job runs (sinks durable on
    /// flush only); 0 = only at the end of a run.
    pub commit_interval_ms: u64,
    /// Topic names.
    pub topics: KafkaTopics,
    /// Format hint per input topic (a format name of SPEC §2.1), for topics whose messages
    /// carry no `format` header.
    pub topic_formats: BTreeMap<String, String>,
}

/// `[kafka.topics]`: defaults of SPEC §2.4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaTopics {
    /// Canonical envelopes in.
    pub in_envelopes: String,
    /// Whole MISO documents in.
    pub in_miso: String,
    /// Whole CAISO documents in.
    pub in_caiso: String,
    /// Whole ERCOT documents in.
    pub in_ercot: String,
    /// Whole PJM documents in.
    pub in_pjm: String,
    /// Whole NYISO documents in.
    pub in_nyiso: String,
    /// Whole ISO-NE documents in.
    pub in_isone: String,
    /// Whole SPP documents in.
    pub in_spp: String,
    /// Normalized ticks out.
    pub out_normalized: String,
    /// Enriched ticks out.
    pub out_enriched: String,
    /// OHLC bars out.
    pub out_bars: String,
    /// Curve points out.
    pub out_curves: String,
    /// Latest prices out.
    pub out_latest_prices: String,
    /// Dead letters out.
    pub out_dead_letters: String,
}

/// `[postgres]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresConfig {
    /// Connection string: `postgres://user:password@host:port/db?sslmode=…` or libpq `key=value`.
    pub dsn: SecretUrl,
}

/// `[clickhouse]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClickhouseConfig {
    /// HTTP(S) endpoint.
    pub url: String,
    /// Database holding the tickflow tables.
    pub database: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: Secret,
    /// CA bundle (PEM) for an `https` URL; empty = system store.
    pub ca_path: PathBuf,
    /// Timeout of one HTTP request.
    pub request_timeout_ms: u64,
    /// A worker inserts as soon as this many rows of a table are pending, without waiting for
    /// a flush.
    pub batch_max_rows: u64,
    /// Rendered rows a worker's sink buffers for its insert thread before the worker waits.
    pub buffer_max_bytes: u64,
    /// Least time between two inserts of a worker that its periodic flushes ask for.
    pub insert_interval_ms: u64,
    /// TTL (days) that `tickflow migrate` adds to ticks, curve points and dead letters on
    /// servers that support TTLs; 0 = none.
    pub ttl_days: u32,
}

/// `[redis]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user][:password@]host[:port][/db]`, or `rediss://` for TLS.
    pub url: SecretUrl,
    /// CA bundle (PEM) for `rediss://`; empty = system store.
    pub ca_path: PathBuf,
    /// Prepended to every served key; empty = the SPEC §6 names.
    pub key_prefix: String,
    /// Least time between two hand-overs of latest prices and bars by a worker.
    pub ship_interval_ms: u64,
}

/// `[projection]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectionConfig {
    /// TTL of served Redis keys; 0 = no expiry.
    pub cache_ttl_seconds: u64,
}

/// `[http]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Listening port; 0 picks a free port (logged).
    pub port: u16,
    /// Listening address.
    pub bind_address: String,
    /// API keys, each `key` (all tenants) or `key:tenant`; empty = `/v1` is open.
    pub api_keys: Vec<Secret>,
    /// Finalized bars stay queryable this long.
    pub serve_history_ms: u64,
}
