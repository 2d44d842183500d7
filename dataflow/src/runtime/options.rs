//! [`RunOptions`]: everything a run needs, resolved from configuration and flags, and the
//! lateness policy derived from the `[aggregation]` settings for the planned feeds.

use crate::spec::{InputSpec, OutputSpec};
use connectors::kafka::KafkaSettings;
use operators::lateness::LatenessPolicy;
use operators::model::{BarInterval, FeedTable, Market};
use operators::normalize::NormalizeConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything a run needs, resolved from configuration and flags.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Inputs.
    pub inputs: Vec<InputSpec>,
    /// Outputs.
    pub outputs: Vec<OutputSpec>,
    /// Worker threads per process.
    pub workers: usize,
    /// Number of processes.
    pub processes: usize,
    /// This process's index.
    pub process_index: usize,
    /// Hostfile with one `host:port` per process (required when `processes > 1`).
    pub hostfile: Option<PathBuf>,
    /// Peers from `cluster.peer_dns` (one address per process, this one's = where it listens);
    /// replaces the hostfile when set.
    pub peers: Option<Vec<String>>,
    /// How long a multi-process run waits for its peers before failing.
    pub startup_timeout_ms: u64,
    /// Size at which record streams are cut into batches.
    pub batch_max_bytes: u64,
    /// Normalization settings.
    pub normalize: NormalizeConfig,
    /// Windows, watermarks and lateness.
    pub aggregation: AggregationOptions,
    /// Live reference data.
    pub reference: ReferenceOptions,
    /// Kafka client settings, for `kafka:` inputs and the `kafka` output.
    pub kafka: KafkaSettings,
    /// Keep reading unbounded inputs at their end (`--follow`): Kafka partitions are polled
    /// for new messages instead of stopping at the high watermarks seen at start.
    pub follow: bool,
    /// Follow mode: a Kafka partition silent this long stops holding the global watermark back.
    pub idle_timeout_ms: u64,
    /// Kafka runs whose sinks are all durable on flush commit safe positions at most this
    /// often while running (`kafka.commit_interval_ms`); 0 = only at the end of the run.
    pub commit_interval_ms: u64,
    /// Kafka positions to resume from, (topic, partition) → next offset; partitions not listed
    /// start at the consumer group's committed offset.
    pub kafka_start: BTreeMap<(String, i32), u64>,
    /// Server sinks and how sinks are flushed and retried.
    pub sinks: SinkOptions,
    /// The HTTP server (`--serve`, `--follow`); `None` = no server.
    pub serve: Option<crate::http::HttpOptions>,
    /// The query API's keys and served history (used with `serve`).
    pub api: crate::http::ApiOptions,
}

/// Settings of the server sinks (`--output clickhouse`, `--output redis`) and of flushing.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// The ClickHouse sink's connection and batching.
    pub clickhouse: connectors::clickhouse::ClickhouseConfig,
    /// The Redis sink's connection, key prefix and TTL.
    pub redis: connectors::redis::RedisConfig,
    /// Sinks are flushed at least this often while data flows (`output.flush_interval_ms`).
    pub flush_interval_ms: u64,
    /// Cap of the exponential backoff between retries of an unavailable sink
    /// (`output.retry_max_backoff_ms`).
    pub retry_max_backoff_ms: u64,
    /// Memory each sorted view of a `dir:` sink holds per worker before it spills a sorted
    /// run (`output.sort_memory_bytes`).
    pub sort_memory_bytes: u64,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            clickhouse: Default::default(),
            redis: Default::default(),
            flush_interval_ms: 1_000,
            retry_max_backoff_ms: 30_000,
            sort_memory_bytes: connectors::dir::DEFAULT_SORT_MEMORY_BYTES as u64,
        }
    }
}

/// Where live reference changes come from (SPEC §5); the initial snapshot is
/// `NormalizeConfig::reference`.
#[derive(Clone, Debug)]
pub struct ReferenceOptions {
    /// The directory of `<table>.csv` files the snapshot was loaded from, re-scanned while the
    /// job runs; `None` = no live changes from files.
    pub dir: Option<PathBuf>,
    /// The PostgreSQL database the snapshot was read from, polled for changes from that
    /// snapshot on while the job runs (`--reference postgres`).
    pub postgres: Option<PostgresReference>,
    /// How often the source is polled (`reference.refresh_interval_ms`).
    pub refresh_interval_ms: u64,
}

