//! Oracle tests of [`BarBook`] (in the style of differential's `tests/reduce_oracle.rs`): seeded
//! random differential tick streams, cut into random batches; after every batch the bars built
//! from the emitted updates equal bars recomputed from scratch over the ticks each window holds.

use super::*;
use crate::model::{Bar, Market, Sym, Tick};
use crate::testkit::{apply_diff, random_step, Rng};
use std::collections::BTreeMap;

const M: i64 = 60_000;
const H: i64 = 3_600_000;

/// A bar recomputed from scratch over `ticks` (the definitions of `ohlc`, written plainly).
pub(crate) fn scratch_bar(
    ticks: &[&Tick],
    window: (EpochMs, EpochMs),
    tenant: &Sym,
    instrument: &Sym,
    interval: BarInterval,
    is_final: bool,
) -> Option<Bar> {
    let mut v: Vec<&Tick> = ticks.to_vec();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| {
        let k = |t: &Tick| {
            (
                t.interval_start_ms,
                t.interval_end_ms,
                t.trade_id.clone(),
                t.source,
            )
        };
        k(a).cmp(&k(b)).then(a.price.total_cmp(&b.price)).then(
            (a.volume.map(f64::to_bits), a.version).cmp(&(b.volume.map(f64::to_bits), b.version)),
        )
    });
    let fx = |x: f64| (x * 1e6).round() as i64 as i128;
    let vols: Vec<(i128, i128)> = v
        .iter()
        .filter_map(|t| t.volume.map(|vol| (fx(t.price), fx(vol))))
        .collect();
    let sum_v: i128 = vols.iter().map(|x| x.1).sum();
    let sum_pv: i128 = vols.iter().map(|x| x.0 * x.1).sum();
    let weights: Vec<(i128, i128)> = v
        .iter()
        .map(|t| {
            let w = t.interval_end_ms.min(window.1) - t.interval_start_ms.max(window.0);
            (fx(t.price), i128::from(w.max(0)))
        })
        .collect();
    let sum_w: i128 = weights.iter().map(|x| x.1).sum();
    let twap = if sum_w > 0 {
        weights.iter().map(|x| x.0 * x.1).sum::<i128>() as f64 / sum_w as f64 / 1e6
    } else {
        weights.iter().map(|x| x.0).sum::<i128>() as f64 / v.len() as f64 / 1e6
    };
    let prices = || v.iter().map(|t| t.price);
    Some(Bar {
        tenant_id: tenant.clone(),
        instrument_id: instrument.clone(),
        interval,
        window_start_ms: window.0,
        window_end_ms: window.1,
        open: v.first()?.price,
        high: prices().max_by(f64::total_cmp)?,
        low: prices().min_by(f64::total_cmp)?,
        close: v.last()?.price,
        volume: (!vols.is_empty()).then(|| sum_v as f64 / 1e6),
        vwap: (!vols.is_empty() && sum_v != 0).then(|| sum_pv as f64 / sum_v as f64 / 1e6),
        twap,
        trade_count: v.len() as u64,
        first_at_ms: v.iter().map(|t| t.interval_start_ms).min()?,
        last_at_ms: v.iter().map(|t| t.interval_start_ms).max()?,
        revision: v.iter().map(|t| t.version).sum(),
        is_final,
    })
}

type WinKey = (Sym, Sym, BarInterval, EpochMs);

/// The oracle: per window the multiset of ticks it accepted while open, and whether it closed.
#[derive(Default)]
struct Oracle {
    windows: BTreeMap<WinKey, (EpochMs, Vec<Tick>, bool)>,
    closed: BTreeMap<Market, EpochMs>,
}

impl Oracle {
    fn update(&mut self, intervals: &[BarInterval], t: &Tick, diff: i64, h: EpochMs) {
        let h = h.max(self.closed.get(&t.market).copied().unwrap_or(EpochMs::MIN));
        for &iv in intervals {
            let (s, e) = window_of(iv, t.market, t.interval_start_ms);
            if e <= h {
                continue;
            }
            let key = (t.tenant_id.clone(), t.instrument_id.clone(), iv, s);
            let w = self.windows.entry(key).or_insert((e, Vec::new(), false));
            assert!(!w.2, "an open window was closed in the oracle");
            if diff > 0 {
                w.1.push(t.clone());
            } else if let Some(p) =
                w.1.iter()
                    .position(|x| x == t && x.price.to_bits() == t.price.to_bits())
            {
                w.1.swap_remove(p);
            }
        }
    }

    fn close(&mut self, horizon: EpochMs) {
        for m in Market::ALL {
            let c = self.closed.entry(m).or_insert(EpochMs::MIN);
            *c = (*c).max(horizon);
        }
        for w in self.windows.values_mut() {
            w.2 |= w.0 <= horizon;
        }
    }

    fn bars(&self) -> Vec<Bar> {
        self.windows
            .iter()
            .filter_map(|((tenant, inst, iv, s), (e, ticks, fin))| {
                let refs: Vec<&Tick> = ticks.iter().collect();
                scratch_bar(&refs, (*s, *e), tenant, inst, *iv, *fin)
            })
            .collect()
    }

