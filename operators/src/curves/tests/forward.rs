//! Forward curves: scenario tests and the seeded oracle test (in the style of differential's
//! `reduce_reference.rs`): random differential input sequences, applied in shuffled order with
//! drains at random points, must leave the sum of every drained update equal to a from-scratch
//! recomputation by a deliberately naive implementation.

use super::forward::member_versions;
use super::*;
use crate::model::{CurvePoint, Sym};
use std::collections::BTreeMap;

const DAY: i64 = 86_400_000;

fn sym(s: &str) -> Sym {
    Sym::from(s)
}

fn curve(tenant: &str, id: &str, mode: Interpolation) -> CurveSpec {
    CurveSpec {
        tenant_id: sym(tenant),
        curve_id: sym(id),
        interpolation: mode,
    }
}

fn member(tenant: &str, id: &str, tenor: &str, instrument: &str, day: i64) -> MemberSpec {
    MemberSpec {
        tenant_id: sym(tenant),
        curve_id: sym(id),
        tenor: sym(tenor),
        instrument_id: sym(instrument),
        delivery_start_ms: day * DAY,
        delivery_end_ms: (day + 1) * DAY,
    }
}

fn price(tenant: &str, instrument: &str, price: f64, as_of_ms: i64, version: u64) -> LatestPrice {
    LatestPrice {
        tenant_id: sym(tenant),
        instrument_id: sym(instrument),
        price,
        as_of_ms,
        version,
    }
}

fn drained(fc: &mut ForwardCurves) -> Vec<(String, String, f64, bool, Diff)> {
    let mut out = Vec::new();
    fc.drain(&mut out);
    out.iter()
        .map(|(p, d)| {
            (
                p.curve_id.to_string(),
                p.tenor.to_string(),
                p.price,
                p.interpolated,
                *d,
            )
        })
        .collect()
}

fn row(c: &str, t: &str, p: f64, i: bool, d: Diff) -> (String, String, f64, bool, Diff) {
    (c.into(), t.into(), p, i, d)
}

#[test]
fn one_instrument_updates_every_curve_it_belongs_to() {
    let mut fc = ForwardCurves::new();
    fc.apply_curve(&curve("t", "A", Interpolation::Linear), 1);
    fc.apply_curve(&curve("t", "B", Interpolation::Flat), 1);
    fc.apply_member(&member("t", "A", "M1", "X", 0), 1);
    fc.apply_member(&member("t", "A", "M2", "Y", 2), 1);
    fc.apply_member(&member("t", "B", "Q1", "X", 0), 1);
    fc.apply_member(&member("t", "B", "Q2", "Z", 1), 1);
    assert_eq!(drained(&mut fc), vec![], "nothing priced yet");
    fc.apply_price(&price("t", "X", 10.0, 5, 1), 1);
    fc.apply_price(&price("other", "Y", 99.0, 5, 1), 1); // another tenant's Y
    assert_eq!(fc.curves_of("t", "X"), vec![sym("A"), sym("B")]);
    assert_eq!(
        drained(&mut fc),
        vec![
            row("A", "M1", 10.0, false, 1),
            row("A", "M2", 10.0, true, 1),
            row("B", "Q1", 10.0, false, 1),
            row("B", "Q2", 10.0, true, 1),
        ]
    );
    // A new latest for X: −1 old / +1 new in, exactly the changed points out.
    fc.apply_price(&price("t", "X", 12.0, 6, 1), 1);
    fc.apply_price(&price("t", "X", 10.0, 5, 1), -1);
    fc.apply_price(&price("t", "Y", 20.0, 6, 1), 1);
    assert_eq!(
        drained(&mut fc),
        vec![
            row("A", "M1", 10.0, false, -1),
            row("A", "M1", 12.0, false, 1),
            row("A", "M2", 10.0, true, -1),
            row("A", "M2", 20.0, false, 1),
            row("B", "Q1", 10.0, false, -1),
            row("B", "Q1", 12.0, false, 1),
            row("B", "Q2", 10.0, true, -1),
            row("B", "Q2", 12.0, true, 1),
        ]
    );
    // A price that changes nothing (retract and re-insert) yields nothing.
    fc.apply_price(&price("t", "Y", 20.0, 6, 1), -1);
    fc.apply_price(&price("t", "Y", 20.0, 6, 1), 1);
    assert_eq!(drained(&mut fc), vec![]);
    assert_eq!(fc.snapshot("t", "B").len(), 2);
}

