use super::*;
use crate::testkit::{apply_diff, random_step, tick, Rng};
use std::collections::BTreeMap;
use std::sync::Arc;

const H: i64 = 3_600_000;

fn drained(book: &mut LatestBook) -> Vec<(f64, i64)> {
    let mut out = Vec::new();
    book.drain(&mut out);
    out.into_iter().map(|(r, d)| (r.price, d)).collect()
}

#[test]
fn newer_replaces_and_older_never_overwrites() {
    let mut book = LatestBook::default();
    book.update(&tick("I", H, 2 * H, 10.0), 1);
    assert_eq!(drained(&mut book), vec![(10.0, 1)]);
    book.update(&tick("I", 2 * H, 3 * H, 20.0), 1);
    book.update(&tick("I", 0, H, 5.0), 1); // older: ignored for the latest
    assert_eq!(drained(&mut book), vec![(10.0, -1), (20.0, 1)]);
    book.update(&tick("I", 0, 30 * 60_000, 6.0), 1);
    assert_eq!(drained(&mut book), vec![]);
    // Equal start: the later end wins, then a trade id over none, then the later source.
    book.update(&tick("I", 2 * H, 4 * H, 30.0), 1);
    let mut traded = tick("I", 2 * H, 4 * H, 40.0);
    traded.trade_id = Some(Arc::from("T"));
    book.update(&traded, 1);
    let mut earlier_source = traded.clone();
    earlier_source.source.line = 0;
    earlier_source.price = 50.0;
    book.update(&earlier_source, 1);
    assert_eq!(drained(&mut book), vec![(20.0, -1), (40.0, 1)]);
    let l = book.latest("default", "I").unwrap();
    assert_eq!((l.price, l.interval_end_ms), (40.0, 4 * H));
    assert_eq!(book.latest("default", "other"), None);
    assert_eq!(book.len(), 1);
}

#[test]
fn corrections_replace_and_versions_show() {
    let mut book = LatestBook::default();
    let old = tick("I", H, 2 * H, 10.0);
    book.update(&old, 1);
    drained(&mut book);
    let mut new = old.clone();
    new.price = 12.5;
    new.version = 2;
    new.source.line = 7;
    book.update(&old, -1);
    book.update(&new, 1);
    let mut out = Vec::new();
    book.drain(&mut out);
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].0.price, out[0].0.version, out[0].1), (10.0, 1, -1));
    assert_eq!((out[1].0.price, out[1].0.version, out[1].1), (12.5, 2, 1));
    // A duplicate only bumps the version: still a change of the row.
    let mut dup = new.clone();
    dup.version = 3;
    book.update(&new, -1);
    book.update(&dup, 1);
    assert_eq!(drained(&mut book), vec![(12.5, -1), (12.5, 1)]);
    // Retracting the latest without a replacement falls back to the next newest.
    book.update(&tick("I", 0, H, 7.0), 1);
    book.update(&dup, -1);
    assert_eq!(drained(&mut book), vec![(12.5, -1), (7.0, 1)]);
    // … and retracting everything releases the instrument.
    book.update(&tick("I", 0, H, 7.0), -1);
    assert_eq!(drained(&mut book), vec![(7.0, -1)]);
    assert!(book.is_empty());
    // A retraction of something never inserted changes nothing.
    book.update(&tick("I", 0, H, 1.0), -1);
    assert_eq!(drained(&mut book), vec![]);
    assert_eq!(book.stats.unmatched_retractions, 1);
}

#[test]
fn at_answers_the_price_in_effect() {
    let mut book = LatestBook::default();
    for h in 0..24 {
        book.update(&tick("DA", h * H, (h + 1) * H, h as f64), 1);
    }
    for p in [0, 5 * 60_000, 24 * 60_000] {
        book.update(&tick("RT", p, p, p as f64), 1); // point ticks
    }
    assert_eq!(
        book.at("default", "DA", 5 * H + 1).map(|r| r.price),
        Some(5.0)
    );
    assert_eq!(book.at("default", "DA", 6 * H).map(|r| r.price), Some(6.0));
    assert_eq!(book.at("default", "DA", 24 * H), None);
    assert_eq!(book.at("default", "DA", -1), None);
    let rt = |t| book.at("default", "RT", t).map(|r| r.interval_start_ms);
    assert_eq!(rt(0), Some(0));
    assert_eq!(rt(6 * 60_000), Some(5 * 60_000));
    assert_eq!(rt(99 * H), Some(24 * 60_000));
    assert_eq!(rt(-1), None);
    assert_eq!(book.at("t2", "RT", 0), None);
}

