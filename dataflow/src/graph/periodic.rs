//! `commit_flushed`: periodic Kafka commits while a job runs (SPEC §11, issue 4 item 6).
//!
//! Ticks are exchanged between workers (dedupe routes by instrument), so output derived from
//! one worker's partitions sits in every worker's sinks. A worker may therefore commit its
//! partitions' positions as of frontier `F` only once *every* worker (of every process) has
//! flushed all its sinks past `F`. Each `write_sinks` announces `(worker, f)` after such a
//! flush; the announcements go to worker 0, which keeps the latest `f` of every worker and, at
//! most every `interval`, broadcasts their minimum `F` as the next commit point. Every worker
//! folds exactly that `F` into its [`super::CommitTracker`] (documents handed out, ticks judged
//! and watermarks reached at times before `F`) and sends its positions and resume marks at `F`
//! to worker 0, which — once every worker reported for `F` — hands all of them, when they
//! changed, to its background [`Committer`] as **one** commit. Since marks are the same on every
//! worker at the same times, all partitions are committed with the same global watermark `G`,
//! and since they go in one request, a crash can never leave one partition committed at an
//! older `F` than another (a restart would judge the older one's re-read records against a `G`
//! they were not judged against; docs/design.md). Nothing here fails: a failed commit is logged
//! by the committer and superseded by the next one; the end-of-run commit (`runtime`) still
//! follows a clean end.

use super::SharedTracker;
use connectors::kafka::{Committer, Marks, ResumeMark};
use connectors::source::Position;
use operators::model::{EpochMs, FeedId};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::Stream;

/// A worker's committer, shared with `write_sinks`, which closes it when its sinks finish;
/// `None` inside on every worker but global worker 0, which commits for all of them.
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
    let reports = commit_points(flushed, commit.workers, commit.interval)
        .broadcast()
        .unary::<CapacityContainerBuilder<Vec<Report>>, _, _, _>(
            Pipeline,
            "PeriodicPositions",
            move |_, _| {
                move |input, output| {
                    input.for_each(|cap, data| {
                        let Some(f) = data.iter().copied().max() else {
                            return;
                        };
                        if folded.is_some_and(|done| done >= f) {
                            return;
                        }
                        folded = Some(f);
                        let mut t = tracker.borrow_mut();
                        if t.finished() {
                            return;
                        }
                        t.fold_before(Some(f));
                        let marks = t.resume_marks();
                        let rows = t
                            .positions()
                            .into_iter()
                            .map(|p| {
                                let m = marks.get(&p.feed).map(|m| (m.watermark_ms, m.judged_next));
                                (p.feed, p.next, m)
                            })
                            .collect();
                        output.session(&cap).give((f, rows));
                    });
                }
            },
        );
    let workers = commit.workers.max(1);
    let mut waiting: BTreeMap<u64, Vec<Vec<Row>>> = BTreeMap::new();
    let mut last_positions: Vec<Position> = Vec::new();
    reports.sink(
        Exchange::new(|_: &Report| 0),
        "PeriodicCommit",
        move |(input, _frontier)| {
            input.for_each(|_, data| {
                for (f, rows) in data.drain(..) {
                    waiting.entry(f).or_default().push(rows);
                }
            });
            // The newest frontier every worker reported for; older ones are superseded.
            let Some(f) = waiting
                .iter()
                .rev()
                .find(|(_, r)| r.len() >= workers)
                .map(|(f, _)| *f)
            else {
                return;
            };
            let rows: Vec<Row> = waiting.remove(&f).into_iter().flatten().flatten().collect();
            waiting.retain(|g, _| *g > f);
            let mut positions: Vec<Position> = rows
                .iter()
                .map(|&(feed, next, _)| Position { feed, next })
                .collect();
            positions.sort();
            if positions.is_empty() || positions == last_positions {
                return;
            }
            let marks: Marks = rows
                .iter()
                .filter_map(|&(feed, _, m)| {
                    let (watermark_ms, judged_next) = m?;
                    Some((
                        feed,
                        ResumeMark {
                            watermark_ms,
                            judged_next,
                        },
                    ))
                })
                .collect();
            if let Some(c) = commit.committer.borrow().as_ref() {
                tracing::debug!(frontier = f, positions = ?positions, "periodic commit");
                c.submit(positions.clone(), marks);
                last_positions = positions;
            }
        },
    );
}

/// One partition's position at a commit point: (feed, next offset, resume mark as
/// (watermark, judged end)).
type Row = (FeedId, u64, Option<(EpochMs, u64)>);

/// One worker's positions at commit point `F`.
type Report = (u64, Vec<Row>);

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
