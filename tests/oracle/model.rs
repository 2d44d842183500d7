//! The independent oracle, written from SPEC §3/§4 and the documented semantics (not from the
//! operator cores): batches of the feed in order; each tick judged against its feed key's
//! watermark (greatest event time of earlier batches − delay) and the "already final" horizon
//! from the global watermark; accepted arrivals update identity winners; each bar window holds,
//! per identity, the winner as of the last batch in which the window was open for it.

use crate::gen::Row;
use std::collections::BTreeMap;

pub const MIN: i64 = i64::MIN;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// Bar intervals, by duration (`None` = `1d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Iv {
    M1,
    M5,
    M15,
    H1,
    D1,
}

impl Iv {
    /// The window `[start, end)` containing `t` for a tick of market PJM (`pjm`) or OTHER.
    pub fn window(self, pjm: bool, t: i64) -> (i64, i64) {
        let d = match self {
            Iv::M1 => MINUTE,
            Iv::M5 => 5 * MINUTE,
            Iv::M15 => 15 * MINUTE,
            Iv::H1 => HOUR,
            Iv::D1 if pjm => return new_york_day(t),
            Iv::D1 => DAY,
        };
        let s = t.div_euclid(d) * d;
        (s, s + d)
    }
}

/// US Eastern DST (since 2007): from the second Sunday of March 07:00Z (2:00 EST) to the first
/// Sunday of November 06:00Z (2:00 EDT).
fn eastern_is_dst(t: i64) -> bool {
    let (y, _, _) = civil(t.div_euclid(DAY));
    let sunday_on_or_after = |m: u32, d: u32| {
        let day = days(y, m, d);
        day + (3 - day).rem_euclid(7) // 1970-01-04 (day 3) was a Sunday
    };
    let start = sunday_on_or_after(3, 8) * DAY + 7 * HOUR;
    let end = sunday_on_or_after(11, 1) * DAY + 6 * HOUR;
    (start..end).contains(&t)
}

