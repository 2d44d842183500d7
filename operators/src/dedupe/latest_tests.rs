//! Store latest against `latest::LatestBook` fed with the same core's updates: seeded random
//! streams of new identities (out of order, with trade ids), duplicates, stale arrivals and
//! corrections, with releases at random points (an instrument left with nothing held keeps its
//! row).

use super::*;
use crate::latest::LatestBook;
use crate::model::{BarInterval, EpochMs, Horizon, Tick};
use crate::testkit::{arrival, Rng};
use crate::window::horizon;
use std::collections::BTreeMap;

const M: i64 = 60_000;

type Rows = BTreeMap<(String, String), LatestPrice>;

fn apply(rows: &mut Rows, updates: &mut Vec<(LatestPrice, i64)>) {
    for (r, d) in updates.drain(..) {
        let key = (r.tenant_id.to_string(), r.instrument_id.to_string());
        if d > 0 {
            assert!(rows.insert(key, r).is_none(), "one row per instrument");
        } else {
            assert_eq!(
                rows.remove(&key).as_ref(),
                Some(&r),
                "retracts what it emitted"
            );
        }
    }
}

#[test]
fn store_latest_equals_a_latest_book_fed_by_the_same_updates() {
    let intervals = [BarInterval::M1, BarInterval::M5];
    let mut released = 0;
    for seed in 1..=60u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut core = DedupeCore::with_intervals(&intervals).with_latest();
        let mut book = LatestBook::new(4);
        let (mut from_core, mut from_book) = (Rows::new(), Rows::new());
        let (mut changes, mut updates) = (Vec::new(), Vec::new());
        let mut seen: Vec<Tick> = Vec::new();
        let mut clock = 0i64;
        for step in 0..400u32 {
            clock += rng.below(20_000) as i64;
            let mut t = arrival(&mut rng, &mut seen, clock, &[0, M]);
            t.source.line = step + 1;
            t.horizon = Horizon(EpochMs::MIN);
            core.insert(t);
            if rng.one_in(4) {
                core.drain_changes(&mut changes);
                for (t, d) in changes.drain(..) {
                    book.update(&t, d);
                }
                core.drain_latest(&mut updates);
                apply(&mut from_core, &mut updates);
                book.drain(&mut updates);
                apply(&mut from_book, &mut updates);
                assert_eq!(from_core, from_book, "seed {seed} step {step}");
            }
            if rng.one_in(17) {
                // Release what is final at a watermark behind the clock; arrivals older than
                // a released identity would be LATE_DATA upstream, so drop them from `seen`.
                let closed = horizon(clock - rng.below(20 * M as u64) as i64, M);
                let before = core.len();
                core.drain_changes(&mut changes);
                for (t, d) in changes.drain(..) {
                    book.update(&t, d);
                }
                // Latest rows are drained with the changes, before a release.
                core.drain_latest(&mut updates);
                apply(&mut from_core, &mut updates);
                core.release(|_| closed);
                released += before - core.len();
                seen.retain(|t| t.interval_start_ms >= closed);
                clock = clock.max(closed + 10 * M);
            }
        }
    }
    assert!(released > 0, "the streams release identities");
}