    fn open_count(&self, iv: BarInterval) -> usize {
        self.windows
            .iter()
            .filter(|(k, w)| k.2 == iv && !w.2 && !w.1.is_empty())
            .count()
    }
}

fn sorted(mut v: Vec<Bar>) -> Vec<Bar> {
    v.sort_by(|a, b| (a.sort_key(), a.is_final).cmp(&(b.sort_key(), b.is_final)));
    v
}

/// Runs one seeded round; `closing` advances a watermark, judges lateness and closes windows.
fn oracle_round(seed: u64, closing: bool) -> (BarStats, u64) {
    let mut rng = Rng(seed);
    let mut intervals: Vec<BarInterval> = BarInterval::ALL
        .into_iter()
        .filter(|_| rng.below(3) > 0)
        .collect();
    if intervals.is_empty() {
        intervals.push(BarInterval::D1);
    }
    let lateness = [0, 5 * M, H][rng.below(3) as usize];
    let mut book = BarBook::new(&intervals);
    let mut oracle = Oracle::default();
    let (mut live_ticks, mut line) = (Vec::new(), 0u32);
    let mut emitted: Vec<Bar> = Vec::new();
    let (mut out, mut max_seen, mut horizon) = (Vec::new(), EpochMs::MIN, EpochMs::MIN);
    let mut late = 0;
    for batch in 0..(5 + rng.below(25)) {
        // Closing rounds advance through the day; the others scatter ticks over 36 hours.
        let hour = closing.then_some(batch as i64 * 36 / 30);
        for _ in 0..(1 + rng.below(30)) {
            for (t, d) in random_step(&mut rng, &mut live_ticks, &mut line, hour) {
                max_seen = max_seen.max(t.interval_start_ms);
                let too_late = book.is_too_late(&t, horizon);
                let n = book.update(&t, d, horizon);
                assert_eq!(too_late, n == 0, "is_too_late agrees with update");
                late += u64::from(too_late);
                oracle.update(&intervals, &t, d, horizon);
            }
        }
        book.drain(&mut out);
        if closing && rng.one_in(2) {
            // The global watermark trails the feed's; close with it.
            let global = max_seen - rng.below(4) as i64 * H;
            book.close_until(global, lateness, &mut out);
            oracle.close(global.saturating_sub(lateness));
        }
        for (b, d) in out.drain(..) {
            apply_diff(&mut emitted, b, d);
        }
        assert_eq!(
            sorted(emitted.clone()),
            sorted(oracle.bars()),
            "seed {seed}"
        );
        for iv in BarInterval::ALL {
            assert_eq!(
                book.open_windows(iv),
                oracle.open_count(iv),
                "seed {seed} {iv}"
            );
        }
        if !closing {
            // Every live tick is held exactly once, whatever the number of intervals.
            assert_eq!(book.held_ticks(), live_ticks.len(), "seed {seed}");
        }
        if closing {
            horizon = horizon.max(max_seen - rng.below(3) as i64 * H - lateness);
        }
    }
    // End of input: everything final, nothing left open.
    book.close_all(&mut out);
    oracle.close(EpochMs::MAX);
    for (b, d) in out.drain(..) {
        apply_diff(&mut emitted, b, d);
    }
    assert!(emitted.iter().all(|b| b.is_final));
    assert_eq!(sorted(emitted), sorted(oracle.bars()), "seed {seed}");
    assert!(BarInterval::ALL
        .iter()
        .all(|iv| book.open_windows(*iv) == 0));
    assert_eq!(book.snapshot(), vec![]);
    assert_eq!(book.held_ticks(), 0);
    (book.stats, late)
}

/// Sums the counters of many rounds, to show that every path was exercised.
fn rounds(seeds: impl Iterator<Item = u64>, closing: bool) -> (BarStats, u64) {
    let mut total = (BarStats::default(), 0);
    for seed in seeds {
        let (s, late) = oracle_round(seed, closing);
        total.0.updates += s.updates;
        total.0.skipped_closed += s.skipped_closed;
        total.0.unmatched_retractions += s.unmatched_retractions;
        total.0.opened += s.opened;
        total.0.finalized += s.finalized;
        total.1 += late;
    }
    total
}

#[test]
fn oracle_without_lateness() {
    let (s, late) = rounds((1..150).map(|k| k * 0x9E37_79B9), false);
    assert!(s.updates > 10_000 && s.unmatched_retractions > 100, "{s:?}");
    assert_eq!((s.skipped_closed, late), (0, 0));
}

#[test]
fn oracle_with_watermarks_lateness_and_closing() {
    let (s, late) = rounds((1..150).map(|k| k * 0x5851_F42D + 11), true);
    assert!(s.skipped_closed > 1_000 && late > 100, "{s:?} late {late}");
    assert!(s.finalized > 1_000 && s.opened > s.finalized / 2, "{s:?}");
}
