//! Final bars swept from the held identities: the *store bars* of final-state runs.
//!
//! Dedupe already holds every live identity until its largest window is final (SPEC §4), sorted
//! by interval_start per instrument — exactly the ticks a lazy `window::BarBook` keeps a second
//! copy of in its pool. With [`DedupeCore::with_bars`] the core keeps the bars itself instead:
//! - each held value carries a *mask*, a bit per interval for the bars holding it: the windows
//!   still open for the arrival that made it (`window_end > max(horizon, closed)`), as the
//!   book's update would;
//! - a correction or re-arrival moves the identity's value into the windows open for the touch
//!   and *pins* the old value in the bars closed for it (they keep it, as the book's
//!   retraction skips them) — rare: it takes a correction later than some window of its tick;
//! - [`DedupeCore::close_bars`], called when the global watermark advances (before
//!   [`DedupeCore::release`]), sweeps each instrument's entries whose window of an interval
//!   became final, in key order, plus its pins, into final bars;
//! - only the finest interval's bars are swept: a coarser sub-day interval made of its windows
//!   (5m, 15m, 1h over 1m) is *rolled up*: each finest bar swept is added to the coarse bars
//!   holding it, and a coarse bar closes from those sums without reading the entries again —
//!   unless its window is *impure*: some value in it is not in its finest bar (a tick or a
//!   correction too late for the finest window, a pinned old value) or runs past its finest
//!   window (its TWAP weight differs per window, as with hourly ticks under 1m bars). Impure
//!   windows are swept.
//!
//! The bars equal a lazy `BarBook`'s fed with the core's own updates (a test checks it on
//! random streams with corrections and horizons); per tick this costs one mask instead of a
//! pool entry and a count per interval. Provisional (non-final) bars still need the book.

use super::chunks::Entry;
use super::slim::Slim;
use super::DedupeCore;
use crate::model::{Bar, BarInterval, EpochMs, Market, Sym};
use crate::window::assign::{market_slot, WindowAssigner};
use crate::window::bars::sort_updates;
use crate::window::ohlc::{BarState, Fixed};

/// An old value of an identity still held by the bars that were closed for the touch that
/// replaced it.
#[derive(Debug)]
pub(super) struct Pin {
    start: EpochMs,
    end: EpochMs,
    trade_id: Option<Sym>,
    /// The old value, its mask naming the bars that keep it.
    slim: Slim,
}

impl Pin {
    pub(super) fn new(e: &Entry, mut slim: Slim, mask: u8) -> Pin {
        slim.mask = mask;
        Pin {
            start: e.start,
            end: e.end,
            trade_id: e.trade_id.clone(),
            slim,
        }
    }

    pub(super) fn start(&self) -> EpochMs {
        self.start
    }
}

/// The bars state of a core: per market, the horizon at or before which windows are final
/// (and were emitted); counters.
#[derive(Clone, Debug)]
pub(super) struct StoreBars {
    pub(super) closed: [EpochMs; 8],
    /// The shortest interval: its bars are swept from the entries.
    finest: Option<BarInterval>,
    /// Bits of the sub-day intervals made of whole windows of the finest one: their bars are
    /// rolled up from the finest bars unless a window is *impure* (see [`Rollup`]).
    coarse: u8,
}

impl StoreBars {
    pub(super) fn new(intervals: &[BarInterval]) -> StoreBars {
        let finest = intervals.iter().copied().min();
        let nests =
            |iv: &BarInterval| match (finest.and_then(|f| f.duration_ms()), iv.duration_ms()) {
                (Some(f), Some(d)) => Some(*iv) != finest && f > 0 && d % f == 0,
                _ => false,
            };
        StoreBars {
            closed: [EpochMs::MIN; 8],
            finest,
            coarse: intervals
                .iter()
                .filter(|iv| nests(iv))
                .fold(0, |m, iv| m | 1 << iv.index()),
        }
    }

