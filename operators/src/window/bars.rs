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
//! State: per open window one [`BarAcc`] (which holds its live ticks) and, with provisional
//! output, the last emitted bar; a closed window is released at once and remembered only as the
//! per-market closing horizon, so updates for it are ignored (never reopen a final bar).

use super::assign::{market_slot, WindowAssigner};
use super::ohlc::BarAcc;
use crate::model::{Bar, BarInterval, EpochMs, Market, Sym, Tick};
use rustc_hash::FxHashMap;

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

#[derive(Debug)]
struct OpenBar {
    interval: BarInterval,
    market: Market,
    acc: BarAcc,
    /// The last non-final bar emitted (provisional output only).
    emitted: Option<Bar>,
    dirty: bool,
}

#[derive(Debug, Default)]
struct InstrumentBars {
    bars: Vec<OpenBar>,
    /// Position in `bars` of the last window hit, per interval (a hint; checked before use).
    hint: [usize; 5],
    touched_gen: u64,
}

impl InstrumentBars {
    fn find(&mut self, interval: BarInterval, start: EpochMs) -> Option<usize> {
        let slot = interval.index();
        let is = |b: &OpenBar| b.interval == interval && b.acc.window().0 == start;
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
}

/// All open bars of one worker.
#[derive(Debug)]
pub struct BarBook {
    intervals: Vec<BarInterval>,
    assigner: WindowAssigner,
    tenants: FxHashMap<Sym, FxHashMap<Sym, InstrumentBars>>,
    /// Instruments touched since the last drain.
    touched: Vec<(Sym, Sym)>,
    gen: u64,
    /// Per market: windows with `window_end <= closed` are final and released.
    closed: [EpochMs; 8],
    /// A lower bound of the smallest `window_end` among open bars.
    next_deadline: EpochMs,
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
            tenants: FxHashMap::default(),
            touched: Vec::new(),
            gen: 1,
            closed: [EpochMs::MIN; 8],
            next_deadline: EpochMs::MAX,
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
    /// (`window_end > horizon_ms` and not finalized). Returns the number of windows updated.
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
        let insts = match self.tenants.get_mut(&*tick.tenant_id) {
            Some(m) => m,
            None => self.tenants.entry(tick.tenant_id.clone()).or_default(),
        };
        let inst = match insts.get_mut(&*tick.instrument_id) {
            Some(i) => i,
            None => insts.entry(tick.instrument_id.clone()).or_default(),
        };
        if inst.touched_gen != self.gen {
            inst.touched_gen = self.gen;
            self.touched
                .push((tick.tenant_id.clone(), tick.instrument_id.clone()));
        }
        for &(iv, s, e) in wins.iter().take(n) {
            let bar = match inst.find(iv, s).and_then(|p| inst.bars.get_mut(p)) {
                Some(b) => b,
                None if diff < 0 => {
                    self.stats.unmatched_retractions += 1;
                    continue;
                }
                None => {
                    self.stats.opened += 1;
                    if let Some(c) = self.open.get_mut(iv.index()) {
                        *c += 1;
                    }
                    self.next_deadline = self.next_deadline.min(e);
                    inst.bars.push(OpenBar {
                        interval: iv,
                        market: tick.market,
                        acc: BarAcc::new(s, e),
                        emitted: None,
                        dirty: false,
                    });
                    match inst.bars.last_mut() {
                        Some(b) => b,
                        None => continue,
                    }
                }
            };
            if !bar.acc.update(tick, diff) {
                self.stats.unmatched_retractions += 1;
            }
            bar.dirty = true;
        }
        n
    }

    /// Appends the changes since the last drain (see the module doc for the protocol) and
    /// releases bars whose ticks were all retracted.
    pub fn drain(&mut self, out: &mut Vec<(Bar, i64)>) {
        let first = out.len();
        let BarBook {
            tenants,
            touched,
            open,
            provisional,
            ..
        } = self;
        for (tenant, instrument) in touched.drain(..) {
            let Some(insts) = tenants.get_mut(&tenant) else {
                continue;
            };
            let Some(inst) = insts.get_mut(&instrument) else {
                continue;
            };
            inst.bars.retain_mut(|b| {
                if !b.dirty {
                    return true;
                }
                b.dirty = false;
                if *provisional {
                    let new = b.acc.bar(&tenant, &instrument, b.interval, false);
                    if new != b.emitted {
                        if let Some(old) = b.emitted.take() {
                            out.push((old, -1));
                        }
                        if let Some(new) = new {
                            out.push((new.clone(), 1));
                            b.emitted = Some(new);
                        }
                    }
                }
                let keep = !b.acc.is_empty();
                if !keep {
                    if let Some(c) = open.get_mut(b.interval.index()) {
                        *c = c.saturating_sub(1);
                    }
                }
                keep
            });
            if inst.bars.is_empty() {
                insts.remove(&instrument);
                if insts.is_empty() {
                    tenants.remove(&tenant);
                }
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
        let mut widest = EpochMs::MIN;
        for m in Market::ISOS.into_iter().chain([Market::Other]) {
            let c = &mut self.closed[market_slot(m)];
            *c = (*c).max(super::horizon(frontier_ms, lateness_ms(m)));
            widest = widest.max(*c);
        }
        if self.next_deadline > widest {
            return; // no open bar can close yet
        }
        let first = out.len();
        let mut next = EpochMs::MAX;
        let BarBook {
            tenants,
            closed,
            open,
            stats,
            ..
        } = self;
        for (tenant, insts) in tenants.iter_mut() {
            for (instrument, inst) in insts.iter_mut() {
                inst.bars.retain_mut(|b| {
                    let end = b.acc.window().1;
                    if end > closed[market_slot(b.market)] {
                        next = next.min(end);
                        return true;
                    }
                    if let Some(old) = b.emitted.take() {
                        out.push((old, -1));
                    }
                    if let Some(f) = b.acc.bar(tenant, instrument, b.interval, true) {
                        out.push((f, 1));
                    }
                    if let Some(c) = open.get_mut(b.interval.index()) {
                        *c = c.saturating_sub(1);
                    }
                    stats.finalized += 1;
                    false
                });
            }
            insts.retain(|_, i| !i.bars.is_empty());
        }
        tenants.retain(|_, m| !m.is_empty());
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
        for (tenant, insts) in &self.tenants {
            for (instrument, inst) in insts {
                v.extend(
                    inst.bars
                        .iter()
                        .filter_map(|b| b.acc.bar(tenant, instrument, b.interval, false)),
                );
            }
        }
        v.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        v
    }
}

fn sort_updates(v: &mut [(Bar, i64)]) {
    v.sort_by(|a, b| (a.0.sort_key(), a.1).cmp(&(b.0.sort_key(), b.1)));
}

#[cfg(test)]
#[path = "bars_tests.rs"]
mod tests;