#[test]
fn history_is_bounded_by_a_floor() {
    let mut book = LatestBook::new(3);
    for h in 0..5 {
        book.update(&tick("I", h * H, (h + 1) * H, h as f64), 1);
    }
    assert_eq!(drained(&mut book), vec![(4.0, 1)]);
    // Ticks 0 and 1 were let go: `at` no longer knows them, and older arrivals are not held.
    assert_eq!(book.at("default", "I", H).map(|r| r.price), None);
    assert_eq!(book.at("default", "I", 2 * H).map(|r| r.price), Some(2.0));
    book.update(&tick("I", H / 2, H, 9.0), 1);
    book.update(&tick("I", 0, H, 0.0), -1);
    assert_eq!((book.stats.not_held, book.stats.below_floor), (1, 1));
    // Retract the two newest: the latest falls back within the history.
    book.update(&tick("I", 4 * H, 5 * H, 4.0), -1);
    book.update(&tick("I", 3 * H, 4 * H, 3.0), -1);
    assert_eq!(drained(&mut book), vec![(4.0, -1), (2.0, 1)]);
    // An older tick above the floor is still admitted.
    book.update(&tick("I", H + 1, 2 * H, 1.5), 1);
    assert_eq!(book.at("default", "I", H + 2).map(|r| r.price), Some(1.5));
    assert_eq!(drained(&mut book), vec![]);
}

/// The oracle answer: the newest live tick of each instrument, and the newest covering `t`.
fn scratch(live: &[Tick]) -> BTreeMap<(Sym, Sym), LatestPrice> {
    let mut m: BTreeMap<(Sym, Sym), LatestPrice> = BTreeMap::new();
    for t in live {
        let row = LatestPrice::of(t);
        let key = (t.tenant_id.clone(), t.instrument_id.clone());
        match m.get(&key) {
            Some(cur) if cur.recency_cmp(&row).is_ge() => {}
            _ => {
                m.insert(key, row);
            }
        }
    }
    m
}

fn scratch_at(live: &[Tick], tenant: &str, inst: &str, at: EpochMs) -> Option<LatestPrice> {
    live.iter()
        .filter(|t| &*t.tenant_id == tenant && &*t.instrument_id == inst)
        .filter(|t| {
            t.interval_start_ms <= at
                && (at < t.interval_end_ms || t.interval_start_ms == t.interval_end_ms)
        })
        .map(LatestPrice::of)
        .max_by(|a, b| a.recency_cmp(b))
}

fn oracle_round(seed: u64, history: usize) {
    let mut rng = Rng(seed);
    let mut book = LatestBook::new(history);
    let (mut live, mut line) = (Vec::new(), 0u32);
    let mut emitted: Vec<LatestPrice> = Vec::new();
    let mut out = Vec::new();
    for batch in 0..(5 + rng.below(25)) {
        let hour = (seed & 1 == 0).then_some(batch as i64);
        for _ in 0..(1 + rng.below(30)) {
            for (t, d) in random_step(&mut rng, &mut live, &mut line, hour) {
                book.update(&t, d);
            }
        }
        book.drain(&mut out);
        for (r, d) in out.drain(..) {
            apply_diff(&mut emitted, r, d);
        }
        let want = scratch(&live);
        let mut got: BTreeMap<(Sym, Sym), LatestPrice> = BTreeMap::new();
        for r in &emitted {
            let prev = got.insert((r.tenant_id.clone(), r.instrument_id.clone()), r.clone());
            assert!(prev.is_none(), "one row per instrument");
        }
        if history >= 1 << 16 {
            assert_eq!(got, want, "seed {seed}");
            for (tenant, inst) in want.keys() {
                let t = live[rng.below(live.len() as u64) as usize].interval_start_ms
                    + rng.below(2 * H as u64) as i64
                    - H;
                assert_eq!(
                    book.at(tenant, inst, t),
                    scratch_at(&live, tenant, inst, t),
                    "seed {seed}"
                );
            }
        } else {
            // Bounded: every row shown is right (rows may go missing only when retractions
            // without replacement empty an instrument's history).
            for (k, r) in &got {
                assert_eq!(Some(r), want.get(k), "seed {seed}");
            }
        }
    }
}

#[test]
fn oracle_unbounded_history_is_exact() {
    for seed in 1..200 {
        oracle_round(seed * 0x2545_F491 + 1, 1 << 20);
    }
}

#[test]
fn oracle_bounded_history_never_shows_a_wrong_row() {
    for seed in 1..200 {
        oracle_round(seed * 0x2545_F491 + 5, 1 + (seed as usize % 4));
    }
}

#[test]
fn rows_update_the_book_exactly_as_their_ticks() {
    // Two books, one fed ticks and one fed the ticks' rows, agree at every drain and `at`.
    for seed in 1..50u64 {
        let mut rng = Rng(seed * 0x9E37_79B9 + 3);
        let (mut by_tick, mut by_row) = (LatestBook::new(8), LatestBook::new(8));
        let (mut live, mut line) = (Vec::new(), 0u32);
        for batch in 0..10 {
            for (t, d) in random_step(&mut rng, &mut live, &mut line, Some(batch)) {
                by_tick.update(&t, d);
                by_row.update_row(&LatestPrice::of(&t), d);
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            by_tick.drain(&mut a);
            by_row.drain(&mut b);
            assert_eq!(a, b, "seed {seed}");
            for t in &live {
                let at = t.interval_start_ms;
                assert_eq!(
                    by_tick.at(&t.tenant_id, &t.instrument_id, at),
                    by_row.at(&t.tenant_id, &t.instrument_id, at)
                );
            }
        }
        assert_eq!(by_tick.stats, by_row.stats);
    }
}