    /// Records what a value with mask `mask` of a tick over `[start, end)` means for the
    /// roll-up: a value in coarse bars but not in its finest bar, or whose interval runs past its
    /// finest window (its TWAP weight differs per window), makes those coarse windows impure.
    pub(super) fn note(
        &self,
        rollup: &mut Rollup,
        assigner: &mut WindowAssigner,
        market: Market,
        (start_ms, end_ms): (EpochMs, EpochMs),
        mask: u8,
    ) {
        let Some(finest) = self.finest else { return };
        if mask & self.coarse == 0 {
            return;
        }
        if mask & (1 << finest.index()) == 0
            || end_ms > assigner.window_of(finest, market, start_ms).1
        {
            self.taint(rollup, assigner, market, start_ms, mask & self.coarse);
        }
    }

    /// Marks the windows of the coarse intervals in `bits` containing `start_ms` impure.
    pub(super) fn taint(
        &self,
        rollup: &mut Rollup,
        assigner: &mut WindowAssigner,
        market: Market,
        start_ms: EpochMs,
        bits: u8,
    ) {
        for iv in BarInterval::ALL {
            if bits & self.coarse & (1 << iv.index()) != 0 {
                let w = (iv, assigner.window_of(iv, market, start_ms).0);
                if !rollup.impure.contains(&w) {
                    rollup.impure.push(w);
                }
            }
        }
    }

    /// The bits of every coarse interval.
    pub(super) fn coarse(&self) -> u8 {
        self.coarse
    }
}

/// Per instrument: the coarse bars rolled up so far from its finest bars, and the coarse windows
/// that cannot be (a value in them without its finest bar: a tick or correction too late for
/// its finest window, or a pinned old value) and are swept instead when they close.
#[derive(Debug, Default)]
pub(super) struct Rollup {
    partial: Vec<(BarInterval, BarState)>,
    impure: Vec<(BarInterval, EpochMs)>,
}

/// Counters of store bars (exempt from determinism).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreBarStats {
    /// Final bars emitted, per interval (`BarInterval::index`).
    pub final_bars: [u64; 5],
    /// Windows spanned by the held identities after the last close, per interval: from the
    /// window of the first held identity not yet final to that of the last (a gauge; gaps in
    /// an instrument's ticks count as windows).
    pub open_windows: [u64; 5],
    /// Old values pinned in bars closed for their correction.
    pub pinned: u64,
}

/// The bits of the windows of `intervals` still open for a tick of `market` starting at
/// `start_ms` judged at `horizon_ms`: `window_end > max(horizon, closed[market])`.
pub(super) fn open_mask(
    assigner: &mut WindowAssigner,
    intervals: &[BarInterval],
    closed: &[EpochMs; 8],
    market: Market,
    start_ms: EpochMs,
    horizon_ms: EpochMs,
) -> u8 {
    let h = horizon_ms.max(closed[market_slot(market)]);
    intervals.iter().fold(0, |m, &iv| {
        if assigner.window_of(iv, market, start_ms).1 > h {
            m | 1 << iv.index()
        } else {
            m
        }
    })
}

impl DedupeCore {
    /// Keeps the final bars of the core's intervals in the store (see the module doc); without
    /// intervals there are none.
    pub fn with_bars(mut self) -> DedupeCore {
        self.intervals.sort();
        self.intervals.dedup();
        self.bars = Some(StoreBars::new(&self.intervals));
        self
    }

