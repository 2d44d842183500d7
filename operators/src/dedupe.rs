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
//! and every tick of an instrument — meets on one worker. State is kept for the whole run here;
//! release once the identity's largest window is final is the windowing stage's job.

use crate::model::{QualityFlag, SourcePos, Tick, TickIdentity};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::rc::Rc;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;

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
}

#[derive(Clone, Debug)]
struct IdentityState {
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

fn rank(t: &Tick) -> (u64, SourcePos) {
    (t.revision, t.source)
}

/// The pure core of [`Dedupe::dedupe`]: per-identity winners and the changes they cause.
#[derive(Debug, Default)]
pub struct DedupeCore {
    state: FxHashMap<TickIdentity, IdentityState>,
    /// Identities touched since the last drain, with the tick emitted before the first touch.
    dirty: Vec<(TickIdentity, Option<Tick>)>,
    dirty_index: FxHashMap<TickIdentity, ()>,
    /// Counters.
    pub stats: DedupeStats,
}

impl DedupeCore {
    /// Records one arrival.
    pub fn insert(&mut self, mut tick: Tick) -> Arrival {
        self.stats.arrivals += 1;
        let id = tick.identity();
        let bits = value_bits(&tick);
        match self.state.get_mut(&id) {
            None => {
                self.stats.identities += 1;
                tick.version = 1;
                tick.flags.remove(QualityFlag::Corrected);
                self.state.insert(
                    id.clone(),
                    IdentityState {
                        output: tick,
                        first_value: bits,
                    },
                );
                self.mark_dirty(id, None);
                Arrival::New
            }
            Some(st) => {
                let old = if self.dirty_index.contains_key(&id) {
                    None
                } else {
                    Some(st.output.clone())
                };
                let version = st.output.version + 1;
                let corrected =
                    st.output.flags.contains(QualityFlag::Corrected) || bits != st.first_value;
                let same_value = value_bits(&st.output) == bits;
                let arrival = if rank(&tick) > rank(&st.output) {
                    st.output = tick;
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
                st.output.version = version;
                if corrected {
                    st.output.flags.insert(QualityFlag::Corrected);
                }
                match arrival {
                    Arrival::Duplicate => self.stats.duplicates += 1,
                    Arrival::Stale => self.stats.stale += 1,
                    Arrival::Correction => self.stats.corrections += 1,
                    Arrival::New => {}
                }
                if let Some(old) = old {
                    self.mark_dirty(id, Some(old));
                }
                arrival
            }
        }
    }

    fn mark_dirty(&mut self, id: TickIdentity, old: Option<Tick>) {
        if self.dirty_index.insert(id.clone(), ()).is_none() {
            self.dirty.push((id, old));
        }
    }

    /// Appends the changes since the last drain: `(old, −1)` then `(new, +1)` per touched identity.
    pub fn drain_changes(&mut self, out: &mut Vec<(Tick, i64)>) {
        for (id, old) in self.dirty.drain(..) {
            let Some(st) = self.state.get(&id) else {
                continue;
            };
            match old {
                Some(old) if old == st.output => {}
                Some(old) => {
                    out.push((old, -1));
                    out.push((st.output.clone(), 1));
                }
                None => out.push((st.output.clone(), 1)),
            }
        }
        self.dirty_index.clear();
    }

    /// The current winner of every identity (for tests and oracles).
    pub fn winners(&self) -> impl Iterator<Item = &Tick> {
        self.state.values().map(|s| &s.output)
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

/// Routes ticks by identity and turns arrivals into a differential stream of winners.
pub trait Dedupe<'scope> {
    /// Returns `(tick, diff)` updates; counters accumulate into `stats`.
    fn dedupe(self, stats: Rc<RefCell<DedupeStats>>) -> Stream<'scope, u64, Vec<(Tick, i64)>>;
}

impl<'scope> Dedupe<'scope> for Stream<'scope, u64, Vec<Tick>> {
    fn dedupe(self, stats: Rc<RefCell<DedupeStats>>) -> Stream<'scope, u64, Vec<(Tick, i64)>> {
        let pact = Exchange::new(|t: &Tick| t.route_hash());
        self.unary(pact, "Dedupe", move |_cap, _info| {
            // No capability is retained: changes are emitted at the time of the batch that caused them.
            let mut core = DedupeCore::default();
            let mut changes = Vec::new();
            move |input, output| {
                input.for_each_stamp(|cap, data| {
                    for batch in data {
                        for tick in batch.drain(..) {
                            core.insert(tick);
                        }
                    }
                    core.drain_changes(&mut changes);
                    if !changes.is_empty() {
                        output.session(&cap).give_container(&mut changes);
                        changes.clear();
                    }
                });
                *stats.borrow_mut() = core.stats.clone();
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Components, Market, QualityFlags, Sym};
    use std::sync::Arc;

    fn tick(price: f64, revision: u64, line: u32) -> Tick {
        let s = |x: &str| -> Sym { Arc::from(x) };
        Tick {
            tenant_id: s("default"),
            instrument_id: s("PJM.RT.X"),
            market: Market::Pjm,
            node: s("X"),
            market_run: s("RT"),
            interval_start_ms: 0,
            interval_end_ms: 3_600_000,
            price,
            components: Components::default(),
            volume: None,
            bid: None,
            ask: None,
            trade_id: None,
            revision,
            version: 1,
            flags: QualityFlags::default(),
            source_system: s("t"),
            source: SourcePos {
                feed: 0,
                offset: 0,
                line,
                elem: 0,
            },
            ingested_at_ms: 0,
        }
    }

    fn final_state(arrivals: &[Tick]) -> Vec<Tick> {
        let mut core = DedupeCore::default();
        let mut live: Vec<Tick> = Vec::new();
        let mut changes = Vec::new();
        for t in arrivals {
            core.insert(t.clone());
            core.drain_changes(&mut changes);
            for (t, d) in changes.drain(..) {
                if d > 0 {
                    live.push(t);
                } else {
                    let i = live
                        .iter()
                        .position(|x| *x == t)
                        .expect("retraction of a live tick");
                    live.swap_remove(i);
                }
            }
        }
        live
    }

    #[test]
    fn winner_is_order_independent() {
        let a = tick(10.0, 1, 5);
        let b = tick(12.0, 2, 3);
        let c = tick(10.0, 1, 9);
        let orders = [
            vec![a.clone(), b.clone(), c.clone()],
            vec![c.clone(), a.clone(), b.clone()],
            vec![b.clone(), c.clone(), a.clone()],
        ];
        let results: Vec<_> = orders.iter().map(|o| final_state(o)).collect();
        for r in &results {
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].price, 12.0);
            assert_eq!(r[0].version, 3);
            assert!(r[0].flags.contains(QualityFlag::Corrected));
            assert_eq!(r[0], results[0][0]);
        }
    }

    #[test]
    fn duplicates_bump_version_only() {
        let r = final_state(&[tick(10.0, 0, 1), tick(10.0, 0, 2)]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].version, 2);
        assert_eq!(r[0].source.line, 2);
        assert!(!r[0].flags.contains(QualityFlag::Corrected));
    }

    #[test]
    fn corrections_retract_then_insert() {
        let mut core = DedupeCore::default();
        let mut changes = Vec::new();
        assert_eq!(core.insert(tick(10.0, 0, 1)), Arrival::New);
        core.drain_changes(&mut changes);
        changes.clear();
        assert_eq!(core.insert(tick(11.0, 1, 2)), Arrival::Correction);
        assert_eq!(core.insert(tick(9.0, 0, 3)), Arrival::Stale);
        core.drain_changes(&mut changes);
        assert_eq!(changes.len(), 2);
        assert_eq!((changes[0].0.price, changes[0].1), (10.0, -1));
        assert_eq!(
            (changes[1].0.price, changes[1].1, changes[1].0.version),
            (11.0, 1, 3)
        );
    }
}
