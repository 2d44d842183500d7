//! `Dedupe::dedupe`: identity, duplicates and corrections (SPEC §3).
//!
//! A tick's identity is (tenant, instrument, interval_start, interval_end[, trade_id]). Its
//! winner is the arrival with the greatest (`revision`, source position); the emitted tick is the
//! winner with `version` = the number of arrivals of the identity and the `corrected` flag when the
//! identity received more than one distinct value. All of this is a function of the *set* of
//! arrivals, never of their order, so the final state is identical at any parallelism.
//!
//! Output is a differential update stream `(tick, diff)`: the first arrival of an identity emits
//! `+1`; a later arrival that changes the emitted tick (a correction, or just the version count)
//! emits `−1` for the old tick then `+1` for the new one, at the time of the batch that caused it.
//!
//! Ticks are routed by a stable hash of (tenant, instrument), so every arrival of an identity —
//! and every tick of an instrument — meets on one worker.
//!
//! Each arrival carries its lateness horizon (see [`crate::lateness`]); an update carries the
//! least horizon among the arrivals of the batch that caused it, so bars apply it to every window
//! still open for one of them. Identity state is released once the identity's largest window is
//! final ([`DedupeCore::release`]): a later arrival of it would be `LATE_DATA` upstream, so the
//! memory held is bounded by open windows, not by history (SPEC §4).

mod bars;
mod chunks;
mod latest;
pub mod operator;
mod slim;
#[cfg(test)]
mod tests;

pub use bars::StoreBarStats;
pub use operator::Dedupe;

use crate::model::{
    BarInterval, ByPtr, EpochMs, Horizon, Market, QualityFlag, Slot, Sym, SymMap, Tick,
    TickIdentity,
};
use crate::window::WindowAssigner;
use bars::{open_mask, Pin, Rollup, StoreBars};
use chunks::{Chunks, Entry, Key};
use latest::StoreLatest;
use rustc_hash::FxHashMap;
use slim::{rank, value_bits, Slim};
use std::collections::BTreeMap;

/// One update of the deduplicated tick stream: the tick (carrying the lateness horizon of the
/// arrivals that caused the update) and its multiplicity change.
pub type TickChange = (Tick, i64);

/// One message of the deduplicated tick stream. First arrivals travel in the batch they came
/// in (filtered in place, never copied): `Inserted` ticks all have multiplicity `+1`. The
/// `−1 old, +1 new` pairs of the identities a time touched again follow as `Changed`, after
/// every `Inserted` batch of that time.
#[derive(Clone, Debug, PartialEq)]
pub enum TickBatch {
    /// First arrivals, each `+1`.
    Inserted(Vec<Tick>),
    /// Updates with their multiplicity changes.
    Changed(Vec<TickChange>),
}

impl TickBatch {
    /// Calls `f(tick, diff)` for every update, in order.
    pub fn for_each(&self, mut f: impl FnMut(&Tick, i64)) {
        match self {
            TickBatch::Inserted(ticks) => ticks.iter().for_each(|t| f(t, 1)),
            TickBatch::Changed(changes) => changes.iter().for_each(|(t, d)| f(t, *d)),
        }
    }

    /// Calls `f(tick, diff)` for every update, in order, dropping each tick right after its
    /// call — while it is still in cache, instead of in a second sweep over the whole batch.
    pub fn consume(self, mut f: impl FnMut(&Tick, i64)) {
        match self {
            TickBatch::Inserted(ticks) => ticks.into_iter().for_each(|t| f(&t, 1)),
            TickBatch::Changed(changes) => changes.into_iter().for_each(|(t, d)| f(&t, d)),
        }
    }

    /// Number of updates.
    pub fn len(&self) -> usize {
        match self {
            TickBatch::Inserted(ticks) => ticks.len(),
            TickBatch::Changed(changes) => changes.len(),
        }
    }

    /// True when there is no update.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How an arrival related to what was known of its identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// First arrival of the identity.
    New,
    /// Equal in value to the winner.
    Duplicate,
    /// Ranked below the winner with another value: changes nothing but the version.
    Stale,
    /// A new winner with another value.
    Correction,
}

/// Counters of the dedupe stage (exempt from determinism).
#[derive(Clone, Debug, Default)]
pub struct DedupeStats {
    /// Ticks received.
    pub arrivals: u64,
    /// Distinct identities.
    pub identities: u64,
    /// Arrivals equal in value to the winner.
    pub duplicates: u64,
    /// Arrivals ranked below the winner with another value.
    pub stale: u64,
    /// Arrivals that replaced the winner's value.
    pub corrections: u64,
    /// Identities released because their largest window became final.
    pub released: u64,
    /// Intervals skipped in an instrument's sequence of interval ticks, per (market,
    /// market_run): a new identity placed after one ending at `e` and starting at `s > e`,
    /// both of width `w`, skipped `(s − e) / w` intervals. Point ticks count nothing; a late
    /// arrival filling a gap does not un-count it (a counter only grows).
    pub missing_intervals: BTreeMap<(Market, Sym), u64>,
}

