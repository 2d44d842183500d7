//! `serve_views`: hands every update of the served views (ticks' latest-price rows, bars, curve
//! points) to the HTTP serving state of **every** process (SPEC §7: each process answers
//! completely).
//!
//! Each update is copied once per process and exchanged to that process's first worker, whose
//! operator stashes the updates by timely time and applies a time to [`Served`] only once the
//! input frontier has passed it — i.e. when every worker of every process has sent everything
//! of that time — so the served state always reflects a complete point of the stream, never
//! half a batch. When the input ends the state is marked final. The other workers' operators
//! receive nothing. Cost: every served update crosses to every process once; the process's
//! `serve-apply` thread applies all of them (see [`Served::submit`]), off the worker.

use crate::http::{ServeUpdate, Served};
use operators::dedupe::TickBatch;
use operators::model::{Bar, CurvePoint, LatestPrice};
use std::collections::BTreeMap;
use std::sync::Arc;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::core::Map;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Concatenate;
use timely::dataflow::Stream;

/// Where the serving workers are: `workers` per process, `processes` processes.
#[derive(Clone, Copy, Debug)]
pub struct ServeLayout {
    /// Workers per process.
    pub workers: usize,
    /// Processes.
    pub processes: usize,
}

/// Sends the view updates to each process's serving state. `served` is `Some` on the first
/// worker of each process (the one the updates are routed to).
pub fn serve_views<'scope>(
    ticks: Stream<'scope, u64, Vec<TickBatch>>,
    bars: Stream<'scope, u64, Vec<(Bar, i64)>>,
    curves: Stream<'scope, u64, Vec<(CurvePoint, i64)>>,
    layout: ServeLayout,
    served: Option<Arc<Served>>,
) {
    let scope = bars.scope();
    let procs = layout.processes.max(1) as u64;
    let ticks = ticks.flat_map(move |batch: TickBatch| {
        let mut out = Vec::with_capacity(batch.len() * procs as usize);
        batch.for_each(|t, d| {
            let row = LatestPrice::of(t);
            for p in 0..procs {
                out.push((p, ServeUpdate::Tick(row.clone(), d)));
            }
        });
        out
    });
    let bars = bars.flat_map(move |(b, d): (Bar, i64)| {
        (0..procs).map(move |p| (p, ServeUpdate::Bar(b.clone(), d)))
    });
    let curves = curves.flat_map(move |(c, d): (CurvePoint, i64)| {
        (0..procs).map(move |p| (p, ServeUpdate::Curve(c.clone(), d)))
    });
    let workers = layout.workers.max(1) as u64;
    let mut stash: BTreeMap<u64, Vec<ServeUpdate>> = BTreeMap::new();
    let mut finished = false;
    scope.concatenate([ticks, bars, curves]).sink(
        Exchange::new(move |(p, _): &(u64, ServeUpdate)| p * workers),
        "ServeViews",
        move |(input, frontier)| {
            input.for_each_stamp(|cap, data| {
                let time = cap.stamp().least().copied().unwrap_or(0);
                let held = stash.entry(time).or_default();
                for batch in data {
                    held.extend(batch.drain(..).map(|(_, u)| u));
                }
            });
            let Some(served) = served.as_ref() else {
                stash.clear();
                return;
            };
            // Times the frontier has passed are complete on every worker of every process.
            let done = |t: &u64| !frontier.frontier().less_equal(t);
            while let Some(entry) = stash.first_entry() {
                if !done(entry.key()) {
                    break;
                }
                let time = *entry.key();
                served.submit(time, entry.remove());
            }
            if frontier.is_empty() && !finished {
                finished = true;
                served.finish();
                tracing::info!("served views are final");
            }
        },
    );
}
