//! [`BarBook`]: every open bar of one worker, for the configured intervals.
//!
//! Usage per input batch: [`BarBook::update`] each `(tick, diff)` from dedupe with the batch's
//! lateness horizon (see [`super::horizon`]), then [`BarBook::drain`] the changed bars as
//! differential updates; when the global watermark advances, [`BarBook::close_until`] finalizes
//! windows and releases their state. Bars are keyed by (tenant, instrument, interval,
//! window_start); ticks must be routed by (tenant, instrument) so an instrument's bars live on
//! one worker.
//!
//! Output protocol: for a bar whose emitted value changed, `(old, −1)` then `(new, +1)`; a bar
//! whose ticks were all retracted emits only `(old, −1)`; closing emits `(non-final, −1)` if one
//! was emitted and `(final, +1)`. Every batch of output is sorted by (tenant, instrument,
//! interval, window_start, diff), so it does not depend on hash or arrival order. With
//! `provisional` off, drains emit nothing and only final bars appear (for `dir:` final state).
//!
//! State: per open window a `BarState` (sums and extremes, no ticks) and, with provisional
//! output, the last emitted bar; per instrument one *pool* holding each live tick once for all
//! intervals (sorted by interval_start, with a bit per interval saying which bars it is in), read
//! only to rescan a bar whose open, close, high or low was retracted. A closed window is released
//! at once and remembered only as the per-market closing horizon, so updates for it are ignored
//! (a final bar never reopens); pool entries go when their largest window is final.
//!
//! **Lazy bars.** Without provisional output (final state only, e.g. `dir:`), no bar is read
//! before it closes, so bars are *lazy*: a tick only counts itself into its windows' bars
//! (for release when all their ticks are retracted) and joins the pool; at close each bar is
//! rebuilt from the pool entries it holds in one sequential pass (`instrument::settle`) —
//! cheaper than updating sums and extremes of every interval per tick, and the same value
//! (sums are exact; extremes are a function of the live ticks).
//!
//! Cost per `+1`: one instrument lookup by the tick's dedupe slot (`crate::slots`), one window
//! computation and one bar update (eager) or count (lazy) per interval, one pool append — no
//! allocation once vectors have grown. A `−1` looks the tick up among the pool entries with
//! the same interval_start.

use super::assign::{market_slot, WindowAssigner};
use super::instrument::{bit, refresh, settle, InstrumentBars, OpenBar};
use super::ohlc::{BarState, Entry, Fixed};
use crate::model::{Bar, BarInterval, EpochMs, Market, Tick};
use crate::slots::SlotMap;

/// Counters of a [`BarBook`] (exempt from determinism where updates race with closing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BarStats {
    /// `(tick, diff)` updates that reached at least one window.
    pub updates: u64,
    /// (update, interval) pairs skipped because the window was closed for the tick.
    pub skipped_closed: u64,
    /// Retractions that matched no live tick (ignored).
    pub unmatched_retractions: u64,
    /// Windows opened.
    pub opened: u64,
    /// Windows finalized and released.
    pub finalized: u64,
}

/// All open bars of one worker.
#[derive(Debug)]
pub struct BarBook {
    intervals: Vec<BarInterval>,
    assigner: WindowAssigner,
    instruments: SlotMap<InstrumentBars>,
    /// Instruments touched since the last drain.
    touched: Vec<u32>,
    gen: u64,
    /// Per market: windows with `window_end <= closed` are final and released.
    closed: [EpochMs; 8],
    /// Per market, a lower bound of the smallest `window_end` among its open bars: closing
    /// scans only when some market's horizon reaches it.
    next_deadline: [EpochMs; 8],
    open: [usize; 5],
    provisional: bool,
    /// Counters.
    pub stats: BarStats,
}

impl BarBook {
    /// A book for `intervals` (sorted and de-duplicated), emitting provisional bars on drains.
    pub fn new(intervals: &[BarInterval]) -> BarBook {
        let mut intervals = intervals.to_vec();
        intervals.sort();
        intervals.dedup();
        BarBook {
            intervals,
            assigner: WindowAssigner::new(),
            instruments: SlotMap::default(),
            touched: Vec::new(),
            gen: 1,
            closed: [EpochMs::MIN; 8],
            next_deadline: [EpochMs::MAX; 8],
            open: [0; 5],
            provisional: true,
            stats: BarStats::default(),
        }
    }

    /// Turns provisional (non-final) output on drains on or off.
    pub fn with_provisional(mut self, on: bool) -> BarBook {
        self.provisional = on;
        self
    }

    /// The configured intervals, shortest first.
    pub fn intervals(&self) -> &[BarInterval] {
        &self.intervals
    }

