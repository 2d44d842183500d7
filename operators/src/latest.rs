//! [`LatestBook`]: the latest price per (tenant, instrument) (SPEC §3 "Latest price"), fed by the
//! differential tick stream of dedupe. Pure: no timely, no I/O.
//!
//! The latest price is the live tick with the greatest (interval_start, interval_end, trade_id —
//! none first —, source position) — then price, version and flags, so the order is total
//! ([`LatestPrice::recency_cmp`]). An older tick never overwrites a newer one; a correction of the
//! latest identity (`−1` old, `+1` new) replaces it. After each batch [`LatestBook::drain`] emits
//! `(old row, −1)`, `(new row, +1)` for every instrument whose row changed, sorted by key.
//!
//! **History bound.** Per instrument the book holds the `history` newest live ticks (default
//! [`DEFAULT_HISTORY`] = 48: two days of hourly day-ahead prices, four hours of 5-minute ones)
//! as compact entries, plus a *floor*: the newest tick it ever let go. It holds exactly the live
//! ticks newer than the floor, so
//! - the latest price is exact unless retractions without a replacement empty the history (never
//!   with dedupe, which retracts only to replace);
//! - [`LatestBook::at`] answers from those ticks: times older than the held ticks get `None`.
//!
//! Retractions of ticks the book does not hold are ignored (counted in [`LatestStats`]).

use crate::model::{EpochMs, LatestPrice, QualityFlags, Slot, SourcePos, Sym, Tick};
use crate::slots::SlotMap;
use std::cmp::Ordering;
use std::collections::VecDeque;

/// Default number of newest ticks held per instrument.
pub const DEFAULT_HISTORY: usize = 48;

/// Counters of a [`LatestBook`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatestStats {
    /// `(tick, diff)` updates received.
    pub updates: u64,
    /// Insertions at or below the floor (older than the held history), not held.
    pub not_held: u64,
    /// Retractions of ticks at or below the floor (nothing to do).
    pub below_floor: u64,
    /// Retractions above the floor that matched no held tick (ignored).
    pub unmatched_retractions: u64,
}

/// One held tick.
#[derive(Clone, Debug)]
struct Held {
    start: EpochMs,
    end: EpochMs,
    trade_id: Option<Sym>,
    source: SourcePos,
    price: f64,
    version: u64,
    flags: QualityFlags,
}

impl Held {
    fn of(t: &Tick) -> Held {
        Held {
            start: t.interval_start_ms,
            end: t.interval_end_ms,
            trade_id: t.trade_id.clone(),
            source: t.source,
            price: t.price,
            version: t.version,
            flags: t.flags,
        }
    }

    /// The recency order; agrees with [`LatestPrice::recency_cmp`].
    #[inline]
    fn cmp(&self, o: &Held) -> Ordering {
        (self.start, self.end, &self.trade_id, self.source)
            .cmp(&(o.start, o.end, &o.trade_id, o.source))
            .then_with(|| self.price.total_cmp(&o.price))
            .then_with(|| (self.version, self.flags.0).cmp(&(o.version, o.flags.0)))
    }

    fn row(&self, tenant: &Sym, instrument: &Sym) -> LatestPrice {
        LatestPrice {
            tenant_id: tenant.clone(),
            instrument_id: instrument.clone(),
            interval_start_ms: self.start,
            interval_end_ms: self.end,
            trade_id: self.trade_id.clone(),
            source: self.source,
            price: self.price,
            version: self.version,
            flags: self.flags,
        }
    }

    /// True when the price of this tick is in effect at `t`: `start <= t < end` for interval
    /// ticks, `start <= t` for point ticks (a point price holds until a newer one).
    fn covers(&self, t: EpochMs) -> bool {
        self.start <= t && (t < self.end || self.start == self.end)
    }
}

#[derive(Debug, Default)]
struct Instrument {
    /// The live ticks newer than `floor`, oldest first; at most `history` of them.
    held: VecDeque<Held>,
    /// The newest tick ever let go (evicted or not admitted).
    floor: Option<Held>,
    emitted: Option<LatestPrice>,
    touched_gen: u64,
}

impl Instrument {
    fn above_floor(&self, h: &Held) -> bool {
        self.floor.as_ref().is_none_or(|f| h.cmp(f).is_gt())
    }
}

/// Latest prices of the instruments routed to one worker.
#[derive(Debug)]
pub struct LatestBook {
    history: usize,
    instruments: SlotMap<Instrument>,
    touched: Vec<u32>,
    gen: u64,
    /// Counters.
    pub stats: LatestStats,
}

impl Default for LatestBook {
    fn default() -> Self {
        LatestBook::new(DEFAULT_HISTORY)
    }
}

impl LatestBook {
    /// A book holding up to `history` (at least 1) newest ticks per instrument.
    pub fn new(history: usize) -> LatestBook {
        LatestBook {
            history: history.max(1),
            instruments: SlotMap::default(),
            touched: Vec::new(),
            gen: 1,
            stats: LatestStats::default(),
        }
    }

