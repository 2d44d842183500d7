//! Event time, watermarks and lateness (SPEC §4): the pure core, without timely.
//!
//! A *feed key* is (input feed, market, market_run). Its watermark for batch `k` is the greatest
//! event time (`interval_start`) in the feed's batches before `k`, minus `watermark_delay_ms`;
//! every tick of batch `k` is judged against it ([`LatenessCore::judge`]). Summaries of batches
//! are folded in batch order ([`LatenessCore::fold`]), so the decision is a function of the feed's
//! bytes, whichever worker read which batch.
//!
//! The **global watermark** `G` ([`LatenessCore::global_ms`]) is the minimum over live feed keys
//! (keys of feeds whose last batch has not been folded and that are not idle); it only decides
//! when windows are final and state is released. Once every planned feed has ended, `G = +∞`.
//! An *idle* feed (a followed Kafka partition that went quiet and sent an idle marker) keeps its
//! own watermark but leaves the minimum until its next batch; `G` never goes back, so a feed
//! that wakes up with old data finds the windows `G` closed meanwhile closed. A key that appears in a
//! feed only after `G` has passed a window's close cannot reopen it: such windows are closed for
//! its ticks too (`closed_ms`), so the accepted set and the bar state never disagree.
//!
//! A tick is **late** when every configured window containing its `interval_start` ends at or
//! before its horizon `max(watermark − allowed_lateness, closed)`; it is then a `LATE_DATA` dead
//! letter. Otherwise it is accepted with that horizon (bars skip windows closed for it) and
//! flagged `late_arrival` when its `interval_start` is behind the watermark.

pub mod operator;
mod policy;
#[cfg(test)]
mod tests;

pub use policy::{LatenessPolicy, Resume};

use crate::model::{BatchSummary, EpochMs, FeedId, Market, QualityFlag, Sym, Tick};
use crate::window::{horizon, WindowAssigner};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// The decision for one tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted; bars skip windows ending at or before `horizon_ms`.
    Accept {
        /// The tick's lateness horizon (see [`crate::window::horizon`]).
        horizon_ms: EpochMs,
    },
    /// Too late for every window: a `LATE_DATA` dead letter.
    Late {
        /// The watermark the tick was judged against.
        watermark_ms: EpochMs,
    },
    /// Read again after a restart, and every window of it was closed (and written) before it:
    /// dropped silently (see [`crate::lateness::Resume`]).
    Replayed,
}

/// Counters of the lateness stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatenessStats {
    /// The global watermark (`EpochMs::MIN` before any, `EpochMs::MAX` once every feed ended).
    pub watermark_ms: EpochMs,
    /// Ticks judged.
    pub judged: u64,
    /// Accepted ticks behind their watermark (`late_arrival`).
    pub late_arrivals: u64,
    /// Ticks rejected as `LATE_DATA`.
    pub late_data: u64,
    /// Batch summaries folded.
    pub batches: u64,
    /// Ticks read again after a restart whose windows had all been written: dropped.
    pub replayed: u64,
}

/// Per-feed event-time progress and the lateness decision.
#[derive(Debug)]
pub struct LatenessCore {
    policy: Arc<LatenessPolicy>,
    /// Feeds planned (bounded inputs), `None` when feeds appear over time.
    planned_feeds: Option<usize>,
    /// Greatest event time per live feed key, over the batches folded so far.
    keys: FxHashMap<(FeedId, Market, Sym), EpochMs>,
    /// Feeds whose last batch has been folded.
    ended: rustc_hash::FxHashSet<FeedId>,
    /// Feeds with at least one batch folded.
    seen: rustc_hash::FxHashSet<FeedId>,
    /// Feeds whose latest summary was an idle marker: not part of `G`'s minimum.
    idle: rustc_hash::FxHashSet<FeedId>,
    global_ms: EpochMs,
    /// Per market: windows ending at or before this are final (from `G` and the market's
    /// closing lateness).
    closed: [EpochMs; 8],
    assigner: WindowAssigner,
    /// The last feed key judged: (feed, market, run, watermark, own horizon).
    cache: Option<(FeedId, Market, Sym, EpochMs, EpochMs)>,
    /// Counters.
    pub stats: LatenessStats,
}

impl LatenessCore {
    /// A core for `planned_feeds` bounded feeds (`None`: feeds appear over time and `G` never
    /// reaches `+∞` by their ends alone).
    pub fn new(policy: Arc<LatenessPolicy>, planned_feeds: Option<usize>) -> LatenessCore {
        let resumed = policy.resume().map(|r| r.watermark_ms);
        let mut core = LatenessCore {
            policy,
            planned_feeds,
            keys: FxHashMap::default(),
            ended: Default::default(),
            seen: Default::default(),
            idle: Default::default(),
            global_ms: EpochMs::MIN,
            closed: [EpochMs::MIN; 8],
            assigner: WindowAssigner::new(),
            cache: None,
            stats: LatenessStats::default(),
        };
        if let Some(g) = resumed {
            core.raise_global(g);
        }
        core
    }

