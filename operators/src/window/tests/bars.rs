use super::*;
use crate::model::render::parse_rfc3339_ms;
use crate::testkit::tick;

const M: i64 = 60_000;
const H: i64 = 3_600_000;

fn ms(s: &str) -> EpochMs {
    parse_rfc3339_ms(s).unwrap()
}

fn summary(out: &mut Vec<(Bar, i64)>) -> Vec<(String, f64, bool, i64)> {
    out.drain(..)
        .map(|(b, d)| {
            (
                format!(
                    "{}@{}",
                    b.interval,
                    crate::model::render::time(b.window_start_ms)
                ),
                b.close,
                b.is_final,
                d,
            )
        })
        .collect()
}

fn s(x: &str) -> String {
    x.to_string()
}

#[test]
fn drains_emit_provisional_changes_and_close_finalizes_exactly_at_the_boundary() {
    let mut book = BarBook::new(&[BarInterval::H1, BarInterval::M5]);
    assert_eq!(book.intervals(), &[BarInterval::M5, BarInterval::H1]);
    let t0 = ms("2024-07-01T12:00:00Z");
    let a = tick("I", t0 + 2 * M, t0 + 7 * M, 10.0);
    let b = tick("I", t0 + 6 * M, t0 + 11 * M, 12.0);
    assert_eq!(book.update(&a, 1, EpochMs::MIN), 2);
    let mut out = Vec::new();
    book.drain(&mut out);
    assert_eq!(
        summary(&mut out),
        vec![
            (s("5m@2024-07-01T12:00:00Z"), 10.0, false, 1),
            (s("1h@2024-07-01T12:00:00Z"), 10.0, false, 1),
        ]
    );
    book.update(&b, 1, EpochMs::MIN);
    book.drain(&mut out);
    assert_eq!(
        summary(&mut out),
        vec![
            (s("5m@2024-07-01T12:05:00Z"), 12.0, false, 1),
            (s("1h@2024-07-01T12:00:00Z"), 10.0, false, -1),
            (s("1h@2024-07-01T12:00:00Z"), 12.0, false, 1),
        ]
    );
    assert_eq!(
        (
            book.open_windows(BarInterval::M5),
            book.open_windows(BarInterval::H1)
        ),
        (2, 1)
    );
    // The first 5m window ends at 12:05; with 5 min of lateness it closes at frontier 12:10.
    book.close_until(t0 + 10 * M - 1, 5 * M, &mut out);
    assert!(out.is_empty());
    book.close_until(t0 + 10 * M, 5 * M, &mut out);
    assert_eq!(
        summary(&mut out),
        vec![
            (s("5m@2024-07-01T12:00:00Z"), 10.0, false, -1),
            (s("5m@2024-07-01T12:00:00Z"), 10.0, true, 1),
        ]
    );
    assert_eq!(book.open_windows(BarInterval::M5), 1);
    // A correction of `a` now reaches only the 1h window; the final 5m bar never reopens,
    // even when the caller's horizon would allow it.
    let mut a2 = a.clone();
    a2.price = 20.0;
    a2.version = 2;
    assert!(!book.is_too_late(&a2, EpochMs::MIN));
    book.update(&a, -1, EpochMs::MIN);
    book.update(&a2, 1, EpochMs::MIN);
    book.drain(&mut out);
    let changes = summary(&mut out);
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1], (s("1h@2024-07-01T12:00:00Z"), 12.0, false, 1));
    assert_eq!(book.stats.skipped_closed, 2);
    book.close_all(&mut out);
    let closed: Vec<_> = out
        .iter()
        .map(|(b, d)| (b.interval, b.is_final, *d))
        .collect();
    assert_eq!(
        closed,
        vec![
            (BarInterval::M5, false, -1),
            (BarInterval::M5, true, 1),
            (BarInterval::H1, false, -1),
            (BarInterval::H1, true, 1),
        ]
    );
    let hour = &out[3].0;
    assert_eq!((hour.high, hour.revision, hour.trade_count), (20.0, 3, 2));
    assert_eq!(book.stats.finalized, 3);
    assert!(book.snapshot().is_empty());
}

#[test]
fn lateness_is_judged_per_window_with_the_horizon() {
    let mut book = BarBook::new(&BarInterval::DEFAULT).with_provisional(false);
    let t = tick(
        "I",
        ms("2024-07-01T12:02:00Z"),
        ms("2024-07-01T12:03:00Z"),
        5.0,
    );
    // Horizon at the 5m window's end: only 1h and 1d are open for the tick.
    assert!(!book.is_too_late(&t, ms("2024-07-01T12:05:00Z")));
    assert_eq!(book.update(&t, 1, ms("2024-07-01T12:05:00Z")), 2);
    assert_eq!(book.update(&t, 1, ms("2024-07-01T12:04:59.999Z")), 3);
    // The 1d window (New York) ends at 2024-07-02T04:00Z.
    let end_of_day = ms("2024-07-02T04:00:00Z");
    assert!(!book.is_too_late(&t, end_of_day - 1));
    assert!(book.is_too_late(&t, end_of_day));
    assert_eq!(book.update(&t, 1, end_of_day), 0);
    let mut out = Vec::new();
    book.drain(&mut out);
    assert!(out.is_empty(), "no provisional output");
    assert_eq!(book.snapshot().len(), 3);
    // Per-market lateness: PJM keeps 1 day, everything else none.
    let lateness = |m: Market| if m == Market::Pjm { 24 * H } else { 0 };
    book.close_until_with(end_of_day + H, lateness, &mut out);
    assert!(out.is_empty());
    book.close_until_with(end_of_day + 24 * H, lateness, &mut out);
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|(b, d)| b.is_final && *d == 1));
    assert_eq!(
        out.iter()
            .find(|(b, _)| b.interval == BarInterval::M5)
            .map(|(b, _)| b.trade_count),
        Some(1)
    );
    assert_eq!(
        out.iter()
            .find(|(b, _)| b.interval == BarInterval::H1)
            .map(|(b, _)| b.trade_count),
        Some(2)
    );
    // Finalized: the tick is now too late for every window, whatever the caller's horizon.
    assert!(book.is_too_late(&t, EpochMs::MIN));
    assert_eq!(book.update(&t, 1, EpochMs::MIN), 0);
}

