//! [`Chunks`]: the identities of one instrument, sorted by key, in chunks of at most
//! [`CHUNK`] entries.
//!
//! In-order arrivals append to the last chunk and release pops from the first, as with one
//! `VecDeque`; but the state never grows by reallocating (and copying) everything held: a full
//! chunk is followed by a new one, and an out-of-order insert into a full chunk splits it.
//! Freed chunks are all the same size, so the allocator reuses them as windows move on.

use super::slim::Slim;
use crate::model::{EpochMs, Sym};
use std::collections::VecDeque;

/// Entries per chunk.
const CHUNK: usize = 256;

/// An identity's key within its instrument: (interval_start, interval_end, trade_id).
pub(super) type Key<'a> = (EpochMs, EpochMs, Option<&'a str>);

/// What is kept per identity: its key, the emitted tick in slim form, and the drain generation
/// in which it was last touched together with the tick emitted before that touch.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) start: EpochMs,
    pub(super) end: EpochMs,
    pub(super) trade_id: Option<Sym>,
    /// The emitted tick: the winner with version and flags applied.
    pub(super) slim: Slim,
    pub(super) touched_gen: u64,
    /// The least horizon among this drain's arrivals.
    pub(super) touch_horizon: EpochMs,
    pub(super) before_touch: Option<Box<Slim>>,
}

impl Entry {
    pub(super) fn key(&self) -> Key<'_> {
        (self.start, self.end, self.trade_id.as_deref())
    }
}

/// A position: (chunk, index within the chunk).
pub(super) type At = (usize, usize);

/// Sorted entries in chunks; no chunk is ever empty.
#[derive(Debug, Default)]
pub(super) struct Chunks {
    chunks: VecDeque<VecDeque<Entry>>,
}

impl Chunks {
    /// Where `key` is: `Ok` when held, `Err(insertion point)` otherwise.
    pub(super) fn find(&self, key: Key<'_>) -> Result<At, At> {
        let Some(last) = self.chunks.back() else {
            return Err((0, 0));
        };
        let last_ci = self.chunks.len() - 1;
        match last.back() {
            Some(e) if e.key() < key => return Err((last_ci, last.len())),
            None => return Err((last_ci, 0)),
            Some(_) => {}
        }
        // Some chunk's last key is ≥ key (the last one's is).
        let ci = self
            .chunks
            .partition_point(|c| c.back().is_some_and(|e| e.key() < key));
        let Some(chunk) = self.chunks.get(ci) else {
            return Err((last_ci, last.len()));
        };
        match chunk.binary_search_by(|e| e.key().cmp(&key)) {
            Ok(i) => Ok((ci, i)),
            Err(i) => Err((ci, i)),
        }
    }

    /// Inserts `e` at `at`, an insertion point returned by [`Chunks::find`] for its key.
    pub(super) fn insert(&mut self, (ci, i): At, e: Entry) {
        let last = self.chunks.len().saturating_sub(1);
        let Some(chunk) = self.chunks.get_mut(ci) else {
            self.chunks.push_back(new_chunk(e));
            return;
        };
        if chunk.len() < CHUNK {
            chunk.insert(i.min(chunk.len()), e);
        } else if ci == last && i >= chunk.len() {
            self.chunks.push_back(new_chunk(e));
        } else {
            let half = CHUNK / 2;
            let mut tail = VecDeque::with_capacity(CHUNK);
            tail.extend(chunk.drain(half..));
            if i <= half {
                chunk.insert(i, e);
            } else {
                tail.insert(i - half, e);
            }
            self.chunks.insert(ci + 1, tail);
        }
    }

    /// The entry at `at`.
    pub(super) fn get_mut(&mut self, (ci, i): At) -> Option<&mut Entry> {
        self.chunks.get_mut(ci).and_then(|c| c.get_mut(i))
    }

    /// The entry with the least key.
    pub(super) fn front(&self) -> Option<&Entry> {
        self.chunks.front().and_then(VecDeque::front)
    }

    /// Removes the entry with the least key.
    pub(super) fn pop_front(&mut self) -> Option<Entry> {
        let chunk = self.chunks.front_mut()?;
        let e = chunk.pop_front();
        if chunk.is_empty() {
            self.chunks.pop_front();
        }
        e
    }

    /// True when nothing is held.
    pub(super) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// All entries in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.chunks.iter().flatten()
    }
}

fn new_chunk(e: Entry) -> VecDeque<Entry> {
    let mut c = VecDeque::with_capacity(CHUNK);
    c.push_back(e);
    c
}
