//! [`Batches`]: a container builder for exchanges of large records (ticks) in batches of
//! [`BATCH_RECORDS`], instead of timely's default 8 KiB containers (37 ticks of 216 bytes: a
//! message, an allocation and a channel push per 37 ticks crossing workers).

use std::collections::VecDeque;
use timely::container::{ContainerBuilder, LengthPreservingContainerBuilder, PushInto};

/// Records per exchanged container.
pub const BATCH_RECORDS: usize = 1024;

/// Builds `Vec<T>` containers of [`BATCH_RECORDS`] records, in push order.
#[derive(Debug)]
pub struct Batches<T> {
    current: Vec<T>,
    empty: Option<Vec<T>>,
    pending: VecDeque<Vec<T>>,
}

impl<T> Default for Batches<T> {
    fn default() -> Self {
        Batches {
            current: Vec::new(),
            empty: None,
            pending: VecDeque::new(),
        }
    }
}

impl<T> PushInto<T> for Batches<T> {
    #[inline]
    fn push_into(&mut self, item: T) {
        if self.current.capacity() == 0 {
            self.current = self.empty.take().unwrap_or_default();
            self.current.clear();
            self.current.reserve(BATCH_RECORDS);
        }
        self.current.push(item);
        if self.current.len() >= BATCH_RECORDS {
            self.pending.push_back(std::mem::take(&mut self.current));
        }
    }
}

impl<T> ContainerBuilder for Batches<T> {
    type Container = Vec<T>;

    #[inline]
    fn extract(&mut self) -> Option<&mut Vec<T>> {
        self.empty = Some(self.pending.pop_front()?);
        self.empty.as_mut()
    }

    #[inline]
    fn finish(&mut self) -> Option<&mut Vec<T>> {
        if !self.current.is_empty() {
            self.pending.push_back(std::mem::take(&mut self.current));
        }
        self.empty = self.pending.pop_front();
        self.empty.as_mut()
    }
}

/// Every record pushed comes out in exactly one container.
impl<T> LengthPreservingContainerBuilder for Batches<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_order_and_size() {
        let mut b = Batches::default();
        let mut out: Vec<Vec<u32>> = Vec::new();
        for i in 0..(BATCH_RECORDS as u32 * 2 + 5) {
            b.push_into(i);
            while let Some(c) = b.extract() {
                out.push(std::mem::take(c));
            }
        }
        while let Some(c) = b.finish() {
            out.push(std::mem::take(c));
        }
        let sizes: Vec<usize> = out.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![BATCH_RECORDS, BATCH_RECORDS, 5]);
        let all: Vec<u32> = out.into_iter().flatten().collect();
        assert_eq!(all, (0..(BATCH_RECORDS as u32 * 2 + 5)).collect::<Vec<_>>());
    }
}
