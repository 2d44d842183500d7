//! The key table: every configuration key once, with its TOML path, environment variable, kind
//! (which drives parsing and checking of file and environment values), unit and description.
//! Environment loading, unknown-key detection, `docs/config.md` and the completeness test all read
//! this table; defaults are not repeated here (they come from `defaults.rs`).
//!
//! Path segments `{MARKET}` (one of the seven ISO codes), `{SOURCE}` and `{TOPIC}` (any name)
//! stand for map entries. Environment names with `{MARKET}` expand to one variable per market;
//! `{SOURCE}` and `{TOPIC}` entries are set in TOML only.

use super::types::{
    Compression, DeployEnv, LogFormat, OffsetReset, SaslMechanism, SecurityProtocol,
};

/// How a key's value is written and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any string.
    Str,
    /// A filesystem path; empty = unset.
    Path,
    /// A secret string, masked when printed.
    Secret,
    /// A connection string whose password part is masked when printed.
    SecretUrl,
    /// `true`/`false` (env also `1`/`0`, `yes`/`no`, `on`/`off`).
    Bool,
    /// An integer in `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A finite number.
    Float,
    /// One of the listed strings (env: case-insensitive).
    Enum(&'static [&'static str]),
    /// A TOML array of strings; in env one string split at `sep`.
    List {
        /// Separator of the environment form.
        sep: char,
        /// True when the items are secrets.
        secret: bool,
    },
    /// A list of bar intervals (`1m 5m 15m 1h 1d`); env comma-separated.
    Intervals,
    /// An input format name of SPEC §2.1 (`pjm-da`, …, `simple-csv`).
    Format,
}

impl Kind {
    /// True when values of this kind are secret (never echoed in messages or output).
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            Kind::Secret | Kind::SecretUrl | Kind::List { secret: true, .. }
        )
    }
}

/// One configuration key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// Dotted TOML path, possibly with `{MARKET}`, `{SOURCE}` or `{TOPIC}` segments.
    pub path: &'static str,
    /// Environment variable (may contain `{MARKET}`); `None` = TOML only.
    pub env: Option<&'static str>,
    /// Value kind.
    pub kind: Kind,
    /// Unit (`ms`, `bytes`, `s`, `$/MWh`), empty when unitless.
    pub unit: &'static str,
    /// One-line description.
    pub doc: &'static str,
}

const fn key(
    path: &'static str,
    env: &'static str,
    kind: Kind,
    unit: &'static str,
    doc: &'static str,
) -> Key {
    Key {
        path,
        env: Some(env),
        kind,
        unit,
        doc,
    }
}

const fn toml_only(path: &'static str, kind: Kind, unit: &'static str, doc: &'static str) -> Key {
    Key {
        path,
        env: None,
        kind,
        unit,
        doc,
    }
}

const fn int(min: i64) -> Kind {
    Kind::Int { min, max: i64::MAX }
}

const MS: &str = "ms";
const BYTES: &str = "bytes";
const PRICE: &str = "$/MWh";
const COUNT: Kind = Kind::Int { min: 1, max: 1024 };
const SPECS: Kind = Kind::List {
    sep: ';',
    secret: false,
};
const PORT: Kind = Kind::Int {
    min: 0,
    max: 65_535,
};

