//! `Views::maintain_views`: the per-instrument views — provisional OHLC bars and day-ahead
//! delivery curves — from the differential tick stream of dedupe (SPEC §3, §4). Latest prices,
//! and final bars in runs without provisional ones, come from dedupe's store
//! ([`crate::dedupe::Dedupe::dedupe_with_store`]): it holds the ticks they are made of.
//!
//! The input is already routed by (tenant, instrument), so every view of an instrument lives on
//! one worker. Tick updates are applied as they arrive (each with its lateness horizon, so bars
//! skip windows closed for it) and drained once per input batch. A global-watermark mark of time
//! `t` closes windows only after every update of times `≤ t` has been applied, so which bars
//! are final is a function of the input, not of scheduling. At the end of a bounded input every
//! open bar is finalized.
//!
//! With `provisional` off (the `dir:` final state), bars are emitted only when final.

use crate::curves::DeliveryCurves;
use crate::dedupe::TickBatch;
use crate::lateness::LatenessPolicy;
use crate::model::{Bar, BarInterval, CurvePoint, EpochMs};
use crate::window::{BarBook, BarStats};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::Capability;
use timely::dataflow::Stream;

/// The outputs of [`Views::maintain_views`].
pub struct ViewStreams<'scope> {
    /// Bar updates.
    pub bars: Stream<'scope, u64, Vec<(Bar, i64)>>,
    /// Day-ahead delivery-curve point updates.
    pub delivery: Stream<'scope, u64, Vec<(CurvePoint, i64)>>,
}

/// Settings of the views.
#[derive(Clone, Debug)]
pub struct ViewsConfig {
    /// Intervals and lateness.
    pub policy: Arc<LatenessPolicy>,
    /// Emit non-final bars as they change (change logs, live sinks); off for final state only.
    pub provisional: bool,
    /// Keep the bars here; false when dedupe keeps them in its store
    /// ([`crate::dedupe::Dedupe::dedupe_with_store`], final-state runs): the bars output is
    /// then empty.
    pub bars: bool,
    /// Asked when the input ends: true for a drained (stopped) run, whose open windows are not
    /// final and stay unwritten (a restart re-derives them, SPEC §11); otherwise every window
    /// still open is closed.
    pub stopped: fn() -> bool,
}

/// Counters of the views stage.
#[derive(Clone, Debug, Default)]
pub struct ViewStats {
    /// Bar counters.
    pub bars: BarStats,
    /// Final bars emitted, per interval name.
    pub final_bars: std::collections::BTreeMap<&'static str, u64>,
    /// Windows open now, per interval (`BarInterval::index`).
    pub open_windows: [u64; 5],
}

/// Maintains bars, latest prices and delivery curves.
pub trait Views<'scope> {
    /// Applies the deduplicated tick updates (each tick carrying its horizon); `marks` are the global
    /// watermarks.
    fn maintain_views(
        self,
        marks: Stream<'scope, u64, Vec<EpochMs>>,
        config: ViewsConfig,
        stats: Rc<RefCell<ViewStats>>,
    ) -> ViewStreams<'scope>;
}

type Out<D> = OutputBuilder<u64, CapacityContainerBuilder<Vec<D>>>;

