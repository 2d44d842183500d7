//! The from-scratch computation of one forward curve's points.
//!
//! Members are ordered by (`delivery_start`, `tenor`). A member whose instrument has a latest
//! price is a priced point. A member without one is filled on `delivery_start`:
//! - `linear`: between the nearest priced neighbours before and after it,
//!   `p = pa + (pb − pa) · (x − xa) / (xb − xa)`; when both neighbours share its
//!   `delivery_start` (so `xb = xa`), their mean;
//! - `flat`: the previous priced point carried forward; before the first priced point, the first
//!   one carried backward;
//! - beyond the ends (no priced neighbour on one side) the nearest priced point is carried, for
//!   both modes.
//!
//! A filled point is `interpolated` and reflects the priced neighbours its rule used: its `as_of`
//! is the greatest of their `as_of`s and its `version` the (saturating) sum of their versions.
//! A priced point reflects its own latest price. A curve with no priced member has no points.

use super::canonical_price;
use super::inputs::{CurveSpec, Interpolation, MemberSpec, Quote};
use crate::model::{CurvePoint, EpochMs};

/// The points of the curve `spec` from its `members` (whose own tenant and curve ids are not
/// consulted) and the latest price of each member's instrument, sorted by (delivery_start, tenor).
/// Tenors are expected to be unique; empty when no member has a price.
pub fn compute_curve<'a>(
    spec: &CurveSpec,
    members: impl IntoIterator<Item = &'a MemberSpec>,
    quote: impl Fn(&MemberSpec) -> Option<Quote>,
) -> Vec<CurvePoint> {
    let mut ms: Vec<&MemberSpec> = members.into_iter().collect();
    ms.sort_by(|a, b| {
        (a.delivery_start_ms, &a.tenor)
            .cmp(&(b.delivery_start_ms, &b.tenor))
            .then_with(|| a.cmp(b))
    });
    let quotes: Vec<Option<Quote>> = ms.iter().map(|m| quote(m)).collect();
    if quotes.iter().all(Option::is_none) {
        return Vec::new();
    }
    // The nearest priced member strictly before / after each position, as (delivery_start, quote).
    let mut prev = Vec::with_capacity(ms.len());
    let mut last: Option<(EpochMs, Quote)> = None;
    for (m, q) in ms.iter().zip(&quotes) {
        prev.push(last);
        if let Some(q) = q {
            last = Some((m.delivery_start_ms, *q));
        }
    }
    let mut next = Vec::with_capacity(ms.len());
    last = None;
    for (m, q) in ms.iter().zip(&quotes).rev() {
        next.push(last);
        if let Some(q) = q {
            last = Some((m.delivery_start_ms, *q));
        }
    }
    next.reverse();
    let mut points = Vec::with_capacity(ms.len());
    for (((m, q), p), n) in ms.iter().zip(&quotes).zip(&prev).zip(&next) {
        let (price, as_of_ms, version, interpolated) = match q {
            Some(q) => (q.price, q.as_of_ms, q.version, false),
            None => match fill(spec.interpolation, m.delivery_start_ms, *p, *n) {
                Some((price, as_of, version)) => (price, as_of, version, true),
                None => continue,
            },
        };
        points.push(CurvePoint {
            tenant_id: spec.tenant_id.clone(),
            curve_id: spec.curve_id.clone(),
            as_of_ms,
            tenor: m.tenor.clone(),
            delivery_start_ms: m.delivery_start_ms,
            delivery_end_ms: m.delivery_end_ms,
            price: canonical_price(price),
            instrument_id: m.instrument_id.clone(),
            interpolated,
            version,
        });
    }
    points
}

