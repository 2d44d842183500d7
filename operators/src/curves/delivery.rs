//! [`DeliveryCurves`]: day-ahead delivery curves (SPEC §3 "Curves" (b)).
//!
//! One curve per (tenant, market, node, operating day), `curve_id =
//! "{MARKET}.DA.{NODE}.{YYYY-MM-DD}"`. The operating day of a tick is the local date of its
//! `interval_start` in the market's prevailing time ([`Market::operating_zone`]: MISO stays on
//! EST; markets without a zone use UTC days, as `1d` bars do). The tenor is `HE{nn}` with
//! `nn = (interval_start − local midnight) / 1 h + 1`: `HE01`…`HE23` on a spring-forward day,
//! `HE01`…`HE25` on a fall-back day. Hours without a price are absent, never interpolated.
//!
//! A point is a function of one tick: `price`, `delivery_start/end` = the interval,
//! `as_of` = `interval_start`, `version` = the tick's version (its number of arrivals), and the
//! tick's instrument. So the operator holds no state beyond a batch: every `(tick, diff)` from
//! dedupe becomes `(point, diff)` — a correction's `−1 old, +1 new` becomes `−1 old point,
//! +1 new point` — and [`DeliveryCurves::drain`] cancels updates that sum to zero.
//!
//! Ignored (no point, no error — they are valid ticks, just not part of a delivery curve):
//! ticks whose `market_run` is not `DA`; ticks whose interval is not exactly one hour (there are
//! no 15-minute day-ahead products in these markets, and a point's tenor names an hour); ticks
//! with a `trade_id` (a delivery curve is of cleared prices; this also keeps one point per
//! (curve, tenor, instrument)); and ticks that do not start on an hour of their operating day.

use super::{canonical_price, consolidate, Diff};
use crate::model::render::civil_from_days;
use crate::model::{CurvePoint, EpochMs, Market, Sym, Tick};
use crate::time::{Date, TimeError, Zone};

/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The delivery curve id `{MARKET}.DA.{NODE}.{YYYY-MM-DD}`.
pub fn delivery_curve_id(market: Market, node: &str, day: Date) -> String {
    format!("{}.DA.{node}.{day}", market.code())
}

/// A local operating day on the UTC axis: `[start, end)`.
#[derive(Clone, Copy, Debug)]
struct DaySpan {
    date: Date,
    start: EpochMs,
    end: EpochMs,
}

/// A market's zone and the operating day looked up last (ticks of a document share a few days).
#[derive(Debug)]
struct MarketZone {
    market: Market,
    zone: Zone,
    last: Option<DaySpan>,
}

/// Incremental day-ahead delivery curves: [`apply`](Self::apply) tick updates, then
/// [`drain`](Self::drain) point updates.
#[derive(Debug)]
pub struct DeliveryCurves {
    zones: Vec<MarketZone>,
    tenors: Vec<Sym>,
    pending: Vec<(CurvePoint, Diff)>,
}

impl DeliveryCurves {
    /// Loads the operating zones of every market from the bundled time-zone database.
    pub fn new() -> Result<DeliveryCurves, TimeError> {
        let mut zones = Vec::with_capacity(Market::ISOS.len() + 1);
        for market in Market::ISOS.into_iter().chain([Market::Other]) {
            let zone = match market.operating_zone() {
                Some(name) => Zone::get(name)?,
                None => Zone::fixed_hours(0),
            };
            zones.push(MarketZone {
                market,
                zone,
                last: None,
            });
        }
        let tenors = (1..=25).map(|h| Sym::from(format!("HE{h:02}"))).collect();
        Ok(DeliveryCurves {
            zones,
            tenors,
            pending: Vec::new(),
        })
    }

    /// Applies one tick update from dedupe (`+1` new winner, `−1` retracted winner).
    pub fn apply(&mut self, tick: &Tick, diff: Diff) {
        if diff == 0 {
            return;
        }
        if let Some(p) = self.point(tick) {
            self.pending.push((p, diff));
        }
    }

    /// Appends the point updates since the last drain, consolidated (updates of equal points
    /// summed, zeros dropped) and ordered by (tenant, curve_id, delivery_start, tenor) with a
    /// point's retraction before its replacement.
    pub fn drain(&mut self, out: &mut Vec<(CurvePoint, Diff)>) {
        consolidate(&mut self.pending);
        out.append(&mut self.pending);
    }

