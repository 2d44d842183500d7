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
        for market in Market::ALL {
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