    /// Appends `(bar, +1)` for every bar whose window end passed from at or before the last
    /// closing horizon to at or before `closed_ms(market)` (`EpochMs::MAX`: every bar), sorted
    /// by bar key. Call before [`DedupeCore::release`] with the same horizons.
    pub fn close_bars(&mut self, closed_ms: impl Fn(Market) -> EpochMs, out: &mut Vec<(Bar, i64)>) {
        let Some(prev) = self.bars.as_ref().map(|b| b.closed) else {
            return;
        };
        let mut cur = prev;
        for m in Market::ALL {
            let s = market_slot(m);
            cur[s] = cur[s].max(closed_ms(m));
        }
        if cur == prev {
            return;
        }
        let first = out.len();
        let coarse = self.bars.as_ref().map_or(0, StoreBars::coarse);
        let DedupeCore {
            instruments,
            intervals,
            assigner,
            bar_stats,
            ..
        } = self;
        // The gauge is recounted for the intervals some window of which closed.
        let mut open = [0u64; 5];
        let mut recount = [false; 5];
        for (tenant, insts) in instruments.iter_mut() {
            for (instrument, inst) in insts.iter_mut() {
                let s = market_slot(inst.market);
                if prev[s] == cur[s] {
                    continue;
                }
                // Shortest first: the finest bars closing now are rolled up before the coarse
                // bars made of them close.
                for (k, &iv) in intervals.iter().enumerate() {
                    let i = iv.index();
                    let from = first_open_start(assigner, iv, inst.market, prev[s]);
                    let to = first_open_start(assigner, iv, inst.market, cur[s]);
                    if from == to {
                        continue; // no window of `iv` closed for this market
                    }
                    let names = (tenant, instrument);
                    let folds = if coarse & (1 << i) != 0 {
                        rolled(inst, iv, assigner, (from, to))
                    } else {
                        let folds = sweep(inst, iv, assigner, (from, to));
                        if k == 0 && coarse != 0 {
                            roll_up(inst, &folds, coarse, assigner);
                        }
                        folds
                    };
                    let before = out.len();
                    out.extend(
                        folds
                            .iter()
                            .filter_map(|f| f.bar(names.0, names.1, iv, true))
                            .map(|b| (b, 1)),
                    );
                    let n = (out.len() - before) as u64;
                    if let Some(c) = bar_stats.final_bars.get_mut(i) {
                        *c += n;
                    }
                    if let Some(r) = recount.get_mut(i) {
                        *r = true;
                    }
                }
            }
        }
        for insts in instruments.values() {
            for inst in insts.values() {
                let s = market_slot(inst.market);
                for &iv in intervals.iter() {
                    let i = iv.index();
                    if recount.get(i) == Some(&true) {
                        if let Some(c) = open.get_mut(i) {
                            *c += spanned(inst, iv, assigner, cur[s]);
                        }
                    }
                }
            }
        }
        for (i, r) in recount.iter().enumerate() {
            if let (true, Some(o), Some(n)) = (*r, bar_stats.open_windows.get_mut(i), open.get(i)) {
                *o = *n;
            }
        }
        if let Some(b) = self.bars.as_mut() {
            b.closed = cur;
        }
        sort_updates(&mut out[first..]);
    }
}

/// The least interval_start whose window of `iv` ends after `x`: the start of the window
/// containing `x` (windows tile the line), so exactly the ticks starting before it are in windows
/// ending at or before `x`. `EpochMs::MIN` and `EpochMs::MAX` map to themselves.
pub(super) fn first_open_start(
    assigner: &mut WindowAssigner,
    iv: BarInterval,
    m: Market,
    x: EpochMs,
) -> EpochMs {
    if x == EpochMs::MIN || x == EpochMs::MAX {
        return x;
    }
    assigner.window_of(iv, m, x).0
}

/// The folds (bars) of `iv` for one instrument of the windows starting in `from..to` (those
/// whose end passed from at or before one closing horizon to at or before the next, see
/// [`first_open_start`]), in window order: swept from the entries and pins holding them.
fn sweep(
    inst: &super::Instrument,
    iv: BarInterval,
    assigner: &mut WindowAssigner,
    (from, to): (EpochMs, EpochMs),
) -> Vec<BarState> {
    let m = inst.market;
    let bit = 1u8 << iv.index();
    let lo = inst.entries.partition_point(|e| e.start < from);
    let hi = inst.entries.partition_point(|e| e.start < to);
    let mut folds: Vec<BarState> = Vec::new();
    // Entries are in key order, which is the open/close order of distinct identities: each
    // bar's open is its first entry and its close the last.
    let mut ends: Option<(&Entry, &Entry)> = None;
    let mut window_end = EpochMs::MIN;
    let finish = |folds: &mut Vec<BarState>, ends: Option<(&Entry, &Entry)>| {
        if let (Some(f), Some((a, b))) = (folds.last_mut(), ends) {
            f.set_ends(
                a.slim.bar_entry((a.start, a.end, &a.trade_id), 0),
                b.slim.bar_entry((b.start, b.end, &b.trade_id), 0),
            );
        }
    };
    for e in inst.entries.range(lo, hi) {
        if e.slim.mask & bit == 0 {
            continue;
        }
        if e.start >= window_end || ends.is_none() {
            finish(&mut folds, ends.take());
            let (ws, we) = assigner.window_of(iv, m, e.start);
            folds.push(BarState::new(ws, we));
            window_end = we;
        }
        ends = Some((ends.map_or(e, |(a, _)| a), e));
        if let Some(f) = folds.last_mut() {
            e.slim.add_to((e.start, e.end), f);
        }
    }
    finish(&mut folds, ends);
    for p in inst.pins.iter().filter(|p| p.slim.mask & bit != 0) {
        if p.start < from || p.start >= to {
            continue;
        }
        let (ws, we) = assigner.window_of(iv, m, p.start);
        let at = folds.partition_point(|f| f.window().0 < ws);
        if folds.get(at).is_none_or(|f| f.window().0 != ws) {
            folds.insert(at, BarState::new(ws, we));
        }
        if let Some(f) = folds.get_mut(at) {
            let x = p.slim.bar_entry((p.start, p.end, &p.trade_id), 0);
            f.insert(&x, &Fixed::of(&x));
        }
    }
    folds
}

