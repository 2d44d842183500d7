//! `Forward::forward_curves`: the timely plumbing around [`ForwardCurves`].
//!
//! Latest-price updates are exchanged by tenant (a curve's members must meet on one worker);
//! curve definitions and members come from reference data: the initial snapshot at
//! construction (every worker holds it before any input is read) and later changes on a stream
//! every worker receives in full. Point updates are drained once per input batch.

use super::{CurveSpec, ForwardCurves, LatestPrice as Quoted, MemberSpec};
use crate::model::{CurvePoint, LatestPrice, ReferenceRow};
use std::sync::Arc;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;

/// Maintains forward curves from latest prices and curve reference data.
pub trait Forward<'scope> {
    /// Returns curve point updates. `reference` carries reference-row changes, complete on
    /// every worker.
    fn forward_curves(
        self,
        initial: Arc<Vec<ReferenceRow>>,
        reference: Stream<'scope, u64, Vec<(ReferenceRow, i64)>>,
    ) -> Stream<'scope, u64, Vec<(CurvePoint, i64)>>;
}

/// Applies one reference-row change to the curves (other tables are ignored; inactive rows
/// carry no curve or member, so deactivating is the retraction of the active version).
pub fn apply_reference(curves: &mut ForwardCurves, row: &ReferenceRow, diff: i64) {
    match row {
        ReferenceRow::CurveDefinition(d) if d.active => curves.apply_curve(
            &CurveSpec {
                tenant_id: d.tenant_id.clone(),
                curve_id: d.curve_id.clone(),
                interpolation: d.interpolation,
            },
            diff,
        ),
        ReferenceRow::CurveMember(m) if m.active => curves.apply_member(
            &MemberSpec {
                tenant_id: m.tenant_id.clone(),
                curve_id: m.curve_id.clone(),
                tenor: m.tenor.clone(),
                instrument_id: m.instrument_id.clone(),
                delivery_start_ms: m.delivery_start_ms,
                delivery_end_ms: m.delivery_end_ms,
            },
            diff,
        ),
        _ => {}
    }
}

fn tenant_hash(tenant: &str) -> u64 {
    crate::model::route_hash(tenant, "")
}

impl<'scope> Forward<'scope> for Stream<'scope, u64, Vec<(LatestPrice, i64)>> {
    fn forward_curves(
        self,
        initial: Arc<Vec<ReferenceRow>>,
        reference: Stream<'scope, u64, Vec<(ReferenceRow, i64)>>,
    ) -> Stream<'scope, u64, Vec<(CurvePoint, i64)>> {
        let pact = Exchange::new(|(p, _): &(LatestPrice, i64)| tenant_hash(&p.tenant_id));
        self.binary(
            reference,
            pact,
            Pipeline,
            "ForwardCurves",
            move |_cap, _info| {
                let mut curves = ForwardCurves::new();
                for row in initial.iter() {
                    apply_reference(&mut curves, row, 1);
                }
                let mut points = Vec::new();
                move |prices, reference, output| {
                    reference.for_each_stamp(|cap, data| {
                        for batch in data {
                            for (row, diff) in batch.drain(..) {
                                apply_reference(&mut curves, &row, diff);
                            }
                        }
                        curves.drain(&mut points);
                        if !points.is_empty() {
                            output.session(&cap).give_container(&mut points);
                        }
                    });
                    prices.for_each_stamp(|cap, data| {
                        for batch in data {
                            for (p, diff) in batch.drain(..) {
                                let q = Quoted {
                                    tenant_id: p.tenant_id,
                                    instrument_id: p.instrument_id,
                                    price: p.price,
                                    as_of_ms: p.interval_start_ms,
                                    version: p.version,
                                };
                                curves.apply_price(&q, diff);
                            }
                        }
                        curves.drain(&mut points);
                        if !points.is_empty() {
                            output.session(&cap).give_container(&mut points);
                        }
                    });
                }
            },
        )
    }
}