/// The identities of one (tenant, instrument), sorted by (interval_start, interval_end,
/// trade_id): in-order arrivals append, and release pops from the front. Each emitted tick is
/// kept in slim form against `template`, the instrument's first arrival.
///
/// Whether a second distinct value ever arrived needs no first value: while all arrivals agree,
/// the winner carries that one value, so the first arrival with another value differs from the
/// winner — and `corrected` is sticky from then on.
#[derive(Debug)]
struct Instrument {
    market: Market,
    /// The instrument's [`Slot`] on this worker, stamped on every tick emitted for it.
    slot: u32,
    template: Tick,
    entries: Chunks,
    /// With store bars: old values still held by bars closed for their correction.
    pins: Vec<Pin>,
    /// With store bars: coarse bars rolled up from the finest ones.
    rollup: Rollup,
    /// With store latest: the drain generation that last listed this instrument as touched.
    latest_gen: u64,
}

/// Intervals between `last`, the identity before `tick` in the instrument's order, and `tick`,
/// when both are intervals of the same width (see [`DedupeStats::missing_intervals`]).
fn skipped(last: &Entry, tick: &Tick) -> Option<u64> {
    let width = tick.interval_end_ms - tick.interval_start_ms;
    let gap = tick.interval_start_ms - last.end;
    (width > 0 && last.end - last.start == width && gap >= width).then(|| (gap / width) as u64)
}

fn key_of(t: &Tick) -> Key<'_> {
    (
        t.interval_start_ms,
        t.interval_end_ms,
        t.trade_id.as_deref(),
    )
}

/// An identity touched again since the last drain.
#[derive(Debug)]
struct Touch {
    id: TickIdentity,
    /// The least horizon of the arrivals that touched it.
    horizon_ms: EpochMs,
    /// The tick emitted before the first of them.
    before: Slim,
}

/// The pure core of [`Dedupe::dedupe`]: per-identity winners and the changes they cause.
///
/// The first arrival of an identity is emitted at once (`+1`); a later arrival marks the
/// identity touched, remembering the tick emitted before, and [`DedupeCore::drain_changes`]
/// emits `−1 old, +1 new` once per touched identity. State is kept per (tenant, instrument) in
/// time order, so the common path is one hash lookup and an append, and release pops entries
/// from the front of each instrument.
#[derive(Debug, Default)]
pub struct DedupeCore {
    /// Tenant → instrument → identities (two levels, so lookups borrow the tick's strings).
    instruments: SymMap<SymMap<Instrument>>,
    /// Identities touched (not first seen) since the last drain, in arrival order, with the
    /// least horizon of their arrivals and the tick emitted before the first of them — kept
    /// here, not in every held entry (re-arrivals are rare; held entries are many).
    touched: Vec<Touch>,
    /// Position in `touched` of each touched identity.
    touched_at: FxHashMap<TickIdentity, usize>,
    /// First arrivals since the last drain, ready to emit.
    fresh: Vec<TickChange>,
    /// Intervals whose largest window bounds how long an identity is kept (empty: forever).
    intervals: Vec<BarInterval>,
    assigner: WindowAssigner,
    held: usize,
    /// Slots handed out so far, and those of released instruments (reused first).
    slots_made: u32,
    slots_free: Vec<u32>,
    /// Bars kept by the store ([`DedupeCore::with_bars`]).
    bars: Option<StoreBars>,
    /// Counters of the store bars.
    pub bar_stats: StoreBarStats,
    /// Latest prices derived from the store ([`DedupeCore::with_latest`]).
    latest: Option<StoreLatest>,
    /// Counters.
    pub stats: DedupeStats,
}

impl DedupeCore {
    /// A core that releases an identity once the largest of `intervals`' windows containing
    /// its `interval_start` is final (no intervals: state is kept for the whole run).
    pub fn with_intervals(intervals: &[BarInterval]) -> DedupeCore {
        DedupeCore {
            intervals: intervals.to_vec(),
            ..DedupeCore::default()
        }
    }