/// Every configuration key, grouped by section in `docs/config.md` order.
pub static KEYS: &[Key] = &[
    key("pipeline.tenant_id", "DATA_PROC_TENANT_ID", Kind::Str, "", "Tenant of records that carry none."),
    key("pipeline.env", "DATA_PROC_ENV", Kind::Enum(DeployEnv::NAMES), "", "Deployment environment (`production` = `prod`)."),
    key("pipeline.inputs", "DATA_PROC_PIPELINE_INPUTS", SPECS, "", "Input specs (`file:PATH[?format=NAME]`, `dir:PATH`, `kafka:TOPIC[,TOPIC…]`, `generator:…`); empty = the bundled samples. Env: `;`-separated."),
    key("pipeline.batch_max_bytes", "DATA_PROC_PIPELINE_BATCH_MAX_BYTES", int(1), BYTES, "Simple-CSV and envelope feeds are cut into batches at the first record boundary after this many bytes."),
    key("pipeline.epoch_ms", "DATA_PROC_PIPELINE_EPOCH_MS", Kind::Int { min: 1, max: 60_000 }, MS, "Processing-time epoch of live feeds (one timely timestamp per epoch)."),
    key("pipeline.state_dir", "DATA_PROC_PIPELINE_STATE_DIR", Kind::Path, "", "Directory for checkpoints and committed positions; empty = none."),
    key("pipeline.checkpoint_interval_ms", "DATA_PROC_PIPELINE_CHECKPOINT_INTERVAL_MS", int(1), MS, "How often state is checkpointed under `state_dir`."),
    key("pipeline.shutdown_timeout_ms", "DATA_PROC_PIPELINE_SHUTDOWN_TIMEOUT_MS", int(1), MS, "On SIGTERM: time allowed to stop sources, drain sinks and commit positions."),
    key("cluster.workers", "DATA_PROC_WORKERS", COUNT, "", "Timely worker threads per process."),
    key("cluster.processes", "DATA_PROC_PROCESSES", COUNT, "", "Number of processes in the cluster."),
    key("cluster.process_index", "DATA_PROC_PROCESS_INDEX", Kind::Int { min: 0, max: 1023 }, "", "This process's index, `0..processes`."),
    key("cluster.hostfile", "DATA_PROC_HOSTFILE", Kind::Path, "", "File with one `host:port` per process; with `processes > 1` this or `peer_dns` is required."),
    key("cluster.peer_dns", "DATA_PROC_PEER_DNS", Kind::Str, "", "Peer host name pattern, `{i}` = process index (e.g. `tickflow-{i}.tickflow-peers`): peers are `pattern:peer_port`, and without `-p`/`DATA_PROC_PROCESS_INDEX` the index comes from `POD_NAME` or `HOSTNAME` (`tickflow-3` = 3). Empty = use `hostfile`."),
    key("cluster.peer_port", "DATA_PROC_PEER_PORT", Kind::Int { min: 1, max: 65_535 }, "", "With `peer_dns`: the port every process listens on for its peers."),
    key("cluster.bind_address", "DATA_PROC_BIND_ADDR", Kind::Str, "", "With `peer_dns`: the IP address this process listens on for its peers."),
    key("cluster.startup_timeout_ms", "DATA_PROC_CLUSTER_STARTUP_TIMEOUT_MS", int(1), MS, "With `processes > 1`: how long peers are waited for (DNS names resolvable, all connected) before the process exits with an error."),
    key("logging.level", "DATA_PROC_LOG_LEVEL", Kind::Str, "", "`trace`, `debug`, `info`, `warn`, `error`, `off`, or comma-separated `target=level` directives."),
    key("logging.format", "DATA_PROC_LOG_FORMAT", Kind::Enum(LogFormat::NAMES), "", "Log line format."),
    key("aggregation.bar_intervals", "DATA_PROC_AGGREGATION_BAR_INTERVALS", Kind::Intervals, "", "Bar intervals computed for every instrument."),
    key("aggregation.watermark_delay_ms", "DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", int(0), MS, "A feed's watermark trails its greatest event time by this much."),
    key("aggregation.allowed_lateness_ms", "DATA_PROC_AGGREGATION_MAX_LATE_MS", int(0), MS, "A window stays open for a tick until `window_end + allowed_lateness_ms` ≤ the watermark."),
    key("aggregation.idle_timeout_ms", "DATA_PROC_AGGREGATION_IDLE_TIMEOUT_MS", int(1), MS, "A live feed silent this long stops holding the global watermark back."),
    key("aggregation.markets.{MARKET}.watermark_delay_ms", "DATA_PROC_AGGREGATION_MARKETS_{MARKET}_WATERMARK_DELAY_MS", int(0), MS, "Per-market `watermark_delay_ms`."),
    key("aggregation.markets.{MARKET}.allowed_lateness_ms", "DATA_PROC_AGGREGATION_MARKETS_{MARKET}_ALLOWED_LATENESS_MS", int(0), MS, "Per-market `allowed_lateness_ms` (settlement corrections arrive days late)."),
    key("aggregation.markets.{MARKET}.idle_timeout_ms", "DATA_PROC_AGGREGATION_MARKETS_{MARKET}_IDLE_TIMEOUT_MS", int(1), MS, "Per-market `idle_timeout_ms`."),
    toml_only("aggregation.sources.{SOURCE}.watermark_delay_ms", int(0), MS, "Per-source (Kafka topic or input path as given) `watermark_delay_ms`; beats the market's."),
    toml_only("aggregation.sources.{SOURCE}.allowed_lateness_ms", int(0), MS, "Per-source `allowed_lateness_ms`; beats the market's."),
    toml_only("aggregation.sources.{SOURCE}.idle_timeout_ms", int(1), MS, "Per-source `idle_timeout_ms`; beats the market's."),
    key("normalization.min_price", "DATA_PROC_NORMALIZATION_MIN_PRICE", Kind::Float, PRICE, "Prices below are flagged `out_of_range`."),
    key("normalization.max_price", "DATA_PROC_NORMALIZATION_MAX_PRICE", Kind::Float, PRICE, "Prices above are flagged `out_of_range`."),
    key("normalization.markets.{MARKET}.min_price", "DATA_PROC_NORMALIZATION_MARKETS_{MARKET}_MIN_PRICE", Kind::Float, PRICE, "Per-market `min_price`."),
    key("normalization.markets.{MARKET}.max_price", "DATA_PROC_NORMALIZATION_MARKETS_{MARKET}_MAX_PRICE", Kind::Float, PRICE, "Per-market `max_price`."),
    key("reference.source", "DATA_PROC_REFERENCE_SOURCE", Kind::Str, "", "`embedded` (bundled tables), `dir:PATH` (CSV tables) or `postgres`."),
    key("reference.refresh_interval_ms", "DATA_PROC_REFERENCE_REFRESH_INTERVAL_MS", int(1), MS, "How often reference tables are re-read."),
    key("output.sinks", "DATA_PROC_OUTPUT_SINKS", SPECS, "", "Sink specs: `dir:PATH[?views=…]`, `kafka`, `clickhouse`, `redis`, `stdout`, `null`. Env: `;`-separated."),
    key("output.changes", "DATA_PROC_OUTPUT_CHANGES", Kind::Bool, "", "`dir:` sinks write `{stem}.changes.*` update logs instead of final state."),
    key("output.flush_interval_ms", "DATA_PROC_OUTPUT_FLUSH_INTERVAL_MS", int(1), MS, "Sinks flush buffered records at least this often."),
    key("output.retry_max_backoff_ms", "DATA_PROC_OUTPUT_RETRY_MAX_BACKOFF_MS", int(1), MS, "Cap of the retry backoff of a sink that is down."),
    key("output.sort_memory_bytes", "DATA_PROC_OUTPUT_SORT_MEMORY_BYTES", int(1 << 20), BYTES, "Memory each sorted view of a `dir:` writer holds per process (its workers share it) before it spills a sorted run to its directory; final bars and change logs spill, so a long bounded run keeps flat memory."),
    key("kafka.bootstrap", "DATA_PROC_KAFKA_BOOTSTRAP", Kind::Str, "", "Bootstrap brokers, `host:port` comma-separated."),
    key("kafka.consumer_group", "DATA_PROC_CONSUMER_GROUP", Kind::Str, "", "Consumer group id."),
    key("kafka.client_id", "DATA_PROC_KAFKA_CLIENT_ID", Kind::Str, "", "Client id reported to the brokers."),
    key("kafka.security_protocol", "DATA_PROC_KAFKA_SECURITY_PROTOCOL", Kind::Enum(SecurityProtocol::NAMES), "", "`security.protocol`."),
    key("kafka.sasl_mechanism", "DATA_PROC_KAFKA_SASL_MECHANISM", Kind::Enum(SaslMechanism::NAMES), "", "`sasl.mechanism`; required with a `sasl_*` protocol."),
    key("kafka.sasl_username", "DATA_PROC_KAFKA_SASL_USERNAME", Kind::Str, "", "`sasl.username`."),
    key("kafka.sasl_password", "DATA_PROC_KAFKA_SASL_PASSWORD", Kind::Secret, "", "`sasl.password`."),
    key("kafka.ssl_ca_location", "DATA_PROC_KAFKA_SSL_CA_LOCATION", Kind::Path, "", "`ssl.ca.location`: CA bundle (PEM); empty = system store."),
    key("kafka.ssl_certificate_location", "DATA_PROC_KAFKA_SSL_CERTIFICATE_LOCATION", Kind::Path, "", "`ssl.certificate.location`: client certificate (PEM)."),
    key("kafka.ssl_key_location", "DATA_PROC_KAFKA_SSL_KEY_LOCATION", Kind::Path, "", "`ssl.key.location`: client private key (PEM)."),
    key("kafka.ssl_key_password", "DATA_PROC_KAFKA_SSL_KEY_PASSWORD", Kind::Secret, "", "`ssl.key.password`."),
    key("kafka.message_max_bytes", "DATA_PROC_KAFKA_MESSAGE_MAX_BYTES", Kind::Int { min: 1000, max: 1_000_000_000 }, BYTES, "Largest message produced or fetched (whole native documents are one message)."),
    key("kafka.compression", "DATA_PROC_KAFKA_COMPRESSION", Kind::Enum(Compression::NAMES), "", "Producer `compression.type`."),
    key("kafka.auto_offset_reset", "DATA_PROC_KAFKA_AUTO_OFFSET_RESET", Kind::Enum(OffsetReset::NAMES), "", "Where a group without committed offsets starts."),
    key("kafka.session_timeout_ms", "DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", Kind::Int { min: 1000, max: 3_600_000 }, MS, "Consumer session timeout."),
    key("kafka.fetch_wait_max_ms", "DATA_PROC_KAFKA_FETCH_WAIT_MAX_MS", Kind::Int { min: 0, max: 300_000 }, MS, "How long a broker may hold a fetch that found no new data (`fetch.wait.max.ms`); bounds produce-to-consume delay on brokers that hold empty fetches."),
    key("kafka.commit_interval_ms", "DATA_PROC_KAFKA_COMMIT_INTERVAL_MS", int(0), MS, "While a job runs, safe positions are committed at most this often (only with sinks durable on flush: kafka, clickhouse, redis, null); 0 = only at the end."),
    key("kafka.topics.in_envelopes", "DATA_PROC_KAFKA_TOPICS_IN_ENVELOPES", Kind::Str, "", "Canonical envelopes in."),
    key("kafka.topics.in_miso", "DATA_PROC_KAFKA_TOPICS_IN_MISO", Kind::Str, "", "Whole MISO documents in."),
    key("kafka.topics.in_caiso", "DATA_PROC_KAFKA_TOPICS_IN_CAISO", Kind::Str, "", "Whole CAISO documents in."),
    key("kafka.topics.in_ercot", "DATA_PROC_KAFKA_TOPICS_IN_ERCOT", Kind::Str, "", "Whole ERCOT documents in."),
    key("kafka.topics.in_pjm", "DATA_PROC_KAFKA_TOPICS_IN_PJM", Kind::Str, "", "Whole PJM documents in."),
    key("kafka.topics.in_nyiso", "DATA_PROC_KAFKA_TOPICS_IN_NYISO", Kind::Str, "", "Whole NYISO documents in."),
    key("kafka.topics.in_isone", "DATA_PROC_KAFKA_TOPICS_IN_ISONE", Kind::Str, "", "Whole ISO-NE documents in."),
    key("kafka.topics.in_spp", "DATA_PROC_KAFKA_TOPICS_IN_SPP", Kind::Str, "", "Whole SPP documents in."),
    key("kafka.topics.out_normalized", "DATA_PROC_KAFKA_TOPICS_OUT_NORMALIZED", Kind::Str, "", "Normalized ticks out."),
    key("kafka.topics.out_enriched", "DATA_PROC_KAFKA_TOPICS_OUT_ENRICHED", Kind::Str, "", "Enriched ticks out."),
    key("kafka.topics.out_bars", "DATA_PROC_KAFKA_TOPICS_OUT_BARS", Kind::Str, "", "OHLC bars out."),
    key("kafka.topics.out_curves", "DATA_PROC_KAFKA_TOPICS_OUT_CURVES", Kind::Str, "", "Curve points out."),
    key("kafka.topics.out_latest_prices", "DATA_PROC_KAFKA_TOPICS_OUT_LATEST_PRICES", Kind::Str, "", "Latest prices out."),
    key("kafka.topics.out_dead_letters", "DATA_PROC_KAFKA_TOPICS_OUT_DEAD_LETTERS", Kind::Str, "", "Dead letters out."),
    toml_only("kafka.topic_formats.{TOPIC}", Kind::Format, "", "Format of a topic whose messages carry no `format` header."),
    key("postgres.dsn", "DATA_PROC_POSTGRES_DSN", Kind::SecretUrl, "", "`postgres://user:password@host:port/db?sslmode=…` or libpq `key=value`; password masked."),
    key("clickhouse.url", "DATA_PROC_CLICKHOUSE_URL", Kind::Str, "", "HTTP(S) endpoint."),
    key("clickhouse.database", "DATA_PROC_CLICKHOUSE_DATABASE", Kind::Str, "", "Database holding the tickflow tables."),
    key("clickhouse.user", "DATA_PROC_CLICKHOUSE_USER", Kind::Str, "", "User name."),
    key("clickhouse.password", "DATA_PROC_CLICKHOUSE_PASSWORD", Kind::Secret, "", "Password."),
    key("clickhouse.ca_path", "DATA_PROC_CLICKHOUSE_CA_PATH", Kind::Path, "", "CA bundle (PEM) for `https`; empty = system store."),
    key("clickhouse.request_timeout_ms", "DATA_PROC_CLICKHOUSE_REQUEST_TIMEOUT_MS", int(1), MS, "Timeout of one HTTP request."),
    key("clickhouse.batch_max_rows", "DATA_PROC_CLICKHOUSE_BATCH_MAX_ROWS", int(1), "rows", "A worker's insert thread inserts as soon as this many rows of a table are pending, without waiting for a flush."),
    key("clickhouse.buffer_max_bytes", "DATA_PROC_CLICKHOUSE_BUFFER_MAX_BYTES", int(1 << 16), BYTES, "Rendered rows a worker buffers for its insert thread before it waits for the server (the thread inserts once half of it is buffered); bounds memory while ClickHouse is slow or down."),
    key("clickhouse.insert_interval_ms", "DATA_PROC_CLICKHOUSE_INSERT_INTERVAL_MS", int(0), MS, "Least time between two inserts of a worker that periodic flushes ask for (every insert is a part per table that the server writes and merges); full batches, the end of a run and retries insert at once."),
    key("clickhouse.ttl_days", "DATA_PROC_CLICKHOUSE_TTL_DAYS", int(0), "days", "`tickflow migrate` adds a TTL of this many days to ticks, curve points and dead letters on servers that support TTLs (not 18.16); 0 = none."),
    key("redis.url", "DATA_PROC_REDIS_URL", Kind::SecretUrl, "", "`redis://[user][:password@]host[:port][/db]` (`rediss://` for TLS); password masked."),
    key("redis.ca_path", "DATA_PROC_REDIS_CA_PATH", Kind::Path, "", "CA bundle (PEM) for `rediss://`; empty = system store."),
    key("redis.key_prefix", "DATA_PROC_REDIS_KEY_PREFIX", Kind::Str, "", "Prepended to every served key (e.g. `staging:`); empty = the SPEC names."),
    key("redis.ship_interval_ms", "DATA_PROC_REDIS_SHIP_INTERVAL_MS", int(0), MS, "Least time between two hand-overs of a worker's latest prices and bars to Redis: updates of a key within it are netted to its last state (fewer script calls and notifications, at most this much later); 0 = whenever the inputs advance."),
    key("projection.cache_ttl_seconds", "DATA_PROC_PROJECTION_CACHE_TTL", int(0), "s", "TTL of served Redis keys; 0 = no expiry."),
    key("http.port", "DATA_PROC_HEALTH_PORT", PORT, "", "HTTP port (API, health, metrics); 0 picks a free port."),
    key("http.bind_address", "DATA_PROC_HTTP_BIND_ADDRESS", Kind::Str, "", "Listening IP address (loopback by default; `0.0.0.0` in a container)."),
    key("http.api_keys", "DATA_PROC_API_KEYS", Kind::List { sep: ',', secret: true }, "", "API keys, each `key` (all tenants) or `key:tenant`; empty = `/v1` open."),
    key("http.serve_history_ms", "DATA_PROC_HTTP_SERVE_HISTORY_MS", int(0), MS, "Finalized bars stay queryable this long."),
];
