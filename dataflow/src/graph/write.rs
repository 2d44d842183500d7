//! `WriteSinks::write_sinks`: hands every update to this worker's sinks and, once both inputs
//! are complete, finishes the sinks and emits this worker's [`WorkerReport`].

use crate::summary::WorkerReport;
use connectors::sink::{Sink, Update};
use operators::dedupe::DedupeStats;
use operators::model::{DeadLetter, Tick};
use operators::normalize::NormalizeStats;
use std::cell::RefCell;
use std::rc::Rc;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;

/// Statistics handles the report is built from.
pub struct StatsHandles {
    /// Normalize counters.
    pub normalize: Rc<RefCell<NormalizeStats>>,
    /// Dedupe counters.
    pub dedupe: Rc<RefCell<DedupeStats>>,
}

/// Writes tick updates and dead letters to sinks.
pub trait WriteSinks<'scope> {
    /// Returns a stream carrying one report per worker when its sinks are finished.
    fn write_sinks(
        self,
        dead: Stream<'scope, u64, Vec<DeadLetter>>,
        sinks: Vec<Box<dyn Sink>>,
        worker: usize,
        stats: StatsHandles,
    ) -> Stream<'scope, u64, Vec<WorkerReport>>;
}

impl<'scope> WriteSinks<'scope> for Stream<'scope, u64, Vec<(Tick, i64)>> {
    fn write_sinks(
        self,
        dead: Stream<'scope, u64, Vec<DeadLetter>>,
        mut sinks: Vec<Box<dyn Sink>>,
        worker: usize,
        stats: StatsHandles,
    ) -> Stream<'scope, u64, Vec<WorkerReport>> {
        self.binary_frontier(dead, Pipeline, Pipeline, "WriteSinks", move |cap, _info| {
            // The initial capability is held until both inputs are complete, then used once to
            // emit the report and dropped.
            let mut cap = Some(cap);
            let mut errors: Vec<String> = Vec::new();
            move |(ticks, ticks_frontier), (dead, dead_frontier), output| {
                ticks.for_each_stamp(|time, data| {
                    for batch in data {
                        for (tick, diff) in batch.iter() {
                            for s in sinks.iter_mut() {
                                if let Err(e) = s.write(
                                    time.least().copied().unwrap_or(0),
                                    Update::Tick(tick, *diff),
                                ) {
                                    errors.push(format!("{}: {e}", s.kind()));
                                }
                            }
                        }
                        batch.clear();
                    }
                });
                dead.for_each_stamp(|time, data| {
                    for batch in data {
                        for d in batch.iter() {
                            for s in sinks.iter_mut() {
                                if let Err(e) = s.write(
                                    time.least().copied().unwrap_or(0),
                                    Update::DeadLetter(d),
                                ) {
                                    errors.push(format!("{}: {e}", s.kind()));
                                }
                            }
                        }
                        batch.clear();
                    }
                });
                if ticks_frontier.is_empty() && dead_frontier.is_empty() {
                    if let Some(cap) = cap.take() {
                        for s in sinks.iter_mut() {
                            if let Err(e) = s.finish() {
                                errors.push(format!("{}: {e}", s.kind()));
                            }
                        }
                        errors.dedup();
                        let n = stats.normalize.borrow();
                        let d = stats.dedupe.borrow();
                        let report = WorkerReport {
                            worker,
                            documents: n.documents,
                            bytes: n.bytes,
                            rows: n.rows,
                            ticks_parsed: n
                                .ticks
                                .iter()
                                .map(|(m, c)| (m.code().to_string(), *c))
                                .collect(),
                            dead_letters: n
                                .dead_letters
                                .iter()
                                .map(|(k, c)| (k.to_string(), *c))
                                .collect(),
                            identities: d.identities,
                            duplicates: d.duplicates,
                            stale: d.stale,
                            corrections: d.corrections,
                            sink_errors: std::mem::take(&mut errors),
                        };
                        output.session(&cap).give(report);
                    }
                }
            }
        })
    }
}