    /// Records one arrival, judged with the lateness horizon it carries (`Tick::horizon`); a
    /// first arrival is emitted by the next [`DedupeCore::drain_changes`].
    pub fn insert(&mut self, mut tick: Tick) -> Arrival {
        let arrival = self.arrive(&mut tick);
        if arrival == Arrival::New {
            self.fresh.push((tick, 1));
        }
        arrival
    }

    /// Records a batch of arrivals and keeps in it, in place, exactly the first arrivals, as
    /// they are emitted (`+1`); what the others change comes out of the next
    /// [`DedupeCore::drain_changes`].
    pub fn insert_batch(&mut self, batch: &mut Vec<Tick>) {
        batch.retain_mut(|t| self.arrive(t) == Arrival::New);
    }

    /// Records one arrival; a first arrival is left in `tick` as it is emitted.
    fn arrive(&mut self, tick: &mut Tick) -> Arrival {
        let horizon_ms = tick.horizon.0;
        self.stats.arrivals += 1;
        let insts = match self.instruments.get_mut(&ByPtr(&tick.tenant_id)) {
            Some(m) => m,
            None => self.instruments.entry(tick.tenant_id.clone()).or_default(),
        };
        let inst = match insts.get_mut(&ByPtr(&tick.instrument_id)) {
            Some(i) => i,
            None => insts
                .entry(tick.instrument_id.clone())
                .or_insert_with(|| Instrument {
                    market: tick.market,
                    slot: self.slots_free.pop().unwrap_or_else(|| {
                        self.slots_made += 1;
                        self.slots_made - 1
                    }),
                    template: Tick {
                        horizon: Horizon::default(),
                        slot: Default::default(),
                        ..tick.clone()
                    },
                    entries: Chunks::default(),
                    pins: Vec::new(),
                    rollup: Rollup::default(),
                    latest_gen: 0,
                }),
        };
        if let Some(l) = self.latest.as_mut() {
            if inst.latest_gen != l.gen {
                inst.latest_gen = l.gen;
                l.touched
                    .push((tick.tenant_id.clone(), tick.instrument_id.clone()));
            }
        }
        let at = match inst.entries.find(key_of(tick)) {
            Err(at) => {
                self.stats.identities += 1;
                if let Some(gap) = inst.entries.before(at).and_then(|b| skipped(b, tick)) {
                    *self
                        .stats
                        .missing_intervals
                        .entry((tick.market, tick.market_run.clone()))
                        .or_default() += gap;
                }
                self.held += 1;
                tick.version = 1;
                tick.slot = Slot(inst.slot);
                tick.flags.remove(QualityFlag::Corrected);
                let mut slim = Slim::of(tick, &inst.template);
                if let Some(b) = &self.bars {
                    slim.mask = open_mask(
                        &mut self.assigner,
                        &self.intervals,
                        &b.closed,
                        tick.market,
                        tick.interval_start_ms,
                        horizon_ms,
                    );
                    b.note(
                        &mut inst.rollup,
                        &mut self.assigner,
                        tick.market,
                        (tick.interval_start_ms, tick.interval_end_ms),
                        slim.mask,
                    );
                }
                let entry = Entry {
                    start: tick.interval_start_ms,
                    end: tick.interval_end_ms,
                    trade_id: tick.trade_id.clone(),
                    slim,
                };
                inst.entries.insert(at, entry);
                return Arrival::New;
            }
            Ok(at) => at,
        };
        let Some(e) = inst.entries.get_mut(at) else {
            return Arrival::Stale; // unreachable: `find` returned a held position
        };
        let id = tick.identity();
        match self
            .touched_at
            .get(&id)
            .and_then(|&i| self.touched.get_mut(i))
        {
            Some(t) => t.horizon_ms = t.horizon_ms.min(horizon_ms),
            None => {
                self.touched_at.insert(id.clone(), self.touched.len());
                self.touched.push(Touch {
                    id,
                    horizon_ms,
                    before: e.slim.clone(),
                });
            }
        }
        let version = e.slim.version + 1;
        let same_value = e.slim.value_bits() == value_bits(tick);
        let corrected = e.slim.flags.contains(QualityFlag::Corrected) || !same_value;
        let arrival = if rank(tick) > e.slim.rank() {
            let mask = e.slim.mask;
            e.slim = Slim::of(tick, &inst.template);
            e.slim.mask = mask;
            if same_value {
                Arrival::Duplicate
            } else {
                Arrival::Correction
            }
        } else if same_value {
            Arrival::Duplicate
        } else {
            Arrival::Stale
        };
        e.slim.version = version;
        if corrected {
            e.slim.flags.insert(QualityFlag::Corrected);
        }
        match arrival {
            Arrival::Duplicate => self.stats.duplicates += 1,
            Arrival::Stale => self.stats.stale += 1,
            Arrival::Correction => self.stats.corrections += 1,
            Arrival::New => {}
        }
        arrival
    }