impl<'scope> Views<'scope> for Stream<'scope, u64, Vec<TickBatch>> {
    fn maintain_views(
        self,
        marks: Stream<'scope, u64, Vec<EpochMs>>,
        config: ViewsConfig,
        stats: Rc<RefCell<ViewStats>>,
    ) -> ViewStreams<'scope> {
        let mut builder = OperatorBuilder::new("Views".to_owned(), self.scope());
        let mut changes_in = builder.new_input(self, Pipeline);
        let mut marks_in = builder.new_input(marks, Pipeline);
        let (bars_out, bars) = builder.new_output::<Vec<(Bar, i64)>>();
        let (curves_out, delivery) = builder.new_output::<Vec<(CurvePoint, i64)>>();
        let mut bars_out: Out<(Bar, i64)> = OutputBuilder::from(bars_out);
        let mut curves_out: Out<(CurvePoint, i64)> = OutputBuilder::from(curves_out);
        builder.build(move |caps| {
            // Held until the end of input, for the last closing; kept at the input frontier.
            let mut held: Option<Vec<Capability<u64>>> = Some(caps);
            let policy = config.policy.clone();
            let stopped = config.stopped;
            let keep_bars = config.bars;
            let intervals = if keep_bars { policy.intervals() } else { &[] };
            let mut bars_book = BarBook::new(intervals).with_provisional(config.provisional);
            // Without the zone database there are no delivery curves (reported, not fatal).
            let mut delivery_book = DeliveryCurves::new().ok();
            let mut pending: VecDeque<(Capability<u64>, EpochMs)> = VecDeque::new();
            let mut bar_buf: Vec<(Bar, i64)> = Vec::new();
            let mut curve_buf: Vec<(CurvePoint, i64)> = Vec::new();
            move |frontiers| {
                let mut bars_out = bars_out.activate();
                let mut curves_out = curves_out.activate();
                changes_in.for_each_stamp(|cap, data| {
                    let Some(&t) = cap.least() else { return };
                    for batches in data {
                        for batch in batches.drain(..) {
                            batch.consume(|tick, diff| {
                                bars_book.update(tick, diff, tick.horizon.0);
                                if let Some(d) = delivery_book.as_mut() {
                                    d.apply(tick, diff);
                                }
                            });
                        }
                    }
                    bars_book.drain(&mut bar_buf);
                    if let Some(d) = delivery_book.as_mut() {
                        d.drain(&mut curve_buf);
                    }
                    if !bar_buf.is_empty() {
                        bars_out
                            .session(&cap.delayed(&t, 0))
                            .give_container(&mut bar_buf);
                    }
                    if !curve_buf.is_empty() {
                        curves_out
                            .session(&cap.delayed(&t, 1))
                            .give_container(&mut curve_buf);
                    }
                });
                marks_in.for_each_stamp(|cap, data| {
                    let Some(&t) = cap.least() else { return };
                    for batch in data {
                        for g in batch.drain(..) {
                            pending.push_back((cap.delayed(&t, 0), g));
                        }
                    }
                });
                let changes_frontier = frontiers[0].frontier();
                while let Some((cap, g)) = pending.front() {
                    if changes_frontier.less_equal(cap.time()) {
                        break;
                    }
                    bars_book.close_until_with(*g, |m| policy.closing_lateness_ms(m), &mut bar_buf);
                    count_final(&stats, &bar_buf);
                    if !bar_buf.is_empty() {
                        bars_out.session(cap).give_container(&mut bar_buf);
                    }
                    pending.pop_front();
                }
                let marks_frontier = frontiers[1].frontier();
                let least = changes_frontier
                    .iter()
                    .chain(marks_frontier.iter())
                    .min()
                    .copied();
                match least {
                    Some(t) => {
                        if let Some(caps) = held.as_mut() {
                            for c in caps.iter_mut() {
                                if *c.time() < t {
                                    c.downgrade(&t);
                                }
                            }
                        }
                    }
                    None => {
                        if let Some(caps) = held.take() {
                            if !stopped() {
                                bars_book.close_all(&mut bar_buf);
                            }
                            count_final(&stats, &bar_buf);
                            if let (false, Some(cap)) = (bar_buf.is_empty(), caps.first()) {
                                bars_out.session(cap).give_container(&mut bar_buf);
                            }
                        }
                    }
                }
                // With store bars, dedupe keeps the open-window gauge.
                if keep_bars {
                    let mut s = stats.borrow_mut();
                    s.bars = bars_book.stats.clone();
                    for iv in BarInterval::ALL {
                        if let Some(o) = s.open_windows.get_mut(iv.index()) {
                            *o = bars_book.open_windows(iv) as u64;
                        }
                    }
                }
            }
        });
        ViewStreams { bars, delivery }
    }
}

fn count_final(stats: &Rc<RefCell<ViewStats>>, updates: &[(Bar, i64)]) {
    let mut s = stats.borrow_mut();
    for (b, d) in updates {
        if *d > 0 && b.is_final {
            *s.final_bars.entry(b.interval.name()).or_default() += 1;
        }
    }
}