    /// Number of live ticks held for rescans (each once, whatever the number of intervals).
    pub fn held_ticks(&self) -> usize {
        self.instruments.iter().map(|i| i.value.pool.len()).sum()
    }

    /// Number of open windows of `interval`.
    pub fn open_windows(&self, interval: BarInterval) -> usize {
        self.open.get(interval.index()).copied().unwrap_or(0)
    }

    /// True when every configured window of the tick is closed for it: at `horizon_ms` (the
    /// tick's feed watermark minus allowed lateness) or because this book already finalized it.
    /// The caller then makes a `LATE_DATA` dead letter. False when no interval is configured.
    pub fn is_too_late(&mut self, tick: &Tick, horizon_ms: EpochMs) -> bool {
        let h = horizon_ms.max(self.closed[market_slot(tick.market)]);
        self.assigner
            .closed_for(&self.intervals, tick.market, tick.interval_start_ms, h)
    }

    /// Applies `diff` copies of `tick` to each configured window still open for it
    /// (`window_end > horizon_ms` and not finalized). Returns the number of windows open for the
    /// tick: 0 means it was too late for every window (a `LATE_DATA` dead letter upstream).
    pub fn update(&mut self, tick: &Tick, diff: i64, horizon_ms: EpochMs) -> usize {
        if diff == 0 {
            return 0;
        }
        let h = horizon_ms.max(self.closed[market_slot(tick.market)]);
        let mut wins = [(BarInterval::M1, 0, 0); 5];
        let mut n = 0;
        for &iv in &self.intervals {
            let (s, e) = self
                .assigner
                .window_of(iv, tick.market, tick.interval_start_ms);
            if e <= h {
                self.stats.skipped_closed += 1;
            } else if let Some(w) = wins.get_mut(n) {
                *w = (iv, s, e);
                n += 1;
            }
        }
        if n == 0 {
            return 0;
        }
        self.stats.updates += 1;
        let mask = wins.iter().take(n).fold(0, |m, w| m | bit(w.0));
        let (tenant, instrument) = (&tick.tenant_id, &tick.instrument_id);
        let idx = if diff < 0 {
            match self.instruments.find(tenant, instrument, tick.slot) {
                Some(i) => i,
                None => {
                    self.stats.unmatched_retractions += n as u64;
                    return n;
                }
            }
        } else {
            self.instruments
                .find_or_insert_with(tenant, instrument, tick.slot, || {
                    InstrumentBars::new(tick.market)
                })
        };
        let Some(inst) = self.instruments.get_mut(idx).map(|i| &mut i.value) else {
            return n; // unreachable: `idx` was just found
        };
        if inst.touched_gen != self.gen {
            inst.touched_gen = self.gen;
            self.touched.push(idx);
        }
        let lazy = !self.provisional;
        if diff > 0 {
            for _ in 0..diff {
                let e = Entry::of(tick, mask);
                let fx = if lazy { None } else { Some(Fixed::of(&e)) };
                for &(iv, s, end) in wins.iter().take(n) {
                    let p = match inst.find(iv, s) {
                        Some(p) => p,
                        None => {
                            self.stats.opened += 1;
                            if let Some(c) = self.open.get_mut(iv.index()) {
                                *c += 1;
                            }
                            let d = &mut self.next_deadline[market_slot(tick.market)];
                            *d = (*d).min(end);
                            inst.bars.push(OpenBar {
                                interval: iv,
                                state: BarState::new(s, end),
                                emitted: None,
                                dirty: false,
                            });
                            inst.bars.len() - 1
                        }
                    };
                    if let Some(b) = inst.bars.get_mut(p) {
                        match &fx {
                            Some(fx) => b.state.insert(&e, fx),
                            None => b.state.count(1),
                        }
                        b.dirty = true;
                    }
                }
                inst.pool_insert(e);
            }
            return n;
        }
        for _ in diff..0 {
            for &(iv, s, _) in wins.iter().take(n) {
                if !inst.retract(tick, iv, s, lazy) {
                    self.stats.unmatched_retractions += 1;
                }
            }
        }
        n
    }

    /// Appends the changes since the last drain (see the module doc for the protocol) and
    /// releases bars whose ticks were all retracted.
    pub fn drain(&mut self, out: &mut Vec<(Bar, i64)>) {
        let first = out.len();
        let BarBook {
            instruments,
            touched,
            open,
            provisional,
            ..
        } = self;
        for idx in touched.drain(..) {
            let Some(item) = instruments.get_mut(idx) else {
                continue;
            };
            let (tenant, instrument, inst) = (&item.tenant, &item.instrument, &mut item.value);
            let pool = &inst.pool;
            inst.bars.retain_mut(|b| {
                if !b.dirty {
                    return true;
                }
                b.dirty = false;
                refresh(pool, b);
                if *provisional {
                    let new = b.state.bar(tenant, instrument, b.interval, false);
                    if new.as_ref() != b.emitted.as_deref() {
                        if let Some(old) = b.emitted.take() {
                            out.push((*old, -1));
                        }
                        if let Some(new) = new {
                            out.push((new.clone(), 1));
                            b.emitted = Some(Box::new(new));
                        }
                    }
                }
                let keep = b.state.len() > 0;
                if !keep {
                    if let Some(c) = open.get_mut(b.interval.index()) {
                        *c = c.saturating_sub(1);
                    }
                }
                keep
            });
            if inst.bars.is_empty() && inst.pool.is_empty() {
                instruments.remove(idx);
            }
        }
        self.gen += 1;
        sort_updates(&mut out[first..]);
    }

