//! Test-only helpers: a tick builder and a seeded random generator for oracle tests.

use crate::model::{Market, QualityFlags, SourcePos, Sym, Tick};
use std::sync::Arc;

/// A tick of `instrument` (PJM market, tenant `default`) over `[start, end)` at `price`.
pub(crate) fn tick(instrument: &str, start: i64, end: i64, price: f64) -> Tick {
    let s = |x: &str| -> Sym { Arc::from(x) };
    Tick {
        tenant_id: s("default"),
        instrument_id: s(instrument),
        market: Market::Pjm,
        node: s("N"),
        market_run: s("RT"),
        interval_start_ms: start,
        interval_end_ms: end,
        price,
        volume: None,
        extras: Default::default(),
        trade_id: None,
        revision: 0,
        version: 1,
        flags: QualityFlags(1),
        source_system: s("test"),
        source: SourcePos {
            feed: 0,
            offset: 0,
            line: 1,
            elem: 0,
        },
        ingested_at_ms: 0,
        enrichment: None,
        horizon: Default::default(),
        slot: Default::default(),
    }
}

/// A xorshift64 generator: deterministic streams from a seed.
pub(crate) struct Rng(pub u64);

impl Rng {
    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// True with probability `1/n`.
    pub(crate) fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// Shuffles a slice in place.
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// Applies a differential update to a live multiset, asserting that retractions match.
pub(crate) fn apply_diff<T: PartialEq + std::fmt::Debug>(live: &mut Vec<T>, item: T, diff: i64) {
    if diff > 0 {
        live.push(item);
    } else {
        let i = live
            .iter()
            .position(|x| *x == item)
            .unwrap_or_else(|| panic!("retraction of a value never emitted: {item:?}"));
        live.swap_remove(i);
    }
}

const M: i64 = 60_000;
const H: i64 = 3_600_000;

const INSTRUMENTS: [(&str, Market); 3] = [
    ("PJM.RT.A", Market::Pjm),
    ("MISO.RT.B", Market::Miso),
    ("X.C", Market::Other),
];

/// A random tick around the 2024-11-03 fall-back day (so `1d` windows have 24 and 25 hours):
/// in the hours `[hour − 4, hour + 1]` after 2024-11-02T18:00Z when `hour` is given (a stream
/// that advances out of order), anywhere in 36 hours otherwise.
pub(crate) fn random_tick(rng: &mut Rng, line: &mut u32, hour: Option<i64>) -> Tick {
    let base = 1_730_592_000_000 - 6 * H; // 2024-11-02T18:00:00Z
    let (name, market) = INSTRUMENTS[rng.below(3) as usize];
    let h = match hour {
        Some(h) => (h - 4 + rng.below(6) as i64).max(0),
        None => rng.below(36) as i64,
    };
    let start = base + h * H;
    let (s, e) = match rng.below(4) {
        0 => {
            let s = start + rng.below(12) as i64 * 5 * M;
            (s, s + 5 * M)
        }
        1 => (start, start + H),
        2 => {
            let s = start + rng.below(H as u64) as i64;
            (s, s)
        }
        _ => {
            let s = start + rng.below(60) as i64 * M;
            (s, s + 7 * M)
        }
    };
    let mut t = tick(name, s, e, (rng.below(20_000) as f64 - 5_000.0) / 100.0);
    t.market = market;
    if rng.one_in(6) {
        t.tenant_id = Arc::from("t2");
    }
    if rng.one_in(2) {
        t.volume = Some(rng.below(1_000) as f64 / 10.0);
    }
    if rng.one_in(5) {
        t.trade_id = Some(Arc::from(format!("T{}", rng.below(3)).as_str()));
    }
    *line += 1;
    t.source.line = *line;
    t
}

/// One random differential step (ticks as [`random_tick`]), dedupe-like (corrections and duplicates as −1/+1 pairs) plus
/// pure retractions, repeated insertions and retractions of ticks never inserted.
pub(crate) fn random_step(
    rng: &mut Rng,
    live: &mut Vec<Tick>,
    line: &mut u32,
    hour: Option<i64>,
) -> Vec<(Tick, i64)> {
    let pick = |rng: &mut Rng, live: &Vec<Tick>| rng.below(live.len() as u64) as usize;
    match rng.below(20) {
        0..=10 => {
            let t = random_tick(rng, line, hour);
            live.push(t.clone());
            vec![(t, 1)]
        }
        11..=14 if !live.is_empty() => {
            let i = pick(rng, live);
            let old = live[i].clone();
            let mut new = old.clone();
            new.version += 1;
            if rng.one_in(3) {
                new.volume = None;
            }
            if rng.below(4) > 0 {
                new.price = (rng.below(20_000) as f64 - 5_000.0) / 100.0;
                *line += 1;
                new.source.line = *line;
            }
            live[i] = new.clone();
            vec![(old, -1), (new, 1)]
        }
        15 | 16 if !live.is_empty() => {
            let i = pick(rng, live);
            vec![(live.swap_remove(i), -1)]
        }
        17 if !live.is_empty() => {
            let t = live[pick(rng, live)].clone();
            live.push(t.clone());
            vec![(t, 1)]
        }
        _ => vec![(random_tick(rng, line, hour), -1)], // never inserted: ignored everywhere
    }
}

/// One arrival of a seeded stream over instruments A, B and C: one in three is another arrival of
/// an identity in `seen` (a duplicate, a stale arrival or a correction: new price two times in
/// three, revision 0–2), the others a new identity starting up to ten minutes before `clock_ms`,
/// of a width from `widths_ms`, with a volume two times in three and a trade id one in four
/// (pushed to `seen`).
pub(crate) fn arrival(
    rng: &mut Rng,
    seen: &mut Vec<Tick>,
    clock_ms: i64,
    widths_ms: &[i64],
) -> Tick {
    if !seen.is_empty() && rng.one_in(3) {
        let mut t = seen[rng.below(seen.len() as u64) as usize].clone();
        if !rng.one_in(3) {
            t.price = rng.below(1000) as f64 / 8.0;
        }
        t.revision = rng.below(3);
        return t;
    }
    let start = clock_ms - rng.below(600_000) as i64;
    let end = start + widths_ms[rng.below(widths_ms.len() as u64) as usize];
    let name = ["A", "B", "C"][rng.below(3) as usize];
    let mut t = tick(name, start, end, rng.below(1000) as f64 / 8.0);
    t.volume = (!rng.one_in(3)).then(|| rng.below(50) as f64 / 4.0);
    if rng.one_in(4) {
        t.trade_id = Some(["x", "y"][rng.below(2) as usize].into());
    }
    seen.push(t.clone());
    t
}
