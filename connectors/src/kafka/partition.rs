//! [`PartitionCursor`]: one input partition's messages cut into batches (the pure core of the
//! Kafka source, without a client).
//!
//! A native document (one message) is one batch (SPEC §4). Envelope messages are records of a
//! stream: consecutive messages are grouped into one batch until it holds `batch_max_bytes`;
//! each message stays its own [`RawDocument`] (so a dead letter names its offset), and every
//! document of a batch carries the same batch number, which the reader makes the timely time.
//!
//! Bounded mode (a `stop` offset: the high watermark seen at start) waits until a batch is
//! complete — `batch_max_bytes` buffered or the stop offset reached — so the cut depends only on
//! the partition's messages, not on fetch timing; the batch that reaches `stop` is marked `last`
//! (an empty `last` document when the partition had nothing to read, or when its tail held only
//! transaction markers). Follow mode (no stop) hands out what has arrived.
//!
//! Idle handling (follow mode): a partition that had nothing for `idle_timeout` — since its
//! last message, or since the reader started if it never had one — sends one empty `idle`
//! document. The lateness stage then leaves the feed out of the global
//! watermark until its next batch, so an idle partition does not hold the others back; its own
//! watermark is kept, and windows the others closed meanwhile stay closed for it. See
//! docs/design.md.

use operators::model::{FeedId, RawDocument};
use operators::parse::Format;
use std::collections::VecDeque;
use std::sync::Arc;

/// One fetched message.
#[derive(Clone, Debug)]
pub struct Message {
    /// Its offset.
    pub offset: u64,
    /// Its payload (empty for a null payload).
    pub bytes: Arc<[u8]>,
    /// The format named by its `format` header, if any.
    pub format: Option<Format>,
}

/// Read state of one partition.
#[derive(Debug)]
pub struct PartitionCursor {
    /// The partition's feed.
    pub feed: FeedId,
    format: Option<Format>,
    next: u64,
    stop: Option<u64>,
    fetched_to: u64,
    buffer: VecDeque<Message>,
    buffered_bytes: u64,
    ended: bool,
    idle: bool,
    emitted: bool,
    quiet_since_ms: i64,
}

impl PartitionCursor {
    /// A cursor starting at offset `start`; `stop` = `Some(high watermark)` in bounded mode.
    pub fn new(feed: FeedId, format: Option<Format>, start: u64, stop: Option<u64>) -> Self {
        PartitionCursor {
            feed,
            format,
            next: start,
            stop,
            fetched_to: start,
            buffer: VecDeque::new(),
            buffered_bytes: 0,
            ended: false,
            idle: false,
            emitted: false,
            quiet_since_ms: 0,
        }
    }

    /// The next offset to hand out (the resume position).
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// True once the `last` document went out (bounded mode, or an idle marker).
    pub fn ended(&self) -> bool {
        self.ended && self.stop.is_some()
    }

    /// Bytes held, not yet handed out.
    pub fn buffered_bytes(&self) -> u64 {
        self.buffered_bytes
    }

    fn record_stream(&self, m: &Message) -> bool {
        m.format.or(self.format) == Some(Format::Envelope)
    }

    /// Takes a fetched message. Offsets already handed out or at/after `stop` are dropped.
    pub fn push(&mut self, m: Message, now_ms: i64) {
        self.fetched_to = self.fetched_to.max(m.offset + 1);
        let behind = self.buffer.back().map_or(self.next, |b| b.offset + 1);
        if m.offset < behind || self.stop.is_some_and(|s| m.offset >= s) {
            return;
        }
        self.quiet_since_ms = now_ms;
        self.buffered_bytes += m.bytes.len() as u64;
        self.buffer.push_back(m);
    }

    /// Records the consumer's fetch position (it moves past transaction markers too).
    pub fn fetched_to(&mut self, position: u64) {
        self.fetched_to = self.fetched_to.max(position);
    }

    fn at_stop(&self) -> bool {
        self.stop
            .is_some_and(|s| self.next >= s || (self.buffer.is_empty() && self.fetched_to >= s))
    }

    /// The next batch, numbered `batch`, if one is complete; see the module doc.
    pub fn take_batch(
        &mut self,
        batch: u64,
        batch_max_bytes: u64,
        now_ms: i64,
    ) -> Vec<RawDocument> {
        let mut docs = Vec::new();
        if self.ended {
            return docs;
        }
        let Some(first) = self.buffer.front() else {
            if self.at_stop() {
                self.ended = true;
                docs.push(self.doc(batch, None, now_ms, true));
            }
            return docs;
        };
        let grouped = self.record_stream(first);
        if grouped && self.stop.is_some() {
            let tail_in = self
                .buffer
                .back()
                .zip(self.stop)
                .is_some_and(|(m, s)| m.offset + 1 >= s || self.fetched_to >= s);
            if self.buffered_bytes < batch_max_bytes && !tail_in {
                return docs;
            }
        }
        let mut bytes = 0u64;
        while let Some(m) = self.buffer.front() {
            if !docs.is_empty() && (!grouped || bytes >= batch_max_bytes || !self.record_stream(m))
            {
                break;
            }
            let Some(m) = self.buffer.pop_front() else {
                break;
            };
            bytes += m.bytes.len() as u64;
            self.buffered_bytes -= m.bytes.len() as u64;
            self.next = m.offset + 1;
            docs.push(self.doc(batch, Some(m), now_ms, false));
        }
        if self.at_stop() {
            self.ended = true;
            if let Some(d) = docs.last_mut() {
                d.last = true;
            }
        }
        self.emitted = true;
        self.idle = false;
        docs
    }

