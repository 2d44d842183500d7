//! [`BarAcc`]: the state of one OHLC bar, fed by differential tick updates `(tick, diff)`.
//!
//! Definitions (SPEC §3), all functions of the *multiset of live ticks* only:
//! - **open / close**: price of the earliest / latest tick ordered by (interval_start,
//!   interval_end, trade_id — none first —, source position), then price, volume (fixed
//!   point) and version so the order is total; **high / low** by `f64::total_cmp`.
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
//! Structure: the aggregate part of a bar (`BarState`: group sums, tick count, and the open,
//! close, high and low kept *by value*) is separate from where its live ticks are stored, so that
//! `window::BarBook` can store each tick once per instrument for all intervals. `+1` updates the
//! sums and compares with the four extremes (no allocation); `−1` subtracts the sums and marks
//! the extremes stale only when the retracted tick was the open, close, high or low, after
//! which `BarState::rescan` recomputes them from the bar's live ticks (`BarState::rescan_ends`
//! when only the open or close went: from the ticks at the window's first and last start). [`BarAcc`] is the
//! self-contained bar (state plus its own ticks); a retraction of a tick it does not hold
//! changes nothing and is reported by [`BarAcc::update`].

use crate::model::{Bar, BarInterval, EpochMs, SourcePos, Sym, Tick};
use std::cmp::Ordering;

const SCALE: f64 = 1e6;

/// `round(x·1e6)` (half away from zero, as `f64::round`), saturating; NaN gives 0. Written
/// without `f64::round`, which is a libm call on baseline x86-64.
pub(crate) fn fixed(x: f64) -> i64 {
    let y = x * SCALE;
    let t = y as i64; // truncates toward zero and saturates
    let frac = y - t as f64; // exact: below 2^52 both are close, above it `y` is integral
    if frac >= 0.5 {
        t.saturating_add(1)
    } else if frac <= -0.5 {
        t.saturating_sub(1)
    } else {
        t
    }
}

/// A tick's price and volume in fixed point, computed once per tick for all its bars.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fixed {
    price: i128,
    volume: Option<i128>,
}

impl Fixed {
    /// From the values `Entry::of` converted once.
    #[inline]
    pub(crate) fn of(e: &Entry) -> Fixed {
        Fixed {
            price: i128::from(e.price_fx),
            volume: e.has_volume.then_some(i128::from(e.volume_fx)),
        }
    }
}

/// One tick as bars hold it. `mask` has bit `interval.index()` set for every bar the entry
/// currently belongs to (used by `BarBook`'s per-instrument pool; 0 in a [`BarAcc`]).
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) start: EpochMs,
    end: EpochMs,
    trade_id: Option<Sym>,
    source: SourcePos,
    price: f64,
    /// `fixed(price)` and `fixed(volume)` (0 without a volume), converted once per tick: bars
    /// of every interval (and lazy rebuilds, retractions) reuse them. The volume itself is
    /// not kept (96 bytes an entry instead of 112: the pool holds every tick of the open
    /// windows); where it decides anything — matching a retraction, the last tie-break of
    /// the order — its fixed-point form does, next to the version, which already tells two
    /// arrivals of one identity apart.
    price_fx: i64,
    volume_fx: i64,
    version: u64,
    pub(crate) mask: u8,
    has_volume: bool,
}

impl Entry {
    pub(crate) fn of(t: &Tick, mask: u8) -> Entry {
        Entry {
            start: t.interval_start_ms,
            end: t.interval_end_ms,
            trade_id: t.trade_id.clone(),
            source: t.source,
            price: t.price,
            price_fx: fixed(t.price),
            volume_fx: t.volume.map_or(0, fixed),
            version: t.version,
            mask,
            has_volume: t.volume.is_some(),
        }
    }

