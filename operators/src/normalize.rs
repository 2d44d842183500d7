//! `Normalize::normalize`: framed documents → ticks and dead letters.
//!
//! A pipeline operator (no exchange): each worker parses the documents its sources framed, with
//! the pure parsers of [`crate::parse`]. Errors are data: the second output carries one
//! [`DeadLetter`] per rejected record. Counters of rows, ticks and dead letters per market are
//! accumulated into a shared [`NormalizeStats`] for the run summary and metrics.
//!
//! With reference data configured, each tick is also enriched here, once, as of its
//! `interval_start` (aliases resolved before its identity is decided downstream): what was
//! emitted is never rewritten by later reference changes (SPEC §5).
//!
//! [`Normalize::normalize_with_reference`] adds a second input of live reference changes
//! (complete on every worker, e.g. broadcast): a change at time `t` is applied before any
//! document of a time later than `t` is parsed. Documents wait (holding their capability) while
//! the reference input may still deliver a change of an earlier time, so the reference source
//! must keep its capability at or below the document sources' times and release it when they
//! finish.

use crate::enrich::{Enricher, ReferenceView};
use crate::model::{BatchSummary, DeadLetter, FeedTable, Market, RawDocument, ReferenceRow, Tick};
use crate::parse::{parse_document, Document, ParseCtx, ParseOutput, PriceBounds};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::InputCapability;
use timely::dataflow::Stream;

/// Per-worker normalization counters.
#[derive(Clone, Debug, Default)]
pub struct NormalizeStats {
    /// Documents parsed.
    pub documents: u64,
    /// Bytes parsed.
    pub bytes: u64,
    /// Data rows read.
    pub rows: u64,
    /// Ticks produced, per market.
    pub ticks: BTreeMap<Market, u64>,
    /// Dead letters produced, per error code name.
    pub dead_letters: BTreeMap<&'static str, u64>,
    /// Records read (ticks parsed plus rejected records), per transport
    /// ([`crate::model::FeedKind::label_index`]) and market (`Market as usize`); a rejected
    /// record counts under the market of its document's explicit format, else `Other`.
    pub records_in: [[u64; 8]; 3],
    /// Greatest tick `interval_start` seen, per transport and market (0 = none yet).
    pub last_event_ms: [[i64; 8]; 3],
}

/// Settings of the normalize stage.
#[derive(Clone, Debug)]
pub struct NormalizeConfig {
    /// Tenant for records naming none.
    pub default_tenant: String,
    /// Price bounds for `out_of_range`.
    pub bounds: PriceBounds,
    /// Reference rows to enrich with (aliases, instruments, rules); `None` = no enrichment.
    pub reference: Option<Arc<Vec<ReferenceRow>>>,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            default_tenant: "default".into(),
            bounds: PriceBounds::default(),
            reference: None,
        }
    }
}

/// Parses framed documents into ticks and dead letters.
pub trait Normalize<'scope> {
    /// Returns `(ticks, dead_letters, summaries)`: one [`BatchSummary`] per document, at the
    /// document's time, for the event-time machinery downstream.
    fn normalize(
        self,
        feeds: Arc<FeedTable>,
        config: NormalizeConfig,
        stats: Rc<RefCell<NormalizeStats>>,
    ) -> NormalizeStreams<'scope>;

    /// As [`Normalize::normalize`], with live reference changes applied to the enricher before
    /// documents of later times are parsed (see the module doc). Without `config.reference`
    /// nothing is enriched and the changes are ignored.
    fn normalize_with_reference(
        self,
        reference: Option<Stream<'scope, u64, Vec<(ReferenceRow, i64)>>>,
        feeds: Arc<FeedTable>,
        config: NormalizeConfig,
        stats: Rc<RefCell<NormalizeStats>>,
    ) -> NormalizeStreams<'scope>;
}

/// Documents received and not yet parsed, with the capability of their time.
type Pending = Vec<(InputCapability<u64>, Vec<Vec<RawDocument>>)>;

