//! Window assignment: the window of a [`BarInterval`] that contains a tick's `interval_start`.
//!
//! Sub-day intervals are tumbling windows aligned to the UTC epoch: `[floor(t / d)·d, +d)`.
//! `1d` is the market's operating day in local prevailing time, midnight to midnight
//! ([`Market::operating_zone`]): 23 hours on the spring-forward day, 25 on the fall-back day;
//! MISO stays on EST (`Etc/GMT+5`, always 05:00Z to 05:00Z) and [`Market::Other`] uses UTC days.
//!
//! [`WindowAssigner`] caches, per market, the zone and the two most recently used operating days,
//! so a stream of ticks consults the time-zone database about once per market and day (two days
//! are kept because day-ahead and real-time documents of one market interleave). If a zone cannot
//! be loaded or a day cannot be placed (never for the markets' zones), UTC days are used.

use crate::model::{render, BarInterval, EpochMs, Market, DAY_MS};
use crate::time::{Date, Zone};

/// How the operating day of one market is found.
#[derive(Clone, Debug)]
enum DayZone {
    /// Not looked up yet.
    Unloaded,
    /// UTC days (unknown market, or a zone that failed to load).
    Utc,
    /// Local days in this zone.
    Local(Zone),
}

#[derive(Clone, Debug)]
struct DayCache {
    zone: DayZone,
    /// `[start, end)` of the most recently used operating day first; empty ranges when unknown.
    recent: [(EpochMs, EpochMs); 2],
}

/// Assigns ticks to windows, caching each market's zone and recent operating days (and the
/// last window of each sub-day interval, which saves a division on in-order streams).
#[derive(Clone, Debug)]
pub struct WindowAssigner {
    days: [DayCache; 8],
    last: [(EpochMs, EpochMs); 4],
}

impl Default for WindowAssigner {
    fn default() -> Self {
        WindowAssigner::new()
    }
}

/// Index of a market in per-market arrays (8 variants, so always `< 8`).
pub(crate) fn market_slot(m: Market) -> usize {
    m as usize
}

impl WindowAssigner {
    /// An assigner with empty caches.
    pub fn new() -> WindowAssigner {
        WindowAssigner {
            days: std::array::from_fn(|_| DayCache {
                zone: DayZone::Unloaded,
                recent: [(0, 0); 2],
            }),
            last: [(0, 0); 4],
        }
    }

    /// `(window_start_ms, window_end_ms)` of the window of `interval` containing
    /// `interval_start_ms` for an instrument of `market`. The end is exclusive.
    pub fn window_of(
        &mut self,
        interval: BarInterval,
        market: Market,
        interval_start_ms: EpochMs,
    ) -> (EpochMs, EpochMs) {
        let t = interval_start_ms;
        match (interval.duration_ms(), self.last.get_mut(interval.index())) {
            (Some(_), Some(w)) if w.0 <= t && t < w.1 => *w,
            (Some(d), last) => {
                let start = t.div_euclid(d) * d;
                let w = (start, start.saturating_add(d));
                if let Some(l) = last {
                    *l = w;
                }
                w
            }
            (None, _) => self.day_of(market, t),
        }
    }

    /// True when every window of `intervals` containing `interval_start_ms` is closed for a tick
    /// judged at `horizon_ms` (`window_end <= horizon_ms`, see [`super::horizon`]): the tick is
    /// then a `LATE_DATA` dead letter. False when `intervals` is empty (no window can close).
    pub fn closed_for(
        &mut self,
        intervals: &[BarInterval],
        market: Market,
        interval_start_ms: EpochMs,
        horizon_ms: EpochMs,
    ) -> bool {
        !intervals.is_empty()
            && intervals
                .iter()
                .all(|i| self.window_of(*i, market, interval_start_ms).1 <= horizon_ms)
    }

    /// The greatest window end over `intervals` for a tick starting at `interval_start_ms`:
    /// once the watermark passes it (plus lateness), no bar can use the tick any more, so its
    /// identity state may be released (SPEC §4). `None` when `intervals` is empty.
    pub fn last_window_end(
        &mut self,
        intervals: &[BarInterval],
        market: Market,
        interval_start_ms: EpochMs,
    ) -> Option<EpochMs> {
        intervals
            .iter()
            .map(|i| self.window_of(*i, market, interval_start_ms).1)
            .max()
    }