    /// An entry from a tick's parts (a held identity's value swept at close, see
    /// `dedupe::bars`): the same as [`Entry::of`] a tick with these fields.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        start: EpochMs,
        end: EpochMs,
        trade_id: Option<Sym>,
        source: SourcePos,
        price: f64,
        volume: Option<f64>,
        version: u64,
        mask: u8,
    ) -> Entry {
        Entry {
            start,
            end,
            trade_id,
            source,
            price,
            price_fx: fixed(price),
            volume_fx: volume.map_or(0, fixed),
            version,
            mask,
            has_volume: volume.is_some(),
        }
    }

    /// True when this entry is exactly `t`'s contribution.
    pub(crate) fn matches(&self, t: &Tick) -> bool {
        self.start == t.interval_start_ms
            && self.end == t.interval_end_ms
            && self.source == t.source
            && self.price.to_bits() == t.price.to_bits()
            && self.has_volume == t.volume.is_some()
            && self.volume_fx == t.volume.map_or(0, fixed)
            && self.version == t.version
            && self.trade_id == t.trade_id
    }

    /// The open/close order (see the module doc).
    #[inline]
    fn order(&self, o: &Entry) -> Ordering {
        (self.start, self.end, &self.trade_id, self.source)
            .cmp(&(o.start, o.end, &o.trade_id, o.source))
            .then_with(|| self.price.total_cmp(&o.price))
            .then_with(|| {
                let v = |e: &Entry| e.has_volume.then_some(e.volume_fx);
                (v(self), self.version).cmp(&(v(o), o.version))
            })
    }
}

/// Group sums of a bar: every field is a plain (wrapping) sum over the ticks, so adding and
/// subtracting a tick's contribution is exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sums {
    count: u64,
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
    #[inline]
    fn of(e: &Entry, fx: &Fixed, window: (EpochMs, EpochMs)) -> Sums {
        Sums::of_parts((e.start, e.end), e.version, fx, window)
    }

    #[inline]
    fn of_parts(
        (start, end): (EpochMs, EpochMs),
        version: u64,
        fx: &Fixed,
        window: (EpochMs, EpochMs),
    ) -> Sums {
        let p = fx.price;
        let mut s = Sums {
            count: 1,
            revision: version,
            price_all: p,
            ..Sums::default()
        };
        if let Some(v) = fx.volume {
            s.with_volume = 1;
            s.volume = v;
            s.price_volume = p.wrapping_mul(v);
        }
        let w = end.min(window.1).saturating_sub(start.max(window.0));
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
            count,
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

/// Open, close, high and low of a set of entries, folded one entry at a time (rescans).
struct Extremes<'a> {
    open: Option<&'a Entry>,
    close: Option<&'a Entry>,
    high: f64,
    low: f64,
}

impl<'a> Extremes<'a> {
    fn new() -> Extremes<'a> {
        Extremes {
            open: None,
            close: None,
            high: f64::NEG_INFINITY,
            low: f64::INFINITY,
        }
    }

    fn see(&mut self, e: &'a Entry) {
        if self.open.is_none_or(|o| e.order(o).is_lt()) {
            self.open = Some(e);
        }
        if self.close.is_none_or(|c| e.order(c).is_gt()) {
            self.close = Some(e);
        }
        if e.price.total_cmp(&self.high).is_gt() {
            self.high = e.price;
        }
        if e.price.total_cmp(&self.low).is_lt() {
            self.low = e.price;
        }
    }
}

/// The aggregate part of one bar: sums, and the open/close entries and high/low prices by value.
/// After a retraction of the high or low all extremes are *stale* until [`BarState::rescan`];
/// after a retraction of only the open or close (a correction of the newest tick, the common
/// case) just those two are, until [`BarState::rescan_ends`] — which needs only the ticks at the
/// window's first and last start, not all of them.
#[derive(Clone, Debug)]
pub(crate) struct BarState {
    window: (EpochMs, EpochMs),
    sums: Sums,
    open: Option<Entry>,
    close: Option<Entry>,
    high: f64,
    low: f64,
    stale: bool,
    stale_ends: bool,
}

impl BarState {
    pub(crate) fn new(window_start_ms: EpochMs, window_end_ms: EpochMs) -> BarState {
        BarState {
            window: (window_start_ms, window_end_ms),
            sums: Sums::default(),
            open: None,
            close: None,
            high: f64::NEG_INFINITY,
            low: f64::INFINITY,
            stale: false,
            stale_ends: false,
        }
    }

    pub(crate) fn window(&self) -> (EpochMs, EpochMs) {
        self.window
    }

    pub(crate) fn len(&self) -> u64 {
        self.sums.count
    }

    /// True when some extreme must be recomputed before the bar is read.
    pub(crate) fn is_stale(&self) -> bool {
        self.stale || self.stale_ends
    }

