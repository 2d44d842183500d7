//! `Dedupe::dedupe`: the timely plumbing around [`DedupeCore`].
//!
//! Input: accepted ticks (each carrying its lateness horizon), exchanged by (tenant, instrument), and the
//! global watermark marks of this worker's lateness stage (pipeline). Arrivals are processed one
//! complete time at a time, in time order (a correction of batch `k + 1` may reach this worker
//! before the first value of batch `k` read by a slower worker); changes are emitted at the time
//! of the batch that caused them; a mark of time `t` releases identities only once every arrival
//! of times `≤ t` has been processed.

use super::{DedupeCore, DedupeStats, TickBatch};
use crate::lateness::LatenessPolicy;
use crate::model::{route_hash, EpochMs, Tick};
use crate::window::horizon;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::Stream;

/// The arrivals of one time: a capability for its changes and the batches as received.
type Arrivals = (Capability<u64>, Vec<Vec<Tick>>);

/// Routes ticks by identity and turns arrivals into a differential stream of winners.
pub trait Dedupe<'scope> {
    /// Returns the deduplicated updates (each tick carrying its horizon) as [`TickBatch`]es;
    /// counters accumulate into `stats`.
    fn dedupe(
        self,
        marks: Stream<'scope, u64, Vec<EpochMs>>,
        policy: Arc<LatenessPolicy>,
        stats: Rc<RefCell<DedupeStats>>,
    ) -> Stream<'scope, u64, Vec<TickBatch>>;
}

impl<'scope> Dedupe<'scope> for Stream<'scope, u64, Vec<Tick>> {
    fn dedupe(
        self,
        marks: Stream<'scope, u64, Vec<EpochMs>>,
        policy: Arc<LatenessPolicy>,
        stats: Rc<RefCell<DedupeStats>>,
    ) -> Stream<'scope, u64, Vec<TickBatch>> {
        let pact = Exchange::new(|t: &Tick| route_hash(&t.tenant_id, &t.instrument_id));
        self.binary_frontier(marks, pact, Pipeline, "Dedupe", move |_cap, _info| {
            let mut core = DedupeCore::with_intervals(policy.intervals());
            let mut changes = Vec::new();
            // Arrivals by time, processed in time order once complete: an update's horizon and
            // the identity's first version must not depend on which worker's batch came first.
            let mut inbox: BTreeMap<u64, Arrivals> = BTreeMap::new();
            let mut pending: VecDeque<(u64, EpochMs)> = VecDeque::new();
            move |(input, frontier), (marks, _), output| {
                input.for_each_stamp(|cap, data| {
                    let Some(&t) = cap.least() else { return };
                    let slot = inbox
                        .entry(t)
                        .or_insert_with(|| (cap.delayed(&t, 0), Vec::new()));
                    for batch in data {
                        slot.1.push(std::mem::take(batch));
                    }
                });
                while let Some(entry) = inbox.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (cap, mut batches) = entry.remove();
                    // Batches of one time come from several workers in any order; taking them
                    // in source order keeps each instrument's arrivals in time order for the
                    // common case of one striped feed (appends, not inserts, downstream).
                    batches.sort_by_key(|b| b.first().map(|t| t.source));
                    let mut session = output.session(&cap);
                    for mut batch in batches {
                        core.insert_batch(&mut batch);
                        if !batch.is_empty() {
                            session.give(TickBatch::Inserted(batch));
                        }
                    }
                    core.drain_changes(&mut changes);
                    if !changes.is_empty() {
                        session.give(TickBatch::Changed(std::mem::take(&mut changes)));
                    }
                }
                marks.for_each_stamp(|cap, data| {
                    let Some(&t) = cap.least() else { return };
                    for batch in data {
                        for g in batch.drain(..) {
                            pending.push_back((t, g));
                        }
                    }
                });
                let mut latest = None;
                while let Some(&(t, g)) = pending.front() {
                    if frontier.less_equal(&t) {
                        break;
                    }
                    latest = Some(g);
                    pending.pop_front();
                }
                if let Some(g) = latest {
                    core.release(|m| horizon(g, policy.closing_lateness_ms(m)));
                }
                *stats.borrow_mut() = core.stats.clone();
            }
        })
    }
}