#[test]
fn deleting_members_and_definitions_retracts_their_points() {
    let mut fc = ForwardCurves::new();
    fc.apply_member(&member("t", "A", "M1", "X", 0), 1);
    fc.apply_member(&member("t", "A", "M2", "Y", 1), 1);
    fc.apply_member(&member("t", "A", "M3", "Z", 2), 1);
    fc.apply_price(&price("t", "X", 10.0, 1, 1), 1);
    fc.apply_price(&price("t", "Z", 30.0, 2, 2), 1);
    assert_eq!(drained(&mut fc), vec![], "no definition, no points");
    fc.apply_curve(&curve("t", "A", Interpolation::Linear), 1);
    assert_eq!(
        drained(&mut fc),
        vec![
            row("A", "M1", 10.0, false, 1),
            row("A", "M2", 20.0, true, 1),
            row("A", "M3", 30.0, false, 1),
        ]
    );
    let m2 = fc.snapshot("t", "A")[1].clone();
    assert_eq!((m2.as_of_ms, m2.version, &*m2.instrument_id), (2, 3, "Y"));
    // Deleting the priced M3 re-fills M2 from M1 only.
    fc.apply_member(&member("t", "A", "M3", "Z", 2), -1);
    assert_eq!(
        drained(&mut fc),
        vec![
            row("A", "M2", 20.0, true, -1),
            row("A", "M2", 10.0, true, 1),
            row("A", "M3", 30.0, false, -1),
        ]
    );
    assert!(fc.curves_of("t", "Z").is_empty());
    // Switching the definition to flat changes nothing here; deleting it retracts everything.
    fc.apply_curve(&curve("t", "A", Interpolation::Linear), -1);
    fc.apply_curve(&curve("t", "A", Interpolation::Flat), 1);
    assert_eq!(drained(&mut fc), vec![]);
    fc.apply_curve(&curve("t", "A", Interpolation::Flat), -1);
    assert_eq!(
        drained(&mut fc),
        vec![
            row("A", "M1", 10.0, false, -1),
            row("A", "M2", 10.0, true, -1)
        ]
    );
    fc.apply_member(&member("t", "A", "M1", "X", 0), -1);
    fc.apply_member(&member("t", "A", "M2", "Y", 1), -1);
    assert_eq!(drained(&mut fc), vec![]);
    assert_eq!(fc.curve_count(), 0, "an empty curve is forgotten");
    assert!(!fc.has_pending());
}