    /// Sets the global watermark to `g` (when greater) and the windows it closes.
    fn raise_global(&mut self, g: EpochMs) {
        if g <= self.global_ms {
            return;
        }
        self.global_ms = g;
        self.stats.watermark_ms = g;
        for m in Market::ALL {
            let slot = m as usize;
            self.closed[slot] =
                self.closed[slot].max(horizon(g, self.policy.closing_lateness_ms(m)));
        }
    }

    /// True when `tick` comes from a record its feed's previous run already judged (a resumed
    /// run reads such records again).
    fn replayed(&self, tick: &Tick) -> bool {
        self.policy.resume().is_some_and(|r| {
            r.judged_next
                .get(&tick.source.feed)
                .is_some_and(|end| tick.source.offset < *end)
        })
    }

    /// The policy.
    pub fn policy(&self) -> &LatenessPolicy {
        &self.policy
    }

    /// The watermark of a feed key now (before folding the batch being judged).
    pub fn watermark(&self, feed: FeedId, market: Market, run: &Sym) -> EpochMs {
        match self.keys.get(&(feed, market, run.clone())) {
            Some(&max) => max.saturating_sub(self.policy.delay_ms(feed, market)),
            None => EpochMs::MIN,
        }
    }

    /// (watermark, own horizon) of a tick's feed key, cached for runs of ticks of one key.
    fn key_state(&mut self, tick: &Tick) -> (EpochMs, EpochMs) {
        let feed = tick.source.feed;
        if let Some((f, m, r, w, h)) = &self.cache {
            if *f == feed && *m == tick.market && Arc::ptr_eq(r, &tick.market_run) {
                return (*w, *h);
            }
        }
        let w = self.watermark(feed, tick.market, &tick.market_run);
        let h = horizon(w, self.policy.lateness_ms(feed, tick.market));
        self.cache = Some((feed, tick.market, tick.market_run.clone(), w, h));
        (w, h)
    }

    /// Judges one tick of the batch about to be folded; sets `late_arrival` on accepted ticks
    /// behind their watermark.
    pub fn judge(&mut self, tick: &mut Tick) -> Verdict {
        self.stats.judged += 1;
        let (w, own) = self.key_state(tick);
        let h = own.max(self.closed[tick.market as usize]);
        let start = tick.interval_start_ms;
        // Every window containing `start` ends after it, so only a horizon past it can close one.
        if start < h
            && self
                .assigner
                .closed_for(self.policy.intervals(), tick.market, start, h)
        {
            if self.replayed(tick) {
                self.stats.replayed += 1;
                return Verdict::Replayed;
            }
            self.stats.late_data += 1;
            return Verdict::Late { watermark_ms: w };
        }
        if start < w {
            tick.flags.insert(QualityFlag::LateArrival);
            self.stats.late_arrivals += 1;
        }
        Verdict::Accept { horizon_ms: h }
    }

    /// Folds one batch summary in (all summaries of a time, after judging that time's ticks).
    pub fn fold(&mut self, s: &BatchSummary) {
        self.stats.batches += 1;
        self.cache = None;
        self.seen.insert(s.feed);
        if self.ended.contains(&s.feed) {
            return;
        }
        if s.idle {
            self.idle.insert(s.feed);
            return;
        }
        self.idle.remove(&s.feed);
        if s.last {
            // No batch of the feed is judged after its last one: its keys go (a whole document
            // is its feed's only batch and never had any).
            self.ended.insert(s.feed);
            if s.batch > 0 {
                self.keys.retain(|(f, _, _), _| *f != s.feed);
            }
            return;
        }
        for (m, r, t) in &s.max_event_ms {
            let e = self.keys.entry((s.feed, *m, r.clone())).or_insert(*t);
            *e = (*e).max(*t);
        }
    }

    /// Recomputes the global watermark after the summaries of a time were folded; returns it
    /// when it advanced.
    pub fn advance(&mut self) -> Option<EpochMs> {
        let all_ended = self.planned_feeds.is_some_and(|n| self.ended.len() >= n);
        let unseen = self.planned_feeds.is_some_and(|n| self.seen.len() < n);
        let g = if all_ended {
            EpochMs::MAX
        } else if unseen {
            EpochMs::MIN
        } else {
            self.keys
                .iter()
                .filter(|((f, _, _), _)| !self.idle.contains(f))
                .map(|((f, m, _), max)| max.saturating_sub(self.policy.delay_ms(*f, *m)))
                .min()
                .unwrap_or(self.global_ms)
        };
        if g <= self.global_ms {
            return None;
        }
        self.raise_global(g);
        Some(g)
    }

    /// The global watermark (`EpochMs::MIN` until every feed has been seen).
    pub fn global_ms(&self) -> EpochMs {
        self.global_ms
    }

    /// Per market, the horizon at or before which windows are final.
    pub fn closed_ms(&self, market: Market) -> EpochMs {
        self.closed[market as usize]
    }
}