/// The New York operating day `[local midnight, next local midnight)` containing `t`, in UTC.
fn new_york_day(t: i64) -> (i64, i64) {
    let offset = |t: i64| {
        if eastern_is_dst(t) {
            4 * HOUR
        } else {
            5 * HOUR
        }
    };
    let midnight = |day: i64| {
        // Midnight local is 04:00Z in summer time, 05:00Z in winter (never at a transition).
        let summer = day * DAY + 4 * HOUR;
        if eastern_is_dst(summer) {
            summer
        } else {
            day * DAY + 5 * HOUR
        }
    };
    let day = (t - offset(t)).div_euclid(DAY);
    (midnight(day), midnight(day + 1))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The settings the oracle follows.
#[derive(Clone, Debug)]
pub struct Settings {
    pub intervals: Vec<Iv>,
    pub delay_ms: i64,
    pub lateness_ms: i64,
    pub batch_bytes: u64,
}

/// One input record with where it lies.
#[derive(Clone, Debug)]
pub struct Rec {
    pub row: Row,
    pub line: u32,
    pub offset: u64,
}

impl Rec {
    pub fn pjm(&self) -> bool {
        self.row.market.is_some()
    }

    pub fn instrument(&self) -> String {
        match self.row.market {
            Some(m) => format!("{m}.{}.{}", self.row.run, self.row.node),
            None => self.row.node.to_string(),
        }
    }

    /// The feed key within the one file: (market, market_run).
    fn key(&self) -> (bool, &'static str) {
        (self.pjm(), self.row.run)
    }

    pub fn price(&self) -> f64 {
        parse_f64(self.row.cents, 100)
    }

    pub fn volume(&self) -> Option<f64> {
        self.row.volume_tenths.map(|v| parse_f64(v, 10))
    }
}

/// The value the parser reads: the written decimal parsed as f64.
fn parse_f64(v: i64, scale: i64) -> f64 {
    crate::gen::fmt_fixed(v, scale).parse().unwrap_or(f64::NAN)
}

/// An identity of this stream: (instrument, interval_start) (points, no trade ids, one tenant).
pub type Ident = (String, i64);

/// An accepted arrival of an identity.
#[derive(Clone, Debug)]
struct Arrival {
    revision: u64,
    offset: u64,
    line: u32,
    price: f64,
    volume: Option<f64>,
    late_arrival: bool,
}

/// The emitted tick of an identity: its winner, version and flags.
#[derive(Clone, Debug, PartialEq)]
pub struct Snap {
    pub pjm: bool,
    pub start: i64,
    pub offset: u64,
    pub line: u32,
    pub revision: u64,
    pub price: f64,
    pub volume: Option<f64>,
    pub version: u64,
    pub late_arrival: bool,
    pub corrected: bool,
}

fn snapshot(pjm: bool, start: i64, arrivals: &[Arrival]) -> Option<Snap> {
    let w = arrivals.iter().max_by_key(|a| (a.revision, a.offset))?;
    let first = arrivals.first()?.price.to_bits();
    Some(Snap {
        pjm,
        start,
        offset: w.offset,
        line: w.line,
        revision: w.revision,
        price: w.price,
        volume: w.volume,
        version: arrivals.len() as u64,
        late_arrival: w.late_arrival,
        corrected: arrivals.iter().any(|a| a.price.to_bits() != first),
    })
}

/// A bar window: its end and, per interval_start (identity), the snapshot it holds.
pub type WindowBar = (i64, BTreeMap<i64, Snap>);

/// Everything the oracle knows after some batches.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Accepted arrivals per identity.
    arrivals: BTreeMap<Ident, (bool, Vec<Arrival>)>,
    /// Per (instrument, interval, window_start): window_end and, per interval_start (identity),
    /// the snapshot the window holds.
    pub bars: BTreeMap<(String, Iv, i64), WindowBar>,
    /// Too-late records (LATE_DATA), by line.
    pub late_lines: Vec<u32>,
    /// How many of them only the "already final" horizon (global watermark) made late.
    pub late_by_closed: usize,
    /// Greatest event time per feed key over the batches judged so far.
    key_max: BTreeMap<(bool, &'static str), i64>,
    /// Global watermark and the closed horizon derived from it.
    global: i64,
    closed: i64,
}

impl State {
    pub fn new() -> State {
        State {
            global: MIN,
            closed: MIN,
            ..State::default()
        }
    }

    /// The emitted tick of every accepted identity.
    pub fn ticks(&self) -> BTreeMap<Ident, Snap> {
        self.arrivals
            .iter()
            .filter_map(|(id, (pjm, a))| Some((id.clone(), snapshot(*pjm, id.1, a)?)))
            .collect()
    }

    /// Judges and applies one batch (`recs` = its records in file order).
    pub fn step(&mut self, s: &Settings, recs: &[Rec]) {
        let mut touched: BTreeMap<Ident, i64> = BTreeMap::new();
        for r in recs {
            let t = r.row.ts_ms;
            let w = self
                .key_max
                .get(&r.key())
                .map_or(MIN, |m| m.saturating_sub(s.delay_ms));
            let own = if w == MIN {
                MIN
            } else {
                w.saturating_sub(s.lateness_ms)
            };
            let h = own.max(self.closed);
            let all_closed = !s.intervals.is_empty()
                && s.intervals.iter().all(|iv| iv.window(r.pjm(), t).1 <= h);
            if std::env::var("ORACLE_DEBUG").is_ok_and(|v| v == format!("{}@{t}", r.instrument())) {
                eprintln!("line {} off {} W={w} own={own} closed={} h={h} all_closed={all_closed} rev={} cents={} global={}", r.line, r.offset, self.closed, r.row.revision, r.row.cents, self.global);
            }
            if all_closed {
                let own_closes = s.intervals.iter().all(|iv| iv.window(r.pjm(), t).1 <= own);
                self.late_by_closed += usize::from(!own_closes);
                self.late_lines.push(r.line);
                continue;
            }
            let id = (r.instrument(), t);
            let entry = self
                .arrivals
                .entry(id.clone())
                .or_insert_with(|| (r.pjm(), Vec::new()));
            entry.1.push(Arrival {
                revision: r.row.revision,
                offset: r.offset,
                line: r.line,
                price: r.price(),
                volume: r.volume(),
                late_arrival: t < w,
            });
            let least = touched.entry(id).or_insert(h);
            *least = (*least).min(h);
        }
        // Every touched identity changed (its version grew): windows still open for the
        // batch's arrivals take the new snapshot.
        for (id, h) in touched {
            let Some((pjm, a)) = self.arrivals.get(&id) else {
                continue;
            };
            let Some(snap) = snapshot(*pjm, id.1, a) else {
                continue;
            };
            for iv in &s.intervals {
                let (ws, we) = iv.window(*pjm, id.1);
                if we > h {
                    let bar = self
                        .bars
                        .entry((id.0.clone(), *iv, ws))
                        .or_insert_with(|| (we, BTreeMap::new()));
                    bar.1.insert(id.1, snap.clone());
                }
            }
        }
        // Fold the batch's event times (every parsed tick, late or not), then the global
        // watermark: the minimum over the feed's keys, never moving back.
        for r in recs {
            let m = self.key_max.entry(r.key()).or_insert(r.row.ts_ms);
            *m = (*m).max(r.row.ts_ms);
        }
        if let Some(g) = self
            .key_max
            .values()
            .map(|m| m.saturating_sub(s.delay_ms))
            .min()
        {
            if g > self.global {
                self.global = g;
                self.closed = self.closed.max(g.saturating_sub(s.lateness_ms));
            }
        }
    }
}

/// Splits records into batches: batch `k` holds the records whose first byte lies in
/// `[k·S, (k+1)·S)`; empty batches are kept (they change nothing).
pub fn batches(recs: &[Rec], batch_bytes: u64) -> Vec<Vec<Rec>> {
    let mut out: Vec<Vec<Rec>> = Vec::new();
    for r in recs {
        let k = (r.offset / batch_bytes) as usize;
        while out.len() <= k {
            out.push(Vec::new());
        }
        out[k].push(r.clone());
    }
    out
}
