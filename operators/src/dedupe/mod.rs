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

use crate::model::{BarInterval, EpochMs, Market, QualityFlag, SourcePos, Tick, TickIdentity};
use crate::window::WindowAssigner;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// One update of the deduplicated tick stream: the tick, its multiplicity change, and the
/// lateness horizon of the arrivals that caused it.
pub type TickChange = (Tick, i64, EpochMs);

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

/// What is kept per identity: the emitted tick (boxed, so the map's entries stay small and
/// rehashing moves little), the first value seen, and the drain generation in which the
/// identity was last touched together with the tick emitted before that touch.
#[derive(Debug)]
struct IdentityState {
    inner: Box<Winner>,
    touched_gen: u64,
    /// The least horizon among this drain's arrivals.
    touch_horizon: EpochMs,
    before_touch: Option<Box<Tick>>,
}

#[derive(Debug)]
struct Winner {
    /// The emitted tick: the winner with version and flags applied.
    output: Tick,
    /// Bits of the first value seen, to tell whether a second distinct value ever arrived.
    first_value: ValueBits,
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
/// emits `−1 old, +1 new` once per touched identity — so the common path costs one hash lookup.
#[derive(Debug, Default)]
pub struct DedupeCore {
    state: FxHashMap<TickIdentity, IdentityState>,
    /// Identities touched (not first seen) since the last drain.
    touched: Vec<TickIdentity>,
    /// First arrivals since the last drain, ready to emit.
    fresh: Vec<(Tick, i64, EpochMs)>,
    /// When identities may be released (empty intervals: never).
    expiry: Expiry,
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
            expiry: Expiry::new(intervals),
            ..DedupeCore::default()
        }
    }

    /// Records one arrival with no lateness horizon (tests, unbounded lateness).
    pub fn insert(&mut self, tick: Tick) -> Arrival {
        self.insert_at(tick, EpochMs::MIN)
    }

    /// Records one arrival judged with lateness horizon `horizon_ms`.
    pub fn insert_at(&mut self, mut tick: Tick, horizon_ms: EpochMs) -> Arrival {
        use std::collections::hash_map::Entry;
        self.stats.arrivals += 1;
        let gen = self.gen + 1;
        let bits = value_bits(&tick);
        match self.state.entry(tick.identity()) {
            Entry::Vacant(slot) => {
                self.stats.identities += 1;
                tick.version = 1;
                tick.flags.remove(QualityFlag::Corrected);
                self.expiry.schedule(slot.key(), tick.market);
                self.fresh.push((tick.clone(), 1, horizon_ms));
                slot.insert(IdentityState {
                    inner: Box::new(Winner {
                        output: tick,
                        first_value: bits,
                    }),
                    touched_gen: 0,
                    touch_horizon: horizon_ms,
                    before_touch: None,
                });
                Arrival::New
            }
            Entry::Occupied(mut slot) => {
                if slot.get().touched_gen != gen {
                    self.touched.push(slot.key().clone());
                    let st = slot.get_mut();
                    st.touched_gen = gen;
                    st.touch_horizon = horizon_ms;
                    st.before_touch = Some(Box::new(st.inner.output.clone()));
                }
                let st = slot.get_mut();
                st.touch_horizon = st.touch_horizon.min(horizon_ms);
                let w = &mut *st.inner;
                let version = w.output.version + 1;
                let corrected =
                    w.output.flags.contains(QualityFlag::Corrected) || bits != w.first_value;
                let same_value = value_bits(&w.output) == bits;
                let arrival = if rank(&tick) > rank(&w.output) {
                    w.output = tick;
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
                w.output.version = version;
                if corrected {
                    w.output.flags.insert(QualityFlag::Corrected);
                }
                match arrival {
                    Arrival::Duplicate => self.stats.duplicates += 1,
                    Arrival::Stale => self.stats.stale += 1,
                    Arrival::Correction => self.stats.corrections += 1,
                    Arrival::New => {}
                }
                arrival
            }
        }
    }

    /// Appends the changes since the last drain: `(tick, +1, horizon)` for first arrivals, and
    /// `(old, −1, h)` then `(new, +1, h)` per touched identity whose emitted tick changed, with
    /// `h` the least horizon of the arrivals that touched it.
    pub fn drain_changes(&mut self, out: &mut Vec<(Tick, i64, EpochMs)>) {
        out.append(&mut self.fresh);
        for id in self.touched.drain(..) {
            let Some(st) = self.state.get_mut(&id) else {
                continue;
            };
            if let Some(old) = st.before_touch.take() {
                if *old != st.inner.output {
                    out.push((*old, -1, st.touch_horizon));
                    out.push((st.inner.output.clone(), 1, st.touch_horizon));
                }
            }
        }
        self.gen += 1;
    }

    /// Releases every identity of `market` whose largest window ends at or before
    /// `closed_ms(market)` (the final horizon of SPEC §4). Call after the drain of the batch.
    pub fn release(&mut self, closed_ms: impl Fn(Market) -> EpochMs) {
        let state = &mut self.state;
        let released = &mut self.stats.released;
        self.expiry.release(closed_ms, |id| {
            if state.remove(&id).is_some() {
                *released += 1;
            }
        });
    }

    /// The current winner of every identity (for tests and oracles).
    pub fn winners(&self) -> impl Iterator<Item = &Tick> {
        self.state.values().map(|s| &s.inner.output)
    }

    /// Number of identities held.
    pub fn len(&self) -> usize {
        self.state.len()
    }

    /// True when no identity is held.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }
}

/// Identities by the end of their largest window, per market, for release.
#[derive(Debug, Default)]
struct Expiry {
    intervals: Vec<BarInterval>,
    assigner: WindowAssigner,
    buckets: [BTreeMap<EpochMs, Vec<TickIdentity>>; 8],
    /// The bucket being filled (most arrivals share their window with the previous one).
    staged: Option<(Market, EpochMs, Vec<TickIdentity>)>,
}

impl Expiry {
    fn new(intervals: &[BarInterval]) -> Expiry {
        Expiry {
            intervals: intervals.to_vec(),
            ..Expiry::default()
        }
    }

    fn schedule(&mut self, id: &TickIdentity, market: Market) {
        let Some(end) =
            self.assigner
                .last_window_end(&self.intervals, market, id.interval_start_ms)
        else {
            return;
        };
        match &mut self.staged {
            Some((m, e, v)) if *m == market && *e == end => v.push(id.clone()),
            _ => {
                self.unstage();
                self.staged = Some((market, end, vec![id.clone()]));
            }
        }
    }

    fn unstage(&mut self) {
        if let Some((m, e, mut v)) = self.staged.take() {
            if let Some(b) = self.buckets.get_mut(m as usize) {
                b.entry(e).or_default().append(&mut v);
            }
        }
    }

    fn release(
        &mut self,
        closed_ms: impl Fn(Market) -> EpochMs,
        mut drop: impl FnMut(TickIdentity),
    ) {
        self.unstage();
        for m in Market::ISOS.into_iter().chain([Market::Other]) {
            let closed = closed_ms(m);
            let Some(b) = self.buckets.get_mut(m as usize) else {
                continue;
            };
            while let Some(entry) = b.first_entry() {
                if *entry.key() > closed {
                    break;
                }
                for id in entry.remove() {
                    drop(id);
                }
            }
        }
    }
}