    /// True when only the open and close must be recomputed ([`BarState::rescan_ends`]).
    pub(crate) fn only_ends_stale(&self) -> bool {
        self.stale_ends && !self.stale
    }

    /// Adds one tick (the fast path: no allocation); `fx` is `Fixed::of(e)`.
    #[inline]
    pub(crate) fn insert(&mut self, e: &Entry, fx: &Fixed) {
        self.sums.apply(&Sums::of(e, fx, self.window), 1);
        if self.stale {
            return; // the rescan will see it
        }
        if !self.stale_ends {
            if self.open.as_ref().is_none_or(|o| e.order(o).is_lt()) {
                self.open = Some(e.clone());
            }
            if self.close.as_ref().is_none_or(|c| e.order(c).is_gt()) {
                self.close = Some(e.clone());
            }
        }
        if e.price.total_cmp(&self.high).is_gt() {
            self.high = e.price;
        }
        if e.price.total_cmp(&self.low).is_lt() {
            self.low = e.price;
        }
    }

    /// Adds a tick's sums, high and low but not its open and close: for sweeps that visit a
    /// bar's ticks in the open/close order, then set the first and last with
    /// [`BarState::set_ends`] (no comparison or copy per tick).
    #[inline]
    pub(crate) fn add_values(
        &mut self,
        interval: (EpochMs, EpochMs),
        price: f64,
        volume: Option<f64>,
        version: u64,
    ) {
        let fx = Fixed {
            price: i128::from(fixed(price)),
            volume: volume.map(|v| i128::from(fixed(v))),
        };
        self.sums
            .apply(&Sums::of_parts(interval, version, &fx, self.window), 1);
        if price.total_cmp(&self.high).is_gt() {
            self.high = price;
        }
        if price.total_cmp(&self.low).is_lt() {
            self.low = price;
        }
    }

    /// Sets the open and close: the first and the last of the ticks given to
    /// [`BarState::add_values`] in the open/close order.
    pub(crate) fn set_ends(&mut self, open: Entry, close: Entry) {
        self.open = Some(open);
        self.close = Some(close);
    }

    /// Adds the ticks of another bar (of a window inside this one, whose ticks this bar also
    /// holds: a roll-up of finer bars). Neither may be stale.
    pub(crate) fn merge(&mut self, o: &BarState) {
        self.sums.apply(&o.sums, 1);
        if o.high.total_cmp(&self.high).is_gt() {
            self.high = o.high;
        }
        if o.low.total_cmp(&self.low).is_lt() {
            self.low = o.low;
        }
        if let Some(x) = &o.open {
            if self.open.as_ref().is_none_or(|a| x.order(a).is_lt()) {
                self.open = Some(x.clone());
            }
        }
        if let Some(x) = &o.close {
            if self.close.as_ref().is_none_or(|c| x.order(c).is_gt()) {
                self.close = Some(x.clone());
            }
        }
    }

    /// Removes one tick the bar holds; marks the extremes stale when it was one of them.
    pub(crate) fn retract(&mut self, e: &Entry) {
        self.sums
            .apply(&Sums::of(e, &Fixed::of(e), self.window), -1);
        let is = |x: &Option<Entry>| x.as_ref().is_some_and(|x| x.order(e).is_eq());
        if e.price.total_cmp(&self.high).is_eq() || e.price.total_cmp(&self.low).is_eq() {
            self.stale = true;
        } else if is(&self.open) || is(&self.close) {
            self.stale_ends = true;
        }
    }

