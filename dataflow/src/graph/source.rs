//! `read_documents`: a timely source over one worker's [`SourceReader`].
//!
//! The timely time is coarse: the batch number of the document within its feed (monotone per
//! worker), so interleaved stripes keep every worker on about the same time and a whole document
//! costs one timestamp. The capability is downgraded as batches advance and dropped when the
//! reader is done — never on a failure, which would read as "input finished".
//!
//! The time reached is published in a [`SourceProgress`] shared with operators of the same
//! worker (the live reference source keeps its capability at or below it), whose activators are
//! woken whenever it advances or the reader is done.
//!
//! **Flow control** (bounded runs of several workers): with `ahead = Some((probe, n))` the source hands out no
//! document while `probe` — the end of the dataflow — has not completed the times more than `n`
//! batch numbers behind its own. Without it a worker whose share reads faster parsed document
//! after document whose ticks then waited for the slower worker (the frontier is the minimum
//! over all workers): `-w 2` held about twice the memory of `-w 1`.
//!
//! **Stopping.** When `stop()` turns true (SIGTERM, see `runtime::shutdown`) the source stops
//! handing out documents and releases its capability as if its share had ended, so the dataflow
//! drains; the documents already handed out are processed to the end. Every document handed
//! out is reported to the worker's [`super::CommitTracker`].

use connectors::source::{Poll, SourceHealth, SourceReader};
use operators::model::RawDocument;
use std::cell::RefCell;
use std::rc::Rc;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::ProbeHandle;
use timely::dataflow::{Scope, Stream};
use timely::scheduling::Activator;

/// Documents handed out per activation before yielding to other operators.
const DOCS_PER_ACTIVATION: usize = 1;

/// How often the reader's health and consumer lag are published.
const REPORT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a source waits before it looks again at a downstream that is behind.
const BEHIND_RETRY: std::time::Duration = std::time::Duration::from_millis(1);

/// Publishes the reader's Kafka consumer lag (`tickflow_kafka_consumer_lag`) and its health
/// (`source:kafka`; only Kafka readers stall).
fn report(reader: &dyn SourceReader) {
    for l in reader.consumer_lag() {
        crate::metrics::families::set_kafka_lag(&l.topic, l.partition, l.lag as i64);
    }
    match reader.health() {
        SourceHealth::Stalled(e) => crate::health::report_if_registered("source:kafka", Err(&e)),
        SourceHealth::Running => crate::health::report_if_registered("source:kafka", Ok(())),
        SourceHealth::Ceased => {}
    }
}

/// The time this worker's document source has reached, shared within the worker.
#[derive(Clone, Default)]
pub struct SourceProgress(Rc<RefCell<ProgressState>>);

#[derive(Default)]
struct ProgressState {
    time: u64,
    done: bool,
    watchers: Vec<Activator>,
}

impl SourceProgress {
    /// The source's capability time; `None` once it is done (released its capability).
    pub fn time(&self) -> Option<u64> {
        let state = self.0.borrow();
        (!state.done).then_some(state.time)
    }

    /// Wakes `activator` whenever the source advances or is done.
    pub fn watch(&self, activator: Activator) {
        self.0.borrow_mut().watchers.push(activator);
    }

    fn advance(&self, time: u64) {
        let mut state = self.0.borrow_mut();
        if time > state.time {
            state.time = time;
            state.watchers.iter().for_each(Activator::activate);
        }
    }

    fn finish(&self) {
        let mut state = self.0.borrow_mut();
        state.done = true;
        state.watchers.iter().for_each(Activator::activate);
    }
}

/// A stream of the documents `reader` frames, on this worker; `progress` follows its time.
pub fn read_documents<'scope>(
    scope: Scope<'scope, u64>,
    mut reader: Box<dyn SourceReader>,
    progress: SourceProgress,
    tracker: super::SharedTracker,
    stop: fn() -> bool,
    ahead: Option<(ProbeHandle<u64>, u64)>,
) -> Stream<'scope, u64, Vec<RawDocument>> {
    source(scope, "ReadDocuments", move |capability, info| {
        let activator = scope.activator_for(info.address);
        let mut cap = Some(capability);
        let mut reported = std::time::Instant::now();
        move |output| {
            let Some(c) = cap.as_mut() else { return };
            if reported.elapsed() >= REPORT_EVERY {
                reported = std::time::Instant::now();
                report(reader.as_ref());
            }
            if stop() {
                tracing::info!("stop requested: source released");
                cap = None;
                progress.finish();
                return;
            }
            if let Some((probe, n)) = &ahead {
                if probe.less_than(&c.time().saturating_sub(*n)) {
                    // Downstream is behind: look again shortly (no new document). Not at the
                    // next step: a source spinning on the probe kept its worker stepping, for
                    // ~13 % more CPU at `-w 2` and no wall time (the batch read ahead keeps
                    // downstream busy meanwhile).
                    activator.activate_after(BEHIND_RETRY);
                    return;
                }
            }
            for _ in 0..DOCS_PER_ACTIVATION {
                match reader.poll() {
                    Poll::Ready(doc) => {
                        if doc.batch > *c.time() {
                            c.downgrade(&doc.batch);
                            progress.advance(doc.batch);
                        }
                        tracker.borrow_mut().handed(*c.time(), &doc);
                        output.session(&*c).give(doc);
                    }
                    Poll::Pending => {
                        // Nothing later can be earlier than the reader's floor: move there, so
                        // the batches handed out so far complete downstream now.
                        if let Some(floor) = reader.next_batch_floor() {
                            if floor > *c.time() {
                                c.downgrade(&floor);
                                progress.advance(floor);
                            }
                        }
                        activator.activate_after(std::time::Duration::from_millis(10));
                        return;
                    }
                    Poll::Done => {
                        // Bounded input exhausted: release the capability.
                        cap = None;
                        progress.finish();
                        return;
                    }
                }
            }
            activator.activate();
        }
    })
}
