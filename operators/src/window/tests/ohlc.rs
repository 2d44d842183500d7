use super::*;
use crate::testkit::{tick, Rng};
use crate::window::tests::scratch_bar;
use std::sync::Arc;

const H: i64 = 3_600_000;
const M: i64 = 60_000;

fn sym(s: &str) -> Sym {
    Arc::from(s)
}

fn bar_of(acc: &BarAcc) -> Option<Bar> {
    acc.bar(&sym("default"), &sym("I"), BarInterval::H1, false)
}

fn scratch(ticks: &[Tick], window: (EpochMs, EpochMs)) -> Option<Bar> {
    let refs: Vec<&Tick> = ticks.iter().collect();
    scratch_bar(
        &refs,
        window,
        &sym("default"),
        &sym("I"),
        BarInterval::H1,
        false,
    )
}

fn acc_of(ticks: &[Tick], window: (EpochMs, EpochMs)) -> BarAcc {
    let mut acc = BarAcc::new(window.0, window.1);
    for t in ticks {
        acc.insert(t);
    }
    acc
}

#[test]
fn one_tick_bar() {
    let mut t = tick("I", 5 * M, 10 * M, 41.25);
    t.version = 3;
    let acc = acc_of(std::slice::from_ref(&t), (0, H));
    let b = bar_of(&acc).unwrap();
    assert_eq!(
        (b.open, b.high, b.low, b.close, b.twap),
        (41.25, 41.25, 41.25, 41.25, 41.25)
    );
    assert_eq!(
        (b.volume, b.vwap, b.trade_count, b.revision),
        (None, None, 1, 3)
    );
    assert_eq!((b.first_at_ms, b.last_at_ms), (5 * M, 5 * M));
    assert_eq!(
        (b.window_start_ms, b.window_end_ms, b.is_final),
        (0, H, false)
    );
    assert!(bar_of(&BarAcc::new(0, H)).is_none());
}

#[test]
fn open_and_close_follow_event_order_not_arrival() {
    let mut ticks = vec![
        tick("I", 10 * M, 15 * M, 3.0),
        tick("I", 0, 5 * M, 1.0),
        tick("I", 0, 10 * M, 2.0), // same start, later end: after the first
        tick("I", 20 * M, 20 * M, 5.0),
        tick("I", 20 * M, 20 * M, 6.0),
    ];
    ticks[4].trade_id = Some(sym("T1")); // a trade id sorts after none
    let mut late_source = tick("I", 20 * M, 20 * M, 7.0);
    late_source.trade_id = Some(sym("T1"));
    late_source.source.line = 99;
    ticks.push(late_source);
    let mut rng = Rng(7);
    for _ in 0..20 {
        rng.shuffle(&mut ticks);
        let b = bar_of(&acc_of(&ticks, (0, H))).unwrap();
        assert_eq!((b.open, b.close, b.high, b.low), (1.0, 7.0, 7.0, 1.0));
        assert_eq!((b.first_at_ms, b.last_at_ms, b.trade_count), (0, 20 * M, 6));
    }
}

#[test]
fn volume_and_vwap() {
    let mut a = tick("I", 0, 5 * M, 10.0);
    let mut b = tick("I", 5 * M, 10 * M, 20.0);
    let c = tick("I", 10 * M, 15 * M, 1000.0); // no volume: not in vwap
    a.volume = Some(1.0);
    b.volume = Some(3.0);
    let bar = bar_of(&acc_of(&[a.clone(), b.clone(), c.clone()], (0, H))).unwrap();
    assert_eq!((bar.volume, bar.vwap), (Some(4.0), Some(17.5)));
    a.volume = Some(0.0);
    b.volume = Some(0.0);
    let bar = bar_of(&acc_of(&[a, b, c.clone()], (0, H))).unwrap();
    assert_eq!((bar.volume, bar.vwap), (Some(0.0), None));
    let bar = bar_of(&acc_of(&[c], (0, H))).unwrap();
    assert_eq!((bar.volume, bar.vwap), (None, None));
}

#[test]
fn twap_weights_by_overlap_with_the_window() {
    // A 1d-like window of 4 hours: hourly prices 10, 20 and a tick crossing the end by 30 min.
    let w = (0, 4 * H);
    let ticks = [
        tick("I", 0, H, 10.0),
        tick("I", H, 2 * H, 20.0),
        tick("I", 3 * H + 30 * M, 4 * H + 30 * M, 40.0),
    ];
    let b = bar_of(&acc_of(&ticks, w)).unwrap();
    // (10·60 + 20·60 + 40·30) / 150 = 20
    assert_eq!(b.twap, 20.0);
    // Point ticks are averaged equally when the bar holds nothing else …
    let points = [
        tick("I", 0, 0, 1.0),
        tick("I", M, M, 2.0),
        tick("I", 2 * M, 2 * M, 6.0),
    ];
    assert_eq!(bar_of(&acc_of(&points, w)).unwrap().twap, 3.0);
    // … and carry no TWAP weight next to interval ticks (they still count elsewhere).
    let mut mixed = points.to_vec();
    mixed.push(tick("I", 3 * M, 8 * M, 100.0));
    let b = bar_of(&acc_of(&mixed, w)).unwrap();
    assert_eq!((b.twap, b.trade_count, b.high), (100.0, 4, 100.0));
}