/// (price, as_of, version) of an unpriced member at `x` from its priced neighbours.
pub(crate) fn fill(
    mode: Interpolation,
    x: EpochMs,
    prev: Option<(EpochMs, Quote)>,
    next: Option<(EpochMs, Quote)>,
) -> Option<(f64, EpochMs, u64)> {
    let carry = |q: Quote| (q.price, q.as_of_ms, q.version);
    match (mode, prev, next) {
        (_, None, None) => None,
        (Interpolation::Flat, Some((_, a)), _) | (_, Some((_, a)), None) => Some(carry(a)),
        (_, None, Some((_, b))) => Some(carry(b)),
        (Interpolation::Linear, Some((xa, a)), Some((xb, b))) => {
            let span = i128::from(xb) - i128::from(xa);
            let price = if span > 0 {
                let w = (i128::from(x) - i128::from(xa)) as f64 / span as f64;
                a.price + (b.price - a.price) * w
            } else {
                (a.price + b.price) / 2.0
            };
            Some((
                price,
                a.as_of_ms.max(b.as_of_ms),
                a.version.saturating_add(b.version),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    const DAY: i64 = 86_400_000;

    fn spec(mode: Interpolation) -> CurveSpec {
        CurveSpec {
            tenant_id: Arc::from("default"),
            curve_id: Arc::from("PJM.WH.FWD"),
            interpolation: mode,
        }
    }

    fn member(tenor: &str, day: i64) -> MemberSpec {
        MemberSpec {
            tenant_id: Arc::from("default"),
            curve_id: Arc::from("PJM.WH.FWD"),
            tenor: Arc::from(tenor),
            instrument_id: Arc::from(format!("FWD.{tenor}").as_str()),
            delivery_start_ms: day * DAY,
            delivery_end_ms: (day + 10) * DAY,
        }
    }

    /// Curve over members `(tenor, day)` with quotes `tenor -> (price, as_of, version)`;
    /// returns `(tenor, price, as_of, version, interpolated)`.
    fn run(
        mode: Interpolation,
        members: &[(&str, i64)],
        quotes: &[(&str, f64, i64, u64)],
    ) -> Vec<(String, f64, i64, u64, bool)> {
        let ms: Vec<MemberSpec> = members.iter().map(|(t, d)| member(t, *d)).collect();
        let qs: BTreeMap<String, Quote> = quotes
            .iter()
            .map(|(t, price, as_of_ms, version)| {
                let q = Quote {
                    price: *price,
                    as_of_ms: *as_of_ms,
                    version: *version,
                };
                (format!("FWD.{t}"), q)
            })
            .collect();
        compute_curve(&spec(mode), &ms, |m| qs.get(&*m.instrument_id).copied())
            .into_iter()
            .map(|p| {
                assert_eq!(p.delivery_end_ms, p.delivery_start_ms + 10 * DAY);
                assert_eq!(&*p.instrument_id, format!("FWD.{}", p.tenor));
                assert_eq!(&*p.curve_id, "PJM.WH.FWD");
                (
                    p.tenor.to_string(),
                    p.price,
                    p.as_of_ms,
                    p.version,
                    p.interpolated,
                )
            })
            .collect()
    }

    fn row(
        t: &str,
        price: f64,
        as_of: i64,
        version: u64,
        interp: bool,
    ) -> (String, f64, i64, u64, bool) {
        (t.to_string(), price, as_of, version, interp)
    }

    const MEMBERS: [(&str, i64); 6] = [
        ("M1", 0),
        ("M2", 10),
        ("M3", 20),
        ("M4", 40),
        ("M5", 50),
        ("M6", 60),
    ];

    #[test]
    fn linear_between_neighbours_and_carried_beyond_the_ends() {
        // Priced: M2 = 10 (as_of 100, v1), M5 = 40 (as_of 300, v2); stored out of order.
        let mut members = MEMBERS.to_vec();
        members.reverse();
        let got = run(
            Interpolation::Linear,
            &members,
            &[("M2", 10.0, 100, 1), ("M5", 40.0, 300, 2)],
        );
        assert_eq!(
            got,
            vec![
                row("M1", 10.0, 100, 1, true),
                row("M2", 10.0, 100, 1, false),
                row("M3", 17.5, 300, 3, true), // 10 + 30 * (10 / 40)
                row("M4", 32.5, 300, 3, true), // 10 + 30 * (30 / 40)
                row("M5", 40.0, 300, 2, false),
                row("M6", 40.0, 300, 2, true),
            ]
        );
    }

    #[test]
    fn flat_carries_forward_and_the_first_backward() {
        let got = run(
            Interpolation::Flat,
            &MEMBERS,
            &[("M2", 10.0, 100, 1), ("M5", 40.0, 300, 2)],
        );
        assert_eq!(
            got,
            vec![
                row("M1", 10.0, 100, 1, true),
                row("M2", 10.0, 100, 1, false),
                row("M3", 10.0, 100, 1, true),
                row("M4", 10.0, 100, 1, true),
                row("M5", 40.0, 300, 2, false),
                row("M6", 40.0, 300, 2, true),
            ]
        );
    }

    #[test]
    fn single_priced_member_is_carried_everywhere() {
        for mode in [Interpolation::Linear, Interpolation::Flat] {
            let got = run(mode, &MEMBERS, &[("M4", -5.25, 7, 4)]);
            let want: Vec<_> = MEMBERS
                .iter()
                .map(|(t, _)| row(t, -5.25, 7, 4, *t != "M4"))
                .collect();
            assert_eq!(got, want, "{mode:?}");
        }
    }

    #[test]
    fn no_priced_member_means_no_points() {
        for mode in [Interpolation::Linear, Interpolation::Flat] {
            assert!(run(mode, &MEMBERS, &[]).is_empty());
            assert!(run(mode, &[], &[]).is_empty());
            // A quote for an instrument that is not a member changes nothing.
            assert!(run(mode, &MEMBERS, &[("X", 1.0, 1, 1)]).is_empty());
        }
    }

    #[test]
    fn every_member_priced_means_nothing_interpolated() {
        let quotes: Vec<(&str, f64, i64, u64)> = MEMBERS
            .iter()
            .map(|(t, d)| (*t, *d as f64 * 1.5, *d, 1))
            .collect();
        let got = run(Interpolation::Linear, &MEMBERS, &quotes);
        assert_eq!(got.len(), 6);
        assert!(got.iter().all(|r| !r.4));
        assert_eq!(got[3], row("M4", 60.0, 40, 1, false));
    }

    #[test]
    fn linear_uses_the_nearest_neighbours_only() {
        // M1 = 0 and M6 = 600 are farther than M3 = 20 and M5 = 50.
        let got = run(
            Interpolation::Linear,
            &MEMBERS,
            &[
                ("M1", 0.0, 1, 1),
                ("M3", 20.0, 2, 1),
                ("M5", 50.0, 3, 1),
                ("M6", 600.0, 4, 1),
            ],
        );
        assert_eq!(got[1], row("M2", 10.0, 2, 2, true)); // between M1 and M3
        assert_eq!(got[3], row("M4", 40.0, 3, 2, true)); // 20 + 30 * (20 / 30)
    }

    #[test]
    fn neighbours_sharing_the_delivery_start_average() {
        let members = [("A", 5), ("B", 5), ("C", 5)];
        let got = run(
            Interpolation::Linear,
            &members,
            &[("A", 10.0, 1, 1), ("C", 20.0, 2, 5)],
        );
        assert_eq!(got[1], row("B", 15.0, 2, 6, true));
        let got = run(
            Interpolation::Flat,
            &members,
            &[("A", 10.0, 1, 1), ("C", 20.0, 2, 5)],
        );
        assert_eq!(got[1], row("B", 10.0, 1, 1, true));
    }

    #[test]
    fn fill_is_exact_on_the_axis() {
        let q = |price| Quote {
            price,
            as_of_ms: 0,
            version: u64::MAX,
        };
        let r = fill(
            Interpolation::Linear,
            3,
            Some((0, q(0.0))),
            Some((4, q(8.0))),
        );
        assert_eq!(r, Some((6.0, 0, u64::MAX)), "versions saturate");
        assert_eq!(fill(Interpolation::Linear, 3, None, None), None);
        let far = fill(
            Interpolation::Linear,
            0,
            Some((i64::MIN, q(1.0))),
            Some((i64::MAX, q(3.0))),
        );
        assert_eq!(far.map(|r| r.0), Some(2.0), "no overflow at the extremes");
    }

    #[test]
    fn interpolation_names() {
        assert_eq!(
            Interpolation::from_name(" Linear "),
            Some(Interpolation::Linear)
        );
        assert_eq!(Interpolation::from_name("FLAT"), Some(Interpolation::Flat));
        assert_eq!(Interpolation::from_name("spline"), None);
        assert_eq!(Interpolation::Flat.name(), "flat");
    }

    #[test]
    fn negative_zero_prices_render_as_zero_bits() {
        let got = run(Interpolation::Flat, &MEMBERS[..1], &[("M1", -0.0, 1, 1)]);
        assert_eq!(got[0].1.to_bits(), 0.0f64.to_bits());
    }
}
