//! `write_sinks`: hands every view update of this worker to its sinks and, once every input
//! is complete, finishes the sinks and emits this worker's [`WorkerReport`].
//!
//! With periodic commits (a [`SharedCommitter`]) and sinks that are all durable on flush, every
//! successful flush of all sinks at completed frontier `f` is announced on the `flushed` stream
//! as `(worker, f)` (see `graph::periodic`); a sink error stops the announcements for good.
//! Without, the worker's tracker is folded at each completed frontier (memory stays bounded;
//! its positions are read only at the end). At the end the committer is closed before the
//! report leaves, so no periodic commit can land after the end-of-run commit.

use super::periodic::SharedCommitter;
use super::retry::{with_retry, FlushPolicy};
use crate::summary::WorkerReport;
use connectors::sink::{Sink, SinkError, Update};
use operators::dedupe::{DedupeStats, TickBatch};
use operators::lateness::LatenessStats;
use operators::model::{Bar, CurvePoint, DeadLetter, LatestPrice};
use operators::normalize::NormalizeStats;
use operators::views::ViewStats;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::Stream;

/// Statistics handles the report is built from.
#[derive(Default)]
pub struct StatsHandles {
    /// Normalize counters.
    pub normalize: Rc<RefCell<NormalizeStats>>,
    /// Lateness counters.
    pub lateness: Rc<RefCell<LatenessStats>>,
    /// Dedupe counters.
    pub dedupe: Rc<RefCell<DedupeStats>>,
    /// View counters.
    pub views: Rc<RefCell<ViewStats>>,
}

/// The update streams of one worker that reach the sinks.
pub struct SinkInputs<'scope> {
    /// Tick updates; `None` when no sink wants ticks.
    pub ticks: Option<Stream<'scope, u64, Vec<TickBatch>>>,
    /// Bar updates.
    pub bars: Stream<'scope, u64, Vec<(Bar, i64)>>,
    /// Latest-price updates.
    pub latest: Stream<'scope, u64, Vec<(LatestPrice, i64)>>,
    /// Curve point updates (forward and delivery).
    pub curves: Stream<'scope, u64, Vec<(CurvePoint, i64)>>,
    /// Dead letters of every stage.
    pub dead: Stream<'scope, u64, Vec<DeadLetter>>,
}

/// How many rows of each view a worker holds at the end (net of retractions), and a sample.
#[derive(Default)]
struct Tally {
    bars: BTreeMap<&'static str, i64>,
    latest: i64,
    forward_points: i64,
    delivery_points: i64,
    latest_sample: BTreeMap<(String, String), String>,
}

const SAMPLE: usize = 5;

impl Tally {
    fn latest(&mut self, l: &LatestPrice, diff: i64) {
        self.latest += diff;
        let key = (l.tenant_id.to_string(), l.instrument_id.to_string());
        if diff > 0 {
            let below = self.latest_sample.len() < SAMPLE
                || self
                    .latest_sample
                    .keys()
                    .next_back()
                    .is_some_and(|k| key < *k);
            if below {
                self.latest_sample.insert(key, l.csv_line());
                while self.latest_sample.len() > SAMPLE {
                    self.latest_sample.pop_last();
                }
            }
        }
    }
}

/// The outputs of [`write_sinks`].
pub struct WriteStreams<'scope> {
    /// One report per worker, when its sinks are finished.
    pub reports: Stream<'scope, u64, Vec<WorkerReport>>,
    /// `(worker, f)`: every output of times before `f` is durable in this worker's sinks.
    pub flushed: Stream<'scope, u64, Vec<(usize, u64)>>,
}