impl<'scope> Normalize<'scope> for Stream<'scope, u64, Vec<RawDocument>> {
    fn normalize(
        self,
        feeds: Arc<FeedTable>,
        config: NormalizeConfig,
        stats: Rc<RefCell<NormalizeStats>>,
    ) -> NormalizeStreams<'scope> {
        self.normalize_with_reference(None, feeds, config, stats)
    }

    fn normalize_with_reference(
        self,
        reference: Option<Stream<'scope, u64, Vec<(ReferenceRow, i64)>>>,
        feeds: Arc<FeedTable>,
        config: NormalizeConfig,
        stats: Rc<RefCell<NormalizeStats>>,
    ) -> NormalizeStreams<'scope> {
        let mut builder = OperatorBuilder::new("Normalize".to_owned(), self.scope());
        let mut input = builder.new_input(self, Pipeline);
        let mut reference = reference.map(|r| builder.new_input(r, Pipeline));
        let (ticks_out, ticks) = builder.new_output::<Vec<Tick>>();
        let (dead_out, dead) = builder.new_output::<Vec<DeadLetter>>();
        let (summary_out, summaries) = builder.new_output::<Vec<BatchSummary>>();
        let mut summary_out: OutputBuilder<u64, CapacityContainerBuilder<Vec<BatchSummary>>> =
            OutputBuilder::from(summary_out);
        let mut ticks_out: OutputBuilder<u64, CapacityContainerBuilder<Vec<Tick>>> =
            OutputBuilder::from(ticks_out);
        let mut dead_out: OutputBuilder<u64, CapacityContainerBuilder<Vec<DeadLetter>>> =
            OutputBuilder::from(dead_out);
        builder.build(move |_capabilities| {
            // The initial capabilities are dropped here: output is only produced at the times of
            // input documents, whose capabilities `for_each_time` hands us.
            let mut ctx = ParseCtx::new(&config.default_tenant, config.bounds.clone());
            let mut out = ParseOutput::default();
            let mut enricher = config
                .reference
                .as_ref()
                .map(|rows| Enricher::new(ReferenceView::from_rows(rows.iter().cloned())));
            let mut pending: Pending = Vec::new();
            move |frontiers| {
                let mut ticks_out = ticks_out.activate();
                let mut dead_out = dead_out.activate();
                let mut summary_out = summary_out.activate();
                // Reference changes first, so that they precede the documents released below.
                if let Some(reference) = reference.as_mut() {
                    reference.for_each_stamp(|_cap, data| {
                        for batch in data {
                            match enricher.as_mut() {
                                Some(e) => e.apply_changes(batch.drain(..)),
                                None => batch.clear(),
                            }
                        }
                    });
                }
                input.for_each_stamp(|cap, data| {
                    pending.push((cap, data.map(std::mem::take).collect()));
                });
                // A document of time `t` is parsed once no reference change of a time before `t`
                // can still arrive; the others keep their capabilities until then.
                let ready = |cap: &InputCapability<u64>| match (cap.least(), frontiers.get(1)) {
                    (Some(t), Some(f)) => !f.less_than(t),
                    _ => true,
                };
                let (now, later): (Pending, Pending) =
                    pending.drain(..).partition(|(cap, _)| ready(cap));
                pending = later;
                for (cap, mut data) in now {
                    let mut stats = stats.borrow_mut();
                    for batch in data.iter_mut() {
                        for raw in batch.drain(..) {
                            out.clear();
                            parse_raw(&raw, &feeds, &mut ctx, &mut out);
                            if let Some(enricher) = enricher.as_mut() {
                                for t in out.ticks.iter_mut() {
                                    enricher.apply(t);
                                }
                            }
                            stats.documents += 1;
                            stats.bytes += raw.bytes.len() as u64;
                            stats.rows += out.rows;
                            let mut summary = BatchSummary::new(raw.feed, raw.batch, raw.last);
                            summary.idle = raw.idle;
                            let mut per_market = [0u64; 8];
                            let mut last_ms = [0i64; 8];
                            for t in &out.ticks {
                                let slot = t.market as usize;
                                if let Some(n) = per_market.get_mut(slot) {
                                    *n += 1;
                                }
                                if let Some(l) = last_ms.get_mut(slot) {
                                    *l = (*l).max(t.interval_start_ms);
                                }
                                summary.observe(t.market, &t.market_run, t.interval_start_ms);
                            }
                            let kind = feeds.get(raw.feed).map_or(0, |f| f.kind.label_index());
                            let dead_market =
                                raw.format.and_then(|f| f.market()).unwrap_or(Market::Other);
                            if let Some(row) = stats.records_in.get_mut(kind) {
                                for (r, n) in row.iter_mut().zip(per_market) {
                                    *r += n;
                                }
                                if let Some(r) = row.get_mut(dead_market as usize) {
                                    *r += out.dead.len() as u64;
                                }
                            }
                            if let Some(row) = stats.last_event_ms.get_mut(kind) {
                                for (r, l) in row.iter_mut().zip(last_ms) {
                                    *r = (*r).max(l);
                                }
                            }
                            for m in Market::ALL {
                                let n = per_market.get(m as usize).copied().unwrap_or(0);
                                if n > 0 {
                                    *stats.ticks.entry(m).or_default() += n;
                                }
                            }
                            summary.seal();
                            summary_out.session(&cap).give(summary);
                            for d in &out.dead {
                                *stats.dead_letters.entry(d.error_code.name()).or_default() += 1;
                            }
                            if !out.ticks.is_empty() {
                                ticks_out
                                    .session(&cap)
                                    .give_container(&mut std::mem::take(&mut out.ticks));
                            }
                            if !out.dead.is_empty() {
                                dead_out
                                    .session(&cap)
                                    .give_container(&mut std::mem::take(&mut out.dead));
                            }
                        }
                    }
                }
            }
        });
        NormalizeStreams {
            ticks,
            dead,
            summaries,
        }
    }
}

/// The outputs of [`Normalize::normalize`].
pub struct NormalizeStreams<'scope> {
    /// Parsed (and enriched) ticks, at their document's time.
    pub ticks: Stream<'scope, u64, Vec<Tick>>,
    /// Dead letters of rejected records.
    pub dead: Stream<'scope, u64, Vec<DeadLetter>>,
    /// One summary per document (see [`BatchSummary`]).
    pub summaries: Stream<'scope, u64, Vec<BatchSummary>>,
}

/// Parses one raw document (the pure core of the operator).
pub fn parse_raw(raw: &RawDocument, feeds: &FeedTable, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    let fallback;
    let feed = match feeds.get(raw.feed) {
        Some(f) => f,
        None => {
            fallback = crate::model::FeedInfo {
                id: raw.feed,
                display: format!("feed{}", raw.feed),
                kind: crate::model::FeedKind::File,
            };
            &fallback
        }
    };
    let doc = Document {
        bytes: &raw.bytes,
        feed,
        offset: raw.offset,
        first_line: raw.first_line,
        header: raw.header.as_deref(),
        name: raw.name.as_deref(),
        format: raw.format,
        ingested_at_ms: raw.ingested_at_ms,
    };
    parse_document(&doc, ctx, out);
}