    /// Appends the changes since the last drain: `(tick, +1)` for first arrivals (with their own
    /// horizon), and `(old, −1)` then `(new, +1)` per touched identity whose emitted tick changed,
    /// both carrying the least horizon of the arrivals that touched it.
    pub fn drain_changes(&mut self, out: &mut Vec<TickChange>) {
        if out.is_empty() {
            std::mem::swap(out, &mut self.fresh);
        } else {
            out.append(&mut self.fresh);
        }
        self.touched_at.clear();
        for Touch {
            id,
            horizon_ms,
            before,
        } in self.touched.drain(..)
        {
            let Some(inst) = self
                .instruments
                .get_mut(&ByPtr(&id.tenant_id))
                .and_then(|m| m.get_mut(&ByPtr(&id.instrument_id)))
            else {
                continue;
            };
            let key = (
                id.interval_start_ms,
                id.interval_end_ms,
                id.trade_id.as_deref(),
            );
            let Instrument {
                template,
                entries,
                slot,
                pins,
                rollup,
                ..
            } = inst;
            let Some(e) = entries.find(key).ok().and_then(|at| entries.get_mut(at)) else {
                continue;
            };
            if before != e.slim {
                let key = (e.start, e.end, &e.trade_id);
                let h = Horizon(horizon_ms);
                let mut old = before.rebuild(key, template);
                let mut new = e.slim.rebuild(key, template);
                old.horizon = h;
                new.horizon = h;
                (old.slot, new.slot) = (Slot(*slot), Slot(*slot));
                if let Some(b) = &self.bars {
                    // The bars open for the touch trade the old value for the new; those
                    // closed for it keep the old one.
                    let mut open = |t: &Tick| {
                        open_mask(
                            &mut self.assigner,
                            &self.intervals,
                            &b.closed,
                            t.market,
                            t.interval_start_ms,
                            horizon_ms,
                        )
                    };
                    let kept = e.slim.mask & !open(&old);
                    e.slim.mask = open(&new);
                    let span = (e.start, e.end);
                    b.note(rollup, &mut self.assigner, new.market, span, e.slim.mask);
                    if kept != 0 {
                        // Whatever holds the old value is no roll-up of the finest bars.
                        let all = b.coarse();
                        b.taint(rollup, &mut self.assigner, old.market, e.start, all);
                        pins.push(Pin::new(e, before, kept));
                        self.bar_stats.pinned += 1;
                    }
                }
                out.push((old, -1));
                out.push((new, 1));
            }
        }
    }

    /// Releases every identity of a market whose largest window ends at or before
    /// `closed_ms(market)` (the final horizon of SPEC §4). Call after the drains of the batch
    /// (changes, and latest prices with [`DedupeCore::with_latest`]) and after
    /// [`DedupeCore::close_bars`].
    pub fn release(&mut self, closed_ms: impl Fn(Market) -> EpochMs) {
        if self.intervals.is_empty() {
            return;
        }
        let DedupeCore {
            instruments,
            intervals,
            assigner,
            held,
            stats,
            slots_free,
            ..
        } = self;
        instruments.retain(|_, insts| {
            insts.retain(|_, inst| {
                let closed = closed_ms(inst.market);
                // Every window of a tick ends at or before `closed` exactly when it starts before
                // the window of each interval containing `closed`: the front goes first.
                let first_kept = intervals
                    .iter()
                    .map(|&iv| bars::first_open_start(assigner, iv, inst.market, closed))
                    .min()
                    .unwrap_or(EpochMs::MIN);
                let n = inst.entries.release_before(first_kept);
                *held -= n;
                stats.released += n as u64;
                if !inst.pins.is_empty() {
                    inst.pins.retain(|p| p.start() >= first_kept);
                }
                let keep = !inst.entries.is_empty() || !inst.pins.is_empty();
                if !keep {
                    slots_free.push(inst.slot);
                }
                keep
            });
            !insts.is_empty()
        });
    }

    /// The current winner of every identity, rebuilt (for tests and oracles).
    pub fn winners(&self) -> Vec<Tick> {
        self.instruments
            .values()
            .flat_map(|m| m.values())
            .flat_map(|i| {
                i.entries
                    .iter()
                    .map(|e| e.slim.rebuild((e.start, e.end, &e.trade_id), &i.template))
            })
            .collect()
    }

    /// Number of identities held.
    pub fn len(&self) -> usize {
        self.held
    }

    /// True when no identity is held.
    pub fn is_empty(&self) -> bool {
        self.held == 0
    }
}
