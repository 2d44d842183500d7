//! `live_reference`: the live reference collection's changes, polled on one worker and
//! broadcast to all (SPEC §5).
//!
//! Global worker 0 polls its [`ReferenceSource`] every refresh interval and emits the
//! differential changes (`−1` old row, `+1` new row) at its capability's time; `.broadcast()`
//! hands every worker all of them, so each worker's enricher and forward curves see the same
//! collection. Other workers release their capability at once and emit nothing.
//!
//! Progress: the capability follows the time of the document source of worker 0 (a shared
//! [`SourceProgress`]), never ahead of it, so a change emitted at time `t` reaches every worker
//! before the documents of later times are parsed (`Normalize` waits for it) without holding
//! back a bounded input; it is released when that document source is done, after which no
//! further change is picked up in this run. Changes depend on wall clock (exempt from
//! determinism, SPEC §4); a run without changes emits nothing. A source that fails to read keeps
//! its previous rows and reports no change (it logs, and records the error for health).

use super::source::SourceProgress;
use connectors::reference::ReferenceSource;
use operators::model::ReferenceRow;
use std::time::{Duration, Instant};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::{Scope, Stream};

/// The changes of `reference` (present on global worker 0 only), polled every `refresh`, on
/// every worker; `documents` is this worker's document source progress.
pub fn live_reference<'scope>(
    scope: Scope<'scope, u64>,
    reference: Option<Box<dyn ReferenceSource>>,
    documents: SourceProgress,
    refresh: Duration,
) -> Stream<'scope, u64, Vec<(ReferenceRow, i64)>> {
    let refresh = refresh.max(Duration::from_millis(1));
    let changes = source(scope, "LiveReference", move |capability, info| {
        let activator = scope.activator_for(info.address);
        // Without a source (workers other than 0, or no live reference data) the capability is
        // released here, so this operator never holds progress back.
        let mut cap = reference.is_some().then_some(capability);
        let mut reference = reference;
        if cap.is_some() {
            documents.watch(activator.clone());
            activator.activate_after(refresh);
        }
        let mut last_poll = Instant::now();
        move |output| {
            let (Some(c), Some(reference)) = (cap.as_mut(), reference.as_mut()) else {
                return;
            };
            let Some(time) = documents.time() else {
                // The documents of this worker are done: release the capability (and the source).
                cap = None;
                return;
            };
            if time > *c.time() {
                c.downgrade(&time);
            }
            // Only a due poll re-arms the timer, so exactly one timer is pending at any time.
            if last_poll.elapsed() >= refresh {
                last_poll = Instant::now();
                let mut changes = reference.poll_changes();
                let rows = &crate::metrics::families().reference_rows;
                for (row, diff) in &changes {
                    rows.with_label_values(&[row.table().name()]).add(*diff);
                }
                match reference.last_error() {
                    Some(e) => crate::health::down("reference", &e.to_string()),
                    None => crate::health::up("reference"),
                }
                if !changes.is_empty() {
                    tracing::info!(
                        updates = changes.len(),
                        time,
                        "reference changes sent to every worker"
                    );
                    output.session(&*c).give_container(&mut changes);
                }
                activator.activate_after(refresh);
            }
        }
    });
    changes.broadcast()
}