/// The naive from-scratch computation: for each member, scan for the nearest priced members.
fn oracle(
    curves: &BTreeMap<(Sym, Sym), CurveSpec>,
    members: &BTreeMap<(Sym, Sym, Sym), MemberSpec>,
    prices: &BTreeMap<(Sym, Sym), Quote>,
) -> Vec<CurvePoint> {
    let mut out = Vec::new();
    for ((tenant, id), spec) in curves {
        let mut ms: Vec<&MemberSpec> = members
            .values()
            .filter(|m| m.tenant_id == *tenant && m.curve_id == *id)
            .collect();
        ms.sort_by(|a, b| (a.delivery_start_ms, &a.tenor).cmp(&(b.delivery_start_ms, &b.tenor)));
        let q = |m: &MemberSpec| {
            prices
                .get(&(m.tenant_id.clone(), m.instrument_id.clone()))
                .copied()
        };
        for (i, m) in ms.iter().enumerate() {
            let prev = ms[..i]
                .iter()
                .rev()
                .find_map(|p| q(p).map(|x| (p.delivery_start_ms, x)));
            let next = ms[i + 1..]
                .iter()
                .find_map(|n| q(n).map(|x| (n.delivery_start_ms, x)));
            let (price, as_of_ms, version, interpolated) =
                match (q(m), spec.interpolation, prev, next) {
                    (Some(x), ..) => (x.price, x.as_of_ms, x.version, false),
                    (None, _, None, None) => continue,
                    (None, Interpolation::Flat, Some((_, a)), _)
                    | (None, _, Some((_, a)), None) => (a.price, a.as_of_ms, a.version, true),
                    (None, _, None, Some((_, b))) => (b.price, b.as_of_ms, b.version, true),
                    (None, Interpolation::Linear, Some((xa, a)), Some((xb, b))) => {
                        let p = if xb == xa {
                            (a.price + b.price) / 2.0
                        } else {
                            let w = (m.delivery_start_ms - xa) as f64 / (xb - xa) as f64;
                            a.price + (b.price - a.price) * w
                        };
                        (p, a.as_of_ms.max(b.as_of_ms), a.version + b.version, true)
                    }
                };
            out.push(CurvePoint {
                tenant_id: tenant.clone(),
                curve_id: id.clone(),
                as_of_ms,
                tenor: m.tenor.clone(),
                delivery_start_ms: m.delivery_start_ms,
                delivery_end_ms: m.delivery_end_ms,
                price: price + 0.0,
                instrument_id: m.instrument_id.clone(),
                interpolated,
                version,
            });
        }
    }
    out.sort_by(|a, b| a.cmp_output(b));
    out
}

#[derive(Clone, Debug)]
enum Input {
    Curve(CurveSpec, Diff),
    Member(MemberSpec, Diff),
    Price(LatestPrice, Diff),
}

