//! `Lateness::judge_lateness`: the timely plumbing around [`LatenessCore`].
//!
//! Inputs: this worker's ticks (pipeline, straight from normalize) and every worker's batch
//! summaries (broadcast). Ticks of time `t` (batch `t`) are judged once every summary of an
//! earlier time has been folded; the summaries of time `t` are folded once all of them and all
//! of this worker's ticks of time `t` have arrived. Because timely time is the batch number,
//! this is exactly "the watermark in force when the batch starts", on every worker alike.
//!
//! Outputs: accepted ticks with their lateness horizon, `LATE_DATA` dead letters, and the global
//! watermark `G` each time it advances (at the time of the batch that advanced it) — downstream
//! operators apply a mark at time `t` only after all their input of times `≤ t`.

use super::{LatenessCore, LatenessPolicy, LatenessStats, Verdict};
use crate::model::{
    render, BatchSummary, DeadLetter, EpochMs, ErrorCode, FeedTable, Horizon, Stage, Tick,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::{vec::Broadcast, Capability};
use timely::dataflow::Stream;

/// The outputs of [`Lateness::judge_lateness`].
pub struct LatenessStreams<'scope> {
    /// Accepted ticks, each carrying its lateness horizon (`Tick::horizon`).
    pub accepted: Stream<'scope, u64, Vec<Tick>>,
    /// `LATE_DATA` dead letters.
    pub late: Stream<'scope, u64, Vec<DeadLetter>>,
    /// The global watermark, each time it advances.
    pub marks: Stream<'scope, u64, Vec<EpochMs>>,
}

/// Decides lateness per feed batch (SPEC §4).
pub trait Lateness<'scope> {
    /// Judges this worker's ticks against the watermarks derived from `summaries` (every
    /// worker's; broadcast here). `planned_feeds`: the number of bounded feeds, if known.
    fn judge_lateness(
        self,
        summaries: Stream<'scope, u64, Vec<BatchSummary>>,
        policy: Arc<LatenessPolicy>,
        feeds: Arc<FeedTable>,
        planned_feeds: Option<usize>,
        stats: Rc<RefCell<LatenessStats>>,
    ) -> LatenessStreams<'scope>;
}

type Out<D> = OutputBuilder<u64, CapacityContainerBuilder<Vec<D>>>;

