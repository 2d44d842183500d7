//! The oracle's expected `dir:` files. Values are computed here from the oracle state; the
//! operators' model types and render helpers are used only to format them (SPEC §6).

use crate::model::{Iv, Snap, State};
use operators::model::{
    push_curve_point_json, Bar, BarInterval, CurvePoint, LatestPrice, QualityFlag, QualityFlags,
    SourcePos, Sym,
};
use std::collections::BTreeMap;

fn sym(s: &str) -> Sym {
    Sym::from(s)
}

pub fn interval(iv: Iv) -> BarInterval {
    match iv {
        Iv::M1 => BarInterval::M1,
        Iv::M5 => BarInterval::M5,
        Iv::M15 => BarInterval::M15,
        Iv::H1 => BarInterval::H1,
        Iv::D1 => BarInterval::D1,
    }
}

/// `round(x·1e6)`, half away from zero: the fixed point of SPEC §3's sums.
fn fixed(x: f64) -> i128 {
    (x * 1e6).round() as i128
}

/// One bar from the snapshots its window holds (all point ticks: TWAP averages them equally).
fn bar(instrument: &str, iv: Iv, ws: i64, we: i64, snaps: &BTreeMap<i64, Snap>) -> Option<Bar> {
    let open = snaps.values().next()?;
    let close = snaps.values().next_back()?;
    let n = snaps.len() as i128;
    let with_volume: Vec<&Snap> = snaps.values().filter(|s| s.volume.is_some()).collect();
    let vol: i128 = with_volume.iter().filter_map(|s| s.volume.map(fixed)).sum();
    let pv: i128 = with_volume
        .iter()
        .filter_map(|s| Some(fixed(s.price) * fixed(s.volume?)))
        .sum();
    let sum_price: i128 = snaps.values().map(|s| fixed(s.price)).sum();
    let ratio = |num: i128, den: i128| num as f64 / den as f64 / 1e6;
    Some(Bar {
        tenant_id: sym("default"),
        instrument_id: sym(instrument),
        interval: interval(iv),
        window_start_ms: ws,
        window_end_ms: we,
        open: open.price,
        high: snaps.values().map(|s| s.price).fold(f64::MIN, f64::max),
        low: snaps.values().map(|s| s.price).fold(f64::MAX, f64::min),
        close: close.price,
        volume: (!with_volume.is_empty()).then(|| vol as f64 / 1e6),
        vwap: (!with_volume.is_empty() && vol != 0).then(|| ratio(pv, vol)),
        twap: ratio(sum_price, n),
        trade_count: snaps.len() as u64,
        first_at_ms: open.start,
        last_at_ms: close.start,
        revision: snaps.values().map(|s| s.version).sum(),
        is_final: true,
    })
}

/// The quality flags of an emitted tick.
pub fn flags(s: &Snap) -> QualityFlags {
    let mut f = QualityFlags::default();
    f.insert(QualityFlag::Valid);
    if s.price < 0.0 {
        f.insert(QualityFlag::PriceNegative);
    }
    if s.late_arrival {
        f.insert(QualityFlag::LateArrival);
    }
    // No reference row exists for the generated instruments.
    f.insert(QualityFlag::MissingMetadata);
    if s.corrected {
        f.insert(QualityFlag::Corrected);
    }
    f
}

pub fn bars_csv(st: &State) -> String {
    let mut out = String::from(operators::model::BARS_CSV_HEADER);
    out.push('\n');
    for ((inst, iv, ws), (we, snaps)) in &st.bars {
        if let Some(b) = bar(inst, *iv, *ws, *we, snaps) {
            b.push_csv(&mut out);
            out.push('\n');
        }
    }
    out
}

/// The latest emitted tick per instrument (greatest interval_start; one tick per start here).
pub fn latest(st: &State) -> BTreeMap<String, Snap> {
    let mut m: BTreeMap<String, Snap> = BTreeMap::new();
    for ((inst, _), s) in st.ticks() {
        let newer = m.get(&inst).is_none_or(|o| s.start > o.start);
        if newer {
            m.insert(inst, s);
        }
    }
    m
}

pub fn latest_csv(st: &State) -> String {
    let mut out = String::from(operators::model::LATEST_CSV_HEADER);
    out.push('\n');
    for (inst, s) in latest(st) {
        LatestPrice {
            tenant_id: sym("default"),
            instrument_id: sym(&inst),
            interval_start_ms: s.start,
            interval_end_ms: s.start,
            trade_id: None,
            source: SourcePos::default(),
            price: s.price,
            version: s.version,
            flags: flags(&s),
        }
        .push_csv(&mut out);
        out.push('\n');
    }
    out
}

/// A forward-curve member: (tenor, instrument, delivery_start, delivery_end).
pub type Member = (&'static str, &'static str, i64, i64);

/// The points of a forward curve over the latest prices (SPEC §3 "Curves" (a)).
pub fn forward_points(
    curve: &str,
    linear: bool,
    members: &[Member],
    latest: &BTreeMap<String, Snap>,
) -> Vec<CurvePoint> {
    let mut ms: Vec<Member> = members.to_vec();
    ms.sort_by_key(|m| (m.2, m.0));
    // (delivery_start, price, as_of, version) of the priced members.
    let quote = |m: &Member| latest.get(m.1).map(|s| (m.2, s.price, s.start, s.version));
    let priced: Vec<_> = ms.iter().filter_map(quote).collect();
    if priced.is_empty() {
        return Vec::new();
    }
    let mut points = Vec::new();
    for (i, m) in ms.iter().enumerate() {
        let (price, as_of, version, interpolated) = if let Some(q) = quote(m) {
            (q.1, q.2, q.3, false)
        } else {
            let prev = ms[..i].iter().rev().find_map(quote);
            let next = ms[i + 1..].iter().find_map(quote);
            match (prev, next, linear) {
                (Some(a), Some(b), true) => {
                    let price = if b.0 > a.0 {
                        let w = (m.2 - a.0) as f64 / (b.0 - a.0) as f64;
                        a.1 + (b.1 - a.1) * w
                    } else {
                        (a.1 + b.1) / 2.0
                    };
                    (price, a.2.max(b.2), a.3 + b.3, true)
                }
                (Some(a), _, _) | (None, Some(a), _) => (a.1, a.2, a.3, true),
                (None, None, _) => continue,
            }
        };
        points.push(CurvePoint {
            tenant_id: sym("default"),
            curve_id: sym(curve),
            as_of_ms: as_of,
            tenor: sym(m.0),
            delivery_start_ms: m.2,
            delivery_end_ms: m.3,
            price: price + 0.0,
            instrument_id: sym(m.1),
            interpolated,
            version,
        });
    }
    points
}

pub fn curves_jsonl(points: &[CurvePoint]) -> String {
    let mut out = String::new();
    for p in points {
        push_curve_point_json(&mut out, p);
        out.push('\n');
    }
    out
}
