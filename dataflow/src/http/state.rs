//! The serving state of one process (SPEC §7): latest prices, bars and curve points as the
//! dataflow maintains them, gathered from every worker, answering the query API. Pure: no
//! timely, no locks, no I/O (see `http::served` for the shared handle and `graph::serve` for the
//! operator that feeds it).
//!
//! The state changes only by [`ServeState::apply`], which takes every update of one complete
//! timely time at once, so a reader that holds it between two calls sees a complete point of
//! the stream. Updates are differential (`+1` new, `−1` retraction): a record is present while
//! its count is positive.
//!
//! - **Latest prices** come as the ticks' [`LatestPrice`] rows into a [`LatestBook`] (the same
//!   pure core, with the same history, that the latest-price view runs), which answers both the
//!   latest row and `at=T` (the price whose interval contains T, within the held history).
//! - **Bars**: open (provisional) bars while their window is open, then the final bar. Final
//!   bars are kept for `history_ms` of event time per series (tenant, instrument, interval): a
//!   final bar is pruned once its window ends `history_ms` or more before the greatest window
//!   end of a final bar of its series. Event time, not wall clock, so a replay of old data keeps
//!   its bars, and per series, so one feed running ahead does not prune another's. Pruning is not a change of the view and
//!   is not published to subscribers.
//! - **Curves**: points per (tenant, curve_id), ordered by (delivery_start, tenor).
//!
//! Nothing here fails: an unmatched retraction is counted and otherwise ignored.

use operators::latest::LatestBook;
use operators::model::{Bar, BarInterval, CurvePoint, EpochMs, LatestPrice, Sym};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One update sent to the serving worker of a process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServeUpdate {
    /// A tick's latest-price row (`LatestPrice::of`) and its diff from dedupe.
    Tick(LatestPrice, i64),
    /// A bar update.
    Bar(Bar, i64),
    /// A curve point update.
    Curve(CurvePoint, i64),
}

/// A change of a served view, as subscribers see it.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Latest price: `(old, −1)`, `(new, +1)`.
    Latest(LatestPrice, i64),
    /// Bar.
    Bar(Bar, i64),
    /// Curve point.
    Curve(CurvePoint, i64),
}

impl Change {
    /// The change's diff.
    pub fn diff(&self) -> i64 {
        match self {
            Change::Latest(_, d) | Change::Bar(_, d) | Change::Curve(_, d) => *d,
        }
    }
}

type BarKey = (Sym, Sym, BarInterval, EpochMs);

fn bar_key(b: &Bar) -> BarKey {
    (
        b.tenant_id.clone(),
        b.instrument_id.clone(),
        b.interval,
        b.window_start_ms,
    )
}
type SeriesKey = (Sym, Sym, BarInterval);

/// The final bars of one series by window end, for pruning.
#[derive(Debug)]
struct Finals {
    max_end_ms: EpochMs,
    starts_by_end: BTreeMap<EpochMs, Vec<EpochMs>>,
}
type CurveKey = (Sym, Sym);
type PointKey = (EpochMs, Sym, Sym);

/// More results than one answer may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("more than {0} results: narrow the query")]
pub struct TooMany(pub usize);

/// Counters of a [`ServeState`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServeCounters {
    /// Retractions of records not held.
    pub unmatched_retractions: u64,
    /// Final bars pruned after `history_ms`.
    pub pruned_bars: u64,
}

/// The served views of one process.
#[derive(Debug)]
pub struct ServeState {
    book: LatestBook,
    latest: BTreeMap<(Sym, Sym), LatestPrice>,
    bars: BTreeMap<BarKey, Vec<(Bar, i64)>>,
    finals: BTreeMap<SeriesKey, Finals>,
    curves: BTreeMap<CurveKey, BTreeMap<PointKey, Vec<(CurvePoint, i64)>>>,
    history_ms: i64,
    /// The timely time of the last complete point applied.
    pub applied_time: Option<u64>,
    /// True once the dataflow ended: the state is final.
    pub finished: bool,
    /// Counters.
    pub counters: ServeCounters,
}

/// Adds `diff` copies of `rec` to a small multiset; returns false for an unmatched retraction.
fn add<T: PartialEq>(set: &mut Vec<(T, i64)>, rec: T, diff: i64) -> bool {
    match set.iter_mut().find(|(r, _)| *r == rec) {
        Some((_, n)) => *n += diff,
        None if diff > 0 => set.push((rec, diff)),
        None => return false,
    }
    set.retain(|(_, n)| *n != 0);
    true
}

