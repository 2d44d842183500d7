//! [`ChunkDeque`]: a sequence kept in fixed-size chunks, for the per-instrument state of the
//! operators (dedupe's identities, bars' tick pool) — sorted sequences that grow at the back and
//! shrink at the front as windows move on, with the odd out-of-order insert or removal.
//!
//! Against one `VecDeque` it never grows by reallocating and copying everything held (a full
//! chunk is followed by a new one; an insert into a full chunk splits it in halves), and the
//! freed chunks are all the same size, so the allocator hands them out again instead of
//! touching fresh pages. Positions are `(chunk, index)` pairs; no chunk is ever empty.

use std::collections::VecDeque;

/// Entries per chunk.
pub(crate) const CHUNK: usize = 256;

/// A position: (chunk, index within the chunk). The end is `(last chunk, its length)`, or
/// `(0, 0)` when empty.
pub(crate) type Pos = (usize, usize);

/// A sequence in chunks of at most [`CHUNK`] entries.
#[derive(Debug)]
pub(crate) struct ChunkDeque<T> {
    chunks: VecDeque<VecDeque<T>>,
    len: usize,
}

impl<T> Default for ChunkDeque<T> {
    fn default() -> Self {
        ChunkDeque {
            chunks: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> ChunkDeque<T> {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first entry.
    #[cfg(test)]
    pub(crate) fn front(&self) -> Option<&T> {
        self.chunks.front().and_then(VecDeque::front)
    }

    /// The last entry.
    pub(crate) fn back(&self) -> Option<&T> {
        self.chunks.back().and_then(VecDeque::back)
    }

    /// The position after the last entry.
    pub(crate) fn end(&self) -> Pos {
        match self.chunks.back() {
            Some(c) => (self.chunks.len() - 1, c.len()),
            None => (0, 0),
        }
    }

    /// Appends an entry.
    pub(crate) fn push_back(&mut self, x: T) {
        match self.chunks.back_mut() {
            Some(c) if c.len() < CHUNK => c.push_back(x),
            _ => self.chunks.push_back(new_chunk(x)),
        }
        self.len += 1;
    }

    /// The first position whose entry fails `pred`, which must hold for a prefix of the
    /// sequence and fail for the rest (as [`slice::partition_point`]); the end when it holds
    /// for all.
    pub(crate) fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> Pos {
        let ci = self
            .chunks
            .partition_point(|c| c.back().is_some_and(&mut pred));
        match self.chunks.get(ci) {
            Some(c) => (ci, c.partition_point(pred)),
            None => self.end(),
        }
    }

    /// Inserts `x` at `at` (a position of this sequence, or its end), shifting what follows.
    pub(crate) fn insert(&mut self, (ci, i): Pos, x: T) {
        let last = self.chunks.len().saturating_sub(1);
        self.len += 1;
        let Some(chunk) = self.chunks.get_mut(ci) else {
            self.chunks.push_back(new_chunk(x));
            return;
        };
        if chunk.len() < CHUNK {
            chunk.insert(i.min(chunk.len()), x);
        } else if ci == last && i >= chunk.len() {
            self.chunks.push_back(new_chunk(x));
        } else {
            let half = CHUNK / 2;
            let mut tail = VecDeque::with_capacity(CHUNK);
            tail.extend(chunk.drain(half..));
            if i <= half {
                chunk.insert(i, x);
            } else {
                tail.insert((i - half).min(tail.len()), x);
            }
            self.chunks.insert(ci + 1, tail);
        }
    }

    /// The entry at `at`.
    pub(crate) fn get(&self, (ci, i): Pos) -> Option<&T> {
        self.chunks.get(ci).and_then(|c| c.get(i))
    }

    /// The entry just before `at` (a position or the end), if any.
    pub(crate) fn before(&self, (ci, i): Pos) -> Option<&T> {
        match i.checked_sub(1) {
            Some(j) => self.get((ci, j)),
            None => ci
                .checked_sub(1)
                .and_then(|c| self.chunks.get(c))
                .and_then(VecDeque::back),
        }
    }

    /// The entry at `at`, mutably.
    pub(crate) fn get_mut(&mut self, (ci, i): Pos) -> Option<&mut T> {
        self.chunks.get_mut(ci).and_then(|c| c.get_mut(i))
    }

    /// Removes and returns the entry at `at` (positions after it in its chunk shift down).
    pub(crate) fn remove(&mut self, (ci, i): Pos) -> Option<T> {
        let chunk = self.chunks.get_mut(ci)?;
        let x = chunk.remove(i)?;
        if chunk.is_empty() {
            self.chunks.remove(ci);
        }
        self.len -= 1;
        Some(x)
    }

    /// Removes the first entry.
    #[cfg(test)]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        self.remove((0, 0))
    }

    /// Drops every entry before `to`.
    pub(crate) fn truncate_front(&mut self, (ci, i): Pos) {
        for _ in 0..ci.min(self.chunks.len()) {
            if let Some(c) = self.chunks.pop_front() {
                self.len -= c.len();
            }
        }
        if let Some(c) = self.chunks.front_mut() {
            let n = i.min(c.len());
            c.drain(..n);
            self.len -= n;
            if c.is_empty() {
                self.chunks.pop_front();
            }
        }
    }

    /// The entries from `from` up to (not including) `to`, with their positions.
    pub(crate) fn range(
        &self,
        from: Pos,
        to: Pos,
    ) -> impl DoubleEndedIterator<Item = (Pos, &T)> + '_ {
        let last = to.0.min(self.chunks.len().saturating_sub(1));
        let chunks = if self.chunks.is_empty() {
            0..0
        } else {
            from.0..last + 1
        };
        chunks.flat_map(move |ci| {
            let c = self.chunks.get(ci);
            let n = c.map_or(0, VecDeque::len);
            let hi = if ci == to.0 { to.1.min(n) } else { n };
            let lo = if ci == from.0 { from.1.min(hi) } else { 0 };
            // The chunk's own iterator over `lo..hi` (two slices), not a `get` per entry.
            c.into_iter().flat_map(move |c| {
                c.range(lo..hi)
                    .enumerate()
                    .map(move |(k, x)| ((ci, lo + k), x))
            })
        })
    }

    /// All entries in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

fn new_chunk<T>(x: T) -> VecDeque<T> {
    let mut c = VecDeque::with_capacity(CHUNK);
    c.push_back(x);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Random inserts, removals, range reads and front truncations agree with one `VecDeque`.
    #[test]
    fn agrees_with_a_vecdeque() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        let mut c: ChunkDeque<u64> = ChunkDeque::default();
        let mut v: VecDeque<u64> = VecDeque::new();
        let mut next = 0u64;
        for step in 0..20_000 {
            match rnd(10) {
                0..=4 => {
                    next += rnd(3);
                    c.push_back(next);
                    v.push_back(next);
                }
                5 | 6 => {
                    let x = rnd(next + 1);
                    let at = c.partition_point(|y| *y <= x);
                    c.insert(at, x);
                    let i = v.partition_point(|y| *y <= x);
                    v.insert(i, x);
                }
                7 => {
                    let x = rnd(next + 1);
                    let at = c.partition_point(|y| *y < x);
                    if c.get(at) == Some(&x) {
                        assert_eq!(c.remove(at), Some(x));
                        let i = v.partition_point(|y| *y < x);
                        assert_eq!(v.remove(i), Some(x));
                    }
                }
                8 => {
                    let (lo, hi) = (rnd(next + 1), rnd(next + 1));
                    let (a, b) = (
                        c.partition_point(|y| *y < lo),
                        c.partition_point(|y| *y < hi),
                    );
                    let got: Vec<u64> = c.range(a, b).map(|(_, x)| *x).collect();
                    let want: Vec<u64> =
                        v.iter().copied().filter(|y| *y >= lo && *y < hi).collect();
                    assert_eq!(got, want, "step {step}");
                    let back: Vec<u64> = c
                        .range(a, b)
                        .rev()
                        .map(|(p, x)| {
                            assert_eq!(c.get(p), Some(x));
                            *x
                        })
                        .collect();
                    assert_eq!(back, want.iter().rev().copied().collect::<Vec<_>>());
                }
                _ => {
                    if rnd(20) == 0 {
                        let x = rnd(next + 1);
                        c.truncate_front(c.partition_point(|y| *y < x));
                        v.retain(|y| *y >= x);
                    }
                }
            }
            assert_eq!(c.len(), v.len());
            assert_eq!(c.front(), v.front());
            assert_eq!(c.back(), v.back());
        }
        assert!(c.iter().copied().eq(v.iter().copied()));
        while let Some(x) = c.pop_front() {
            assert_eq!(Some(x), v.pop_front());
        }
        assert!(c.is_empty() && v.is_empty());
    }
}