/// Adds the finest bars just swept to the coarse bars (in `coarse`) containing them.
fn roll_up(
    inst: &mut super::Instrument,
    folds: &[BarState],
    coarse: u8,
    assigner: &mut WindowAssigner,
) {
    for f in folds {
        for iv in BarInterval::ALL {
            if coarse & (1 << iv.index()) == 0 {
                continue;
            }
            let (ws, we) = assigner.window_of(iv, inst.market, f.window().0);
            let partial = &mut inst.rollup.partial;
            let at = match partial
                .iter()
                .rposition(|(i, p)| *i == iv && p.window().0 == ws)
            {
                Some(at) => at,
                None => {
                    partial.push((iv, BarState::new(ws, we)));
                    partial.len() - 1
                }
            };
            if let Some((_, p)) = partial.get_mut(at) {
                p.merge(f);
            }
        }
    }
}

/// The folds of a coarse interval `iv` for the windows starting in `from..to`: rolled up from
/// the finest bars, or swept where the window is impure. Forgets both for those windows.
fn rolled(
    inst: &mut super::Instrument,
    iv: BarInterval,
    assigner: &mut WindowAssigner,
    (from, to): (EpochMs, EpochMs),
) -> Vec<BarState> {
    let inside = |i: BarInterval, ws: EpochMs| i == iv && from <= ws && ws < to;
    let mut impure: Vec<EpochMs> = Vec::new();
    inst.rollup.impure.retain(|&(i, ws)| {
        let hit = inside(i, ws);
        if hit {
            impure.push(ws);
        }
        !hit
    });
    let mut folds: Vec<BarState> = Vec::new();
    inst.rollup.partial.retain_mut(|(i, p)| {
        if !inside(*i, p.window().0) {
            return true;
        }
        if !impure.contains(&p.window().0) {
            folds.push(std::mem::replace(p, BarState::new(0, 0)));
        }
        false
    });
    for ws in impure {
        let we = assigner.window_of(iv, inst.market, ws).1;
        folds.extend(sweep(inst, iv, assigner, (ws, we)));
    }
    folds.sort_by_key(|f| f.window().0);
    folds
}

/// Windows of `iv` spanned by an instrument's held identities not yet final at `closed`.
fn spanned(
    inst: &super::Instrument,
    iv: BarInterval,
    assigner: &mut WindowAssigner,
    closed: EpochMs,
) -> u64 {
    let m = inst.market;
    let from = first_open_start(assigner, iv, m, closed);
    let at = inst.entries.partition_point(|e| e.start < from);
    let (Some(first), Some(last)) = (
        inst.entries.range(at, inst.entries.end()).next(),
        inst.entries.back(),
    ) else {
        return 0;
    };
    let (a, _) = assigner.window_of(iv, m, first.start);
    let (b, _) = assigner.window_of(iv, m, last.start);
    match iv.duration_ms() {
        Some(d) if d > 0 => ((b - a) / d + 1) as u64,
        _ => 1 + u64::from(a != b),
    }
}

#[cfg(test)]
#[path = "bars_tests.rs"]
mod tests;