    fn day_of(&mut self, market: Market, t: EpochMs) -> (EpochMs, EpochMs) {
        let cache = &mut self.days[market_slot(market)];
        let [a, b] = cache.recent;
        if a.0 <= t && t < a.1 {
            return a;
        }
        if b.0 <= t && t < b.1 {
            cache.recent = [b, a];
            return b;
        }
        if let DayZone::Unloaded = cache.zone {
            cache.zone = match market.operating_zone().map(Zone::get) {
                Some(Ok(z)) => DayZone::Local(z),
                _ => DayZone::Utc,
            };
        }
        let day = match &cache.zone {
            DayZone::Local(z) => local_day(z, t).unwrap_or_else(|| utc_day(t)),
            DayZone::Utc | DayZone::Unloaded => utc_day(t),
        };
        cache.recent = [day, a];
        day
    }
}

/// The window of `interval` containing `interval_start_ms` for `market`, without a cache (loads
/// the zone on every `1d` call): for tests and one-off questions. Streams use [`WindowAssigner`].
pub fn window_of(
    interval: BarInterval,
    market: Market,
    interval_start_ms: EpochMs,
) -> (EpochMs, EpochMs) {
    WindowAssigner::new().window_of(interval, market, interval_start_ms)
}

fn utc_day(t: EpochMs) -> (EpochMs, EpochMs) {
    let start = t.div_euclid(DAY_MS) * DAY_MS;
    (start, start.saturating_add(DAY_MS))
}

