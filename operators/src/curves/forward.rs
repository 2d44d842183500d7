//! [`ForwardCurves`]: incremental forward curves from curve definitions, members and the latest
//! price of every member instrument (SPEC §3 "Curves" (a)).
//!
//! Inputs are differential: definitions and members as reference data changes (`−1` old row,
//! `+1` new row; a deactivated row is only retracted), latest prices as `−1` old latest / `+1`
//! new latest per (tenant, instrument). Each input key holds a multiset of versions whose current
//! value is the greatest one present (see `versions.rs`), so updates may arrive in any order.
//! A member is priced by the latest price of its instrument in the member's own tenant.
//!
//! An update marks the curves it touches dirty — a price update every curve with a member on that
//! instrument (one instrument may serve several curves) — and [`ForwardCurves::drain`] recomputes
//! each dirty curve from scratch with [`compute_curve`] (curves hold tens of members, so this is
//! cheaper and simpler than patching neighbours) and emits only the points that differ from what
//! it emitted before. Members of a curve without a definition produce no points; deleting the
//! definition or a member retracts its points.
//!
//! Memory: the current latest price of every instrument ever seen (so a member added later is
//! priced at once), plus the definitions, members and emitted points of every curve.

use super::inputs::{CurveSpec, LatestPrice, MemberSpec, Quote};
use super::interpolate::compute_curve;
use super::versions::{Presence, Versions};
use super::{diff_points, Diff};
use crate::model::{CurvePoint, Sym};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};

/// (tenant, curve_id).
type CurveKey = (Sym, Sym);
/// (tenant, instrument_id).
type InstrumentKey = (Sym, Sym);

#[derive(Debug, Default)]
struct CurveState {
    /// Versions of the curve's definition.
    specs: Versions<CurveSpec>,
    /// Versions of each member, by tenor.
    members: BTreeMap<Sym, Versions<MemberSpec>>,
    /// The points emitted so far, sorted by (delivery_start, tenor).
    emitted: Vec<CurvePoint>,
}

impl CurveState {
    fn is_empty(&self) -> bool {
        self.specs.is_empty() && self.members.is_empty() && self.emitted.is_empty()
    }
}

/// Incremental forward curves: apply input updates, then [`drain`](Self::drain) point updates.
#[derive(Debug, Default)]
pub struct ForwardCurves {
    curves: BTreeMap<CurveKey, CurveState>,
    prices: FxHashMap<InstrumentKey, Versions<Quote>>,
    /// For each instrument, the curves with a member version on it and how many such versions.
    by_instrument: FxHashMap<InstrumentKey, BTreeMap<Sym, u32>>,
    dirty: BTreeSet<CurveKey>,
}

impl ForwardCurves {
    /// An empty set of curves.
    pub fn new() -> ForwardCurves {
        ForwardCurves::default()
    }

    /// Applies a change of a curve definition.
    pub fn apply_curve(&mut self, spec: &CurveSpec, diff: Diff) {
        let key = (spec.tenant_id.clone(), spec.curve_id.clone());
        self.curves
            .entry(key.clone())
            .or_default()
            .specs
            .update(spec.clone(), diff);
        self.dirty.insert(key);
    }

    /// Applies a change of a curve member (insert `+1`, delete `−1`, update both).
    pub fn apply_member(&mut self, member: &MemberSpec, diff: Diff) {
        let key = (member.tenant_id.clone(), member.curve_id.clone());
        let state = self.curves.entry(key.clone()).or_default();
        let versions = state.members.entry(member.tenor.clone()).or_default();
        let presence = versions.update(member.clone(), diff);
        if versions.is_empty() {
            state.members.remove(&member.tenor);
        }
        let ikey = (member.tenant_id.clone(), member.instrument_id.clone());
        match presence {
            Presence::Added => {
                *self
                    .by_instrument
                    .entry(ikey)
                    .or_default()
                    .entry(member.curve_id.clone())
                    .or_default() += 1;
            }
            Presence::Removed => {
                if let Some(curves) = self.by_instrument.get_mut(&ikey) {
                    if let Some(n) = curves.get_mut(&member.curve_id) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            curves.remove(&member.curve_id);
                        }
                    }
                    if curves.is_empty() {
                        self.by_instrument.remove(&ikey);
                    }
                }
            }
            Presence::Same => {}
        }
        self.dirty.insert(key);
    }

    /// Applies a change of an instrument's latest price (`−1` old latest, `+1` new latest).
    pub fn apply_price(&mut self, price: &LatestPrice, diff: Diff) {
        let ikey = (price.tenant_id.clone(), price.instrument_id.clone());
        let versions = self.prices.entry(ikey.clone()).or_default();
        versions.update(price.quote(), diff);
        if versions.is_empty() {
            self.prices.remove(&ikey);
        }
        if let Some(curves) = self.by_instrument.get(&ikey) {
            for curve_id in curves.keys() {
                self.dirty.insert((ikey.0.clone(), curve_id.clone()));
            }
        }
    }

    /// Appends the point updates since the last drain — `(old, −1)` then `(new, +1)` for every
    /// changed point, `(point, ±1)` for points that appeared or disappeared — in the order of
    /// (tenant, curve_id, delivery_start, tenor).
    pub fn drain(&mut self, out: &mut Vec<(CurvePoint, Diff)>) {
        let prices = &self.prices;
        for key in std::mem::take(&mut self.dirty) {
            let Some(state) = self.curves.get_mut(&key) else {
                continue;
            };
            let new = match state.specs.current() {
                Some(spec) => compute_curve(
                    spec,
                    state.members.values().filter_map(Versions::current),
                    |m| {
                        prices
                            .get(&(m.tenant_id.clone(), m.instrument_id.clone()))
                            .and_then(Versions::current)
                            .copied()
                    },
                ),
                None => Vec::new(),
            };
            diff_points(&state.emitted, &new, out);
            state.emitted = new;
            if state.is_empty() {
                self.curves.remove(&key);
            }
        }
    }

    /// The current points of one curve (as drained so far), sorted by (delivery_start, tenor).
    pub fn snapshot(&self, tenant_id: &str, curve_id: &str) -> &[CurvePoint] {
        let key: CurveKey = (Sym::from(tenant_id), Sym::from(curve_id));
        self.curves
            .get(&key)
            .map_or(&[][..], |s| s.emitted.as_slice())
    }

    /// Every current point (as drained so far), in (tenant, curve_id, delivery_start, tenor) order.
    pub fn points(&self) -> impl Iterator<Item = &CurvePoint> {
        self.curves.values().flat_map(|s| s.emitted.iter())
    }

    /// Number of curves holding a definition, members or points.
    pub fn curve_count(&self) -> usize {
        self.curves.len()
    }

    /// True when an update is waiting for [`drain`](Self::drain).
    pub fn has_pending(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Every curve with a member version on the instrument (for tests and routing checks).
    pub fn curves_of(&self, tenant_id: &str, instrument_id: &str) -> Vec<Sym> {
        let key: InstrumentKey = (Sym::from(tenant_id), Sym::from(instrument_id));
        self.by_instrument
            .get(&key)
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Every member version of the curve state (for debugging invariants in tests).
#[cfg(test)]
pub(crate) fn member_versions<'a>(
    fc: &'a ForwardCurves,
) -> impl Iterator<Item = &'a MemberSpec> + 'a {
    fc.curves
        .values()
        .flat_map(|s| s.members.values().flat_map(Versions::values))
}
