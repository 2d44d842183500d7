//! As-of lookup over the versions of one reference key (SPEC §5).
//!
//! [`Versions`] holds the live versions of one natural key — e.g. one (tenant, instrument) —
//! ordered by `valid_from`, as a multiset fed by differential updates (`+1` insert, `−1`
//! retract). [`Versions::at`] answers "the version valid at event time `t`": the greatest
//! `valid_from ≤ t`, else (a key whose first version starts later) the first version.
//!
//! Inactive rows are deleted versions and are ignored on the way in. Updates may arrive in any
//! order within a batch: a retraction seen before its insertion leaves a negative count that the
//! insertion cancels, and only entries with a positive count are ever returned. Two live
//! versions with the same `valid_from` (only transiently, mid-update) resolve to the one with
//! the greater (`updated_at`, row), so the answer never depends on arrival order.

use crate::model::reference::{
    ApiKey, CommodityRule, CurveDefinition, CurveMember, InstrumentAlias, RegionRule,
    TaxonomyInstrument,
};
use crate::model::EpochMs;
use std::cmp::Ordering;

/// A reference row with the common version columns.
pub trait Versioned: Ord {
    /// Start of validity, epoch ms.
    fn valid_from_ms(&self) -> EpochMs;
    /// Last change, epoch ms.
    fn updated_at_ms(&self) -> EpochMs;
    /// False for a deleted version.
    fn active(&self) -> bool;
}

macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl Versioned for $t {
            fn valid_from_ms(&self) -> EpochMs {
                self.valid_from_ms
            }
            fn updated_at_ms(&self) -> EpochMs {
                self.updated_at_ms
            }
            fn active(&self) -> bool {
                self.active
            }
        }
    )*};
}

versioned!(
    TaxonomyInstrument,
    InstrumentAlias,
    CommodityRule,
    RegionRule,
    CurveDefinition,
    CurveMember,
    ApiKey
);

/// The versions of one key, sorted by (`valid_from`, `updated_at`, row), with multiplicities.
#[derive(Clone, Debug)]
pub struct Versions<T> {
    entries: Vec<(T, i64)>,
}

impl<T> Default for Versions<T> {
    fn default() -> Self {
        Versions {
            entries: Vec::new(),
        }
    }
}

fn order<T: Versioned>(a: &T, b: &T) -> Ordering {
    (a.valid_from_ms(), a.updated_at_ms())
        .cmp(&(b.valid_from_ms(), b.updated_at_ms()))
        .then_with(|| a.cmp(b))
}

impl<T: Versioned> Versions<T> {
    /// Applies one differential update. Inactive rows are ignored (deleted versions).
    pub fn apply(&mut self, row: T, diff: i64) {
        if !row.active() || diff == 0 {
            return;
        }
        match self.entries.binary_search_by(|(e, _)| order(e, &row)) {
            Ok(i) => {
                if let Some(entry) = self.entries.get_mut(i) {
                    entry.1 += diff;
                    if entry.1 == 0 {
                        self.entries.remove(i);
                    }
                }
            }
            Err(i) => self.entries.insert(i, (row, diff)),
        }
    }

    /// The live versions (positive count), oldest first.
    pub fn live(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.entries
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(row, _)| row)
    }

    /// True when no version is live (the key does not exist).
    pub fn is_empty(&self) -> bool {
        self.live().next().is_none()
    }

    /// True when nothing is held at all, not even a pending retraction: the entry can be dropped.
    pub fn is_vacant(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of live versions.
    pub fn len(&self) -> usize {
        self.live().count()
    }

    /// The version valid at event time `t_ms`: the greatest `valid_from ≤ t_ms`, else the first
    /// version (an instrument whose first version starts later uses it). `None` when no version
    /// is live.
    pub fn at(&self, t_ms: EpochMs) -> Option<&T> {
        self.at_or_before(t_ms).or_else(|| self.live().next())
    }

    /// The event-time span `[lo, hi)` around `t_ms` in which [`Versions::at`] gives the same
    /// answer: from the greatest live `valid_from ≤ t_ms` (or the beginning of time) to the
    /// least live `valid_from > t_ms` (or the end of time).
    pub fn span_at(&self, t_ms: EpochMs) -> (EpochMs, EpochMs) {
        let mut span = (EpochMs::MIN, EpochMs::MAX);
        for row in self.live() {
            let from = row.valid_from_ms();
            if from <= t_ms {
                span.0 = from;
            } else {
                span.1 = from;
                break;
            }
        }
        span
    }

    /// The version valid at `t_ms` without the first-version fallback: `None` before the first
    /// `valid_from` (API keys are not valid before they start).
    pub fn at_or_before(&self, t_ms: EpochMs) -> Option<&T> {
        let end = self
            .entries
            .partition_point(|(row, _)| row.valid_from_ms() <= t_ms);
        self.entries
            .get(..end)
            .unwrap_or_default()
            .iter()
            .rev()
            .find(|(_, n)| *n > 0)
            .map(|(row, _)| row)
    }

    /// The latest version (greatest `valid_from`), regardless of time: used for rules and curve
    /// definitions, whose valid version is the current one.
    pub fn current(&self) -> Option<&T> {
        self.live().next_back()
    }
}