#[test]
fn random_updates_match_the_from_scratch_oracle() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let tenants = ["default", "acme"];
    let modes = [Interpolation::Linear, Interpolation::Flat];
    let prices_pool = [-5.0, 0.0, 10.0, 12.5, 40.0, 41.25];
    let (mut points_seen, mut filled_seen, mut updates_seen) = (0usize, 0usize, 0usize);
    for _round in 0..150 {
        let mut fc = ForwardCurves::new();
        let mut curves: BTreeMap<(Sym, Sym), CurveSpec> = BTreeMap::new();
        let mut members: BTreeMap<(Sym, Sym, Sym), MemberSpec> = BTreeMap::new();
        let mut prices: BTreeMap<(Sym, Sym), Quote> = BTreeMap::new();
        let mut live: Vec<CurvePoint> = Vec::new();
        for _step in 0..40 {
            let mut inputs = Vec::new();
            for _op in 0..1 + next(5) {
                let tenant = tenants[next(2) as usize];
                let cid = format!("C{}", next(4));
                let instrument = format!("I{}", next(6));
                match next(10) {
                    0..=3 => {
                        let key = (sym(tenant), sym(&instrument));
                        let old = prices.get(&key).copied();
                        let new = price(
                            tenant,
                            &instrument,
                            prices_pool[next(6) as usize],
                            next(8) as i64,
                            1 + next(3),
                        );
                        if let Some(q) = old {
                            inputs.push(Input::Price(
                                price(tenant, &instrument, q.price, q.as_of_ms, q.version),
                                -1,
                            ));
                        }
                        if next(8) == 0 {
                            prices.remove(&key); // a retraction without replacement
                        } else {
                            prices.insert(key, new.quote());
                            inputs.push(Input::Price(new, 1));
                        }
                    }
                    4..=7 => {
                        let tenor = format!("T{}", next(6));
                        let key = (sym(tenant), sym(&cid), sym(&tenor));
                        if let Some(old) = members.remove(&key) {
                            inputs.push(Input::Member(old, -1));
                        }
                        if next(5) != 0 {
                            let m = member(tenant, &cid, &tenor, &instrument, next(8) as i64);
                            members.insert(key, m.clone());
                            inputs.push(Input::Member(m, 1));
                        }
                    }
                    _ => {
                        let key = (sym(tenant), sym(&cid));
                        if let Some(old) = curves.remove(&key) {
                            inputs.push(Input::Curve(old, -1));
                        }
                        if next(4) != 0 {
                            let c = curve(tenant, &cid, modes[next(2) as usize]);
                            curves.insert(key, c.clone());
                            inputs.push(Input::Curve(c, 1));
                        }
                    }
                }
            }
            for i in (1..inputs.len()).rev() {
                inputs.swap(i, next(i as u64 + 1) as usize);
            }
            let mut out = Vec::new();
            for input in inputs {
                match input {
                    Input::Curve(c, d) => fc.apply_curve(&c, d),
                    Input::Member(m, d) => fc.apply_member(&m, d),
                    Input::Price(p, d) => fc.apply_price(&p, d),
                }
                if next(4) == 0 {
                    fc.drain(&mut out); // a drain in the middle of a batch
                }
            }
            fc.drain(&mut out);
            updates_seen += out.len();
            for (p, d) in out {
                if d > 0 {
                    live.push(p);
                } else {
                    let i = live
                        .iter()
                        .position(|x| *x == p)
                        .expect("retraction of a live point");
                    live.swap_remove(i);
                }
            }
            live.sort_by(|a, b| a.cmp_output(b));
            let want = oracle(&curves, &members, &prices);
            points_seen += want.len();
            filled_seen += want.iter().filter(|p| p.interpolated).count();
            assert_eq!(live, want);
            let held: Vec<&CurvePoint> = fc.points().collect();
            assert_eq!(held, want.iter().collect::<Vec<_>>());
            for m in member_versions(&fc) {
                assert!(fc
                    .curves_of(&m.tenant_id, &m.instrument_id)
                    .contains(&m.curve_id));
            }
        }
    }
    // The sequences exercise real snapshots, not empty curves.
    assert!(points_seen > 40_000 && filled_seen > 5_000 && updates_seen > 15_000);
}

#[test]
fn duplicate_rows_of_one_key_resolve_to_the_greatest() {
    let mut fc = ForwardCurves::new();
    // Two definitions of A (flat > linear) and two rows for tenor M2 (instrument Z > Y).
    fc.apply_curve(&curve("t", "A", Interpolation::Flat), 1);
    fc.apply_curve(&curve("t", "A", Interpolation::Linear), 1);
    fc.apply_member(&member("t", "A", "M1", "X", 0), 1);
    fc.apply_member(&member("t", "A", "M2", "Z", 1), 1);
    fc.apply_member(&member("t", "A", "M2", "Y", 1), 1);
    fc.apply_member(&member("t", "A", "M3", "W", 2), 1);
    fc.apply_price(&price("t", "X", 10.0, 1, 1), 1);
    fc.apply_price(&price("t", "W", 30.0, 1, 1), 1);
    fc.apply_price(&price("t", "Y", 99.0, 1, 1), 1);
    assert_eq!(
        drained(&mut fc),
        vec![
            row("A", "M1", 10.0, false, 1),
            row("A", "M2", 10.0, true, 1),
            row("A", "M3", 30.0, false, 1),
        ]
    );
    // Two latest prices of one instrument: the later as_of wins, whatever the arrival order.
    fc.apply_price(&price("t", "W", 20.0, 3, 1), 1);
    fc.apply_price(&price("t", "W", 25.0, 2, 7), 1);
    assert_eq!(
        drained(&mut fc),
        vec![
            row("A", "M3", 30.0, false, -1),
            row("A", "M3", 20.0, false, 1)
        ]
    );
    assert_eq!(fc.curves_of("t", "Y"), vec![sym("A")]);
}
