//! `Dedupe::dedupe`: the timely plumbing around [`DedupeCore`].
//!
//! Input: accepted ticks (each carrying its lateness horizon), exchanged by (tenant, instrument), and the
//! global watermark marks of this worker's lateness stage (pipeline). Arrivals are processed one
//! complete time at a time, in time order (a correction of batch `k + 1` may reach this worker
//! before the first value of batch `k` read by a slower worker); changes are emitted at the time
//! of the batch that caused them; a mark of time `t` releases identities only once every arrival
//! of times `≤ t` has been processed.
//!
//! With store bars ([`Dedupe::dedupe_with_store`], final-state runs) the core also keeps the
//! bars (see `super::bars`): a mark closes them — before it releases identities — and the end
//! of the input closes every bar left (unless the run was stopped), on a second output.

use super::{DedupeCore, DedupeStats, TickBatch};
use crate::exchange::Batches;
use crate::lateness::LatenessPolicy;
use crate::model::{route_hash, Bar, BarInterval, EpochMs, LatestPrice, Tick};
use crate::views::ViewStats;
use crate::window::horizon;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{ExchangeCore, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::Capability;
use timely::dataflow::Stream;

/// The arrivals of one time: a capability for its changes and the batches as received.
/// (Capabilities for the changes and the latest prices.)
type Arrivals = (Capability<u64>, Capability<u64>, Vec<Vec<Tick>>);

/// Settings of store bars ([`Dedupe::dedupe_with_store`]).
#[derive(Clone)]
pub struct StoreBarsConfig {
    /// Where the final-bar counters and the open-window gauge go (as the views would).
    pub stats: Rc<RefCell<ViewStats>>,
    /// Asked when the input ends: true for a drained (stopped) run, whose open windows are not
    /// final and stay unwritten; otherwise every bar still open is closed.
    pub stopped: fn() -> bool,
}

/// Routes ticks by identity and turns arrivals into a differential stream of winners.
pub trait Dedupe<'scope>: Sized {
    /// [`Dedupe::dedupe`] that also derives from its store of held identities the latest
    /// prices (`config.latest`, see `super::latest`) and the final bars of the policy's
    /// intervals (`config.bars`, for runs without provisional bars, see `super::bars`), each
    /// sorted per batch; the streams not asked for stay empty.
    fn dedupe_with_store(
        self,
        marks: Stream<'scope, u64, Vec<EpochMs>>,
        policy: Arc<LatenessPolicy>,
        stats: Rc<RefCell<DedupeStats>>,
        config: StoreConfig,
    ) -> StoreStreams<'scope>;

    /// Returns the deduplicated updates (each tick carrying its horizon) as [`TickBatch`]es;
    /// counters accumulate into `stats`.
    fn dedupe(
        self,
        marks: Stream<'scope, u64, Vec<EpochMs>>,
        policy: Arc<LatenessPolicy>,
        stats: Rc<RefCell<DedupeStats>>,
    ) -> Stream<'scope, u64, Vec<TickBatch>> {
        let config = StoreConfig {
            bars: None,
            latest: false,
        };
        self.dedupe_with_store(marks, policy, stats, config).changes
    }
}

/// What [`Dedupe::dedupe_with_store`] derives from the store.
#[derive(Clone)]
pub struct StoreConfig {
    /// Keep the final bars.
    pub bars: Option<StoreBarsConfig>,
    /// Derive the latest prices.
    pub latest: bool,
}

/// The streams of [`Dedupe::dedupe_with_store`].
pub struct StoreStreams<'scope> {
    /// The deduplicated updates.
    pub changes: Stream<'scope, u64, Vec<TickBatch>>,
    /// Final bars.
    pub bars: Stream<'scope, u64, Vec<(Bar, i64)>>,
    /// Latest-price updates.
    pub latest: Stream<'scope, u64, Vec<(LatestPrice, i64)>>,
}

type Out<D> = OutputBuilder<u64, CapacityContainerBuilder<Vec<D>>>;

impl<'scope> Dedupe<'scope> for Stream<'scope, u64, Vec<Tick>> {
    fn dedupe_with_store(
        self,
        marks: Stream<'scope, u64, Vec<EpochMs>>,
        policy: Arc<LatenessPolicy>,
        stats: Rc<RefCell<DedupeStats>>,
        config: StoreConfig,
    ) -> StoreStreams<'scope> {
        build(self, marks, policy, stats, config)
    }
}