    /// Applies `diff` copies of `tick` (negative: retractions of ticks inserted before).
    pub fn update(&mut self, tick: &Tick, diff: i64) {
        self.update_held(
            &tick.tenant_id,
            &tick.instrument_id,
            tick.slot,
            Held::of(tick),
            diff,
        );
    }

    /// Applies `diff` copies of the tick a latest-price row was made of ([`LatestPrice::of`]):
    /// the same as [`LatestBook::update`] with that tick (the row holds every field the book
    /// orders and answers by), for consumers that receive rows instead of whole ticks.
    pub fn update_row(&mut self, row: &LatestPrice, diff: i64) {
        let h = Held {
            start: row.interval_start_ms,
            end: row.interval_end_ms,
            trade_id: row.trade_id.clone(),
            source: row.source,
            price: row.price,
            version: row.version,
            flags: row.flags,
        };
        self.update_held(&row.tenant_id, &row.instrument_id, Slot::NONE, h, diff);
    }

    fn update_held(&mut self, tenant: &Sym, instrument: &Sym, slot: Slot, h: Held, diff: i64) {
        if diff == 0 {
            return;
        }
        self.stats.updates += 1;
        let idx =
            self.instruments
                .find_or_insert_with(tenant, instrument, slot, Instrument::default);
        let Some(inst) = self.instruments.get_mut(idx).map(|i| &mut i.value) else {
            return; // unreachable: `idx` was just found
        };
        if inst.touched_gen != self.gen {
            inst.touched_gen = self.gen;
            self.touched.push(idx);
        }
        // Everything held is above the floor: a tick at or after the newest held one is too.
        let newest = inst.held.back().is_some_and(|b| h.cmp(b).is_ge());
        if !newest && !inst.above_floor(&h) {
            if diff > 0 {
                self.stats.not_held += diff.unsigned_abs();
            } else {
                self.stats.below_floor += diff.unsigned_abs();
            }
            return;
        }
        if diff > 0 {
            for _ in 0..diff {
                // Newest first is the common case: append.
                if newest || inst.held.is_empty() {
                    inst.held.push_back(h.clone());
                } else {
                    let at = inst.held.partition_point(|x| x.cmp(&h).is_le());
                    inst.held.insert(at, h.clone());
                }
                if inst.held.len() > self.history {
                    if let Some(old) = inst.held.pop_front() {
                        // Equal copies go too: everything held stays strictly above the floor.
                        while inst.held.front().is_some_and(|f| f.cmp(&old).is_eq()) {
                            inst.held.pop_front();
                        }
                        // Held ticks are above the floor, so `old` is the new floor.
                        inst.floor = Some(old);
                    }
                }
            }
        } else {
            for _ in diff..0 {
                match inst.held.iter().rposition(|x| x.cmp(&h).is_eq()) {
                    Some(p) => {
                        inst.held.remove(p);
                    }
                    None => self.stats.unmatched_retractions += 1,
                }
            }
        }
    }

    /// Appends `(old, −1)` then `(new, +1)` for every instrument whose latest row changed since
    /// the last drain, sorted by (tenant, instrument) — so the order is independent of arrivals.
    /// Instruments left with nothing held are released.
    pub fn drain(&mut self, out: &mut Vec<(LatestPrice, i64)>) {
        let first = out.len();
        for idx in self.touched.drain(..) {
            let Some(item) = self.instruments.get_mut(idx) else {
                continue;
            };
            let (tenant, instrument, inst) = (&item.tenant, &item.instrument, &mut item.value);
            let new = inst.held.back().map(|h| h.row(tenant, instrument));
            if new != inst.emitted {
                if let Some(old) = inst.emitted.take() {
                    out.push((old, -1));
                }
                if let Some(new) = new {
                    out.push((new.clone(), 1));
                    inst.emitted = Some(new);
                }
            }
            if inst.held.is_empty() && inst.floor.is_none() {
                self.instruments.remove(idx);
            }
        }
        self.gen += 1;
        out[first..].sort_by(|(a, da), (b, db)| {
            (&*a.tenant_id, &*a.instrument_id, da)
                .cmp(&(&*b.tenant_id, &*b.instrument_id, db))
                .then_with(|| a.sort_key().cmp(&b.sort_key()))
        });
    }

    /// The current latest row of an instrument (including changes not drained yet).
    pub fn latest(&self, tenant: &str, instrument: &str) -> Option<LatestPrice> {
        let item = self.instruments.lookup(tenant, instrument)?;
        Some(item.value.held.back()?.row(&item.tenant, &item.instrument))
    }

    /// The price whose interval contains event time `t` (SPEC §3 `/v1/latest?at=T`): the newest
    /// held tick with `start <= t < end`, or for point ticks the newest with `start <= t`.
    /// `None` when no held tick covers `t` (see the history bound in the module doc).
    pub fn at(&self, tenant: &str, instrument: &str, t: EpochMs) -> Option<LatestPrice> {
        let item = self.instruments.lookup(tenant, instrument)?;
        let h = item.value.held.iter().rev().find(|h| h.covers(t))?;
        Some(h.row(&item.tenant, &item.instrument))
    }

    /// Number of instruments with state.
    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    /// True when no instrument has state.
    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }
}

#[cfg(test)]
mod tests;
