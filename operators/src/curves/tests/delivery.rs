//! Delivery curves: DST days in every market's zone, curve ids, ignored ticks, corrections,
//! and a seeded test that the sum of drained updates equals the points of the live ticks.

use super::*;
use crate::model::render::{parse_rfc3339_ms, time};
use crate::model::{CurvePoint, EpochMs, Market, QualityFlags, SourcePos, Sym, Tick};
use crate::time::Date;
use std::collections::BTreeMap;

fn sym(s: &str) -> Sym {
    Sym::from(s)
}

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
        volume: None,
        extras: Default::default(),
        trade_id: None,
        revision: 0,
        version: 1,
        flags: QualityFlags::default(),
        source_system: s("t"),
        source: SourcePos::default(),
        ingested_at_ms: 0,
        enrichment: None,
        horizon: Default::default(),
        slot: Default::default(),
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

fn check_part(rows: &[(String, String, String)], curve: &str, he: usize, n: usize, first: &str) {
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
    let got: Vec<(f64, u64, Diff)> = out.iter().map(|(p, d)| (p.price, p.version, *d)).collect();
    assert_eq!(got, vec![(30.0, 1, -1), (31.5, 2, 1)]);
    out.clear();
    dc.drain(&mut out);
    assert!(out.is_empty(), "nothing pending after a drain");
}

#[test]
fn delivery_curves_match_the_points_of_the_live_ticks() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let base = 1_710_028_800_000; // 2024-03-10T00:00:00Z: a spring-forward day in the window
    let mut dc = DeliveryCurves::new().expect("bundled zones");
    let mut live_ticks: BTreeMap<(u64, u64, i64), Tick> = BTreeMap::new();
    let mut live: Vec<CurvePoint> = Vec::new();
    for _step in 0..400 {
        let mut updates = Vec::new();
        for _ in 0..1 + next(6) {
            let market = [Market::Pjm, Market::Miso, Market::Caiso][next(3) as usize];
            let node = next(3);
            let start = base + next(72) as i64 * 3_600_000;
            let key = (market as u64, node, start);
            let old = live_ticks.remove(&key);
            let version = old.as_ref().map_or(1, |t| t.version + 1);
            if let Some(t) = old {
                updates.push((t, -1));
            }
            if next(6) != 0 {
                let t = Tick {
                    tenant_id: sym("default"),
                    instrument_id: sym(&format!("{}.DA.N{node}", market.code())),
                    market,
                    node: sym(&format!("N{node}")),
                    market_run: sym("DA"),
                    interval_start_ms: start,
                    interval_end_ms: start + HOUR_MS,
                    price: next(5) as f64 * 2.5 - 2.5,
                    volume: None,
                    extras: Default::default(),
                    trade_id: None,
                    revision: 0,
                    version,
                    flags: QualityFlags::default(),
                    source_system: sym("t"),
                    source: SourcePos::default(),
                    ingested_at_ms: 0,
                    enrichment: None,
                    horizon: Default::default(),
                    slot: Default::default(),
                };
                live_ticks.insert(key, t.clone());
                updates.push((t, 1));
            }
        }
        for i in (1..updates.len()).rev() {
            updates.swap(i, next(i as u64 + 1) as usize);
        }
        for (t, d) in &updates {
            dc.apply(t, *d);
        }
        let mut out = Vec::new();
        dc.drain(&mut out);
        for (p, d) in out {
            if d > 0 {
                live.push(p);
            } else {
                let i = live.iter().position(|x| *x == p).expect("live point");
                live.swap_remove(i);
            }
        }
        live.sort_by(|a, b| a.cmp_output(b));
        let mut fresh = DeliveryCurves::new().expect("bundled zones");
        let mut want: Vec<CurvePoint> =
            live_ticks.values().filter_map(|t| fresh.point(t)).collect();
        want.sort_by(|a, b| a.cmp_output(b));
        assert_eq!(live, want);
    }
    assert!(live.len() > 100);
}
