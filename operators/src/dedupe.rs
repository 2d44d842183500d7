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

/// What is kept per identity: the emitted tick (boxed, so the map's entries stay small and
/// rehashing moves little), the first value seen, and the drain generation in which the
/// identity was last touched together with the tick emitted before that touch.
#[derive(Debug)]
struct IdentityState {
    inner: Box<Winner>,
    touched_gen: u64,
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
    fresh: Vec<(Tick, i64)>,
    /// Drain generation (starts at 1; 0 means never touched).
    gen: u64,
    /// Counters.
    pub stats: DedupeStats,
}

impl DedupeCore {
    /// Records one arrival.
    pub fn insert(&mut self, mut tick: Tick) -> Arrival {
        use std::collections::hash_map::Entry;
        self.stats.arrivals += 1;
        let gen = self.gen + 1;
        let bits = value_bits(&tick);
        match self.state.entry(tick.identity()) {
            Entry::Vacant(slot) => {
                self.stats.identities += 1;
                tick.version = 1;
                tick.flags.remove(QualityFlag::Corrected);
                self.fresh.push((tick.clone(), 1));
                slot.insert(IdentityState {
                    inner: Box::new(Winner {
                        output: tick,
                        first_value: bits,
                    }),
                    touched_gen: 0,
                    before_touch: None,
                });
                Arrival::New
            }
            Entry::Occupied(mut slot) => {
                if slot.get().touched_gen != gen {
                    self.touched.push(slot.key().clone());
                    let st = slot.get_mut();
                    st.touched_gen = gen;
                    st.before_touch = Some(Box::new(st.inner.output.clone()));
                }
                let st = slot.get_mut();
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

    /// Appends the changes since the last drain: `(tick, +1)` for first arrivals, and
    /// `(old, −1)` then `(new, +1)` per touched identity whose emitted tick changed.
    pub fn drain_changes(&mut self, out: &mut Vec<(Tick, i64)>) {
        out.append(&mut self.fresh);
        for id in self.touched.drain(..) {
            let Some(st) = self.state.get_mut(&id) else {
                continue;
            };
            if let Some(old) = st.before_touch.take() {
                if *old != st.inner.output {
                    out.push((*old, -1));
                    out.push((st.inner.output.clone(), 1));
                }
            }
        }
        self.gen += 1;
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
            enrichment: None,
        }
    }

    /// Applies drained changes to the live multiset, checking every retraction hits a live tick.
    fn apply(live: &mut Vec<Tick>, changes: &mut Vec<(Tick, i64)>) {
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

    fn final_state(arrivals: &[Tick]) -> Vec<Tick> {
        let mut core = DedupeCore::default();
        let mut live: Vec<Tick> = Vec::new();
        let mut changes = Vec::new();
        for t in arrivals {
            core.insert(t.clone());
            core.drain_changes(&mut changes);
            apply(&mut live, &mut changes);
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

    /// Oracle: the winners recomputed from scratch over the set of arrivals.
    fn oracle(arrivals: &[Tick]) -> Vec<Tick> {
        let mut by_id: std::collections::BTreeMap<TickIdentity, Vec<&Tick>> = Default::default();
        for t in arrivals {
            by_id.entry(t.identity()).or_default().push(t);
        }
        let mut out: Vec<Tick> = by_id
            .values()
            .map(|ts| {
                let mut w = (*ts.iter().max_by_key(|t| rank(t)).unwrap()).clone();
                w.version = ts.len() as u64;
                let mut values: Vec<ValueBits> = ts.iter().map(|t| value_bits(t)).collect();
                values.sort();
                values.dedup();
                w.flags.remove(QualityFlag::Corrected);
                if values.len() > 1 {
                    w.flags.insert(QualityFlag::Corrected);
                }
                w
            })
            .collect();
        out.sort_by_key(|t| t.identity());
        out
    }

    #[test]
    fn random_batches_in_random_orders_match_the_oracle() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _round in 0..200 {
            let mut arrivals = Vec::new();
            for line in 0..(1 + next(40)) as u32 {
                let mut t = tick(10.0 + next(3) as f64, next(3), line + 1);
                t.interval_start_ms = next(4) as i64 * 3_600_000;
                t.interval_end_ms = t.interval_start_ms + 3_600_000;
                if next(5) == 0 {
                    t.source.line = 1; // equal rank: re-delivery of the same record
                }
                arrivals.push(t);
            }
            let want = oracle(&arrivals);
            for _order in 0..5 {
                let mut shuffled = arrivals.clone();
                for i in (1..shuffled.len()).rev() {
                    shuffled.swap(i, next(i as u64 + 1) as usize);
                }
                let mut core = DedupeCore::default();
                let mut live: Vec<Tick> = Vec::new();
                let mut changes = Vec::new();
                for t in shuffled {
                    core.insert(t);
                    if next(3) == 0 {
                        core.drain_changes(&mut changes);
                    }
                    apply(&mut live, &mut changes);
                }
                core.drain_changes(&mut changes);
                apply(&mut live, &mut changes);
                live.sort_by_key(|t| t.identity());
                assert_eq!(live, want);
            }
        }
    }
}
