//! `commit_flushed`: periodic Kafka commits while a job runs (SPEC §11, issue 4 item 6).
//!
//! Ticks are exchanged between workers (dedupe routes by instrument), so output derived from
//! one worker's partitions sits in every worker's sinks. A worker may therefore commit its
//! partitions' positions as of frontier `F` only once *every* worker (of every process) has
//! flushed all its sinks past `F`. Each `write_sinks` announces `(worker, f)` after such a
//! flush; the announcements are broadcast, and here each worker keeps the latest `f` of every
//! worker. Their minimum `F` is folded into the worker's [`super::CommitTracker`] (documents
//! handed out, ticks judged and watermarks reached at times before `F`), whose positions are
//! then handed to the worker's background [`Committer`] at most every `interval`, when they
//! changed. Nothing here fails: a failed commit is logged by the committer and superseded by
//! the next one; the end-of-run commit (`runtime`) still follows a clean end.

use super::SharedTracker;
use connectors::kafka::Committer;
use connectors::source::Position;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::Stream;

/// A worker's committer, shared with `write_sinks`, which closes it when its sinks finish.
pub type SharedCommitter = Rc<RefCell<Option<Committer>>>;

/// How periodic commits run on one worker.
pub struct PeriodicCommit {
    /// The worker's committer.
    pub committer: SharedCommitter,
    /// At most one commit per this interval.
    pub interval: Duration,
    /// Workers of all processes (announcements expected from each).
    pub workers: usize,
}

/// Commits `tracker`'s positions as the flush announcements of all workers allow.
pub fn commit_flushed(
    flushed: Stream<'_, u64, Vec<(usize, u64)>>,
    tracker: SharedTracker,
    commit: PeriodicCommit,
) {
    let mut by_worker: Vec<Option<u64>> = vec![None; commit.workers.max(1)];
    let mut folded: Option<u64> = None;
    let mut last_commit: Option<Instant> = None;
    let mut last_positions: Vec<Position> = Vec::new();
    flushed
        .broadcast()
        .sink(Pipeline, "PeriodicCommit", move |(input, _frontier)| {
            input.for_each(|_, data| {
                for (w, f) in data.drain(..) {
                    if let Some(slot) = by_worker.get_mut(w) {
                        *slot = Some(slot.map_or(f, |s| s.max(f)));
                    }
                }
            });
            // Every worker must have announced; the least announcement is durable everywhere.
            let Some(min) = by_worker.iter().copied().collect::<Option<Vec<u64>>>() else {
                return;
            };
            let Some(min) = min.into_iter().min() else {
                return;
            };
            if folded.is_some_and(|f| f >= min) {
                return;
            }
            folded = Some(min);
            let mut t = tracker.borrow_mut();
            if t.finished() {
                return;
            }
            t.fold_before(Some(min));
            if last_commit.is_some_and(|at| at.elapsed() < commit.interval) {
                return;
            }
            let positions = t.positions();
            if positions.is_empty() || positions == last_positions {
                return;
            }
            if let Some(c) = commit.committer.borrow().as_ref() {
                tracing::debug!(frontier = min, positions = ?positions, global_ms = t.folded_watermark(), "periodic commit");
                c.submit(positions.clone());
                last_commit = Some(Instant::now());
                last_positions = positions;
            }
        });
}
