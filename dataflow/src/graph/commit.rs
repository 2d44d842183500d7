//! Which Kafka positions a worker may commit (SPEC §11): the pure [`CommitTracker`] and the taps
//! that feed it from the graph.
//!
//! A partition's position may be committed only when every record before it is *done*: its
//! ticks have been judged, and none of them can still change open state — no bar window and no
//! dedupe identity that one of them reaches is still open. A tick stays needed until the global
//! watermark `G` closes the largest window containing it (the same condition under which dedupe
//! releases its identity), i.e. until `horizon(G, closing_lateness) ≥ last_window_end`, which is `G ≥ last_window_end +
//! closing_lateness` (or `G = +∞`). The safe
//! position of a feed is therefore the offset of its oldest record with a still-needed tick, or,
//! when there is none, the next offset after everything judged. Records that produced no
//! accepted tick (dead letters, late data, empty idle markers) need nothing.
//!
//! The tracker does not know whether the sinks are durable: callers commit its positions only
//! after the sinks flushed everything derived from the ticks it released. It keeps what it
//! learns per timely time and folds it only up to a limit ([`CommitTracker::fold_before`]): the
//! positions it then gives account only for documents handed out, ticks judged and watermarks
//! reached at times before that limit — the outputs of exactly those times are what a flush of
//! every worker's sinks past the limit made durable (periodic commits, `graph::periodic`). At
//! the end of a run the limit is `None` (everything; after every sink's `finish()` succeeded).
//! It never fails.

use connectors::kafka::{Marks, ResumeMark};
use connectors::source::Position;
use operators::lateness::LatenessPolicy;
use operators::model::{EpochMs, FeedId, Market, RawDocument, Tick};
use operators::window::WindowAssigner;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::operators::Inspect;
use timely::dataflow::Stream;

/// Per worker: what was handed out, what was judged, which records are still needed.
pub struct CommitTracker {
    feeds: BTreeSet<FeedId>,
    policy: Arc<LatenessPolicy>,
    windows: WindowAssigner,
    /// Per feed, per timely time: the next offset after the documents handed out at that time
    /// (times not folded yet).
    handed: BTreeMap<FeedId, BTreeMap<u64, u64>>,
    /// Every tick of the times before this has been judged (`None`: of all times).
    judged_frontier: Option<u64>,
    /// Per feed: the next offset after every record whose ticks have all been judged (folded).
    judged_next: BTreeMap<FeedId, u64>,
    /// Per feed, per record offset: the least `G` that releases all of its ticks.
    needed: BTreeMap<FeedId, BTreeMap<u64, EpochMs>>,
    /// Per timely time: the global watermark reached at it (times not folded yet).
    marks: BTreeMap<u64, EpochMs>,
    /// The global watermark of the folded times.
    global_ms: EpochMs,
    /// The greatest finite global watermark folded (a bounded input ends at `+∞`, which is
    /// not a watermark of the data and must not be committed as one).
    finite_ms: EpochMs,
    /// The worker's sinks finished: no periodic commit may follow.
    finished: bool,
}

/// The shared handle of one worker's tracker.
pub type SharedTracker = Rc<RefCell<CommitTracker>>;

impl CommitTracker {
    /// A tracker of the positions of `feeds` (the Kafka feeds; others are ignored).
    pub fn new(feeds: BTreeSet<FeedId>, policy: Arc<LatenessPolicy>) -> CommitTracker {
        CommitTracker {
            feeds,
            policy,
            windows: WindowAssigner::new(),
            handed: BTreeMap::new(),
            judged_frontier: Some(0),
            judged_next: BTreeMap::new(),
            needed: BTreeMap::new(),
            marks: BTreeMap::new(),
            global_ms: EpochMs::MIN,
            finite_ms: EpochMs::MIN,
            finished: false,
        }
    }

    /// True when some feed's positions are tracked (a job with Kafka inputs).
    pub fn tracks_feeds(&self) -> bool {
        !self.feeds.is_empty()
    }

    /// A document went out at timely time `time`.
    pub fn handed(&mut self, time: u64, doc: &RawDocument) {
        if !self.feeds.contains(&doc.feed) {
            return;
        }
        // An empty document (end or idle marker) stands for no record: its offset is the next.
        let next = if doc.bytes.is_empty() {
            doc.offset
        } else {
            doc.offset + 1
        };
        let slot = self
            .handed
            .entry(doc.feed)
            .or_default()
            .entry(time)
            .or_insert(next);
        *slot = (*slot).max(next);
    }

    /// Every tick of times before `frontier` has been judged (`None`: of all times).
    pub fn judged_before(&mut self, frontier: Option<u64>) {
        self.judged_frontier = match (self.judged_frontier, frontier) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }

    /// An accepted tick: its record is needed until `G` closes its largest window.
    pub fn accepted(&mut self, tick: &Tick) {
        self.needs(
            tick.source.feed,
            tick.source.offset,
            tick.market,
            tick.interval_start_ms,
        );
    }

    /// The record at `offset` of `feed` holds an accepted tick of `market` starting at
    /// `interval_start_ms`.
    pub fn needs(&mut self, feed: FeedId, offset: u64, market: Market, interval_start_ms: EpochMs) {
        if !self.feeds.contains(&feed) {
            return;
        }
        let lateness = self.policy.closing_lateness_ms(market).max(0);
        let release = self
            .windows
            .last_window_end(self.policy.intervals(), market, interval_start_ms)
            .map_or(EpochMs::MAX, |end| end.saturating_add(lateness));
        if self.released(release) {
            return;
        }
        let slot = self
            .needed
            .entry(feed)
            .or_default()
            .entry(offset)
            .or_insert(release);
        *slot = (*slot).max(release);
    }