#[test]
fn retracting_extremes_rescans_exactly() {
    let w = (0, H);
    let mut ticks: Vec<Tick> = (0..8)
        .map(|k| {
            let mut t = tick(
                "I",
                k * 5 * M,
                (k + 1) * 5 * M,
                [5.0, 9.0, -3.0, 9.0, 1.0, -3.0, 4.0, 2.0][k as usize],
            );
            t.volume = (k % 3 != 0).then_some(k as f64 * 0.1);
            t.version = k as u64 + 1;
            t
        })
        .collect();
    let mut acc = acc_of(&ticks, w);
    let mut rng = Rng(99);
    while !ticks.is_empty() {
        let i = rng.below(ticks.len() as u64) as usize;
        let t = ticks.swap_remove(i);
        assert!(acc.update(&t, -1));
        assert_eq!(bar_of(&acc), scratch(&ticks, w));
        assert_eq!(acc.len(), ticks.len());
    }
    assert!(acc.is_empty());
}

#[test]
fn retracting_an_absent_tick_changes_nothing() {
    let w = (0, H);
    let t = tick("I", 0, 5 * M, 10.0);
    let mut acc = acc_of(std::slice::from_ref(&t), w);
    let before = bar_of(&acc);
    let mut other = t.clone();
    other.version = 2; // a different emitted version is a different value
    assert!(!acc.update(&other, -1));
    assert!(!acc.update(&tick("I", 0, 5 * M, 11.0), -1));
    assert_eq!(bar_of(&acc), before);
    assert!(acc.update(&t, 2));
    assert_eq!(acc.len(), 3);
    assert!(acc.update(&t, -3));
    assert!(acc.is_empty());
    assert!(!acc.update(&t, -1));
    assert!(acc.update(&t, 0));
}

#[test]
fn fixed_point_sums_are_bit_identical_in_any_order() {
    let w = (0, H);
    let prices = [0.1, 0.2, 0.3, 1e-7, 123.456789, -0.7];
    let ticks: Vec<Tick> = prices
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let mut t = tick("I", k as i64 * 7 * M, k as i64 * 7 * M + 13 * M, *p);
            t.volume = Some(0.1 * (k as f64 + 1.0));
            t
        })
        .collect();
    let want = bar_of(&acc_of(&ticks, w)).unwrap();
    assert_eq!(Some(want.clone()), scratch(&ticks, w));
    let mut rng = Rng(3);
    for _ in 0..200 {
        let mut order = ticks.clone();
        rng.shuffle(&mut order);
        // Insert some extra ticks and retract them again on the way.
        let mut acc = BarAcc::new(w.0, w.1);
        for t in &order {
            let mut junk = t.clone();
            junk.price += 0.000_000_3;
            acc.insert(&junk);
            acc.insert(t);
            assert!(acc.retract(&junk));
        }
        let got = bar_of(&acc).unwrap();
        for (x, y) in [
            (got.twap, want.twap),
            (got.vwap.unwrap(), want.vwap.unwrap()),
            (got.volume.unwrap(), want.volume.unwrap()),
        ] {
            assert_eq!(x.to_bits(), y.to_bits());
        }
        assert_eq!(got, want);
    }
}

#[test]
fn fixed_point_rounding_matches_f64_round() {
    let mut rng = Rng(11);
    let mut xs = vec![
        0.0,
        -0.0,
        0.5e-6,
        -0.5e-6,
        1.5e-6,
        -2.5e-6,
        0.1,
        0.2,
        0.3,
        1e-7,
        -1e-7,
        123.4567895,
        -4.88685,
        9e12,
        -9e12,
        1e15,
        4_503_599_627.370_5,
        f64::MAX,
        f64::MIN,
        1e300,
    ];
    for _ in 0..100_000 {
        let m = (rng.below(2_000_000_000) as f64 - 1e9) / (1 + rng.below(1_000_000)) as f64;
        xs.push(m);
    }
    for x in xs {
        assert_eq!(super::fixed(x), (x * 1e6).round() as i64, "{x}");
    }
    assert_eq!(super::fixed(f64::NAN), 0);
}

#[test]
fn pool_entries_stay_compact() {
    // The bars' pool holds one entry per tick of the open windows (over an hour of ticks with
    // 1h bars): its size is part of the pipeline's memory per held tick (BENCHMARKS.md).
    assert!(std::mem::size_of::<crate::window::ohlc::Entry>() <= 96);
}
