//! [`BatchSummary`]: what one input batch tells the rest of the dataflow about event-time
//! progress (SPEC §4), broadcast to every worker.

use super::{EpochMs, FeedId, Market, Sym};
use serde::{Deserialize, Serialize};

/// The event-time summary of batch `batch` of feed `feed`: the greatest `interval_start` of its
/// ticks per (market, market_run), and whether it was the feed's last batch. A batch with no
/// ticks (dead letters only, or an empty file) still has a summary, so the feed's progress and
/// end are known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    /// The feed (input file or partition).
    pub feed: FeedId,
    /// The batch number within the feed (also its timely time).
    pub batch: u64,
    /// True for the feed's last batch.
    pub last: bool,
    /// True for an idle marker: the feed stops holding the global watermark back until its next
    /// batch (see [`crate::model::RawDocument::idle`]).
    pub idle: bool,
    /// Greatest event time per (market, market_run), sorted.
    pub max_event_ms: Vec<(Market, Sym, EpochMs)>,
}

impl BatchSummary {
    /// An empty summary of `batch` of `feed`.
    pub fn new(feed: FeedId, batch: u64, last: bool) -> BatchSummary {
        BatchSummary {
            feed,
            batch,
            last,
            idle: false,
            max_event_ms: Vec::new(),
        }
    }

    /// Folds one tick's event time in.
    pub fn observe(&mut self, market: Market, run: &Sym, event_ms: EpochMs) {
        // A batch holds few (market, run) keys: a linear scan beats a map; interned runs
        // usually share their pointer, which spares the string comparison.
        for (m, r, t) in self.max_event_ms.iter_mut() {
            if *m == market && (std::sync::Arc::ptr_eq(r, run) || r == run) {
                *t = (*t).max(event_ms);
                return;
            }
        }
        self.max_event_ms.push((market, run.clone(), event_ms));
    }

    /// Sorts the keys, so the summary's rendering does not depend on tick order.
    pub fn seal(&mut self) {
        self.max_event_ms.sort();
    }
}
