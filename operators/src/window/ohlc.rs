//! [`BarAcc`]: the state of one OHLC bar, fed by differential tick updates `(tick, diff)`.
//!
//! Definitions (SPEC §3), all functions of the *multiset of live ticks* only:
//! - **open / close**: price of the earliest / latest tick ordered by (interval_start,
//!   interval_end, trade_id — none first —, source position), then price, volume and version so
//!   the order is total; **high / low** by `f64::total_cmp`.
//! - **volume**: Σ volume over ticks with a volume, `None` when no tick has one. **vwap**:
//!   Σ price·volume / Σ volume over the ticks with a volume; `None` without volume or when the
//!   volumes sum to zero.
//! - **twap**: each tick is weighted by the part of `[interval_start, interval_end)` inside the
//!   window. *Decision for mixed bars*: when a bar holds at least one tick with a positive
//!   weight, point ticks (start == end) carry no TWAP weight (they still count everywhere else); a
//!   bar of point ticks only averages them equally.
//! - **trade_count**: number of ticks; **first_at / last_at**: min / max interval_start;
//!   **revision**: Σ tick.version (grows with every accepted arrival of the bar's identities).
//!
//! Sums are fixed point — prices and volumes as `round(x·1e6)` in `i128`, weights in ms — and
//! use wrapping arithmetic, which is exactly invertible, so a bar is bit-identical whatever the
//! order of updates, the batching or the worker count (a float sum changes the last digits).
//!
//! Cost: `+1` pushes one compact entry and compares it with the four extremes (no allocation
//! beyond the vector's amortized growth). `−1` finds the entry (scanning from the newest) and
//! rescans the bar only when the retracted tick was the open, close, high or low. A retraction
//! of a tick the bar does not hold changes nothing and is reported by [`BarAcc::update`].

use crate::model::{Bar, BarInterval, EpochMs, SourcePos, Sym, Tick};
use std::cmp::Ordering;

const SCALE: f64 = 1e6;

fn fixed(x: f64) -> i64 {
    // `as` saturates (and maps NaN to 0), so this never panics.
    (x * SCALE).round() as i64
}

/// One tick as a bar holds it.
#[derive(Clone, Debug)]
struct Entry {
    start: EpochMs,
    end: EpochMs,
    trade_id: Option<Sym>,
    source: SourcePos,
    price: f64,
    volume: Option<f64>,
    version: u64,
}

impl Entry {
    fn of(t: &Tick) -> Entry {
        Entry {
            start: t.interval_start_ms,
            end: t.interval_end_ms,
            trade_id: t.trade_id.clone(),
            source: t.source,
            price: t.price,
            volume: t.volume,
            version: t.version,
        }
    }

    /// True when this entry is exactly `t`'s contribution.
    fn matches(&self, t: &Tick) -> bool {
        self.start == t.interval_start_ms
            && self.end == t.interval_end_ms
            && self.source == t.source
            && self.price.to_bits() == t.price.to_bits()
            && self.volume.map(f64::to_bits) == t.volume.map(f64::to_bits)
            && self.version == t.version
            && self.trade_id == t.trade_id
    }

    /// The open/close order (see the module doc).
    fn order(&self, o: &Entry) -> Ordering {
        (self.start, self.end, &self.trade_id, self.source)
            .cmp(&(o.start, o.end, &o.trade_id, o.source))
            .then_with(|| self.price.total_cmp(&o.price))
            .then_with(|| {
                let v = |e: &Entry| e.volume.map(f64::to_bits);
                (v(self), self.version).cmp(&(v(o), o.version))
            })
    }
}

/// Group sums of a bar: every field is a plain (wrapping) sum over the ticks, so adding and
/// subtracting a tick's contribution is exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sums {
    revision: u64,
    with_volume: u64,
    volume: i128,
    price_volume: i128,
    weighted: u64,
    weight: i128,
    price_weight: i128,
    price_all: i128,
}

impl Sums {
    fn of(e: &Entry, window: (EpochMs, EpochMs)) -> Sums {
        let p = i128::from(fixed(e.price));
        let mut s = Sums {
            revision: e.version,
            price_all: p,
            ..Sums::default()
        };
        if let Some(v) = e.volume {
            let v = i128::from(fixed(v));
            s.with_volume = 1;
            s.volume = v;
            s.price_volume = p.wrapping_mul(v);
        }
        let w = e.end.min(window.1).saturating_sub(e.start.max(window.0));
        if w > 0 {
            s.weighted = 1;
            s.weight = i128::from(w);
            s.price_weight = p.wrapping_mul(i128::from(w));
        }
        s
    }

    fn apply(&mut self, c: &Sums, sign: i8) {
        macro_rules! go {
            ($($f:ident),*) => {$(
                self.$f = if sign > 0 { self.$f.wrapping_add(c.$f) } else { self.$f.wrapping_sub(c.$f) };
            )*};
        }
        go!(
            revision,
            with_volume,
            volume,
            price_volume,
            weighted,
            weight,
            price_weight,
            price_all
        );
    }
}

