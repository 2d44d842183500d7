//! Per-instrument state of a `BarBook`: the open bars of one (tenant, instrument) and the pool
//! holding each of its live ticks once, sorted by interval_start, with a bit per interval naming
//! the bars the tick is in. The pool is read only to rescan a bar whose extremes went stale.

use super::ohlc::{BarState, Entry};
use crate::chunked::{ChunkDeque, Pos};
use crate::model::{Bar, BarInterval, EpochMs, Market, Tick};

/// One open window's bar.
#[derive(Debug)]
pub(super) struct OpenBar {
    pub(super) interval: BarInterval,
    pub(super) state: BarState,
    /// The last non-final bar emitted (provisional output only; boxed to keep bars small).
    pub(super) emitted: Option<Box<Bar>>,
    pub(super) dirty: bool,
}

/// Everything one worker keeps for one (tenant, instrument).
#[derive(Debug)]
pub(super) struct InstrumentBars {
    pub(super) market: Market,
    pub(super) bars: Vec<OpenBar>,
    /// Position in `bars` of the last window hit, per interval (a hint; checked before use).
    hint: [usize; 5],
    /// The live ticks of the open bars, each once, sorted by interval_start (in chunks: the
    /// pool of a 1-hour window holds thousands of ticks, and never grows by copying them).
    pub(super) pool: ChunkDeque<Entry>,
    pub(super) touched_gen: u64,
}

impl InstrumentBars {
    pub(super) fn new(market: Market) -> InstrumentBars {
        InstrumentBars {
            market,
            bars: Vec::new(),
            hint: [0; 5],
            pool: ChunkDeque::default(),
            touched_gen: 0,
        }
    }

    pub(super) fn find(&mut self, interval: BarInterval, start: EpochMs) -> Option<usize> {
        let slot = interval.index();
        let is = |b: &OpenBar| b.interval == interval && b.state.window().0 == start;
        let h = self.hint.get(slot).copied().unwrap_or(0);
        let p = if self.bars.get(h).is_some_and(is) {
            h
        } else {
            self.bars.iter().rposition(is)?
        };
        if let Some(x) = self.hint.get_mut(slot) {
            *x = p;
        }
        Some(p)
    }

    /// Retracts one copy of `tick` from its bar of `interval` starting at `start`: clears that
    /// bar's bit on a matching pool entry (dropping the entry when no bar holds it any more).
    /// False when no entry of that bar matches.
    /// A lazy bar (see [`settle`]) only counts the retraction.
    pub(super) fn retract(
        &mut self,
        tick: &Tick,
        interval: BarInterval,
        start: EpochMs,
        lazy: bool,
    ) -> bool {
        let m = bit(interval);
        let (from, to) = span(
            &self.pool,
            tick.interval_start_ms,
            tick.interval_start_ms + 1,
        );
        let found = self
            .pool
            .range(from, to)
            .rev()
            .find(|(_, x)| x.mask & m != 0 && x.matches(tick))
            .map(|(i, _)| i);
        let (Some(i), Some(p)) = (found, self.find(interval, start)) else {
            return false;
        };
        if let (Some(x), Some(b)) = (self.pool.get_mut(i), self.bars.get_mut(p)) {
            x.mask &= !m;
            if lazy {
                b.state.count(-1);
            } else {
                b.state.retract(x);
            }
            b.dirty = true;
            if x.mask == 0 {
                self.pool.remove(i);
            }
        }
        true
    }

    /// Adds an entry, keeping the pool sorted by interval_start (appends when in order).
    pub(super) fn pool_insert(&mut self, e: Entry) {
        if self.pool.back().is_none_or(|b| b.start <= e.start) {
            self.pool.push_back(e);
        } else {
            let at = self.pool.partition_point(|x| x.start <= e.start);
            self.pool.insert(at, e);
        }
    }
}

/// The bit of an interval in an entry's mask.
pub(super) fn bit(interval: BarInterval) -> u8 {
    1 << interval.index()
}

/// Pool positions of the entries with `from <= interval_start < to`.
fn span(pool: &ChunkDeque<Entry>, from: EpochMs, to: EpochMs) -> (Pos, Pos) {
    (
        pool.partition_point(|e| e.start < from),
        pool.partition_point(|e| e.start < to),
    )
}

/// Rescans a bar whose extremes are stale, from the pool entries it holds: when only open and
/// close are stale, from the entries at the window's first and last interval_start (found by
/// binary search; the pool is sorted by start), else from all of them.
pub(super) fn refresh(pool: &ChunkDeque<Entry>, b: &mut OpenBar) {
    let m = bit(b.interval);
    if b.state.only_ends_stale() {
        let (from, to) = b.state.window();
        let (lo, hi) = span(pool, from, to);
        let mine = |e: &&Entry| e.mask & m != 0;
        let first_start = pool
            .range(lo, hi)
            .map(|(_, e)| e)
            .find(mine)
            .map(|e| e.start);
        let last_start = pool
            .range(lo, hi)
            .rev()
            .map(|(_, e)| e)
            .find(mine)
            .map(|e| e.start);
        let first = pool
            .range(lo, hi)
            .map(|(_, e)| e)
            .take_while(|e| Some(e.start) == first_start || e.mask & m == 0)
            .filter(mine);
        let last = pool
            .range(lo, hi)
            .rev()
            .map(|(_, e)| e)
            .take_while(|e| Some(e.start) == last_start || e.mask & m == 0)
            .filter(mine);
        b.state.rescan_ends(first, last);
    } else if b.state.is_stale() {
        b.state.rescan(held(pool, b).filter(|e| e.mask & m != 0));
    }
}

/// Makes a bar's value current before it is read: a *lazy* bar (one only counted as ticks came
/// and went, used when no provisional bar is ever emitted) is rebuilt from the pool entries it
/// holds — one sequential pass at close instead of an update per tick — and an eager bar is
/// [`refresh`]ed.
pub(super) fn settle(pool: &ChunkDeque<Entry>, b: &mut OpenBar, lazy: bool) {
    if lazy {
        let m = bit(b.interval);
        b.state.rebuild(held(pool, b).filter(|e| e.mask & m != 0));
    } else {
        refresh(pool, b);
    }
}

/// The pool entries within a bar's window (whether the bar holds them or not: see the mask).
fn held<'p>(pool: &'p ChunkDeque<Entry>, b: &OpenBar) -> impl Iterator<Item = &'p Entry> {
    let (from, to) = b.state.window();
    let (lo, hi) = span(pool, from, to);
    pool.range(lo, hi).map(|(_, e)| e)
}