fn build<'scope>(
    ticks: Stream<'scope, u64, Vec<Tick>>,
    marks: Stream<'scope, u64, Vec<EpochMs>>,
    policy: Arc<LatenessPolicy>,
    stats: Rc<RefCell<DedupeStats>>,
    config: StoreConfig,
) -> StoreStreams<'scope> {
    let bars = config.bars;
    let mut builder = OperatorBuilder::new("Dedupe".to_owned(), ticks.scope());
    // Ticks cross workers in batches of `exchange::BATCH_RECORDS`, not 8 KiB containers.
    let route = |t: &Tick| route_hash(&t.tenant_id, &t.instrument_id);
    let pact = ExchangeCore::<Batches<Tick>, _>::new_core(route);
    let mut input = builder.new_input(ticks, pact);
    let mut marks_in = builder.new_input(marks, Pipeline);
    let (changes_out, changes) = builder.new_output::<Vec<TickBatch>>();
    let (bars_out, bar_stream) = builder.new_output::<Vec<(Bar, i64)>>();
    let mut changes_out: Out<TickBatch> = OutputBuilder::from(changes_out);
    let (latest_out, latest_stream) = builder.new_output::<Vec<(LatestPrice, i64)>>();
    let mut bars_out: Out<(Bar, i64)> = OutputBuilder::from(bars_out);
    let mut latest_out: Out<(LatestPrice, i64)> = OutputBuilder::from(latest_out);
    let keep_latest = config.latest;
    builder.build(move |caps| {
        let mut core = DedupeCore::with_intervals(policy.intervals());
        if bars.is_some() {
            core = core.with_bars();
        }
        if keep_latest {
            core = core.with_latest();
        }
        let mut latest_buf: Vec<(LatestPrice, i64)> = Vec::new();
        // Held until the end of input, for the last closing of store bars.
        let mut held: Option<Vec<Capability<u64>>> = bars.is_some().then_some(caps);
        let mut changes = Vec::new();
        let mut bar_buf: Vec<(Bar, i64)> = Vec::new();
        // Arrivals by time, processed in time order once complete: an update's horizon and
        // the identity's first version must not depend on which worker's batch came first.
        let mut inbox: BTreeMap<u64, Arrivals> = BTreeMap::new();
        let mut pending: VecDeque<(u64, EpochMs)> = VecDeque::new();
        move |frontiers| {
            let mut output = changes_out.activate();
            let mut bars_output = bars_out.activate();
            let mut latest_output = latest_out.activate();
            let frontier = frontiers[0].frontier();
            input.for_each_stamp(|cap, data| {
                let Some(&t) = cap.least() else { return };
                let slot = inbox
                    .entry(t)
                    .or_insert_with(|| (cap.delayed(&t, 0), cap.delayed(&t, 2), Vec::new()));
                for batch in data {
                    slot.2.push(std::mem::take(batch));
                }
            });
            while let Some(entry) = inbox.first_entry() {
                if frontier.less_equal(entry.key()) {
                    break;
                }
                let (cap, latest_cap, mut batches) = entry.remove();
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
                core.drain_latest(&mut latest_buf);
                if !latest_buf.is_empty() {
                    latest_output
                        .session(&latest_cap)
                        .give_container(&mut latest_buf);
                }
            }
            marks_in.for_each_stamp(|cap, data| {
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
                latest = Some((t, g));
                pending.pop_front();
            }
            if let Some((t, g)) = latest {
                let closed = |m| horizon(g, policy.closing_lateness_ms(m));
                core.close_bars(closed, &mut bar_buf);
                if let (false, Some(cap)) =
                    (bar_buf.is_empty(), held.as_ref().and_then(|c| c.get(1)))
                {
                    bars_output
                        .session(&cap.delayed(&t))
                        .give_container(&mut bar_buf);
                }
                core.release(closed);
            }
            if let Some(cfg) = &bars {
                let least = frontier
                    .iter()
                    .chain(frontiers[1].frontier().iter())
                    .min()
                    .copied();
                match least {
                    Some(t) => {
                        for c in held.iter_mut().flatten() {
                            if *c.time() < t {
                                c.downgrade(&t);
                            }
                        }
                    }
                    None => {
                        if let Some(caps) = held.take() {
                            if !(cfg.stopped)() {
                                core.close_bars(|_| EpochMs::MAX, &mut bar_buf);
                            }
                            if let (false, Some(cap)) = (bar_buf.is_empty(), caps.get(1)) {
                                bars_output.session(cap).give_container(&mut bar_buf);
                            }
                        }
                    }
                }
                let mut s = cfg.stats.borrow_mut();
                for iv in BarInterval::ALL {
                    let i = iv.index();
                    if let (Some(o), Some(n)) = (
                        s.open_windows.get_mut(i),
                        core.bar_stats.open_windows.get(i),
                    ) {
                        *o = *n;
                    }
                    if let Some(&n) = core.bar_stats.final_bars.get(i) {
                        if n > 0 {
                            s.final_bars.insert(iv.name(), n);
                        }
                    }
                }
            }
            bar_buf.clear();
            *stats.borrow_mut() = core.stats.clone();
        }
    });
    StoreStreams {
        changes,
        bars: bar_stream,
        latest: latest_stream,
    }
}