/// The state of one bar: its window, the live ticks in it, the positions of the open, close,
/// high and low ticks, and fixed-point sums.
#[derive(Clone, Debug)]
pub struct BarAcc {
    window: (EpochMs, EpochMs),
    entries: Vec<Entry>,
    open: usize,
    close: usize,
    high: usize,
    low: usize,
    sums: Sums,
}

impl BarAcc {
    /// An empty bar for the window `[window_start_ms, window_end_ms)`.
    pub fn new(window_start_ms: EpochMs, window_end_ms: EpochMs) -> BarAcc {
        BarAcc {
            window: (window_start_ms, window_end_ms),
            entries: Vec::new(),
            open: 0,
            close: 0,
            high: 0,
            low: 0,
            sums: Sums::default(),
        }
    }

    /// The window `(start, end)`.
    pub fn window(&self) -> (EpochMs, EpochMs) {
        self.window
    }

    /// Number of live ticks.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the bar holds no live tick.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Applies `diff` copies of `tick` (positive: insertions; negative: retractions of ticks
    /// previously inserted with exactly these values). Returns false when a retraction found no
    /// matching live tick (that part of the update is ignored).
    pub fn update(&mut self, tick: &Tick, diff: i64) -> bool {
        let mut ok = true;
        if diff > 0 {
            for _ in 0..diff {
                self.insert(tick);
            }
        } else {
            for _ in diff..0 {
                ok &= self.retract(tick);
            }
        }
        ok
    }

    /// Inserts one tick (the fast path).
    pub fn insert(&mut self, tick: &Tick) {
        let e = Entry::of(tick);
        let i = self.entries.len();
        let get = |k: usize| self.entries.get(k);
        if get(self.open).is_none_or(|o| e.order(o).is_lt()) {
            self.open = i;
        }
        if get(self.close).is_none_or(|c| e.order(c).is_gt()) {
            self.close = i;
        }
        if get(self.high).is_none_or(|h| e.price.total_cmp(&h.price).is_gt()) {
            self.high = i;
        }
        if get(self.low).is_none_or(|l| e.price.total_cmp(&l.price).is_lt()) {
            self.low = i;
        }
        self.sums.apply(&Sums::of(&e, self.window), 1);
        self.entries.push(e);
    }

    /// Retracts one tick equal to `tick`; false when the bar holds none.
    pub fn retract(&mut self, tick: &Tick) -> bool {
        let Some(p) = self.entries.iter().rposition(|e| e.matches(tick)) else {
            return false;
        };
        let e = self.entries.swap_remove(p);
        self.sums.apply(&Sums::of(&e, self.window), -1);
        // The former last entry now sits at `p` (unless `p` was the last).
        let moved = self.entries.len();
        let mut stale = false;
        for idx in [
            &mut self.open,
            &mut self.close,
            &mut self.high,
            &mut self.low,
        ] {
            if *idx == p {
                stale = true;
            } else if *idx == moved {
                *idx = p;
            }
        }
        if stale {
            self.rescan();
        }
        true
    }

    /// Recomputes the four extreme positions from the entries.
    fn rescan(&mut self) {
        let (mut open, mut close, mut high, mut low) = (0, 0, 0, 0);
        for (i, e) in self.entries.iter().enumerate().skip(1) {
            let at = |k: usize| self.entries.get(k);
            if at(open).is_some_and(|o| e.order(o).is_lt()) {
                open = i;
            }
            if at(close).is_some_and(|c| e.order(c).is_gt()) {
                close = i;
            }
            if at(high).is_some_and(|h| e.price.total_cmp(&h.price).is_gt()) {
                high = i;
            }
            if at(low).is_some_and(|l| e.price.total_cmp(&l.price).is_lt()) {
                low = i;
            }
        }
        (self.open, self.close, self.high, self.low) = (open, close, high, low);
    }

    /// The bar of the live ticks, or `None` when the bar is empty.
    pub fn bar(
        &self,
        tenant_id: &Sym,
        instrument_id: &Sym,
        interval: BarInterval,
        is_final: bool,
    ) -> Option<Bar> {
        let open = self.entries.get(self.open)?;
        let close = self.entries.get(self.close)?;
        let high = self.entries.get(self.high)?;
        let low = self.entries.get(self.low)?;
        let s = &self.sums;
        let n = self.entries.len() as u64;
        let ratio = |num: i128, den: i128| num as f64 / den as f64 / SCALE;
        let twap = if s.weighted > 0 && s.weight != 0 {
            ratio(s.price_weight, s.weight)
        } else {
            ratio(s.price_all, i128::from(n))
        };
        Some(Bar {
            tenant_id: tenant_id.clone(),
            instrument_id: instrument_id.clone(),
            interval,
            window_start_ms: self.window.0,
            window_end_ms: self.window.1,
            open: open.price,
            high: high.price,
            low: low.price,
            close: close.price,
            volume: (s.with_volume > 0).then(|| s.volume as f64 / SCALE),
            vwap: (s.with_volume > 0 && s.volume != 0).then(|| ratio(s.price_volume, s.volume)),
            twap,
            trade_count: n,
            first_at_ms: open.start,
            last_at_ms: close.start,
            revision: s.revision,
            is_final,
        })
    }
}

#[cfg(test)]
#[path = "ohlc_tests.rs"]
mod tests;
