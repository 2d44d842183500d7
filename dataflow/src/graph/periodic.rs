//! `commit_flushed`: periodic Kafka commits while a job runs (SPEC §11, issue 4 item 6).
//!
//! Ticks are exchanged between workers (dedupe routes by instrument), so output derived from
//! one worker's partitions sits in every worker's sinks. A worker may therefore commit its
//! partitions' positions as of frontier `F` only once *every* worker (of every process) has
//! flushed all its sinks past `F`. Each `write_sinks` announces `(worker, f)` after such a
//! flush; the announcements go to worker 0, which keeps the latest `f` of every worker and, at
//! most every `interval`, broadcasts their minimum `F` as the next commit point. Every worker
//! folds exactly that `F` into its [`super::CommitTracker`] (documents handed out, ticks judged
//! and watermarks reached at times before `F`) and hands its positions, when they changed, to
//! its background [`Committer`]. Since marks are the same on every worker at the same times,
//! all partitions are committed with the same global watermark `G` (positions of different
//! partitions never disagree about which windows are closed). Nothing here fails: a failed commit is logged by the committer and superseded by
//! the next one; the end-of-run commit (`runtime`) still follows a clean end.

use super::SharedTracker;
use connectors::kafka::Committer;
use connectors::source::Position;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
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
    let mut folded: Option<u64> = None;
    let mut last_positions: Vec<Position> = Vec::new();
    commit_points(flushed, commit.workers, commit.interval)
        .broadcast()
        .sink(Pipeline, "PeriodicCommit", move |(input, _frontier)| {
            let mut point = None;
            input.for_each(|_, data| point = data.iter().copied().max().max(point));
            let Some(f) = point else { return };
            if folded.is_some_and(|done| done >= f) {
                return;
            }
            folded = Some(f);
            let mut t = tracker.borrow_mut();
            if t.finished() {
                return;
            }
            t.fold_before(Some(f));
            let positions = t.positions();
            if positions.is_empty() || positions == last_positions {
                return;
            }
            if let Some(c) = commit.committer.borrow().as_ref() {
                tracing::debug!(frontier = f, positions = ?positions, global_ms = t.folded_watermark(), "periodic commit");
                c.submit(positions.clone(), t.resume_marks());
                last_positions = positions;
            }
        });
}

/// On worker 0: the frontiers every worker has flushed past (the least of the latest
/// announcement of each), at most one per `interval`, increasing. Every worker folds at exactly
/// these points, so all partitions are committed with the same global watermark.
fn commit_points(
    flushed: Stream<'_, u64, Vec<(usize, u64)>>,
    workers: usize,
    interval: Duration,
) -> Stream<'_, u64, Vec<u64>> {
    let mut by_worker: Vec<Option<u64>> = vec![None; workers.max(1)];
    let mut decided: Option<u64> = None;
    let mut last: Option<Instant> = None;
    flushed.unary_frontier::<CapacityContainerBuilder<Vec<u64>>, _, _, _>(
        Exchange::new(|_: &(usize, u64)| 0),
        "CommitPoints",
        move |cap, _info| {
            let mut cap = Some(cap);
            move |(input, frontier), output| {
                input.for_each(|_, data| {
                    for (w, f) in data.drain(..) {
                        if let Some(slot) = by_worker.get_mut(w) {
                            *slot = Some(slot.map_or(f, |s| s.max(f)));
                        }
                    }
                });
                if frontier.is_empty() {
                    cap = None;
                    return;
                }
                let Some(c) = cap.as_ref() else { return };
                // Every worker must have announced; the least announcement is durable everywhere.
                let Some(all) = by_worker.iter().copied().collect::<Option<Vec<u64>>>() else {
                    return;
                };
                let Some(min) = all.into_iter().min() else {
                    return;
                };
                let due = last.is_none_or(|at| at.elapsed() >= interval);
                if due && decided.is_none_or(|d| min > d) {
                    decided = Some(min);
                    last = Some(Instant::now());
                    output.session(c).give(min);
                }
            }
        },
    )
}