    /// Recomputes open and close from `first` and `last`: the live ticks with the least and
    /// the greatest interval_start in the window (all ticks tied there), which hold the open
    /// and the close by the bar order.
    pub(crate) fn rescan_ends<'a>(
        &mut self,
        first: impl Iterator<Item = &'a Entry>,
        last: impl Iterator<Item = &'a Entry>,
    ) {
        let (mut a, mut b) = (Extremes::new(), Extremes::new());
        first.for_each(|e| a.see(e));
        last.for_each(|e| b.see(e));
        self.open = a.open.cloned();
        self.close = b.close.cloned();
        self.stale_ends = false;
    }

    /// Counts `diff` ticks in or out without touching sums or extremes: a *lazy* bar, whose
    /// value is only read after [`BarState::rebuild`] from its live ticks.
    pub(crate) fn count(&mut self, diff: i64) {
        self.sums.count = self.sums.count.wrapping_add_signed(diff);
    }

    /// Recomputes sums and extremes from `live`, which must be exactly the bar's live ticks
    /// (the value is the same as if each had been inserted: sums are exact).
    pub(crate) fn rebuild<'a>(&mut self, live: impl Iterator<Item = &'a Entry>) {
        let mut sums = Sums::default();
        let window = self.window;
        self.rescan(live.inspect(|e| sums.apply(&Sums::of(e, &Fixed::of(e), window), 1)));
        self.sums = sums;
    }

    /// Recomputes the extremes from `live`, which must be exactly the bar's live ticks.
    pub(crate) fn rescan<'a>(&mut self, live: impl Iterator<Item = &'a Entry>) {
        let mut x = Extremes::new();
        live.for_each(|e| x.see(e));
        self.open = x.open.cloned();
        self.close = x.close.cloned();
        (self.high, self.low, self.stale, self.stale_ends) = (x.high, x.low, false, false);
    }

    /// The bar, or `None` when empty (or, defensively, while stale).
    pub(crate) fn bar(
        &self,
        tenant_id: &Sym,
        instrument_id: &Sym,
        interval: BarInterval,
        is_final: bool,
    ) -> Option<Bar> {
        let s = &self.sums;
        if s.count == 0 || self.is_stale() {
            return None;
        }
        let open = self.open.as_ref()?;
        let close = self.close.as_ref()?;
        let ratio = |num: i128, den: i128| num as f64 / den as f64 / SCALE;
        let twap = if s.weighted > 0 && s.weight != 0 {
            ratio(s.price_weight, s.weight)
        } else {
            ratio(s.price_all, i128::from(s.count))
        };
        Some(Bar {
            tenant_id: tenant_id.clone(),
            instrument_id: instrument_id.clone(),
            interval,
            window_start_ms: self.window.0,
            window_end_ms: self.window.1,
            open: open.price,
            high: self.high,
            low: self.low,
            close: close.price,
            volume: (s.with_volume > 0).then(|| s.volume as f64 / SCALE),
            vwap: (s.with_volume > 0 && s.volume != 0).then(|| ratio(s.price_volume, s.volume)),
            twap,
            trade_count: s.count,
            first_at_ms: open.start,
            last_at_ms: close.start,
            revision: s.revision,
            is_final,
        })
    }
}

/// A self-contained bar: its `BarState` (sums and extremes) and its live ticks.
#[derive(Clone, Debug)]
pub struct BarAcc {
    state: BarState,
    entries: Vec<Entry>,
}

impl BarAcc {
    /// An empty bar for the window `[window_start_ms, window_end_ms)`.
    pub fn new(window_start_ms: EpochMs, window_end_ms: EpochMs) -> BarAcc {
        BarAcc {
            state: BarState::new(window_start_ms, window_end_ms),
            entries: Vec::new(),
        }
    }

    /// The window `(start, end)`.
    pub fn window(&self) -> (EpochMs, EpochMs) {
        self.state.window()
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

    /// Inserts one tick.
    pub fn insert(&mut self, tick: &Tick) {
        let e = Entry::of(tick, 0);
        self.state.insert(&e, &Fixed::of(&e));
        self.entries.push(e);
    }

    /// Retracts one tick equal to `tick`; false when the bar holds none.
    pub fn retract(&mut self, tick: &Tick) -> bool {
        let Some(p) = self.entries.iter().rposition(|e| e.matches(tick)) else {
            return false;
        };
        let e = self.entries.swap_remove(p);
        self.state.retract(&e);
        if self.state.is_stale() {
            self.state.rescan(self.entries.iter());
        }
        true
    }

    /// The bar of the live ticks, or `None` when the bar is empty.
    pub fn bar(
        &self,
        tenant_id: &Sym,
        instrument_id: &Sym,
        interval: BarInterval,
        is_final: bool,
    ) -> Option<Bar> {
        self.state.bar(tenant_id, instrument_id, interval, is_final)
    }
}

#[cfg(test)]
#[path = "tests/ohlc.rs"]
mod tests;