    /// The delivery-curve point a tick stands for, or `None` when the tick is not part of one.
    pub fn point(&mut self, tick: &Tick) -> Option<CurvePoint> {
        if &*tick.market_run != "DA"
            || tick.trade_id.is_some()
            || tick.interval_end_ms.checked_sub(tick.interval_start_ms) != Some(HOUR_MS)
        {
            return None;
        }
        let span = self.operating_day(tick.market, tick.interval_start_ms)?;
        let offset = tick.interval_start_ms - span.start;
        if offset % HOUR_MS != 0 {
            return None;
        }
        let tenor = usize::try_from(offset / HOUR_MS)
            .ok()
            .and_then(|i| self.tenors.get(i))?
            .clone();
        let curve_id = delivery_curve_id(tick.market, &tick.node, span.date);
        Some(CurvePoint {
            tenant_id: tick.tenant_id.clone(),
            curve_id: Sym::from(curve_id),
            as_of_ms: tick.interval_start_ms,
            tenor,
            delivery_start_ms: tick.interval_start_ms,
            delivery_end_ms: tick.interval_end_ms,
            price: canonical_price(tick.price),
            instrument_id: tick.instrument_id.clone(),
            interpolated: false,
            version: tick.version,
        })
    }

    /// The local operating day of `market` containing the instant `ms`, as the date and its
    /// `[local midnight, next local midnight)` in UTC.
    pub fn operating_day_of(
        &mut self,
        market: Market,
        ms: EpochMs,
    ) -> Option<(Date, EpochMs, EpochMs)> {
        self.operating_day(market, ms)
            .map(|s| (s.date, s.start, s.end))
    }

