//! What a run did: per-worker reports gathered on worker 0, and the printed summary.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One worker's counts, sent to worker 0 when its sinks have finished.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkerReport {
    /// Global worker index.
    pub worker: usize,
    /// Documents parsed.
    pub documents: u64,
    /// Bytes parsed.
    pub bytes: u64,
    /// Data rows read.
    pub rows: u64,
    /// Ticks parsed, per market code.
    pub ticks_parsed: BTreeMap<String, u64>,
    /// Dead letters per error code.
    pub dead_letters: BTreeMap<String, u64>,
    /// Accepted ticks behind their feed's watermark (`late_arrival`).
    pub late_arrivals: u64,
    /// Distinct tick identities seen by dedupe.
    pub identities: u64,
    /// Duplicate arrivals.
    pub duplicates: u64,
    /// Stale arrivals.
    pub stale: u64,
    /// Corrections.
    pub corrections: u64,
    /// Identities released once their largest window was final.
    pub released: u64,
    /// Bars held at the end, per interval name.
    pub bars: BTreeMap<String, u64>,
    /// Latest-price rows held at the end.
    pub latest: u64,
    /// Forward-curve points held at the end.
    pub forward_points: u64,
    /// Day-ahead delivery-curve points held at the end.
    pub delivery_points: u64,
    /// A few latest-price rows (`latest.csv` lines), first by (tenant, instrument).
    pub latest_sample: Vec<String>,
    /// Sink errors.
    pub sink_errors: Vec<String>,
    /// Kafka positions safe to commit once every sink of every worker is durable: (feed, next
    /// offset), see `graph::CommitTracker`.
    pub positions: Vec<(operators::model::FeedId, u64)>,
    /// What is committed with them (`connectors::kafka::ResumeMark`): (feed, last finite global
    /// watermark, next offset after the judged records).
    pub resume_marks: Vec<(operators::model::FeedId, operators::model::EpochMs, u64)>,
}

/// The whole run, on worker 0 of process 0.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Workers that reported.
    pub workers: usize,
    /// Sum over workers.
    pub total: WorkerReport,
    /// Files written by `dir:` outputs: (path, lines).
    pub files: Vec<(String, u64)>,
    /// Wall-clock seconds of the dataflow.
    pub elapsed_s: f64,
}

impl RunReport {
    /// Adds one worker's report.
    pub fn add(&mut self, r: &WorkerReport) {
        self.workers += 1;
        let t = &mut self.total;
        t.documents += r.documents;
        t.bytes += r.bytes;
        t.rows += r.rows;
        for (k, v) in &r.ticks_parsed {
            *t.ticks_parsed.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &r.dead_letters {
            *t.dead_letters.entry(k.clone()).or_default() += v;
        }
        t.late_arrivals += r.late_arrivals;
        t.identities += r.identities;
        t.released += r.released;
        for (k, v) in &r.bars {
            *t.bars.entry(k.clone()).or_default() += v;
        }
        t.latest += r.latest;
        t.forward_points += r.forward_points;
        t.delivery_points += r.delivery_points;
        t.latest_sample.extend(r.latest_sample.iter().cloned());
        t.latest_sample.sort();
        t.latest_sample.truncate(5);
        t.duplicates += r.duplicates;
        t.stale += r.stale;
        t.corrections += r.corrections;
        t.sink_errors.extend(r.sink_errors.iter().cloned());
        t.positions.extend(r.positions.iter().copied());
        t.resume_marks.extend(r.resume_marks.iter().copied());
    }

    /// Total dead letters.
    pub fn dead_letters(&self) -> u64 {
        self.total.dead_letters.values().sum()
    }

    /// Total ticks parsed.
    pub fn ticks_parsed(&self) -> u64 {
        self.total.ticks_parsed.values().sum()
    }

    /// The human-readable summary printed at the end of `tickflow run`.
    pub fn render(&self) -> String {
        let t = &self.total;
        let mut s = String::new();
        let secs = self.elapsed_s.max(1e-9);
        let _ = writeln!(
            s,
            "tickflow run summary ({} worker(s), {:.3} s)",
            self.workers, self.elapsed_s
        );
        let _ = writeln!(
            s,
            "  documents read      {:>12}  ({:.1} MB)",
            t.documents,
            t.bytes as f64 / 1e6
        );
        let _ = writeln!(s, "  rows read           {:>12}", t.rows);
        let _ = writeln!(s, "  ticks parsed        {:>12}", self.ticks_parsed());
        let _ = writeln!(s, "  distinct ticks      {:>12}", t.identities);
        let _ = writeln!(
            s,
            "  identities released {:>12}  (their largest window was final)",
            t.released
        );
        let _ = writeln!(
            s,
            "  duplicates / stale / corrections  {} / {} / {}",
            t.duplicates, t.stale, t.corrections
        );
        let _ = writeln!(s, "  late arrivals       {:>12}", t.late_arrivals);
        let _ = writeln!(s, "  dead letters        {:>12}", self.dead_letters());
        for (code, n) in &t.dead_letters {
            let _ = writeln!(s, "    {code:<26}{n:>10}");
        }
        let _ = writeln!(s, "  ticks per market:");
        for (m, n) in &t.ticks_parsed {
            let _ = writeln!(s, "    {m:<26}{n:>10}");
        }
        let mut bars: Vec<(&String, &u64)> = t.bars.iter().collect();
        bars.sort_by_key(|(k, _)| {
            operators::model::BarInterval::from_name(k).map(|i| i.nominal_ms())
        });
        let _ = writeln!(s, "  bars (final):");
        for (iv, n) in bars {
            let _ = writeln!(s, "    {iv:<26}{n:>10}");
        }
        let _ = writeln!(s, "  latest prices       {:>12}", t.latest);
        for line in &t.latest_sample {
            let _ = writeln!(s, "    {line}");
        }
        let _ = writeln!(
            s,
            "  curve points        {:>12}  (forward {}, day-ahead delivery {})",
            t.forward_points + t.delivery_points,
            t.forward_points,
            t.delivery_points
        );
        let _ = writeln!(
            s,
            "  throughput          {:>12.0} rows/s, {:.1} MB/s",
            t.rows as f64 / secs,
            t.bytes as f64 / 1e6 / secs
        );
        for (f, n) in &self.files {
            let _ = writeln!(s, "  wrote {f} ({n} lines)");
        }
        for e in &t.sink_errors {
            let _ = writeln!(s, "  SINK ERROR: {e}");
        }
        s
    }
}