impl<'scope> Lateness<'scope> for Stream<'scope, u64, Vec<Tick>> {
    fn judge_lateness(
        self,
        summaries: Stream<'scope, u64, Vec<BatchSummary>>,
        policy: Arc<LatenessPolicy>,
        feeds: Arc<FeedTable>,
        planned_feeds: Option<usize>,
        stats: Rc<RefCell<LatenessStats>>,
    ) -> LatenessStreams<'scope> {
        let summaries = summaries.broadcast();
        let mut builder = OperatorBuilder::new("Lateness".to_owned(), self.scope());
        let mut ticks_in = builder.new_input(self, Pipeline);
        let mut sums_in = builder.new_input(summaries, Pipeline);
        let (acc_out, accepted) = builder.new_output::<Vec<Tick>>();
        let (late_out, late) = builder.new_output::<Vec<DeadLetter>>();
        let (mark_out, marks) = builder.new_output::<Vec<EpochMs>>();
        let mut acc_out: Out<Tick> = OutputBuilder::from(acc_out);
        let mut late_out: Out<DeadLetter> = OutputBuilder::from(late_out);
        let mut mark_out: Out<EpochMs> = OutputBuilder::from(mark_out);
        builder.build(move |_caps| {
            let mut core = LatenessCore::new(policy, planned_feeds);
            // Per time: capabilities for the accepted and late outputs, and the ticks.
            type Held = (Capability<u64>, Capability<u64>, Vec<Vec<Tick>>);
            let mut ticks: BTreeMap<u64, Held> = BTreeMap::new();
            let mut sums: BTreeMap<u64, (Capability<u64>, Vec<BatchSummary>)> = BTreeMap::new();
            let mut dead: Vec<DeadLetter> = Vec::new();
            move |frontiers| {
                let mut acc_out = acc_out.activate();
                let mut late_out = late_out.activate();
                let mut mark_out = mark_out.activate();
                // Summaries first: a summary already delivered but not yet read is not covered
                // by the input frontier.
                sums_in.for_each_stamp(|cap, data| {
                    let Some(&t) = cap.least() else { return };
                    let held = sums
                        .entry(t)
                        .or_insert_with(|| (cap.delayed(&t, 2), Vec::new()));
                    for batch in data {
                        held.1.append(batch);
                    }
                });
                let ticks_frontier = &frontiers[0];
                let sums_frontier = &frontiers[1];
                ticks_in.for_each_stamp(|cap, data| {
                    let Some(&t) = cap.least() else { return };
                    // Judge at once when nothing earlier is pending (the common case: a
                    // batch's ticks arrive after every summary of earlier batches).
                    let ready = ticks.first_key_value().is_none_or(|(p, _)| *p > t)
                        && sums.first_key_value().is_none_or(|(s, _)| *s >= t)
                        && sums_frontier.frontier().iter().all(|f| *f >= t);
                    if ready {
                        for batch in data {
                            judge_all(&mut core, batch, &mut dead, &feeds);
                            if !batch.is_empty() {
                                acc_out.session(&cap.delayed(&t, 0)).give_container(batch);
                            }
                        }
                        if !dead.is_empty() {
                            late_out
                                .session(&cap.delayed(&t, 1))
                                .give_container(&mut dead);
                        }
                        return;
                    }
                    let held = ticks
                        .entry(t)
                        .or_insert_with(|| (cap.delayed(&t, 0), cap.delayed(&t, 1), Vec::new()));
                    for batch in data {
                        // Kept as received: moving the vector copies no tick.
                        held.2.push(std::mem::take(batch));
                    }
                });
                loop {
                    let next_ticks = ticks.first_key_value().map(|(t, _)| *t);
                    let next_sums = sums.first_key_value().map(|(t, _)| *t);
                    // Judge ticks of `t` once no summary of an earlier time is pending or can
                    // still arrive.
                    if let Some(t) = next_ticks {
                        let ready = next_sums.is_none_or(|s| s >= t)
                            && sums_frontier.frontier().iter().all(|f| *f >= t);
                        if ready {
                            if let Some((_, (acc_cap, late_cap, batches))) = ticks.pop_first() {
                                for mut batch in batches {
                                    judge_all(&mut core, &mut batch, &mut dead, &feeds);
                                    if !batch.is_empty() {
                                        acc_out.session(&acc_cap).give_container(&mut batch);
                                    }
                                }
                                if !dead.is_empty() {
                                    late_out.session(&late_cap).give_container(&mut dead);
                                }
                            }
                            continue;
                        }
                    }
                    // Fold the summaries of `s` once all of them and all ticks of times `≤ s`
                    // are in (and judged).
                    if let Some(s) = next_sums {
                        let ready = next_ticks.is_none_or(|t| t > s)
                            && sums_frontier.frontier().iter().all(|f| *f > s)
                            && ticks_frontier.frontier().iter().all(|f| *f > s);
                        if ready {
                            if let Some((_, (cap, mut batch))) = sums.pop_first() {
                                batch.sort_by_key(|b| (b.feed, b.batch));
                                for b in &batch {
                                    core.fold(b);
                                }
                                if let Some(g) = core.advance() {
                                    mark_out.session(&cap).give(g);
                                }
                            }
                            continue;
                        }
                    }
                    break;
                }
                *stats.borrow_mut() = core.stats.clone();
            }
        });
        LatenessStreams {
            accepted,
            late,
            marks,
        }
    }
}

/// Judges every tick of `batch` in place: accepted ones stay, carrying their horizon; the others
/// leave as `LATE_DATA` dead letters into `dead`.
fn judge_all(
    core: &mut LatenessCore,
    batch: &mut Vec<Tick>,
    dead: &mut Vec<DeadLetter>,
    feeds: &FeedTable,
) {
    batch.retain_mut(|tick| match core.judge(tick) {
        Verdict::Accept { horizon_ms } => {
            tick.horizon = Horizon(horizon_ms);
            true
        }
        Verdict::Late { watermark_ms } => {
            dead.push(late_letter(tick, watermark_ms, feeds));
            false
        }
        Verdict::Replayed => false,
    });
}

/// The `LATE_DATA` dead letter of a tick (its canonical JSON as the raw event).
pub fn late_letter(tick: &Tick, watermark_ms: EpochMs, feeds: &FeedTable) -> DeadLetter {
    let mut raw = String::new();
    render::push_tick_json(&mut raw, tick, feeds, false);
    let issue = format!(
        "interval_start {} is too late for every window: feed watermark {}",
        render::time(tick.interval_start_ms),
        if watermark_ms == EpochMs::MIN {
            "none".to_string()
        } else {
            render::time(watermark_ms)
        }
    );
    DeadLetter::new(
        Stage::Aggregation,
        ErrorCode::LateData,
        vec![issue],
        feeds.render(&tick.source),
        tick.source.elem,
        raw.as_bytes(),
        tick.tenant_id.clone(),
        tick.ingested_at_ms,
    )
}
