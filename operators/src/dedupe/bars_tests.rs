//! Store bars against the views' lazy `BarBook` fed with the same core's updates: seeded random
//! streams of new identities, duplicates, stale arrivals and corrections (of extremes, of the
//! open and close, with trade ids that tie on start and end), horizons that skip windows and
//! pin old values, closes and releases at random points, and the end of input.

use super::*;
use crate::model::{Horizon, Tick};
use crate::testkit::{arrival, tick, Rng};
use crate::window::{horizon, BarBook};

const M: i64 = 60_000;
const H: i64 = 3_600_000;
const LATENESS_MS: i64 = M;

fn sorted(mut v: Vec<(Bar, i64)>) -> Vec<(Bar, i64)> {
    v.sort_by(|a, b| (a.0.sort_key(), a.1).cmp(&(b.0.sort_key(), b.1)));
    v
}

#[test]
fn store_bars_equal_a_lazy_book_fed_by_the_same_updates() {
    let intervals = [
        BarInterval::M1,
        BarInterval::M5,
        BarInterval::H1,
        BarInterval::D1,
    ];
    let mut pinned = 0;
    for seed in 1..=60u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut core = DedupeCore::with_intervals(&intervals).with_bars();
        let mut book = BarBook::new(&intervals).with_provisional(false);
        let (mut from_core, mut from_book) = (Vec::new(), Vec::new());
        let mut changes = Vec::new();
        let mut seen: Vec<Tick> = Vec::new();
        let mut clock = 0i64;
        let mut frontier = EpochMs::MIN;
        for step in 0..500u32 {
            clock += rng.below(20_000) as i64;
            let mut t = arrival(&mut rng, &mut seen, clock, &[0, M, 5 * M]);
            t.source.line = step + 1;
            // A feed's horizon may be ahead of the global closing: windows close for some
            // arrivals (and their corrections) while the bars are still open.
            let ahead = rng.below(40 * M as u64) as i64 - 10 * M;
            t.horizon = Horizon(frontier.max(clock - H).saturating_add(ahead));
            core.insert(t);
            if rng.one_in(4) {
                core.drain_changes(&mut changes);
                for (t, d) in changes.drain(..) {
                    book.update(&t, d, t.horizon.0);
                }
            }
            if rng.one_in(13) {
                core.drain_changes(&mut changes);
                for (t, d) in changes.drain(..) {
                    book.update(&t, d, t.horizon.0);
                }
                frontier = frontier.max(clock - rng.below(30 * M as u64) as i64);
                let closed = |_| horizon(frontier, LATENESS_MS);
                core.close_bars(closed, &mut from_core);
                core.release(closed);
                book.drain(&mut Vec::new());
                book.close_until(frontier, LATENESS_MS, &mut from_book);
                assert_eq!(
                    sorted(std::mem::take(&mut from_core)),
                    sorted(std::mem::take(&mut from_book)),
                    "seed {seed} step {step}"
                );
            }
        }
        core.drain_changes(&mut changes);
        for (t, d) in changes.drain(..) {
            book.update(&t, d, t.horizon.0);
        }
        core.close_bars(|_| EpochMs::MAX, &mut from_core);
        book.drain(&mut Vec::new());
        book.close_all(&mut from_book);
        assert!(!from_book.is_empty());
        assert_eq!(
            sorted(from_core),
            sorted(from_book),
            "seed {seed} at the end"
        );
        pinned += core.bar_stats.pinned;
    }
    assert!(pinned > 0, "the streams pin old values");
}

/// A correction whose horizon closed the 1-minute window keeps the old value there (pinned)
/// while the hour takes the new one.
#[test]
fn a_correction_late_for_a_window_leaves_it_the_old_value() {
    let intervals = [BarInterval::M1, BarInterval::H1];
    let mut core = DedupeCore::with_intervals(&intervals).with_bars();
    let mut first = tick("A", 10_000, 10_000, 5.0);
    first.horizon = Horizon(EpochMs::MIN);
    core.insert(first.clone());
    let mut fix = first.clone();
    fix.price = 7.0;
    fix.revision = 1;
    fix.source.line = 2;
    fix.horizon = Horizon(M); // the minute [0, 1m) is closed for it, the hour is not
    core.insert(fix);
    core.drain_changes(&mut Vec::new());
    let mut out = Vec::new();
    core.close_bars(|_| EpochMs::MAX, &mut out);
    let price = |iv: BarInterval| {
        out.iter()
            .find(|(b, _)| b.interval == iv)
            .map(|(b, _)| (b.open, b.revision))
    };
    assert_eq!(price(BarInterval::M1), Some((5.0, 1)));
    assert_eq!(price(BarInterval::H1), Some((7.0, 2)));
    assert_eq!(core.bar_stats.pinned, 1);
}