    /// Follow mode: the idle marker (an empty `idle` document) once the partition had nothing
    /// for `idle_timeout_ms`; sent once per quiet spell. A partition that never had data is
    /// quiet from the first call on (it holds the global watermark back until then, like any
    /// assigned partition).
    pub fn idle_marker(
        &mut self,
        batch: u64,
        idle_timeout_ms: i64,
        now_ms: i64,
    ) -> Option<RawDocument> {
        if !self.emitted && self.quiet_since_ms == 0 {
            self.quiet_since_ms = now_ms;
        }
        let quiet = self.buffer.is_empty() && now_ms - self.quiet_since_ms >= idle_timeout_ms;
        if self.stop.is_some() || self.idle || !quiet {
            return None;
        }
        self.idle = true;
        let mut doc = self.doc(batch, None, now_ms, false);
        doc.idle = true;
        Some(doc)
    }

    fn doc(&self, batch: u64, m: Option<Message>, now_ms: i64, last: bool) -> RawDocument {
        let (offset, bytes, format) = match m {
            Some(m) => (m.offset, m.bytes, m.format.or(self.format)),
            None => (self.next, Arc::from(&[][..]), None),
        };
        RawDocument {
            feed: self.feed,
            batch,
            bytes,
            offset,
            first_line: 1,
            header: None,
            name: None,
            format,
            ingested_at_ms: now_ms,
            last,
            idle: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(offset: u64, body: &str, format: Option<Format>) -> Message {
        Message {
            offset,
            bytes: Arc::from(body.as_bytes()),
            format,
        }
    }

    #[test]
    fn a_tail_of_transaction_markers_still_ends_the_partition() {
        let mut c = PartitionCursor::new(7, None, 0, Some(5));
        c.push(msg(0, "a", None), 0);
        c.push(msg(2, "b", None), 0);
        c.push(msg(2, "b again", None), 0);
        let a = c.take_batch(0, 100, 0);
        assert_eq!((a.len(), a[0].offset, a[0].last), (1, 0, false));
        let b = c.take_batch(1, 100, 0);
        assert_eq!((b.len(), b[0].offset, b[0].last), (1, 2, false));
        assert!(
            c.take_batch(2, 100, 0).is_empty(),
            "offsets 3 and 4 may still come"
        );
        c.fetched_to(5);
        let end = c.take_batch(2, 100, 0);
        assert!(end[0].last && end[0].bytes.is_empty() && end[0].offset == 3);
        assert!(c.ended() && c.take_batch(3, 100, 0).is_empty());
    }

    #[test]
    fn bounded_envelope_batches_wait_until_complete() {
        let env = Some(Format::Envelope);
        let mut c = PartitionCursor::new(0, env, 10, Some(14));
        c.push(msg(10, "12345", None), 0);
        assert!(
            c.take_batch(0, 8, 0).is_empty(),
            "5 of 8 bytes and not at the end"
        );
        c.push(msg(11, "12345", None), 0);
        c.push(msg(12, "12345", None), 0);
        let b = c.take_batch(0, 8, 0);
        assert_eq!(b.iter().map(|d| d.offset).collect::<Vec<_>>(), [10, 11]);
        c.push(msg(13, "1", None), 0);
        let b = c.take_batch(1, 8, 0);
        assert_eq!(
            b.iter().map(|d| (d.offset, d.last)).collect::<Vec<_>>(),
            [(12, false), (13, true)]
        );
        assert_eq!(c.next_offset(), 14);
    }

    #[test]
    fn follow_mode_idle_marker_once_per_quiet_spell() {
        let mut c = PartitionCursor::new(0, None, 0, None);
        assert!(
            c.idle_marker(0, 100, 1_000).is_none(),
            "the quiet spell starts now"
        );
        assert!(c.idle_marker(0, 100, 1_050).is_none());
        let never = c.idle_marker(0, 100, 1_100);
        assert!(never.is_some_and(|d| d.idle && !d.last), "never had data");
        c.push(msg(0, "a", None), 1_000);
        assert_eq!(c.take_batch(0, 10, 1_000).len(), 1);
        assert!(c.idle_marker(1, 100, 1_050).is_none());
        assert!(c
            .idle_marker(1, 100, 1_100)
            .is_some_and(|d| d.idle && !d.last));
        assert!(c.idle_marker(2, 100, 5_000).is_none());
        c.push(msg(1, "b", None), 6_000);
        assert!(!c.take_batch(2, 10, 6_000)[0].last);
        assert!(c.idle_marker(3, 100, 6_200).is_some());
    }
}
