//! The metric families of SPEC §10, registered once in the process registry and handed out as
//! labelled handles. Label values follow SPEC §10: `source` ∈ {file, kafka, generator}, `sink`
//! the sink's `kind()`, `market` a lower-case market label, `stage`/`error_code` lower case —
//! never a label per instrument or file, so every family stays small.
//!
//! A family that fails to register (a duplicate name: a programming error) is logged and kept
//! unregistered, so counting never fails; the tests catch it because the name is then missing
//! from `/metrics`.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::LazyLock;

/// Every tickflow metric except `tickflow_build_info` (registered with the registry).
pub struct Families {
    /// `tickflow_records_in_total{source,market}`.
    pub records_in: IntCounterVec,
    /// `tickflow_records_out_total{sink,view}`.
    pub records_out: IntCounterVec,
    /// `tickflow_dead_letters_total{stage,error_code}`.
    pub dead_letters: IntCounterVec,
    /// `tickflow_duplicates_total`.
    pub duplicates: IntCounter,
    /// `tickflow_corrections_total`.
    pub corrections: IntCounter,
    /// `tickflow_late_records_total{disposition}`.
    pub late_records: IntCounterVec,
    /// `tickflow_watermark_lag_seconds` (set from [`set_watermark_ms`] at each scrape).
    pub watermark_lag: prometheus::Gauge,
    /// `tickflow_event_to_sink_seconds{sink}`.
    pub event_to_sink: HistogramVec,
    /// `tickflow_kafka_consumer_lag{topic,partition}`.
    pub kafka_consumer_lag: IntGaugeVec,
    /// `tickflow_sink_flush_seconds{sink}`.
    pub sink_flush: HistogramVec,
    /// `tickflow_sink_errors_total{sink}`.
    pub sink_errors: IntCounterVec,
    /// `tickflow_open_windows{interval}`.
    pub open_windows: IntGaugeVec,
    /// `tickflow_reference_rows{table}`.
    pub reference_rows: IntGaugeVec,
    /// `tickflow_source_last_event_timestamp_seconds{source,market}`.
    pub source_last_event: prometheus::GaugeVec,
    /// `tickflow_missing_intervals_total{market,run}`.
    pub missing_intervals: IntCounterVec,
    /// `tickflow_http_requests_total{route,status}`.
    pub http_requests: IntCounterVec,
}

/// Latency buckets (seconds) of the sink histograms: 1 ms … 5 min.
const SECONDS_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0,
];

fn register<C: prometheus::core::Collector + Clone + 'static>(c: C) -> C {
    if let Err(e) = super::registry().register(Box::new(c.clone())) {
        tracing::error!(error = %e, "cannot register a metric");
    }
    c
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    match IntCounterVec::new(Opts::new(name, help), labels) {
        Ok(c) => register(c),
        Err(_) => IntCounterVec::new(Opts::new("tickflow_invalid", "invalid"), &[])
            .unwrap_or_else(|_| unreachable!("a label-less counter vector always builds")),
    }
}

fn counter(name: &str, help: &str) -> IntCounter {
    match IntCounter::new(name, help) {
        Ok(c) => register(c),
        Err(_) => IntCounter::new("tickflow_invalid", "invalid")
            .unwrap_or_else(|_| unreachable!("a valid counter always builds")),
    }
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    match IntGaugeVec::new(Opts::new(name, help), labels) {
        Ok(g) => register(g),
        Err(_) => IntGaugeVec::new(Opts::new("tickflow_invalid", "invalid"), &[])
            .unwrap_or_else(|_| unreachable!("a label-less gauge vector always builds")),
    }
}

fn float_gauge_vec(name: &str, help: &str, labels: &[&str]) -> prometheus::GaugeVec {
    match prometheus::GaugeVec::new(Opts::new(name, help), labels) {
        Ok(g) => register(g),
        Err(_) => prometheus::GaugeVec::new(Opts::new("tickflow_invalid", "invalid"), &[])
            .unwrap_or_else(|_| unreachable!("a label-less gauge vector always builds")),
    }
}

fn histogram_vec(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(SECONDS_BUCKETS.to_vec());
    match HistogramVec::new(opts, labels) {
        Ok(h) => register(h),
        Err(_) => HistogramVec::new(HistogramOpts::new("tickflow_invalid", "invalid"), &[])
            .unwrap_or_else(|_| unreachable!("a label-less histogram vector always builds")),
    }
}

