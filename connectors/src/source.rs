//! The source contract.
//!
//! A source is planned once per job into a deterministic [`operators::model::FeedTable`] (every
//! worker of every process computes the same table) and then read by one [`SourceReader`] per
//! worker, which owns a deterministic share of the feeds or of their batches. Readers hand out
//! framed [`RawDocument`]s in position order per feed and say where they are: the position after
//! the last document handed out is what a restart resumes from (SPEC §11).

use operators::model::{FeedId, RawDocument};

/// A resumable position within one feed: the next byte (files) or the next Kafka offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The feed.
    pub feed: FeedId,
    /// Next byte offset (files) or next message offset (Kafka).
    pub next: u64,
}

/// What a poll of a reader produced.
#[derive(Debug)]
pub enum Poll {
    /// A document.
    Ready(RawDocument),
    /// Nothing right now; poll again later (live sources).
    Pending,
    /// The reader's share is exhausted (bounded inputs).
    Done,
}

/// Health of a source, reported apart from record errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceHealth {
    /// Reading normally.
    Running,
    /// Temporarily failing (the message says why); the reader retries.
    Stalled(String),
    /// Finished.
    Ceased,
}

/// One worker's reader over its share of a source.
pub trait SourceReader {
    /// The next document of this worker's share.
    fn poll(&mut self) -> Poll;
    /// Positions reached per feed of this worker's share (resume points).
    fn positions(&self) -> Vec<Position>;
    /// Current health.
    fn health(&self) -> SourceHealth;
    /// After a [`Poll::Pending`]: the least batch number any later document can carry, when
    /// the reader knows one. The source then advances its timely time there, so the batches
    /// handed out so far complete downstream without waiting for more input (a followed Kafka
    /// partition that went quiet). `None`: no promise.
    fn next_batch_floor(&self) -> Option<u64> {
        None
    }
    /// Consumer lag per partition read (Kafka readers; empty for others or before the
    /// client's first statistics report).
    fn consumer_lag(&self) -> Vec<crate::kafka::PartitionLag> {
        Vec::new()
    }
}