/// Writes every update to the sinks; returns one report per worker when they are finished.
/// The report carries the positions `tracker` finds safe once the inputs are complete; they may
/// be committed only if no worker reports a sink error.
pub fn write_sinks<'scope>(
    inputs: SinkInputs<'scope>,
    mut sinks: Vec<Box<dyn Sink>>,
    worker: usize,
    stats: StatsHandles,
    policy: FlushPolicy,
    tracker: super::SharedTracker,
    committer: Option<SharedCommitter>,
) -> WriteStreams<'scope> {
    let scope = inputs.bars.scope();
    let mut builder = OperatorBuilder::new("WriteSinks".to_owned(), scope);
    let mut ticks_in = inputs.ticks.map(|s| builder.new_input(s, Pipeline));
    let mut bars_in = builder.new_input(inputs.bars, Pipeline);
    let mut latest_in = builder.new_input(inputs.latest, Pipeline);
    let mut curves_in = builder.new_input(inputs.curves, Pipeline);
    let mut dead_in = builder.new_input(inputs.dead, Pipeline);
    let activator = scope.activator_for(builder.operator_info().address);
    let (out, reports) = builder.new_output::<Vec<WorkerReport>>();
    let mut out: OutputBuilder<u64, CapacityContainerBuilder<Vec<WorkerReport>>> =
        OutputBuilder::from(out);
    let (flushed_out, flushed) = builder.new_output::<Vec<(usize, u64)>>();
    let mut flushed_out: OutputBuilder<u64, CapacityContainerBuilder<Vec<(usize, u64)>>> =
        OutputBuilder::from(flushed_out);
    // Only sinks that are all durable on flush let positions be committed while running.
    let announce =
        committer.is_some() && !sinks.is_empty() && sinks.iter().all(|s| s.durable_on_flush());
    builder.build(move |caps| {
        // The initial capabilities are held until every input is complete: the report's is
        // used once then, the announcements' (time 0) for every announcement until then.
        let mut caps = caps.into_iter();
        let mut cap = caps.next();
        let mut flushed_cap = caps.next().filter(|_| announce);
        let mut errors: Vec<String> = Vec::new();
        let mut tally = Tally::default();
        // Sinks are told when times complete and flushed at most every `flush_interval_ms`.
        let mut completed: Option<u64> = None;
        let mut flushed_to: Option<u64> = None;
        let mut flushing: Option<(u64, std::time::Instant)> = None;
        let mut last_flush = std::time::Instant::now();
        let interval = std::time::Duration::from_millis(policy.flush_interval_ms);
        let mut meter = crate::metrics::Meter::default();
        move |frontiers| {
            let mut wrote = false;
            let mut write = |time: u64, u: Update<'_>| {
                wrote = true;
                for s in sinks.iter_mut() {
                    match s.write(time, u) {
                        Ok(()) => {}
                        // The update is buffered; the sink could not drain: wait until it can.
                        Err(SinkError::Unavailable(_)) => {
                            let max = policy.retry_max_backoff_ms;
                            if let Err(e) = with_retry(s.as_mut(), "flush", max, |s| s.flush()) {
                                errors.push(e);
                            }
                        }
                        Err(e) => errors.push(super::retry::sink_failed(s.kind(), &e)),
                    }
                }
            };
            if let Some(input) = ticks_in.as_mut() {
                input.for_each_stamp(|c, data| {
                    let time = c.least().copied().unwrap_or(0);
                    for batches in data {
                        for batch in batches.iter() {
                            batch.for_each(|t, d| {
                                meter.ingested(t.ingested_at_ms);
                                write(time, Update::Tick(t, d))
                            });
                        }
                        batches.clear();
                    }
                });
            }
            bars_in.for_each_stamp(|c, data| {
                let time = c.least().copied().unwrap_or(0);
                for batch in data {
                    for (b, d) in batch.iter() {
                        *tally.bars.entry(b.interval.name()).or_default() += d;
                        write(time, Update::Bar(b, *d));
                    }
                    batch.clear();
                }
            });
            latest_in.for_each_stamp(|c, data| {
                let time = c.least().copied().unwrap_or(0);
                for batch in data {
                    for (l, d) in batch.iter() {
                        tally.latest(l, *d);
                        write(time, Update::Latest(l, *d));
                    }
                    batch.clear();
                }
            });
            curves_in.for_each_stamp(|c, data| {
                let time = c.least().copied().unwrap_or(0);
                for batch in data {
                    for (p, d) in batch.iter() {
                        if p.curve_id.contains(".DA.") {
                            tally.delivery_points += d;
                        } else {
                            tally.forward_points += d;
                        }
                        write(time, Update::Curve(p, *d));
                    }
                    batch.clear();
                }
            });
            dead_in.for_each_stamp(|c, data| {
                let time = c.least().copied().unwrap_or(0);
                for batch in data {
                    for d in batch.iter() {
                        meter.dead_letter(d);
                        write(time, Update::DeadLetter(d));
                    }
                    batch.clear();
                }
            });
            let frontier = frontiers
                .iter()
                .filter_map(|f| f.frontier().iter().min().copied())
                .min();
            let mut advanced = false;
            if let Some(f) = frontier {
                if completed.is_none_or(|c| f > c) {
                    completed = Some(f);
                    advanced = true;
                    for s in sinks.iter_mut() {
                        s.complete_before(f);
                    }
                    if !announce {
                        tracker.borrow_mut().fold_before(Some(f));
                    }
                }
            }
            // Every sink hands what is ready to its server without waiting (sinks with an I/O
            // thread make served values visible now) whenever something was written or a time
            // completed; flushes, which wait until output is durable, follow below.
            if (wrote || advanced) && cap.is_some() {
                for s in sinks.iter_mut() {
                    match s.ship() {
                        Ok(()) => {}
                        Err(SinkError::Unavailable(_)) => {
                            let max = policy.retry_max_backoff_ms;
                            if let Err(e) = with_retry(s.as_mut(), "flush", max, |s| s.flush()) {
                                errors.push(e);
                            }
                        }
                        Err(e) => errors.push(super::retry::sink_failed(s.kind(), &e)),
                    }
                }
            }
            // Completed times not flushed yet are flushed once the interval has passed — also
            // when the frontier then stays put (a quiet followed input), by waking up for it.
            // A flush is started without waiting (`flush_start`); it is announced once every
            // sink has it durable (`flush_done`), so a slow server never stops the worker and
            // the other sinks. One flush at a time.
            let max = policy.retry_max_backoff_ms;
            let pending = completed
                .filter(|f| cap.is_some() && flushing.is_none() && flushed_to.is_none_or(|t| *f > t));
            if let Some(f) = pending {
                let since = last_flush.elapsed();
                if since < interval {
                    activator.activate_after(interval - since);
                } else {
                    last_flush = std::time::Instant::now();
                    flushed_to = Some(f);
                    flushing = Some((f, last_flush));
                    for s in sinks.iter_mut() {
                        if let Err(e) = s.flush_start() {
                            flush_failed(s.as_mut(), e, max, &mut errors);
                        }
                    }
                }
            }
            if let Some((f, started)) = flushing.filter(|_| cap.is_some()) {
                let mut done = true;
                for s in sinks.iter_mut() {
                    match s.flush_done() {
                        Ok(d) => done &= d,
                        Err(e) => flush_failed(s.as_mut(), e, max, &mut errors),
                    }
                }
                if done || !errors.is_empty() {
                    flushing = None;
                    for s in sinks.iter() {
                        let secs = started.elapsed().as_secs_f64();
                        crate::metrics::families::observe_flush(s.kind(), secs);
                    }
                    if !errors.is_empty() {
                        flushed_cap = None;
                    } else {
                        meter.flushed(&sinks);
                    }
                    meter.publish(&stats);
                    if let Some(fc) = flushed_cap.as_ref() {
                        flushed_out.activate().session(fc).give((worker, f));
                    }
                } else {
                    activator.activate_after(FLUSH_POLL);
                }
            }
            if frontiers.iter().all(|f| f.frontier().is_empty()) {
                if let Some(cap) = cap.take() {
                    // `finish` makes a flush still in flight durable too.
                    flushing = None;
                    for s in sinks.iter_mut() {
                        let max = policy.retry_max_backoff_ms;
                        let started = std::time::Instant::now();
                        match with_retry(s.as_mut(), "finish", max, |s| s.finish()) {
                            Ok(()) => crate::metrics::families::observe_flush(
                                s.kind(),
                                started.elapsed().as_secs_f64(),
                            ),
                            Err(e) => errors.push(e),
                        }
                    }
                    if errors.is_empty() {
                        meter.flushed(&sinks);
                    }
                    meter.publish(&stats);
                    flushed_cap = None;
                    if let Some(c) = committer.as_ref() {
                        if let Some(mut c) = c.borrow_mut().take() {
                            c.close();
                        }
                    }
                    errors.dedup();
                    let mut report = report(worker, &stats, &tally, std::mem::take(&mut errors));
                    let mut t = tracker.borrow_mut();
                    t.finish();
                    report.positions = t
                        .safe_positions()
                        .into_iter()
                        .map(|p| (p.feed, p.next))
                        .collect();
                    report.resume_marks = t
                        .resume_marks()
                        .into_iter()
                        .map(|(feed, m)| (feed, m.watermark_ms, m.judged_next))
                        .collect();
                    tracing::debug!(worker, positions = ?report.positions, needed_records = t.needed_records(), "safe positions");
                    out.activate().session(&cap).give(report);
                }
            }
            meter.tick(&stats);
        }
    });
    WriteStreams { reports, flushed }
}

