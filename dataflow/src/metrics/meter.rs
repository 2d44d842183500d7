//! [`Meter`]: one worker's bridge from the counters the pipeline keeps anyway (the stages'
//! stats, the sinks' `counts()`) to the process's Prometheus families.
//!
//! Nothing is counted per tick here: the stages count into their own plain stats, and the meter
//! adds the *differences* since its last publication to the shared counters — at most every
//! [`PUBLISH_EVERY`], after every flush, and at the end — so the hot path pays one comparison
//! per write activation. Dead letters are counted as they reach the sinks (they are rare), into
//! a local map published the same way. Gauges that sum over workers (open windows) are moved by
//! each worker's own difference, so the process total stays right.

use super::families::{families, set_watermark_ms};
use crate::graph::StatsHandles;
use connectors::sink::Sink;
use operators::model::{BarInterval, DeadLetter, EpochMs, FeedKind, Market, Sym};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Longest time between two publications of a busy worker.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(200);

/// One worker's meter; see the module doc.
pub struct Meter {
    records_in: [[u64; 8]; 3],
    last_event_ms: [[i64; 8]; 3],
    duplicates: u64,
    corrections: u64,
    late: (u64, u64),
    open: [u64; 5],
    dead: BTreeMap<(&'static str, &'static str), u64>,
    missing: BTreeMap<(Market, Sym), u64>,
    sink_counts: Vec<BTreeMap<&'static str, u64>>,
    oldest_ingested_ms: Option<EpochMs>,
    last_publish: Instant,
}

impl Default for Meter {
    fn default() -> Self {
        Meter {
            records_in: [[0; 8]; 3],
            last_event_ms: [[0; 8]; 3],
            duplicates: 0,
            corrections: 0,
            late: (0, 0),
            open: [0; 5],
            dead: BTreeMap::new(),
            missing: BTreeMap::new(),
            sink_counts: Vec::new(),
            oldest_ingested_ms: None,
            last_publish: Instant::now(),
        }
    }
}

fn now_ms() -> EpochMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Meter {
    /// A dead letter reached the sinks.
    pub fn dead_letter(&mut self, d: &DeadLetter) {
        *self
            .dead
            .entry((d.failure_stage.name(), d.error_code.name()))
            .or_default() += 1;
        self.ingested(d.ingested_at_ms);
    }

    /// A record ingested at `ms` was handed to the sinks (the oldest since the last flush
    /// decides the flush's `tickflow_event_to_sink_seconds`).
    #[inline]
    pub fn ingested(&mut self, ms: EpochMs) {
        if ms > 0 && self.oldest_ingested_ms.is_none_or(|o| ms < o) {
            self.oldest_ingested_ms = Some(ms);
        }
    }

    /// Publishes when [`PUBLISH_EVERY`] has passed since the last publication.
    pub fn tick(&mut self, stats: &StatsHandles) {
        if self.last_publish.elapsed() >= PUBLISH_EVERY {
            self.publish(stats);
        }
    }

    /// Adds every difference since the last publication to the families.
    pub fn publish(&mut self, stats: &StatsHandles) {
        self.last_publish = Instant::now();
        let f = families();
        {
            let n = stats.normalize.borrow();
            for (k, kind) in FeedKind::LABELS.iter().enumerate() {
                for (m, market) in Market::ALL.iter().enumerate() {
                    let now = n.records_in[k][m];
                    let before = std::mem::replace(&mut self.records_in[k][m], now);
                    if now > before {
                        f.records_in
                            .with_label_values(&[kind, market.label()])
                            .inc_by(now - before);
                    }
                    let last = n.last_event_ms[k][m];
                    if last > self.last_event_ms[k][m] {
                        self.last_event_ms[k][m] = last;
                        let g = f
                            .source_last_event
                            .with_label_values(&[kind, market.label()]);
                        let secs = last as f64 / 1000.0;
                        if secs > g.get() {
                            g.set(secs);
                        }
                    }
                }
            }
        }
        {
            let d = stats.dedupe.borrow();
            if d.duplicates > self.duplicates {
                f.duplicates.inc_by(d.duplicates - self.duplicates);
                self.duplicates = d.duplicates;
            }
            if d.corrections > self.corrections {
                f.corrections.inc_by(d.corrections - self.corrections);
                self.corrections = d.corrections;
            }
            for (key, now) in d.missing_intervals.iter() {
                let before = self.missing.get(key).copied().unwrap_or(0);
                if *now > before {
                    f.missing_intervals
                        .with_label_values(&[key.0.label(), &key.1])
                        .inc_by(now - before);
                    self.missing.insert(key.clone(), *now);
                }
            }
        }
        {
            let l = stats.lateness.borrow();
            if l.late_arrivals > self.late.0 {
                f.late_records
                    .with_label_values(&["accepted_late"])
                    .inc_by(l.late_arrivals - self.late.0);
                self.late.0 = l.late_arrivals;
            }
            if l.late_data > self.late.1 {
                f.late_records
                    .with_label_values(&["dead_letter"])
                    .inc_by(l.late_data - self.late.1);
                self.late.1 = l.late_data;
            }
            if l.watermark_ms != 0 && l.watermark_ms != EpochMs::MIN {
                set_watermark_ms(l.watermark_ms);
            }
        }
        {
            let v = stats.views.borrow();
            for iv in BarInterval::ALL {
                let i = iv.index();
                let (Some(now), Some(before)) = (v.open_windows.get(i), self.open.get_mut(i))
                else {
                    continue;
                };
                if *now != *before {
                    f.open_windows
                        .with_label_values(&[iv.name()])
                        .add(*now as i64 - *before as i64);
                    *before = *now;
                }
            }
        }
        for ((stage, code), n) in std::mem::take(&mut self.dead) {
            f.dead_letters
                .with_label_values(&[&stage.to_ascii_lowercase(), &code.to_ascii_lowercase()])
                .inc_by(n);
        }
    }

    /// Every sink flushed (or finished) successfully: their new output counts and the age of
    /// the oldest record since the previous flush.
    pub fn flushed(&mut self, sinks: &[Box<dyn Sink>]) {
        let f = families();
        self.sink_counts.resize_with(sinks.len(), BTreeMap::new);
        let age_s = self
            .oldest_ingested_ms
            .take()
            .map(|o| (now_ms() - o).max(0) as f64 / 1000.0);
        for (s, before) in sinks.iter().zip(self.sink_counts.iter_mut()) {
            for (view, now) in s.counts() {
                let b = before.entry(view).or_default();
                if now > *b {
                    f.records_out
                        .with_label_values(&[s.kind(), view])
                        .inc_by(now - *b);
                    *b = now;
                }
            }
            if let Some(age) = age_s {
                super::families::event_to_sink(s.kind()).observe(age);
            }
        }
    }
}
