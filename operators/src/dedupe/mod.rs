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

pub mod operator;
#[cfg(test)]
mod tests;

pub use operator::Dedupe;

use crate::model::{
    BarInterval, EpochMs, Horizon, Market, QualityFlag, SourcePos, Sym, Tick, TickIdentity,
};
use crate::window::WindowAssigner;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// One update of the deduplicated tick stream: the tick (carrying the lateness horizon of the
/// arrivals that caused the update) and its multiplicity change.
pub type TickChange = (Tick, i64);

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
}

/// What is kept per identity: the emitted tick (its interval and trade id are the identity's
/// key within the instrument) and the drain generation in which it was last touched together
/// with the tick emitted before that touch.
///
/// Whether a second distinct value ever arrived needs no first value: while all arrivals agree,
/// the winner carries that one value, so the first arrival with another value differs from the
/// winner — and `corrected` is sticky from then on.
#[derive(Debug)]
struct Entry {
    /// The emitted tick: the winner with version and flags applied.
    output: Tick,
    touched_gen: u64,
    /// The least horizon among this drain's arrivals.
    touch_horizon: EpochMs,
    before_touch: Option<Box<Tick>>,
}

/// The identities of one (tenant, instrument), sorted by (interval_start, interval_end,
/// trade_id): in-order arrivals append, and release pops from the front.
#[derive(Debug)]
struct Instrument {
    market: Market,
    entries: VecDeque<Entry>,
}

/// An identity's key within its instrument: (interval_start, interval_end, trade_id).
type Key<'a> = (EpochMs, EpochMs, Option<&'a str>);

fn key_of(t: &Tick) -> Key<'_> {
    (
        t.interval_start_ms,
        t.interval_end_ms,
        t.trade_id.as_deref(),
    )
}

impl Instrument {
    /// The position of `key`: `Ok` when held, `Err(insertion point)` otherwise.
    fn find(&self, key: Key<'_>) -> Result<usize, usize> {
        match self.entries.back() {
            None => Err(0),
            Some(last) if key_of(&last.output) < key => Err(self.entries.len()),
            Some(_) => self
                .entries
                .binary_search_by(|e| key_of(&e.output).cmp(&key)),
        }
    }
}

type ValueBits = [u64; 5];

fn value_bits(t: &Tick) -> ValueBits {
    let c = &t.components;
    let b = |x: Option<f64>| x.map_or(u64::MAX - 1, f64::to_bits);
    [
        t.price.to_bits(),
        b(c.energy),
        b(c.congestion),
        b(c.loss),
        b(c.ghg),
    ]
}

/// Arrivals are ranked by (revision, source position); the value breaks the (theoretical) tie
/// of one position delivered with two values, so the winner never depends on arrival order.
fn rank(t: &Tick) -> (u64, SourcePos, ValueBits) {
    (t.revision, t.source, value_bits(t))
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
    instruments: FxHashMap<Sym, FxHashMap<Sym, Instrument>>,
    /// Identities touched (not first seen) since the last drain.
    touched: Vec<TickIdentity>,
    /// First arrivals since the last drain, ready to emit.
    fresh: Vec<TickChange>,
    /// Intervals whose largest window bounds how long an identity is kept (empty: forever).
    intervals: Vec<BarInterval>,
    assigner: WindowAssigner,
    held: usize,
    /// Drain generation (starts at 1; 0 means never touched).
    gen: u64,
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

    /// Records one arrival, judged with the lateness horizon it carries (`Tick::horizon`).
    pub fn insert(&mut self, mut tick: Tick) -> Arrival {
        let horizon_ms = tick.horizon.0;
        self.stats.arrivals += 1;
        let gen = self.gen + 1;
        let bits = value_bits(&tick);
        let insts = match self.instruments.get_mut(&*tick.tenant_id) {
            Some(m) => m,
            None => self.instruments.entry(tick.tenant_id.clone()).or_default(),
        };
        let inst = match insts.get_mut(&*tick.instrument_id) {
            Some(i) => i,
            None => insts
                .entry(tick.instrument_id.clone())
                .or_insert_with(|| Instrument {
                    market: tick.market,
                    entries: VecDeque::new(),
                }),
        };
        let at = match inst.find(key_of(&tick)) {
            Err(at) => {
                self.stats.identities += 1;
                self.held += 1;
                tick.version = 1;
                tick.flags.remove(QualityFlag::Corrected);
                self.fresh.push((tick.clone(), 1));
                inst.entries.insert(
                    at,
                    Entry {
                        output: tick,
                        touched_gen: 0,
                        touch_horizon: horizon_ms,
                        before_touch: None,
                    },
                );
                return Arrival::New;
            }
            Ok(at) => at,
        };
        let Some(e) = inst.entries.get_mut(at) else {
            return Arrival::Stale; // unreachable: `find` returned a held position
        };
        if e.touched_gen != gen {
            self.touched.push(e.output.identity());
            e.touched_gen = gen;
            e.touch_horizon = horizon_ms;
            e.before_touch = Some(Box::new(e.output.clone()));
        }
        e.touch_horizon = e.touch_horizon.min(horizon_ms);
        let version = e.output.version + 1;
        let same_value = value_bits(&e.output) == bits;
        let corrected = e.output.flags.contains(QualityFlag::Corrected) || !same_value;
        let arrival = if rank(&tick) > rank(&e.output) {
            e.output = tick;
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
        e.output.version = version;
        if corrected {
            e.output.flags.insert(QualityFlag::Corrected);
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
        for id in self.touched.drain(..) {
            let Some(inst) = self
                .instruments
                .get_mut(&*id.tenant_id)
                .and_then(|m| m.get_mut(&*id.instrument_id))
            else {
                continue;
            };
            let key = (
                id.interval_start_ms,
                id.interval_end_ms,
                id.trade_id.as_deref(),
            );
            let Some(e) = inst.find(key).ok().and_then(|at| inst.entries.get_mut(at)) else {
                continue;
            };
            if let Some(old) = e.before_touch.take() {
                if *old != e.output {
                    let h = Horizon(e.touch_horizon);
                    let mut old = *old;
                    old.horizon = h;
                    e.output.horizon = h;
                    out.push((old, -1));
                    out.push((e.output.clone(), 1));
                }
            }
        }
        self.gen += 1;
    }

    /// Releases every identity of a market whose largest window ends at or before
    /// `closed_ms(market)` (the final horizon of SPEC §4). Call after the drain of the batch.
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
            ..
        } = self;
        instruments.retain(|_, insts| {
            insts.retain(|_, inst| {
                let closed = closed_ms(inst.market);
                while let Some(e) = inst.entries.front() {
                    // The largest window's end grows with interval_start: the front goes first.
                    let start = e.output.interval_start_ms;
                    let end = assigner.last_window_end(intervals, inst.market, start);
                    if end.is_none_or(|end| end > closed) {
                        break;
                    }
                    inst.entries.pop_front();
                    *held -= 1;
                    stats.released += 1;
                }
                !inst.entries.is_empty()
            });
            !insts.is_empty()
        });
    }

    /// The current winner of every identity (for tests and oracles).
    pub fn winners(&self) -> impl Iterator<Item = &Tick> {
        self.instruments
            .values()
            .flat_map(|m| m.values())
            .flat_map(|i| i.entries.iter().map(|e| &e.output))
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