    /// The global watermark advanced to `g` at timely time `time`.
    pub fn mark(&mut self, time: u64, g: EpochMs) {
        let slot = self.marks.entry(time).or_insert(g);
        *slot = (*slot).max(g);
    }

    /// The global watermark advanced to `g` (at time 0: folded by any later limit).
    pub fn watermark(&mut self, g: EpochMs) {
        self.mark(0, g);
    }

    fn released(&self, release: EpochMs) -> bool {
        self.global_ms == EpochMs::MAX || self.global_ms >= release
    }

    /// Takes into account what happened at times before `limit` (`None`: at all times) and was
    /// judged: documents handed out and watermarks reached. Call it only with a limit whose
    /// outputs are durable in every worker's sinks (or at the end, with `None`).
    pub fn fold_before(&mut self, limit: Option<u64>) {
        let limit = match (limit, self.judged_frontier) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        for (feed, times) in self.handed.iter_mut() {
            let rest = match limit {
                Some(f) => times.split_off(&f),
                None => BTreeMap::new(),
            };
            if let Some(next) = times.values().max() {
                let j = self.judged_next.entry(*feed).or_insert(0);
                *j = (*j).max(*next);
            }
            *times = rest;
        }
        let rest = match limit {
            Some(f) => self.marks.split_off(&f),
            None => BTreeMap::new(),
        };
        if let Some(g) = self.marks.values().max() {
            self.global_ms = self.global_ms.max(*g);
        }
        if let Some(g) = self.marks.values().filter(|g| **g < EpochMs::MAX).max() {
            self.finite_ms = self.finite_ms.max(*g);
        }
        self.marks = rest;
        let g = self.global_ms;
        for records in self.needed.values_mut() {
            records.retain(|_, release| !(g == EpochMs::MAX || g >= *release));
        }
    }

    /// The positions that are safe to commit as far as folded (see the module doc), one per
    /// feed that has judged records.
    pub fn positions(&self) -> Vec<Position> {
        self.judged_next
            .iter()
            .map(|(feed, judged)| {
                let oldest = self.needed.get(feed).and_then(|r| r.keys().next().copied());
                Position {
                    feed: *feed,
                    next: oldest.map_or(*judged, |o| o.min(*judged)),
                }
            })
            .collect()
    }

    /// What is committed with [`CommitTracker::positions`] (see `connectors::kafka::resume`):
    /// per feed with judged records, the last finite global watermark folded and the next
    /// offset after the records judged — never below what the run resumed from (a restart that
    /// has not yet re-judged everything keeps its predecessor's marks).
    pub fn resume_marks(&self) -> Marks {
        let resumed = self.policy.resume();
        let seed_g = resumed.map_or(EpochMs::MIN, |r| r.watermark_ms);
        let watermark_ms = self.finite_ms.max(seed_g);
        let mut feeds: BTreeSet<FeedId> = self.judged_next.keys().copied().collect();
        if let Some(r) = resumed {
            feeds.extend(r.judged_next.keys().filter(|f| self.feeds.contains(f)));
        }
        feeds
            .into_iter()
            .map(|feed| {
                let seeded = resumed
                    .and_then(|r| r.judged_next.get(&feed).copied())
                    .unwrap_or(0);
                let judged = self.judged_next.get(&feed).copied().unwrap_or(0);
                let mark = ResumeMark {
                    watermark_ms,
                    judged_next: judged.max(seeded),
                };
                (feed, mark)
            })
            .collect()
    }

    /// The positions safe once everything judged so far is durable (the end of a run).
    pub fn safe_positions(&mut self) -> Vec<Position> {
        self.fold_before(None);
        self.positions()
    }

    /// The global watermark of the folded times.
    pub fn folded_watermark(&self) -> EpochMs {
        self.global_ms
    }

    /// The worker's sinks finished (no periodic commit may follow the end-of-run one).
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether [`CommitTracker::finish`] was called.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Records still needed by open state, all feeds (for logs and tests).
    pub fn needed_records(&self) -> usize {
        self.needed.values().map(BTreeMap::len).sum()
    }
}

#[cfg(test)]
#[path = "tests/commit.rs"]
mod tests;

/// Taps the accepted ticks (and their frontier) into `tracker`.
pub fn track_accepted<'scope>(
    accepted: Stream<'scope, u64, Vec<Tick>>,
    tracker: SharedTracker,
) -> Stream<'scope, u64, Vec<Tick>> {
    accepted.inspect_core(move |event| {
        let mut t = tracker.borrow_mut();
        match event {
            // Without Kafka feeds nothing is tracked: do not sweep the (cold) batch at all.
            Ok((_, ticks)) if t.tracks_feeds() => ticks.iter().for_each(|tick| t.accepted(tick)),
            Ok(_) => {}
            Err(frontier) => t.judged_before(frontier.first().copied()),
        }
    })
}

/// Taps the global watermark marks (with their times) into `tracker`.
pub fn track_marks<'scope>(
    marks: Stream<'scope, u64, Vec<EpochMs>>,
    tracker: SharedTracker,
) -> Stream<'scope, u64, Vec<EpochMs>> {
    marks.inspect_core(move |event| {
        if let Ok((stamp, gs)) = event {
            let time = stamp.elements().iter().min().copied().unwrap_or(0);
            let mut t = tracker.borrow_mut();
            gs.iter().for_each(|g| t.mark(time, *g));
        }
    })
}