fn live<T>(set: &[(T, i64)]) -> impl Iterator<Item = &T> {
    set.iter().filter(|(_, n)| *n > 0).map(|(r, _)| r)
}

impl ServeState {
    /// An empty state keeping final bars for `history_ms` and `latest_history` ticks per
    /// instrument for `at` queries.
    pub fn new(history_ms: u64, latest_history: usize) -> ServeState {
        ServeState {
            book: LatestBook::new(latest_history),
            latest: BTreeMap::new(),
            bars: BTreeMap::new(),
            finals: BTreeMap::new(),
            curves: BTreeMap::new(),
            history_ms: i64::try_from(history_ms).unwrap_or(i64::MAX),
            applied_time: None,
            finished: false,
            counters: ServeCounters::default(),
        }
    }

    /// Applies every update of one complete time; returns the changes of the views, each
    /// view's retractions before its insertions.
    pub fn apply(&mut self, updates: Vec<ServeUpdate>) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut ticks = false;
        let mut pruned: Vec<SeriesKey> = Vec::new();
        // Bars whose multiset went empty: removed at the end, so the usual `−1 old, +1 new`
        // of a bar within one time does not remove its entry and insert it again.
        let mut emptied: Vec<BarKey> = Vec::new();
        for u in updates {
            match u {
                ServeUpdate::Tick(row, d) => {
                    ticks = true;
                    self.book.update_row(&row, d);
                }
                ServeUpdate::Bar(b, d) => {
                    let key = bar_key(&b);
                    if b.is_final && d > 0 {
                        let series = (b.tenant_id.clone(), b.instrument_id.clone(), b.interval);
                        let f = self.finals.entry(series.clone()).or_insert_with(|| Finals {
                            max_end_ms: EpochMs::MIN,
                            starts_by_end: BTreeMap::new(),
                        });
                        f.max_end_ms = f.max_end_ms.max(b.window_end_ms);
                        f.starts_by_end
                            .entry(b.window_end_ms)
                            .or_default()
                            .push(b.window_start_ms);
                        pruned.push(series);
                    }
                    let set = self.bars.entry(key).or_default();
                    let added = add(set, b.clone(), d);
                    if set.is_empty() {
                        emptied.push(bar_key(&b));
                    }
                    if added {
                        changes.push(Change::Bar(b, d));
                    } else {
                        self.counters.unmatched_retractions += 1;
                    }
                }
                ServeUpdate::Curve(p, d) => {
                    let ckey = (p.tenant_id.clone(), p.curve_id.clone());
                    let pkey = (
                        p.delivery_start_ms,
                        p.tenor.clone(),
                        p.instrument_id.clone(),
                    );
                    let points = self.curves.entry(ckey.clone()).or_default();
                    let set = points.entry(pkey.clone()).or_default();
                    if add(set, p.clone(), d) {
                        changes.push(Change::Curve(p, d));
                    } else {
                        self.counters.unmatched_retractions += 1;
                    }
                    if set.is_empty() {
                        points.remove(&pkey);
                    }
                    if points.is_empty() {
                        self.curves.remove(&ckey);
                    }
                }
            }
        }
        if ticks {
            let mut rows = Vec::new();
            self.book.drain(&mut rows);
            for (row, d) in rows {
                let key = (row.tenant_id.clone(), row.instrument_id.clone());
                if d > 0 {
                    self.latest.insert(key, row.clone());
                } else if self.latest.get(&key) == Some(&row) {
                    self.latest.remove(&key);
                }
                changes.push(Change::Latest(row, d));
            }
        }
        for key in emptied {
            if self.bars.get(&key).is_some_and(Vec::is_empty) {
                self.bars.remove(&key);
            }
        }
        pruned.sort();
        pruned.dedup();
        for series in pruned {
            self.prune(series);
        }
        // Stable: the order within retractions and within insertions is kept.
        changes.sort_by_key(|c| (view_rank(c), c.diff()));
        changes
    }

    /// Drops the final bars of a series whose window ended `history_ms` or more before the
    /// series' newest final one.
    fn prune(&mut self, series: SeriesKey) {
        let Some(f) = self.finals.get_mut(&series) else {
            return;
        };
        let cutoff = f.max_end_ms.saturating_sub(self.history_ms);
        while let Some(entry) = f.starts_by_end.first_entry() {
            if *entry.key() > cutoff {
                break;
            }
            for start in entry.remove() {
                let key = (series.0.clone(), series.1.clone(), series.2, start);
                if let Some(set) = self.bars.get_mut(&key) {
                    let before = set.len();
                    set.retain(|(b, _)| !b.is_final);
                    self.counters.pruned_bars += (before - set.len()) as u64;
                    if set.is_empty() {
                        self.bars.remove(&key);
                    }
                }
            }
        }
    }

    /// The latest price of an instrument.
    pub fn latest(&self, tenant: &str, instrument: &str) -> Option<&LatestPrice> {
        self.latest.get(&(Sym::from(tenant), Sym::from(instrument)))
    }

    /// The price of an instrument in effect at event time `t_ms` (within the held history).
    pub fn latest_at(&self, tenant: &str, instrument: &str, t_ms: EpochMs) -> Option<LatestPrice> {
        self.book.at(tenant, instrument, t_ms)
    }

    /// The latest prices of the instruments whose id starts with `prefix` (at `at_ms` when
    /// given), ordered by instrument; at most `cap`.
    pub fn latest_prefix(
        &self,
        tenant: &str,
        prefix: &str,
        at_ms: Option<EpochMs>,
        cap: usize,
    ) -> Result<Vec<LatestPrice>, TooMany> {
        let from = (Sym::from(tenant), Sym::from(prefix));
        let mut out = Vec::new();
        for ((t, i), row) in self.latest.range(from..) {
            if &**t != tenant || !i.starts_with(prefix) {
                break;
            }
            let row = match at_ms {
                None => Some(row.clone()),
                Some(at) => self.book.at(tenant, i, at),
            };
            if let Some(row) = row {
                if out.len() == cap {
                    return Err(TooMany(cap));
                }
                out.push(row);
            }
        }
        Ok(out)
    }

    /// The bars of an instrument with `from_ms <= window_start < to_ms`, of one interval or all,
    /// ordered by (interval, window_start) like `bars.csv`; at most `cap`.
    pub fn bars(
        &self,
        tenant: &str,
        instrument: &str,
        interval: Option<BarInterval>,
        from_ms: EpochMs,
        to_ms: EpochMs,
        cap: usize,
    ) -> Result<Vec<Bar>, TooMany> {
        let mut out = Vec::new();
        if from_ms >= to_ms {
            return Ok(out);
        }
        let (t, i) = (Sym::from(tenant), Sym::from(instrument));
        for iv in BarInterval::ALL {
            if interval.is_some_and(|x| x != iv) {
                continue;
            }
            let lo = (t.clone(), i.clone(), iv, from_ms);
            let hi = (t.clone(), i.clone(), iv, to_ms);
            for set in self.bars.range(lo..hi).map(|(_, s)| s) {
                for b in live(set) {
                    if out.len() == cap {
                        return Err(TooMany(cap));
                    }
                    out.push(b.clone());
                }
            }
        }
        Ok(out)
    }

    /// The points of a curve ordered by (delivery_start, tenor); `None` when it has none.
    pub fn curve(&self, tenant: &str, curve_id: &str) -> Option<Vec<CurvePoint>> {
        let points = self.curves.get(&(Sym::from(tenant), Sym::from(curve_id)))?;
        Some(points.values().flat_map(|s| live(s)).cloned().collect())
    }

    /// Every latest row (for subscription snapshots), ordered by (tenant, instrument).
    pub fn all_latest(&self) -> impl Iterator<Item = &LatestPrice> {
        self.latest.values()
    }

    /// Every bar held, ordered by (tenant, instrument, interval, window_start).
    pub fn all_bars(&self) -> impl Iterator<Item = &Bar> {
        self.bars.values().flat_map(|s| live(s))
    }

    /// Every curve point, ordered by (tenant, curve_id, delivery_start, tenor).
    pub fn all_points(&self) -> impl Iterator<Item = &CurvePoint> {
        self.curves
            .values()
            .flat_map(|m| m.values().flat_map(|s| live(s)))
    }

    /// Number of (bars, latest rows, curves) held.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.bars.len(), self.latest.len(), self.curves.len())
    }
}

fn view_rank(c: &Change) -> u8 {
    match c {
        Change::Latest(..) => 0,
        Change::Bar(..) => 1,
        Change::Curve(..) => 2,
    }
}

#[cfg(test)]
#[path = "tests/state.rs"]
mod tests;
