//! [`Chunks`]: the identities of one instrument, sorted by key, in a [`ChunkDeque`] (in-order
//! arrivals append, release pops from the front, and the state never grows by copying it all).

use super::slim::Slim;
use crate::chunked::{ChunkDeque, Pos};
use crate::model::{EpochMs, Sym};

/// An identity's key within its instrument: (interval_start, interval_end, trade_id).
pub(super) type Key<'a> = (EpochMs, EpochMs, Option<&'a str>);

/// What is kept per identity: its key and the emitted tick in slim form (what a drain needs
/// of a touched identity is kept aside, in `DedupeCore::touched`).
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) start: EpochMs,
    pub(super) end: EpochMs,
    pub(super) trade_id: Option<Sym>,
    /// The emitted tick: the winner with version and flags applied.
    pub(super) slim: Slim,
}

impl Entry {
    pub(super) fn key(&self) -> Key<'_> {
        (self.start, self.end, self.trade_id.as_deref())
    }
}

/// A position within [`Chunks`].
pub(super) type At = Pos;

/// The identities of one instrument, sorted by key.
#[derive(Debug, Default)]
pub(super) struct Chunks {
    entries: ChunkDeque<Entry>,
}

impl Chunks {
    /// Where `key` is: `Ok` when held, `Err(insertion point)` otherwise.
    pub(super) fn find(&self, key: Key<'_>) -> Result<At, At> {
        // In-order arrivals (the common case) go after the last entry.
        if self.entries.back().is_none_or(|e| e.key() < key) {
            return Err(self.entries.end());
        }
        let at = self.entries.partition_point(|e| e.key() < key);
        match self.entries.get(at) {
            Some(e) if e.key() == key => Ok(at),
            _ => Err(at),
        }
    }

    /// Inserts `e` at `at`, an insertion point returned by [`Chunks::find`] for its key.
    pub(super) fn insert(&mut self, at: At, e: Entry) {
        self.entries.insert(at, e);
    }

    /// The entry at `at`.
    pub(super) fn get_mut(&mut self, at: At) -> Option<&mut Entry> {
        self.entries.get_mut(at)
    }

    /// The entry with the greatest key.
    pub(super) fn back(&self) -> Option<&Entry> {
        self.entries.back()
    }

    /// The position after the last entry.
    pub(super) fn end(&self) -> At {
        self.entries.end()
    }

    /// The entry just before insertion point `at`.
    pub(super) fn before(&self, at: At) -> Option<&Entry> {
        self.entries.before(at)
    }

    /// Drops the entries starting before `start` (a prefix: entries are sorted by start);
    /// returns how many.
    pub(super) fn release_before(&mut self, start: EpochMs) -> usize {
        let at = self.entries.partition_point(|e| e.start < start);
        let before = self.entries.len();
        self.entries.truncate_front(at);
        before - self.entries.len()
    }

    /// True when nothing is held.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of the first entry for which `pred` is false (`pred` must hold for a
    /// prefix of the entries).
    pub(super) fn partition_point(&self, pred: impl FnMut(&Entry) -> bool) -> At {
        self.entries.partition_point(pred)
    }

    /// The entries at positions `from..to`.
    pub(super) fn range(&self, from: At, to: At) -> impl Iterator<Item = &Entry> {
        self.entries.range(from, to).map(|(_, e)| e)
    }

    /// All entries in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }
}