impl Default for ReferenceOptions {
    fn default() -> Self {
        ReferenceOptions {
            dir: None,
            postgres: None,
            refresh_interval_ms: 5_000,
        }
    }
}

/// A PostgreSQL reference database and the snapshot already read from it.
#[derive(Clone, Debug)]
pub struct PostgresReference {
    /// Connection string (`postgres.dsn`).
    pub dsn: connectors::postgres::PgDsn,
    /// The rows and change cursor of the snapshot the job starts from.
    pub baseline: connectors::reference::PgBaseline,
}

/// Bar intervals, watermarks and lateness (SPEC §4), as configured.
#[derive(Clone, Debug)]
pub struct AggregationOptions {
    /// Bar intervals.
    pub intervals: Vec<BarInterval>,
    /// Global watermark delay.
    pub watermark_delay_ms: i64,
    /// Global allowed lateness.
    pub allowed_lateness_ms: i64,
    /// Per-market overrides: (market, delay, lateness).
    pub markets: Vec<(Market, Option<i64>, Option<i64>)>,
    /// Per-source overrides: (input path as given or topic, delay, lateness).
    pub sources: Vec<(String, Option<i64>, Option<i64>)>,
    /// Latest-price history per instrument.
    pub latest_history: usize,
}

impl Default for AggregationOptions {
    fn default() -> Self {
        AggregationOptions {
            intervals: vec![BarInterval::M5, BarInterval::H1, BarInterval::D1],
            watermark_delay_ms: 30_000,
            allowed_lateness_ms: 300_000,
            markets: Vec::new(),
            sources: Vec::new(),
            latest_history: operators::latest::DEFAULT_HISTORY,
        }
    }
}

impl AggregationOptions {
    /// The lateness policy for the planned feeds: a source override applies to the feeds whose
    /// display path is the source or lies under it.
    pub fn policy(&self, feeds: &FeedTable) -> LatenessPolicy {
        let mut p = LatenessPolicy::new(
            &self.intervals,
            self.watermark_delay_ms,
            self.allowed_lateness_ms,
        );
        for (m, d, l) in &self.markets {
            p = p.with_market(*m, *d, *l);
        }
        for (src, d, l) in &self.sources {
            let under = format!("{}/", src.trim_end_matches('/'));
            for f in feeds.iter() {
                if f.display == *src || f.display.starts_with(&under) {
                    p = p.with_feed(f.id, *d, *l);
                }
            }
        }
        p
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            inputs: Vec::new(),
            outputs: Vec::new(),
            workers: 1,
            processes: 1,
            process_index: 0,
            hostfile: None,
            peers: None,
            startup_timeout_ms: 120_000,
            batch_max_bytes: 1 << 20,
            normalize: NormalizeConfig::default(),
            aggregation: AggregationOptions::default(),
            reference: ReferenceOptions::default(),
            kafka: KafkaSettings::default(),
            follow: false,
            idle_timeout_ms: 60_000,
            commit_interval_ms: 5_000,
            kafka_start: BTreeMap::new(),
            sinks: SinkOptions::default(),
            serve: None,
            api: crate::http::ApiOptions::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use operators::model::FeedKind;

    #[test]
    fn source_overrides_apply_to_the_feeds_under_the_source() {
        let mut feeds = FeedTable::default();
        let a = feeds.add("data/pjm/a.csv", FeedKind::File);
        let b = feeds.add("data/pjm2/b.csv", FeedKind::File);
        let c = feeds.add("data/c.csv", FeedKind::File);
        let opts = AggregationOptions {
            markets: vec![(Market::Pjm, Some(1_000), None)],
            sources: vec![
                ("data/pjm/".into(), None, Some(86_400_000)),
                ("data/c.csv".into(), Some(5), None),
            ],
            ..AggregationOptions::default()
        };
        let p = opts.policy(&feeds);
        assert_eq!(p.lateness_ms(a, Market::Pjm), 86_400_000);
        assert_eq!(
            p.lateness_ms(b, Market::Pjm),
            300_000,
            "a sibling prefix is not under it"
        );
        assert_eq!(p.delay_ms(a, Market::Pjm), 1_000);
        assert_eq!(p.delay_ms(c, Market::Ercot), 5);
        assert_eq!(p.delay_ms(b, Market::Ercot), 30_000);
        // Windows close with the greatest lateness any feed may use.
        assert_eq!(p.closing_lateness_ms(Market::Ercot), 86_400_000);
    }
}