/// The local operating day `[midnight, next midnight)` containing `t`. The local date of an
/// instant is within one day of its UTC date for every real zone, so the midnights of the UTC
/// date −1 … +2 bracket it.
fn local_day(zone: &Zone, t: EpochMs) -> Option<(EpochMs, EpochMs)> {
    let d0 = t.div_euclid(DAY_MS);
    let mut prev: Option<EpochMs> = None;
    for days in d0 - 1..=d0 + 2 {
        let (y, m, d) = render::civil_from_days(days);
        let date = Date::new(i32::try_from(y).ok()?, m, d).ok()?;
        let (midnight, _hours) = zone.operating_day(date).ok()?;
        if let Some(p) = prev {
            if p <= t && t < midnight {
                return Some((p, midnight));
            }
        }
        prev = Some(midnight);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::render::{parse_rfc3339_ms, time};

    const H: i64 = 3_600_000;

    fn ms(s: &str) -> EpochMs {
        parse_rfc3339_ms(s).unwrap()
    }

    fn day(m: Market, t: &str) -> (String, String, i64) {
        let (s, e) = window_of(BarInterval::D1, m, ms(t));
        (time(s), time(e), (e - s) / H)
    }

    fn d(s: &str, e: &str, hours: i64) -> (String, String, i64) {
        (s.to_string(), e.to_string(), hours)
    }

    #[test]
    fn sub_day_windows_are_utc_aligned_and_half_open() {
        let mut a = WindowAssigner::new();
        let t = ms("2024-11-03T05:07:30.250Z");
        let cases = [
            (
                BarInterval::M1,
                "2024-11-03T05:07:00Z",
                "2024-11-03T05:08:00Z",
            ),
            (
                BarInterval::M5,
                "2024-11-03T05:05:00Z",
                "2024-11-03T05:10:00Z",
            ),
            (
                BarInterval::M15,
                "2024-11-03T05:00:00Z",
                "2024-11-03T05:15:00Z",
            ),
            (
                BarInterval::H1,
                "2024-11-03T05:00:00Z",
                "2024-11-03T06:00:00Z",
            ),
        ];
        for (i, s, e) in cases {
            assert_eq!(a.window_of(i, Market::Pjm, t), (ms(s), ms(e)), "{i}");
            // The start belongs to its window, the end to the next one.
            assert_eq!(a.window_of(i, Market::Pjm, ms(s)).0, ms(s));
            assert_eq!(a.window_of(i, Market::Pjm, ms(e)).0, ms(e));
            assert_eq!(a.window_of(i, Market::Pjm, ms(e) - 1).0, ms(s));
        }
        // Before the epoch, floor (not truncation) keeps windows aligned.
        assert_eq!(
            a.window_of(BarInterval::M5, Market::Other, -1),
            (-300_000, 0)
        );
        assert_eq!(
            a.window_of(BarInterval::H1, Market::Other, i64::MIN / 2).1 - H,
            a.window_of(BarInterval::H1, Market::Other, i64::MIN / 2).0
        );
    }

    #[test]
    fn new_york_operating_days_have_23_and_25_hours() {
        for m in [Market::Pjm, Market::Nyiso, Market::Isone] {
            assert_eq!(
                day(m, "2024-03-10T12:00:00Z"),
                d("2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z", 23)
            );
            assert_eq!(
                day(m, "2024-03-10T04:59:59.999Z"),
                d("2024-03-09T05:00:00Z", "2024-03-10T05:00:00Z", 24)
            );
            assert_eq!(
                day(m, "2024-11-03T05:00:00Z"),
                d("2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z", 25)
            );
            assert_eq!(
                day(m, "2024-11-04T04:59:59Z"),
                d("2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z", 25)
            );
            assert_eq!(
                day(m, "2024-11-04T05:00:00Z"),
                d("2024-11-04T05:00:00Z", "2024-11-05T05:00:00Z", 24)
            );
            assert_eq!(
                day(m, "2024-07-01T03:59:59Z"),
                d("2024-06-30T04:00:00Z", "2024-07-01T04:00:00Z", 24)
            );
        }
    }

    #[test]
    fn miso_is_always_est_and_ercot_spp_follow_chicago() {
        for t in [
            "2024-03-10T12:00:00Z",
            "2024-11-03T12:00:00Z",
            "2024-07-01T12:00:00Z",
        ] {
            let (s, e, h) = day(Market::Miso, t);
            assert_eq!((&s[10..], &e[10..], h), ("T05:00:00Z", "T05:00:00Z", 24));
        }
        assert_eq!(
            day(Market::Miso, "2024-03-10T04:59:00Z"),
            d("2024-03-09T05:00:00Z", "2024-03-10T05:00:00Z", 24)
        );
        for m in [Market::Ercot, Market::Spp] {
            assert_eq!(
                day(m, "2024-03-10T12:00:00Z"),
                d("2024-03-10T06:00:00Z", "2024-03-11T05:00:00Z", 23)
            );
            assert_eq!(
                day(m, "2024-11-03T12:00:00Z"),
                d("2024-11-03T05:00:00Z", "2024-11-04T06:00:00Z", 25)
            );
        }
        assert_eq!(
            day(Market::Caiso, "2024-11-03T12:00:00Z"),
            d("2024-11-03T07:00:00Z", "2024-11-04T08:00:00Z", 25)
        );
        assert_eq!(
            day(Market::Other, "2024-11-03T23:59:59Z"),
            d("2024-11-03T00:00:00Z", "2024-11-04T00:00:00Z", 24)
        );
    }

    #[test]
    fn cached_days_equal_fresh_lookups_and_tile_the_axis() {
        let mut a = WindowAssigner::new();
        let start = ms("2023-12-30T00:00:00Z");
        for m in [
            Market::Pjm,
            Market::Miso,
            Market::Caiso,
            Market::Ercot,
            Market::Other,
        ] {
            let mut prev: Option<(EpochMs, EpochMs)> = None;
            // Every 20 minutes for a year and a bit, interleaved with a stamp a day ahead.
            for k in 0..(370 * 72) {
                let t = start + k * 1_200_000;
                let w = a.window_of(BarInterval::D1, m, t);
                assert!(w.0 <= t && t < w.1, "{m} {}", time(t));
                assert!([23, 24, 25].contains(&((w.1 - w.0) / H)), "{m} {}", time(t));
                if k % 97 == 0 {
                    assert_eq!(w, window_of(BarInterval::D1, m, t), "{m} {}", time(t));
                }
                let ahead = a.window_of(BarInterval::D1, m, t + DAY_MS);
                assert!(ahead.0 <= t + DAY_MS && t + DAY_MS < ahead.1);
                if let Some(p) = prev.filter(|p| *p != w) {
                    assert_eq!(w.0, p.1, "days must tile: {m} {}", time(t));
                }
                prev = Some(w);
            }
        }
    }

    #[test]
    fn closed_for_needs_every_window_closed() {
        let mut a = WindowAssigner::new();
        let iv = BarInterval::DEFAULT;
        let t = ms("2024-07-01T12:02:00Z");
        // 5m window ends 12:05, 1h at 13:00, 1d (New York) at 2024-07-02T04:00Z.
        assert!(!a.closed_for(&iv, Market::Pjm, t, ms("2024-07-01T12:05:00Z")));
        assert!(!a.closed_for(&iv, Market::Pjm, t, ms("2024-07-02T03:59:59Z")));
        assert!(a.closed_for(&iv, Market::Pjm, t, ms("2024-07-02T04:00:00Z")));
        assert!(!a.closed_for(&[], Market::Pjm, t, EpochMs::MAX));
        assert_eq!(
            a.last_window_end(&iv, Market::Pjm, t),
            Some(ms("2024-07-02T04:00:00Z"))
        );
        assert_eq!(
            a.last_window_end(&[BarInterval::M1, BarInterval::M5], Market::Pjm, t),
            Some(ms("2024-07-01T12:05:00Z"))
        );
        assert_eq!(a.last_window_end(&[], Market::Pjm, t), None);
    }
}