#[test]
fn fully_retracted_bars_are_released() {
    let mut book = BarBook::new(&[BarInterval::M1]);
    let t = tick("I", 0, M, 1.0);
    book.update(&t, 1, EpochMs::MIN);
    let mut out = Vec::new();
    book.drain(&mut out);
    book.update(&t, -1, EpochMs::MIN);
    book.update(&tick("J", 0, M, 1.0), -1, EpochMs::MIN);
    book.drain(&mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].1, -1);
    assert_eq!(book.open_windows(BarInterval::M1), 0);
    assert_eq!(book.stats.unmatched_retractions, 1);
    book.close_all(&mut out);
    assert_eq!(out.len(), 2);
    assert!(BarBook::new(&[]).update(&t, 1, EpochMs::MIN) == 0);
    assert!(!BarBook::new(&[]).is_too_late(&t, EpochMs::MAX));
}

/// Without provisional output bars are *lazy* (counted per tick, rebuilt from the pool at
/// close): their final bars must equal the eager book's, update for update, under random
/// streams with out-of-order ticks, volumes, retractions (of extremes too), horizons that skip
/// windows, drains and closes at random points. The lazy bars are recomputed from scratch at
/// close, so this also checks the eager book's rescans after retractions (full, and of open and
/// close only).
#[test]
fn lazy_final_bars_equal_eager_ones() {
    use crate::testkit::Rng;
    let intervals = [
        BarInterval::M1,
        BarInterval::M5,
        BarInterval::H1,
        BarInterval::D1,
    ];
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut eager = BarBook::new(&intervals);
        let mut lazy = BarBook::new(&intervals).with_provisional(false);
        let (mut out_e, mut out_l) = (Vec::new(), Vec::new());
        let mut live: Vec<Tick> = Vec::new();
        let mut clock = 0i64;
        let mut frontier = EpochMs::MIN;
        for step in 0..400 {
            clock += rng.below(20_000) as i64;
            if !live.is_empty() && rng.one_in(5) {
                let t = live.swap_remove(rng.below(live.len() as u64) as usize);
                let h = t.horizon.0;
                assert_eq!(eager.update(&t, -1, h), lazy.update(&t, -1, h));
            } else {
                let start = clock - rng.below(10 * M as u64) as i64;
                let end = start + [0, M, 5 * M][rng.below(3) as usize];
                let name = ["A", "B", "C"][rng.below(3) as usize];
                let mut t = tick(name, start, end, (rng.below(1000) as f64) / 8.0);
                t.volume = (!rng.one_in(3)).then(|| rng.below(50) as f64 / 4.0);
                t.source.offset = step;
                // A feed's horizon may be ahead of the book's closing (the global watermark): ticks
                // then skip windows the book still has open.
                let ahead = rng.below(40 * M as u64) as i64 - 10 * M;
                t.horizon = crate::model::Horizon(frontier.max(clock - H).saturating_add(ahead));
                let h = t.horizon.0;
                let n = eager.update(&t, 1, h);
                assert_eq!(n, lazy.update(&t, 1, h));
                if n > 0 {
                    live.push(t);
                }
            }
            if rng.one_in(7) {
                eager.drain(&mut out_e);
                lazy.drain(&mut out_l);
                assert!(out_l.is_empty(), "lazy drains emit nothing");
                out_e.clear();
                for iv in intervals {
                    // Bars whose ticks were all retracted are released alike.
                    assert_eq!(eager.open_windows(iv), lazy.open_windows(iv));
                }
            }
            if rng.one_in(11) {
                frontier = clock - rng.below(30 * M as u64) as i64;
                eager.drain(&mut out_e);
                out_e.clear();
                lazy.drain(&mut out_l);
                eager.close_until(frontier, M, &mut out_e);
                lazy.close_until(frontier, M, &mut out_l);
                out_e.retain(|(b, _)| b.is_final);
                assert_eq!(out_e, out_l, "seed {seed} step {step}");
                out_e.clear();
                out_l.clear();
            }
        }
        eager.drain(&mut out_e);
        out_e.clear();
        lazy.drain(&mut out_l);
        eager.close_all(&mut out_e);
        lazy.close_all(&mut out_l);
        out_e.retain(|(b, _)| b.is_final);
        assert_eq!(out_e, out_l, "seed {seed} at the end");
        assert!(!out_l.is_empty());
    }
}