    fn operating_day(&mut self, market: Market, ms: EpochMs) -> Option<DaySpan> {
        let mz = self.zones.iter_mut().find(|z| z.market == market)?;
        if let Some(s) = mz.last {
            if s.start <= ms && ms < s.end {
                return Some(s);
            }
        }
        // Every zone here is within ±14 h of UTC: the local date is the UTC date or a neighbour.
        let utc_day = ms.div_euclid(DAY_MS);
        for days in [utc_day, utc_day - 1, utc_day + 1] {
            let (y, m, d) = civil_from_days(days);
            let Ok(date) = Date::new(i32::try_from(y).ok()?, m, d) else {
                continue;
            };
            let Ok((start, hours)) = mz.zone.operating_day(date) else {
                continue;
            };
            let end = start + hours * HOUR_MS;
            if start <= ms && ms < end {
                let span = DaySpan { date, start, end };
                mz.last = Some(span);
                return Some(span);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::render::{parse_rfc3339_ms, time};
    use crate::model::{Components, QualityFlags, SourcePos};

    fn ms(s: &str) -> EpochMs {
        parse_rfc3339_ms(s).unwrap()
    }

    fn da(market: Market, node: &str, start: EpochMs, price: f64) -> Tick {
        let s = |x: &str| -> Sym { Sym::from(x) };
        Tick {
            tenant_id: s("default"),
            instrument_id: s(&format!("{}.DA.{node}", market.code())),
            market,
            node: s(node),
            market_run: s("DA"),
            interval_start_ms: start,
            interval_end_ms: start + HOUR_MS,
            price,
            components: Components::default(),
            volume: None,
            bid: None,
            ask: None,
            trade_id: None,
            revision: 0,
            version: 1,
            flags: QualityFlags::default(),
            source_system: s("t"),
            source: SourcePos::default(),
            ingested_at_ms: 0,
        }
    }

    /// Points of every hourly tick from `from` (inclusive) to `to` (exclusive), as
    /// (curve_id, tenor, delivery_start) rows.
    fn hours(market: Market, from: &str, to: &str) -> Vec<(String, String, String)> {
        let mut dc = DeliveryCurves::new().unwrap();
        let mut t = ms(from);
        while t < ms(to) {
            dc.apply(&da(market, "N", t, 10.0), 1);
            t += HOUR_MS;
        }
        let mut out = Vec::new();
        dc.drain(&mut out);
        assert!(out.iter().all(|(p, d)| *d == 1 && !p.interpolated));
        out.iter()
            .map(|(p, _)| {
                (
                    p.curve_id.to_string(),
                    p.tenor.to_string(),
                    time(p.delivery_start_ms),
                )
            })
            .collect()
    }

    fn tenors(from: usize, n: usize) -> Vec<String> {
        (from..from + n).map(|h| format!("HE{h:02}")).collect()
    }

    /// The curve's tenors are `HE01`…`HE{n}` and its first point starts at `first`.
    fn check_day(rows: &[(String, String, String)], curve: &str, n: usize, first: &str) {
        check_part(rows, curve, 1, n, first);
    }

    fn check_part(
        rows: &[(String, String, String)],
        curve: &str,
        he: usize,
        n: usize,
        first: &str,
    ) {
        let day: Vec<_> = rows.iter().filter(|r| r.0 == curve).collect();
        let got: Vec<String> = day.iter().map(|r| r.1.clone()).collect();
        assert_eq!(got, tenors(he, n), "{curve}");
        assert_eq!(day.first().map(|r| r.2.as_str()), Some(first), "{curve}");
    }

    #[test]
    fn spring_forward_day_has_23_hours_in_new_york() {
        let rows = hours(Market::Pjm, "2024-03-10T00:00:00Z", "2024-03-12T00:00:00Z");
        check_part(&rows, "PJM.DA.N.2024-03-09", 20, 5, "2024-03-10T00:00:00Z");
        check_day(&rows, "PJM.DA.N.2024-03-10", 23, "2024-03-10T05:00:00Z");
        check_part(&rows, "PJM.DA.N.2024-03-11", 1, 20, "2024-03-11T04:00:00Z");
        let he = |t: &str| {
            rows.iter()
                .find(|r| r.0 == "PJM.DA.N.2024-03-10" && r.1 == t)
                .unwrap()
                .2
                .clone()
        };
        assert_eq!(he("HE02"), "2024-03-10T06:00:00Z");
        assert_eq!(he("HE03"), "2024-03-10T07:00:00Z");
        assert_eq!(he("HE23"), "2024-03-11T03:00:00Z");
    }

    #[test]
    fn fall_back_day_has_25_hours_in_new_york() {
        let rows = hours(
            Market::Nyiso,
            "2024-11-03T04:00:00Z",
            "2024-11-04T05:00:00Z",
        );
        check_day(&rows, "NYISO.DA.N.2024-11-03", 25, "2024-11-03T04:00:00Z");
        assert_eq!(rows.len(), 25);
        assert_eq!(rows[1].2, "2024-11-03T05:00:00Z");
        assert_eq!(rows[2].2, "2024-11-03T06:00:00Z");
        assert_eq!(
            (rows[24].1.as_str(), rows[24].2.as_str()),
            ("HE25", "2024-11-04T04:00:00Z")
        );
    }

    #[test]
    fn miso_stays_on_est_with_24_hours() {
        for (from, to, day) in [
            (
                "2024-03-10T05:00:00Z",
                "2024-03-11T05:00:00Z",
                "MISO.DA.N.2024-03-10",
            ),
            (
                "2024-11-03T05:00:00Z",
                "2024-11-04T05:00:00Z",
                "MISO.DA.N.2024-11-03",
            ),
            (
                "2024-07-01T05:00:00Z",
                "2024-07-02T05:00:00Z",
                "MISO.DA.N.2024-07-01",
            ),
        ] {
            let rows = hours(Market::Miso, from, to);
            check_day(&rows, day, 24, from);
            assert_eq!(rows.len(), 24);
        }
    }

    #[test]
    fn western_and_central_zones_and_utc_for_other_markets() {
        let rows = hours(
            Market::Caiso,
            "2024-07-01T07:00:00Z",
            "2024-07-02T07:00:00Z",
        );
        check_day(&rows, "CAISO.DA.N.2024-07-01", 24, "2024-07-01T07:00:00Z");
        let rows = hours(
            Market::Ercot,
            "2024-11-03T05:00:00Z",
            "2024-11-04T06:00:00Z",
        );
        check_day(&rows, "ERCOT.DA.N.2024-11-03", 25, "2024-11-03T05:00:00Z");
        let rows = hours(Market::Spp, "2024-03-10T06:00:00Z", "2024-03-11T05:00:00Z");
        check_day(&rows, "SPP.DA.N.2024-03-10", 23, "2024-03-10T06:00:00Z");
        let rows = hours(
            Market::Other,
            "2024-03-10T00:00:00Z",
            "2024-03-11T00:00:00Z",
        );
        check_day(&rows, "OTHER.DA.N.2024-03-10", 24, "2024-03-10T00:00:00Z");
    }

    #[test]
    fn a_point_carries_the_tick() {
        let mut dc = DeliveryCurves::new().unwrap();
        let mut t = da(Market::Ercot, "LZ_AEN/LZ", ms("2024-11-03T07:00:00Z"), -0.0);
        t.version = 3;
        let p = dc.point(&t).unwrap();
        assert_eq!(&*p.curve_id, "ERCOT.DA.LZ_AEN/LZ.2024-11-03");
        assert_eq!(&*p.tenor, "HE03");
        assert_eq!(&*p.instrument_id, "ERCOT.DA.LZ_AEN/LZ");
        assert_eq!(
            (p.as_of_ms, p.delivery_start_ms),
            (t.interval_start_ms, t.interval_start_ms)
        );
        assert_eq!(p.delivery_end_ms, t.interval_end_ms);
        assert_eq!(
            (p.price.to_bits(), p.version, p.interpolated),
            (0, 3, false)
        );
        let day = Date::new(2024, 11, 3).unwrap();
        assert_eq!(
            delivery_curve_id(Market::Isone, "4000", day),
            "ISONE.DA.4000.2024-11-03"
        );
        let (d, start, end) = dc
            .operating_day_of(Market::Pjm, ms("2024-11-04T04:59:59.999Z"))
            .unwrap();
        assert_eq!(
            (d, time(start), time(end)),
            (
                day,
                "2024-11-03T04:00:00Z".into(),
                "2024-11-04T05:00:00Z".into()
            )
        );
    }

    #[test]
    fn ticks_outside_delivery_curves_are_ignored() {
        let mut dc = DeliveryCurves::new().unwrap();
        let start = ms("2024-07-01T12:00:00Z");
        let mut rt = da(Market::Pjm, "N", start, 1.0);
        rt.market_run = Sym::from("RT");
        let mut quarter = da(Market::Pjm, "N", start, 1.0);
        quarter.interval_end_ms = start + 15 * 60_000;
        let mut point = da(Market::Pjm, "N", start, 1.0);
        point.interval_end_ms = start;
        let mut trade = da(Market::Pjm, "N", start, 1.0);
        trade.trade_id = Some(Sym::from("T1"));
        let half = da(Market::Pjm, "N", start + 30 * 60_000, 1.0);
        let mut far = da(Market::Pjm, "N", i64::MAX - HOUR_MS, 1.0);
        far.interval_end_ms = i64::MAX;
        let mut before = da(Market::Pjm, "N", i64::MIN, 1.0);
        before.interval_end_ms = i64::MIN + HOUR_MS;
        for t in [rt, quarter, point, trade, half, far, before] {
            assert_eq!(dc.point(&t), None, "{t:?}");
            dc.apply(&t, 1);
        }
        let mut out = Vec::new();
        dc.drain(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn corrections_become_point_updates_and_cancellations_vanish() {
        let mut dc = DeliveryCurves::new().unwrap();
        let start = ms("2024-07-01T12:00:00Z");
        let old = da(Market::Pjm, "N", start, 30.0);
        let mut new = old.clone();
        new.price = 31.5;
        new.version = 2;
        let other = da(Market::Pjm, "M", start, 5.0);
        // +1 new arrives before −1 old; a transient +1/−1 of `other` cancels.
        dc.apply(&new, 1);
        dc.apply(&other, 1);
        dc.apply(&old, -1);
        dc.apply(&other, -1);
        dc.apply(&old, 0);
        let mut out = Vec::new();
        dc.drain(&mut out);
        let got: Vec<(f64, u64, Diff)> =
            out.iter().map(|(p, d)| (p.price, p.version, *d)).collect();
        assert_eq!(got, vec![(30.0, 1, -1), (31.5, 2, 1)]);
        out.clear();
        dc.drain(&mut out);
        assert!(out.is_empty(), "nothing pending after a drain");
    }
}