/// The families, registered on first use.
pub fn families() -> &'static Families {
    static FAMILIES: LazyLock<Families> = LazyLock::new(|| {
        Families {
        records_in: counter_vec(
            "tickflow_records_in_total",
            "Input records read (ticks parsed plus records rejected while normalizing).",
            &["source", "market"],
        ),
        records_out: counter_vec(
            "tickflow_records_out_total",
            "View updates handed to a sink and flushed (retractions included).",
            &["sink", "view"],
        ),
        dead_letters: counter_vec(
            "tickflow_dead_letters_total",
            "Dead letters that reached the sinks, by failure stage and error code.",
            &["stage", "error_code"],
        ),
        duplicates: counter(
            "tickflow_duplicates_total",
            "Arrivals equal in value to their identity's winner (they change nothing).",
        ),
        corrections: counter(
            "tickflow_corrections_total",
            "Arrivals that replaced their identity's winner with another value.",
        ),
        late_records: counter_vec(
            "tickflow_late_records_total",
            "Ticks behind their feed's watermark: accepted_late (flagged late_arrival) or dead_letter (LATE_DATA).",
            &["disposition"],
        ),
        watermark_lag: match prometheus::Gauge::new(
            "tickflow_watermark_lag_seconds",
            "Wall clock minus the global event-time watermark (0 once every bounded input ended).",
        ) {
            Ok(g) => register(g),
            Err(_) => prometheus::Gauge::new("tickflow_invalid", "invalid")
                .unwrap_or_else(|_| unreachable!("a valid gauge always builds")),
        },
        event_to_sink: histogram_vec(
            "tickflow_event_to_sink_seconds",
            "Per flush: seconds from the ingestion of the oldest record in it to the sink's acknowledgement.",
            &["sink"],
        ),
        kafka_consumer_lag: gauge_vec(
            "tickflow_kafka_consumer_lag",
            "Messages between the next offset to read and the partition's high watermark.",
            &["topic", "partition"],
        ),
        sink_flush: histogram_vec(
            "tickflow_sink_flush_seconds",
            "Seconds a sink flush took until durable (retries of an unavailable sink included).",
            &["sink"],
        ),
        sink_errors: counter_vec(
            "tickflow_sink_errors_total",
            "Failed sink operations (each retried attempt of an unavailable sink, and fatal failures).",
            &["sink"],
        ),
        open_windows: gauge_vec(
            "tickflow_open_windows",
            "Bar windows open (not final) over all workers of this process.",
            &["interval"],
        ),
        reference_rows: gauge_vec(
            "tickflow_reference_rows",
            "Reference rows loaded, per table (active and inactive versions).",
            &["table"],
        ),
        source_last_event: float_gauge_vec(
            "tickflow_source_last_event_timestamp_seconds",
            "Greatest event time (interval_start, Unix seconds) read from a source, per market.",
            &["source", "market"],
        ),
        missing_intervals: counter_vec(
            "tickflow_missing_intervals_total",
            "Intervals skipped by an instrument's in-order sequence of ticks (gaps), per market and run.",
            &["market", "run"],
        ),
        http_requests: counter_vec(
            "tickflow_http_requests_total",
            "HTTP requests answered, by route template and status code.",
            &["route", "status"],
        ),
    }
    });
    &FAMILIES
}

/// Watermark last published (`i64::MIN`: none yet, `i64::MAX`: every bounded input ended).
static WATERMARK_MS: AtomicI64 = AtomicI64::new(i64::MIN);

/// Publishes the global event-time watermark; the lag is computed from it at each scrape, so
/// it keeps growing while the pipeline is stuck.
pub fn set_watermark_ms(ms: i64) {
    WATERMARK_MS.fetch_max(ms, Ordering::Relaxed);
}

/// Sets the gauges computed at scrape time.
pub(crate) fn refresh() {
    let f = families();
    match WATERMARK_MS.load(Ordering::Relaxed) {
        i64::MIN => {}
        i64::MAX => f.watermark_lag.set(0.0),
        ms => {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            f.watermark_lag.set((now_ms - ms) as f64 / 1000.0);
        }
    }
}

/// Observes a flush's duration for `sink`.
pub fn observe_flush(sink: &str, seconds: f64) {
    families()
        .sink_flush
        .with_label_values(&[sink])
        .observe(seconds);
}

/// A cached handle of `tickflow_event_to_sink_seconds` for `sink`.
pub fn event_to_sink(sink: &str) -> Histogram {
    families().event_to_sink.with_label_values(&[sink])
}

/// Counts one failed operation of `sink`.
pub fn sink_error(sink: &str) {
    families().sink_errors.with_label_values(&[sink]).inc();
}

/// Sets the gauge of one Kafka partition's consumer lag.
pub fn set_kafka_lag(topic: &str, partition: i32, lag: i64) {
    families()
        .kafka_consumer_lag
        .with_label_values(&[topic, &partition.to_string()])
        .set(lag);
}
