//! Dedupe core: order independence, corrections, versions, and a seeded oracle.
use super::slim::ValueBits;
use super::*;
use crate::model::{Extras, Market, QualityFlags, SourcePos, Sym};
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
        volume: None,
        extras: Default::default(),
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
        horizon: Default::default(),
        slot: Default::default(),
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

#[test]
fn identities_are_released_once_their_largest_window_is_final() {
    use crate::model::BarInterval;
    let mut core = DedupeCore::with_intervals(&[BarInterval::M5, BarInterval::H1]);
    let mut changes = Vec::new();
    // Hours 0, 1, 2 (out of order), two ticks each.
    for (i, hour) in [1i64, 0, 2, 0, 1, 2].into_iter().enumerate() {
        let mut t = tick(10.0, 0, i as u32 + 1);
        t.interval_start_ms = hour * 3_600_000 + i as i64 * 60_000;
        t.interval_end_ms = t.interval_start_ms + 60_000;
        core.insert(t);
    }
    core.drain_changes(&mut changes);
    assert_eq!(core.len(), 6);
    // The first hour's window [0, 1h) ends at 1h: final when the closed horizon reaches it.
    core.release(|_| 3_600_000 - 1);
    assert_eq!(core.len(), 6);
    core.release(|_| 3_600_000);
    assert_eq!(core.len(), 4);
    assert_eq!(core.stats.released, 2);
    core.release(|_| EpochMs::MAX);
    assert!(core.is_empty());
    // Without intervals nothing is ever released.
    let mut keep = DedupeCore::default();
    keep.insert(tick(1.0, 0, 1));
    keep.release(|_| EpochMs::MAX);
    assert_eq!(keep.len(), 1);
}

/// Thousands of identities of one instrument arriving out of order (so the chunked state
/// appends, inserts into full chunks and splits them), with arrivals that differ in every
/// per-tick field and in the fields normally shared by an instrument: retractions must name the
/// emitted tick exactly, and the final state must equal the oracle.
#[test]
fn many_identities_out_of_order_with_varying_fields_match_the_oracle() {
    use crate::model::Enrichment;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let enrichment = Arc::new(Enrichment {
        commodity: Some(Arc::from("electricity")),
        ..Enrichment::default()
    });
    let mut arrivals = Vec::new();
    for line in 0..6000u32 {
        let mut t = tick(20.0 + next(4) as f64, next(2), line + 1);
        t.interval_start_ms = next(2000) as i64 * 60_000;
        t.interval_end_ms = t.interval_start_ms + 60_000;
        if next(3) == 0 {
            let mut c = t.components();
            c.energy = Some(next(5) as f64);
            t.extras = Extras::new(c, t.bid(), t.ask());
            t.volume = Some(next(100) as f64);
        }
        if next(4) == 0 {
            t.extras = Extras::new(t.components(), Some(1.5), None);
            t.node = Arc::from("Y");
            t.source_system = Arc::from("other");
            t.market = Market::Miso;
            t.enrichment = Some(enrichment.clone());
            t.ingested_at_ms = line as i64;
        }
        arrivals.push(t);
    }
    let want = oracle(&arrivals);
    let mut core = DedupeCore::default();
    let mut live: Vec<Tick> = Vec::new();
    let mut changes = Vec::new();
    for t in arrivals {
        core.insert(t);
        if next(50) == 0 {
            core.drain_changes(&mut changes);
            apply(&mut live, &mut changes);
        }
    }
    core.drain_changes(&mut changes);
    apply(&mut live, &mut changes);
    live.sort_by_key(|t| t.identity());
    assert_eq!(live.len(), want.len());
    assert_eq!(live, want);
    let mut winners = core.winners();
    winners.sort_by_key(|t| t.identity());
    assert_eq!(winners, want);
}

/// Release pops whole chunks from the front and leaves the rest findable.
#[test]
fn release_across_chunks_keeps_later_identities() {
    use crate::model::BarInterval;
    let mut core = DedupeCore::with_intervals(&[BarInterval::M1]);
    let mut changes = Vec::new();
    for m in (0..1000i64).rev() {
        let mut t = tick(1.0, 0, m as u32 + 1);
        t.interval_start_ms = m * 60_000;
        t.interval_end_ms = t.interval_start_ms + 60_000;
        core.insert(t);
    }
    core.drain_changes(&mut changes);
    core.release(|_| 600 * 60_000);
    assert_eq!(core.len(), 400);
    // A later arrival of a held identity is a duplicate, not a new identity.
    let mut t = tick(1.0, 0, 5000);
    t.interval_start_ms = 700 * 60_000;
    t.interval_end_ms = t.interval_start_ms + 60_000;
    assert_eq!(core.insert(t), Arrival::Duplicate);
    assert_eq!(core.len(), 400);
}

#[test]
fn held_identities_stay_compact() {
    // Dedupe holds one entry per identity while its largest window is open (over an hour of
    // ticks with 1h bars): its size is the pipeline's memory per held tick (BENCHMARKS.md).
    assert!(std::mem::size_of::<super::chunks::Entry>() <= 128);
}