    /// Finalizes every bar with `window_end + allowed_lateness_ms <= frontier_ms`: appends
    /// `(non-final, −1)` if one was emitted and `(final, +1)`, and releases its state. Later
    /// updates for these windows are ignored. Pass `EpochMs::MAX` at the end of a bounded input.
    pub fn close_until(
        &mut self,
        frontier_ms: EpochMs,
        allowed_lateness_ms: i64,
        out: &mut Vec<(Bar, i64)>,
    ) {
        self.close_until_with(frontier_ms, |_| allowed_lateness_ms, out);
    }

    /// [`BarBook::close_until`] with the allowed lateness chosen per market.
    pub fn close_until_with(
        &mut self,
        frontier_ms: EpochMs,
        lateness_ms: impl Fn(Market) -> i64,
        out: &mut Vec<(Bar, i64)>,
    ) {
        let mut due = false;
        for m in Market::ALL {
            let slot = market_slot(m);
            let c = &mut self.closed[slot];
            *c = (*c).max(super::horizon(frontier_ms, lateness_ms(m)));
            due |= self.next_deadline[slot] <= *c;
        }
        if !due {
            return; // no open bar can close yet
        }
        let first = out.len();
        let mut next = [EpochMs::MAX; 8];
        let lazy = !self.provisional;
        let BarBook {
            intervals,
            assigner,
            instruments,
            closed,
            open,
            stats,
            ..
        } = self;
        instruments.retain(|item| {
            let (tenant, instrument, inst) = (&item.tenant, &item.instrument, &mut item.value);
            {
                let slot = market_slot(inst.market);
                let pool = &inst.pool;
                inst.bars.retain_mut(|b| {
                    let end = b.state.window().1;
                    if end > closed[slot] {
                        next[slot] = next[slot].min(end);
                        return true;
                    }
                    if let Some(old) = b.emitted.take() {
                        out.push((*old, -1));
                    }
                    settle(pool, b, lazy);
                    if let Some(f) = b.state.bar(tenant, instrument, b.interval, true) {
                        out.push((f, 1));
                    }
                    if let Some(c) = open.get_mut(b.interval.index()) {
                        *c = c.saturating_sub(1);
                    }
                    stats.finalized += 1;
                    false
                });
                // Release the ticks whose largest window is final (the pool is sorted by start,
                // and that window's end grows with the start).
                let done = inst.pool.partition_point(|e| {
                    assigner
                        .last_window_end(intervals, inst.market, e.start)
                        .is_none_or(|end| end <= closed[slot])
                });
                inst.pool.truncate_front(done);
            }
            !inst.bars.is_empty() || !inst.pool.is_empty()
        });
        self.next_deadline = next;
        sort_updates(&mut out[first..]);
    }

    /// Finalizes and releases every open bar (end of a bounded input).
    pub fn close_all(&mut self, out: &mut Vec<(Bar, i64)>) {
        self.close_until(EpochMs::MAX, 0, out);
    }

    /// The current (non-final) bar of every open window, sorted (for tests and snapshots).
    pub fn snapshot(&self) -> Vec<Bar> {
        let mut v: Vec<Bar> = Vec::new();
        for item in self.instruments.iter() {
            let (tenant, instrument, inst) = (&item.tenant, &item.instrument, &item.value);
            {
                for b in &inst.bars {
                    let mut b = OpenBar {
                        interval: b.interval,
                        state: b.state.clone(),
                        emitted: None,
                        dirty: false,
                    };
                    settle(&inst.pool, &mut b, !self.provisional);
                    v.extend(b.state.bar(tenant, instrument, b.interval, false));
                }
            }
        }
        v.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        v
    }
}

/// Sorts bar updates by (bar key, diff): the order of every batch of bar output.
pub(crate) fn sort_updates(v: &mut [(Bar, i64)]) {
    v.sort_by(|a, b| (a.0.sort_key(), a.1).cmp(&(b.0.sort_key(), b.1)));
}

#[cfg(test)]
#[path = "tests/bars.rs"]
mod tests;
