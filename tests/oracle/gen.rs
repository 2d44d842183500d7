//! The seeded stream generator: a simple-CSV file (SPEC §2.3) with mostly increasing times,
//! jitter (out of order), duplicates, corrections, stale arrivals, ticks far behind (too late)
//! and a feed key that appears only late in the file.

/// xorshift64* — small, seedable, no extra crates.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `pct` percent.
    pub fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// One data row as written.
#[derive(Clone, Debug)]
pub struct Row {
    pub ts_ms: i64,
    /// `Some("PJM")` or none (market `OTHER`, instrument = node).
    pub market: Option<&'static str>,
    pub run: &'static str,
    pub node: &'static str,
    /// Price in cents (written with two decimals).
    pub cents: i64,
    /// Volume in tenths, if any.
    pub volume_tenths: Option<i64>,
    pub revision: u64,
}

impl Row {
    pub fn line(&self) -> String {
        let price = fmt_fixed(self.cents, 100);
        let volume = self
            .volume_tenths
            .map(|v| fmt_fixed(v, 10))
            .unwrap_or_default();
        format!(
            "{},{},{},{},{price},{volume},{}\n",
            self.ts_ms,
            self.market.unwrap_or(""),
            self.run,
            self.node,
            self.revision
        )
    }
}

/// `v / scale` as a decimal string (`scale` 10 or 100).
pub fn fmt_fixed(v: i64, scale: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let s = scale.unsigned_abs();
    let width = if scale == 100 { 2 } else { 1 };
    format!("{sign}{}.{:0width$}", a / s, a % s)
}

pub const HEADER: &str = "ts_ms,market,run,node,price,volume,revision\n";

/// Instruments of the main stream: (market, run, node).
const MAIN: [(Option<&str>, &str, &str); 5] = [
    (Some("PJM"), "RT", "ORC_N1"),
    (Some("PJM"), "RT", "ORC_N2"),
    (Some("PJM"), "RT", "ORC_N3"),
    (None, "", "ORC_X1"),
    (None, "", "ORC_X2"),
];

/// The key that appears only after 60 % of the rows (PJM, run RT5), lagging behind.
const LATE_KEY: (Option<&str>, &str, &str) = (Some("PJM"), "RT5", "ORC_N1");

/// Generates `n` rows from `start_ms`.
pub fn rows(rng: &mut Rng, n: usize, start_ms: i64) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::with_capacity(n);
    let mut clock = start_ms;
    let mut late_clock = start_ms;
    for i in 0..n {
        clock += rng.below(40_000) as i64;
        let fresh =
            |rng: &mut Rng, inst: (Option<&'static str>, &'static str, &'static str), ts| Row {
                ts_ms: ts,
                market: inst.0,
                run: inst.1,
                node: inst.2,
                cents: rng.below(17_000) as i64 - 2_000,
                volume_tenths: rng.pct(70).then(|| 1 + rng.below(100) as i64),
                revision: 0,
            };
        let roll = rng.below(100);
        let row = if out.is_empty() || roll < 62 {
            // A new tick, jittered behind the clock; whole seconds mostly, ms sometimes.
            let mut ts = clock - rng.below(20) as i64 * 1_000;
            if rng.pct(10) {
                ts += rng.below(1_000) as i64;
            }
            let inst = *rng.pick(&MAIN);
            fresh(rng, inst, ts)
        } else if roll < 72 {
            // A duplicate: a previous line again.
            recent(rng, &out).clone()
        } else if roll < 82 {
            // A correction: higher revision (or the same, later in the file), another price.
            let mut r = recent(rng, &out).clone();
            r.revision += rng.below(3);
            r.cents += 1 + rng.below(500) as i64;
            r
        } else if roll < 87 {
            // A stale arrival: a lower revision with another price (or a plain repeat at 0).
            let mut r = recent(rng, &out).clone();
            r.revision = r.revision.saturating_sub(1 + rng.below(2));
            r.cents -= 1 + rng.below(300) as i64;
            r
        } else if roll < 93 {
            // Far behind: minutes to hours back, often too late.
            let back = 60_000 + rng.below(3 * 3_600_000) as i64;
            let inst = *rng.pick(&MAIN);
            fresh(rng, inst, clock - back)
        } else if i * 10 >= n * 6 {
            // The late-appearing key, trailing the clock by up to half an hour.
            late_clock = late_clock.max(clock - 1_800_000) + rng.below(30_000) as i64;
            fresh(rng, LATE_KEY, late_clock.min(clock))
        } else {
            let inst = *rng.pick(&MAIN);
            fresh(rng, inst, clock)
        };
        out.push(row);
    }
    out
}

/// A previous row, mostly a recent one.
fn recent<'a>(rng: &mut Rng, rows: &'a [Row]) -> &'a Row {
    let span = if rng.pct(80) { 30 } else { rows.len() } as u64;
    let back = rng.below(span.min(rows.len() as u64)) as usize;
    &rows[rows.len() - 1 - back]
}

/// The file bytes and, per row, the byte offset of its first byte.
pub fn render(rows: &[Row]) -> (Vec<u8>, Vec<u64>) {
    let mut bytes = HEADER.as_bytes().to_vec();
    let mut offsets = Vec::with_capacity(rows.len());
    for r in rows {
        offsets.push(bytes.len() as u64);
        bytes.extend_from_slice(r.line().as_bytes());
    }
    (bytes, offsets)
}
