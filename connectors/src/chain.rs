//! [`Chain`]: several readers of one worker read one after the other as one [`SourceReader`].
//!
//! Each reader's batch numbers (the timely times) are shifted past the greatest number the
//! readers before it handed out, so the chained times never decrease and every reader keeps its
//! own batch order (files first, then Kafka, in a job that has both). A reader that is `Pending`
//! holds the ones after it back: put unbounded readers last.

use crate::source::{Poll, Position, SourceHealth, SourceReader};

/// Readers drained in order.
pub struct Chain {
    readers: Vec<Box<dyn SourceReader>>,
    current: usize,
    base: u64,
    max_seen: Option<u64>,
}

impl Chain {
    /// Chains `readers` in the given order.
    pub fn new(readers: Vec<Box<dyn SourceReader>>) -> Chain {
        Chain {
            readers,
            current: 0,
            base: 0,
            max_seen: None,
        }
    }
}

impl SourceReader for Chain {
    fn poll(&mut self) -> Poll {
        while let Some(reader) = self.readers.get_mut(self.current) {
            match reader.poll() {
                Poll::Ready(mut doc) => {
                    doc.batch = doc.batch.saturating_add(self.base);
                    self.max_seen = Some(self.max_seen.map_or(doc.batch, |m| m.max(doc.batch)));
                    return Poll::Ready(doc);
                }
                Poll::Pending => return Poll::Pending,
                Poll::Done => {
                    self.current += 1;
                    self.base = self.max_seen.map_or(self.base, |m| m + 1);
                }
            }
        }
        Poll::Done
    }

    fn positions(&self) -> Vec<Position> {
        self.readers.iter().flat_map(|r| r.positions()).collect()
    }

    fn next_batch_floor(&self) -> Option<u64> {
        let floor = self.readers.get(self.current)?.next_batch_floor()?;
        Some(floor.saturating_add(self.base))
    }

    fn consumer_lag(&self) -> Vec<crate::kafka::PartitionLag> {
        self.readers.iter().flat_map(|r| r.consumer_lag()).collect()
    }

    fn health(&self) -> SourceHealth {
        match self.readers.get(self.current) {
            Some(r) => r.health(),
            None => SourceHealth::Ceased,
        }
    }
}
