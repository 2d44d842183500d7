//! [`LatenessPolicy`]: bar intervals, watermark delay and allowed lateness, globally and per
//! market or source (SPEC §4, §9).

use crate::model::{BarInterval, EpochMs, FeedId, Market};
use rustc_hash::FxHashMap;

/// Where a run resumed from committed Kafka positions starts (SPEC §11): the global watermark
/// `G` its predecessor committed (every window closed at `G` was written durably before that
/// commit) and, per feed, the end of the records the predecessor had judged. Records below that
/// end are read again; their ticks whose windows are all closed at `G` were accepted and
/// written before, so the lateness stage drops them silently instead of rewriting those
/// windows from a subset of their ticks (or calling them `LATE_DATA`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resume {
    /// The committed global watermark, epoch ms.
    pub watermark_ms: EpochMs,
    /// Per feed, the next offset after the records judged before the restart.
    pub judged_next: FxHashMap<FeedId, u64>,
}

/// The settings the lateness decision and window closing follow. Per-source values beat the
/// market's, which beat the global ones.
#[derive(Clone, Debug)]
pub struct LatenessPolicy {
    intervals: Vec<BarInterval>,
    watermark_delay_ms: i64,
    allowed_lateness_ms: i64,
    market_delay_ms: FxHashMap<Market, i64>,
    market_lateness_ms: FxHashMap<Market, i64>,
    feed_delay_ms: FxHashMap<FeedId, i64>,
    feed_lateness_ms: FxHashMap<FeedId, i64>,
    resume: Option<Resume>,
}

impl Default for LatenessPolicy {
    /// The defaults of SPEC §4: bars `5m,1h,1d`, 30 s delay, 5 min lateness.
    fn default() -> Self {
        LatenessPolicy::new(
            &[BarInterval::M5, BarInterval::H1, BarInterval::D1],
            30_000,
            300_000,
        )
    }
}

impl LatenessPolicy {
    /// A policy with global values only (negative values count as 0).
    pub fn new(
        intervals: &[BarInterval],
        watermark_delay_ms: i64,
        allowed_lateness_ms: i64,
    ) -> LatenessPolicy {
        let mut intervals = intervals.to_vec();
        intervals.sort();
        intervals.dedup();
        LatenessPolicy {
            intervals,
            watermark_delay_ms: watermark_delay_ms.max(0),
            allowed_lateness_ms: allowed_lateness_ms.max(0),
            market_delay_ms: FxHashMap::default(),
            market_lateness_ms: FxHashMap::default(),
            feed_delay_ms: FxHashMap::default(),
            feed_lateness_ms: FxHashMap::default(),
            resume: None,
        }
    }

    /// The run resumes where a previous one committed (see [`Resume`]).
    pub fn with_resume(mut self, resume: Resume) -> Self {
        self.resume = Some(resume);
        self
    }

    /// Where this run resumes, if it does.
    pub fn resume(&self) -> Option<&Resume> {
        self.resume.as_ref()
    }

    /// Overrides a market's delay and/or lateness.
    pub fn with_market(
        mut self,
        m: Market,
        delay_ms: Option<i64>,
        lateness_ms: Option<i64>,
    ) -> Self {
        if let Some(d) = delay_ms {
            self.market_delay_ms.insert(m, d.max(0));
        }
        if let Some(l) = lateness_ms {
            self.market_lateness_ms.insert(m, l.max(0));
        }
        self
    }

    /// Overrides one feed's (source's) delay and/or lateness.
    pub fn with_feed(mut self, f: FeedId, delay_ms: Option<i64>, lateness_ms: Option<i64>) -> Self {
        if let Some(d) = delay_ms {
            self.feed_delay_ms.insert(f, d.max(0));
        }
        if let Some(l) = lateness_ms {
            self.feed_lateness_ms.insert(f, l.max(0));
        }
        self
    }

    /// The configured bar intervals, shortest first.
    pub fn intervals(&self) -> &[BarInterval] {
        &self.intervals
    }

    /// `watermark_delay_ms` of a feed's ticks of `market`.
    pub fn delay_ms(&self, feed: FeedId, market: Market) -> i64 {
        if self.feed_delay_ms.is_empty() && self.market_delay_ms.is_empty() {
            return self.watermark_delay_ms;
        }
        self.feed_delay_ms
            .get(&feed)
            .or_else(|| self.market_delay_ms.get(&market))
            .copied()
            .unwrap_or(self.watermark_delay_ms)
    }

    /// `allowed_lateness_ms` of a feed's ticks of `market`.
    pub fn lateness_ms(&self, feed: FeedId, market: Market) -> i64 {
        if self.feed_lateness_ms.is_empty() && self.market_lateness_ms.is_empty() {
            return self.allowed_lateness_ms;
        }
        self.feed_lateness_ms
            .get(&feed)
            .or_else(|| self.market_lateness_ms.get(&market))
            .copied()
            .unwrap_or(self.allowed_lateness_ms)
    }

    /// The lateness windows of `market` are closed with: the greatest any feed may use for it,
    /// so no feed's tick can reach a window that is already final.
    pub fn closing_lateness_ms(&self, market: Market) -> i64 {
        let base = self
            .market_lateness_ms
            .get(&market)
            .copied()
            .unwrap_or(self.allowed_lateness_ms);
        self.feed_lateness_ms.values().copied().fold(base, i64::max)
    }
}
