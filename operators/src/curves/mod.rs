//! Curves (SPEC §3 "Curves") as pure, incremental cores: no timely, no I/O.
//!
//! - [`ForwardCurves`]: forward curves from curve definitions and members, priced from each
//!   member instrument's latest price, with `linear` / `flat` interpolation for members without
//!   a price ([`compute_curve`] is the from-scratch function it applies per changed curve).
//! - [`DeliveryCurves`]: one day-ahead delivery curve per (tenant, market, node, operating day),
//!   tenors `HE01`…`HE25` by the hour's position in the local operating day.
//!
//! Both take differential updates (`(value, diff)`, `diff` = ±1 for a retraction / insertion,
//! in any order within a batch) and [`drain`](ForwardCurves::drain) differential point updates:
//! for every point that changed, `(old, −1)` before `(new, +1)`; unchanged points produce nothing.
//! Summing every drained update gives the current snapshot, which equals the from-scratch
//! computation over the current inputs (oracle tests in `tests/forward.rs` and
//! `tests/delivery.rs`). Output depends only on the multiset of inputs, never on their order, so
//! it is deterministic at any parallelism.
//!
//! Nothing here fails: inputs that cannot form a point (a curve without a definition, a delivery
//! tick that is not an hour long) simply produce no point.

mod delivery;
#[cfg(test)]
#[path = "tests/delivery.rs"]
mod delivery_tests;
mod forward;
#[cfg(test)]
#[path = "tests/forward.rs"]
mod forward_tests;
mod inputs;
mod interpolate;
pub mod operator;
mod versions;

pub use delivery::{delivery_curve_id, DeliveryCurves, HOUR_MS};
pub use forward::ForwardCurves;
pub use inputs::{CurveSpec, Interpolation, LatestPrice, MemberSpec, Quote};
pub use interpolate::compute_curve;
pub use operator::Forward;

use crate::model::CurvePoint;
use std::cmp::Ordering;

/// A differential multiplicity: `+1` inserts a value, `−1` retracts it.
pub type Diff = i64;

/// Appends the updates that turn the snapshot `old` into `new`. Both must be sorted by
/// (delivery_start, tenor) with unique tenors, as [`compute_curve`] returns them. Points are
/// matched by tenor: a changed point yields `(old, −1)` then `(new, +1)`.
pub(crate) fn diff_points(
    old: &[CurvePoint],
    new: &[CurvePoint],
    out: &mut Vec<(CurvePoint, Diff)>,
) {
    let key = |p: &CurvePoint| (p.delivery_start_ms, p.tenor.clone());
    let (mut i, mut j) = (0, 0);
    loop {
        match (old.get(i), new.get(j)) {
            (None, None) => break,
            (Some(o), None) => {
                out.push((o.clone(), -1));
                i += 1;
            }
            (None, Some(n)) => {
                out.push((n.clone(), 1));
                j += 1;
            }
            (Some(o), Some(n)) => match key(o).cmp(&key(n)) {
                Ordering::Less => {
                    out.push((o.clone(), -1));
                    i += 1;
                }
                Ordering::Greater => {
                    out.push((n.clone(), 1));
                    j += 1;
                }
                Ordering::Equal => {
                    if o != n {
                        out.push((o.clone(), -1));
                        out.push((n.clone(), 1));
                    }
                    i += 1;
                    j += 1;
                }
            },
        }
    }
}

/// Sums the diffs of equal points, drops those that cancel, and orders the rest by the output
/// order of [`CurvePoint::cmp_output`] with retractions of a (tenant, curve, delivery_start,
/// tenor) before its insertions.
pub(crate) fn consolidate(updates: &mut Vec<(CurvePoint, Diff)>) {
    updates.sort_by(|a, b| a.0.cmp_output(&b.0));
    let mut merged: Vec<(CurvePoint, Diff)> = Vec::with_capacity(updates.len());
    for (p, d) in updates.drain(..) {
        match merged.last_mut() {
            Some((q, e)) if *q == p => *e += d,
            _ => merged.push((p, d)),
        }
    }
    merged.retain(|(_, d)| *d != 0);
    merged.sort_by(|a, b| {
        let ka = (
            &a.0.tenant_id,
            &a.0.curve_id,
            a.0.delivery_start_ms,
            &a.0.tenor,
        );
        let kb = (
            &b.0.tenant_id,
            &b.0.curve_id,
            b.0.delivery_start_ms,
            &b.0.tenor,
        );
        ka.cmp(&kb)
            .then_with(|| (a.1 > 0).cmp(&(b.1 > 0)))
            .then_with(|| a.0.cmp_output(&b.0))
    });
    *updates = merged;
}

/// `-0.0` as `0.0`, so that equal prices have equal bits and sort together.
pub(crate) fn canonical_price(x: f64) -> f64 {
    x + 0.0
}