/// How often a started flush is checked while the sinks deliver it.
const FLUSH_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// A flush that failed: an unavailable sink is flushed with retries (the worker waits, as for
/// any unavailable sink), a failure for good is reported.
fn flush_failed(s: &mut dyn Sink, e: SinkError, max_backoff_ms: u64, errors: &mut Vec<String>) {
    match e {
        SinkError::Unavailable(_) => {
            if let Err(e) = with_retry(s, "flush", max_backoff_ms, |s| s.flush()) {
                errors.push(e);
            }
        }
        e => errors.push(super::retry::sink_failed(s.kind(), &e)),
    }
}

fn report(worker: usize, stats: &StatsHandles, tally: &Tally, errors: Vec<String>) -> WorkerReport {
    let n = stats.normalize.borrow();
    let l = stats.lateness.borrow();
    let d = stats.dedupe.borrow();
    let mut dead_letters: BTreeMap<String, u64> = n
        .dead_letters
        .iter()
        .map(|(k, c)| (k.to_string(), *c))
        .collect();
    if l.late_data > 0 {
        *dead_letters.entry("LATE_DATA".into()).or_default() += l.late_data;
    }
    WorkerReport {
        worker,
        documents: n.documents,
        bytes: n.bytes,
        rows: n.rows,
        ticks_parsed: n
            .ticks
            .iter()
            .map(|(m, c)| (m.code().to_string(), *c))
            .collect(),
        dead_letters,
        late_arrivals: l.late_arrivals,
        identities: d.identities,
        duplicates: d.duplicates,
        stale: d.stale,
        corrections: d.corrections,
        released: d.released,
        bars: tally
            .bars
            .iter()
            .map(|(k, v)| (k.to_string(), (*v).max(0) as u64))
            .collect(),
        latest: tally.latest.max(0) as u64,
        forward_points: tally.forward_points.max(0) as u64,
        delivery_points: tally.delivery_points.max(0) as u64,
        latest_sample: tally.latest_sample.values().cloned().collect(),
        sink_errors: errors,
        positions: Vec::new(),
        resume_marks: Vec::new(),
    }
}
