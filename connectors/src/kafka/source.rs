//! [`KafkaReader`]: one worker's [`SourceReader`] over its share of the input partitions.
//!
//! The worker's partitions ([`KafkaPlan::partitions_for`]) are assigned manually to one
//! `BaseConsumer`, each starting at the given position, else at the consumer group's committed
//! offset, else where `auto_offset_reset` says. Messages are polled without blocking into
//! per-partition [`PartitionCursor`]s, which cut them into batches.
//!
//! **Timely time.** Batches go out in rounds: each round hands out at most one batch per
//! partition, all numbered with the round, and the round advances after a pass that handed out
//! something. So a partition's successive batches always carry increasing numbers (the lateness
//! stage judges each batch against the watermark of the feed's earlier batches, SPEC §4), and a
//! slow or idle partition never makes the others wait.
//!
//! In **follow mode** the round also keeps up with the wall clock (microseconds since the epoch,
//! never going back): whenever the reader has nothing to hand out it moves its round to the
//! clock, so its capability — the floor of what it may still send — advances while it is idle.
//! Otherwise a worker whose partitions carry less data would count fewer rounds, and every
//! other worker's batches would wait downstream (the frontier is the minimum over all workers)
//! until it caught up: seconds of delay, growing with the run. With clock rounds, an idle
//! worker holds the others back by at most one poll interval. Bounded runs keep data-only
//! rounds, so their batching — and their results — do not depend on timing.
//!
//! **Bounded mode** (the default) stops every partition at the high watermark seen when the
//! reader connected, and the reader is done when all of them are; **follow mode** keeps polling
//! and returns [`Poll::Pending`] when nothing is ready. **Failures** (brokers down, fetch errors)
//! never end the input: the reader reports [`SourceHealth::Stalled`] and keeps retrying (the
//! client reconnects by itself); a consumer that cannot even be created is retried every second.

use super::config::KafkaSettings;
use super::partition::{Message, PartitionCursor};
use super::plan::{KafkaPlan, PartitionPlan};
use crate::source::{Poll, Position, SourceHealth, SourceReader};
use operators::model::{FeedId, RawDocument};
use operators::parse::Format;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::message::{Headers, Message as _};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a reader runs.
#[derive(Clone, Debug, Default)]
pub struct KafkaReadOptions {
    /// Keep polling at the end of the partitions (`--follow`) instead of stopping at the high
    /// watermarks seen at start.
    pub follow: bool,
    /// Envelope messages are grouped into batches of about this many bytes.
    pub batch_max_bytes: u64,
    /// Follow mode: a partition silent this long stops holding the global watermark back.
    pub idle_timeout_ms: Option<u64>,
    /// Positions to resume from (next offset per feed); others start at the committed offset.
    pub start: BTreeMap<FeedId, u64>,
}

/// Consumer lag of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLag {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The next offset the reader hands out.
    pub next_offset: u64,
    /// The partition's high watermark as last reported by the brokers.
    pub high_watermark: u64,
    /// Messages not yet handed out: `high_watermark − next_offset`.
    pub lag: u64,
}

/// Why committing failed.
#[derive(Debug, thiserror::Error)]
#[error("kafka commit: {0}")]
pub struct CommitError(pub(crate) String);

/// Keeps the partitions' high watermarks from the client's statistics (no extra requests).
#[derive(Default)]
struct SourceContext {
    high: Mutex<BTreeMap<(String, i32), i64>>,
}

impl ClientContext for SourceContext {
    fn stats(&self, s: Statistics) {
        if let Ok(mut high) = self.high.lock() {
            for (name, topic) in &s.topics {
                for (p, part) in &topic.partitions {
                    if *p >= 0 && part.hi_offset >= 0 {
                        high.insert((name.clone(), *p), part.hi_offset);
                    }
                }
            }
        }
    }
}

impl ConsumerContext for SourceContext {}

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
const POSITION_CHECK: Duration = Duration::from_millis(100);
const RETRY_CONNECT: Duration = Duration::from_secs(1);
/// Messages taken from the client per poll at most.
const DRAIN_MAX: usize = 4096;

/// Reads one worker's share of the input partitions.
pub struct KafkaReader {
    settings: KafkaSettings,
    parts: Vec<PartitionPlan>,
    options: KafkaReadOptions,
    consumer: Option<BaseConsumer<SourceContext>>,
    cursors: Vec<PartitionCursor>,
    index: BTreeMap<(String, i32), usize>,
    round: u64,
    next: usize,
    emitted: bool,
    queue: VecDeque<RawDocument>,
    buffer_cap_bytes: u64,
    last_position_check: Option<Instant>,
    last_connect_attempt: Option<Instant>,
    health: SourceHealth,
}

/// Wall clock in microseconds since the epoch: follow mode's round floor.
fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl KafkaReader {
    /// The reader of global worker `worker` of `workers`. Connects lazily, on the first poll.
    pub fn new(
        settings: KafkaSettings,
        plan: &KafkaPlan,
        worker: usize,
        workers: usize,
        options: KafkaReadOptions,
    ) -> KafkaReader {
        let parts = plan.partitions_for(worker, workers);
        let batch = options.batch_max_bytes.max(1);
        KafkaReader {
            buffer_cap_bytes: batch.saturating_mul(parts.len() as u64 + 1) + (16 << 20),
            health: if parts.is_empty() {
                SourceHealth::Ceased
            } else {
                SourceHealth::Running
            },
            settings,
            parts,
            options,
            consumer: None,
            cursors: Vec::new(),
            index: BTreeMap::new(),
            round: 0,
            next: 0,
            emitted: false,
            queue: VecDeque::new(),
            last_position_check: None,
            last_connect_attempt: None,
        }
    }

    /// Creates the consumer, finds every partition's start (and stop) and assigns them.
    fn connect(&mut self) -> Result<(), String> {
        let mut config = self.settings.consumer_config();
        config.set("statistics.interval.ms", "1000");
        let consumer: BaseConsumer<SourceContext> = config
            .create_with_context(SourceContext::default())
            .map_err(|e| format!("cannot create the consumer: {e}"))?;
        let mut asked = TopicPartitionList::new();
        for p in &self.parts {
            asked.add_partition(&p.topic, p.partition);
        }
        let committed = consumer
            .committed_offsets(asked, METADATA_TIMEOUT)
            .map_err(|e| format!("committed offsets: {e}"))?;
        let mut assignment = TopicPartitionList::new();
        let mut cursors = Vec::new();
        for p in &self.parts {
            let (low, high) = consumer
                .fetch_watermarks(&p.topic, p.partition, METADATA_TIMEOUT)
                .map_err(|e| format!("watermarks of {}/{}: {e}", p.topic, p.partition))?;
            let (low, high) = (low.max(0) as u64, high.max(0) as u64);
            let committed = committed
                .find_partition(&p.topic, p.partition)
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o as u64),
                    _ => None,
                });
            let start = match (self.options.start.get(&p.feed), committed) {
                (Some(given), _) => *given,
                (None, Some(c)) => c,
                (None, None) => match self.settings.auto_offset_reset {
                    super::config::OffsetReset::Earliest => low,
                    super::config::OffsetReset::Latest => high,
                },
            }
            .clamp(low, high.max(low));
            let stop = (!self.options.follow).then_some(high);
            assignment
                .add_partition_offset(&p.topic, p.partition, Offset::Offset(start as i64))
                .map_err(|e| format!("assign {}/{}: {e}", p.topic, p.partition))?;
            self.index
                .insert((p.topic.clone(), p.partition), cursors.len());
            cursors.push(PartitionCursor::new(p.feed, p.format, start, stop));
        }
        consumer
            .assign(&assignment)
            .map_err(|e| format!("assign: {e}"))?;
        tracing::info!(
            partitions = cursors.len(),
            follow = self.options.follow,
            "kafka source assigned"
        );
        self.cursors = cursors;
        self.consumer = Some(consumer);
        Ok(())
    }

    /// Takes what the client has fetched, up to the buffer cap.
    fn drain(&mut self) {
        let Some(consumer) = self.consumer.as_ref() else {
            return;
        };
        let now = now_ms();
        for _ in 0..DRAIN_MAX {
            let held: u64 = self
                .cursors
                .iter()
                .map(PartitionCursor::buffered_bytes)
                .sum();
            if held >= self.buffer_cap_bytes {
                break;
            }
            match consumer.poll(Duration::ZERO) {
                None => break,
                Some(Ok(m)) => {
                    let key = (m.topic().to_string(), m.partition());
                    let Some(&i) = self.index.get(&key) else {
                        continue;
                    };
                    let format = m.headers().and_then(|h| {
                        h.iter()
                            .find(|h| h.key == "format")
                            .and_then(|h| h.value)
                            .and_then(|v| std::str::from_utf8(v).ok())
                            .and_then(Format::from_name)
                    });
                    let msg = Message {
                        offset: m.offset().max(0) as u64,
                        bytes: Arc::from(m.payload().unwrap_or(&[])),
                        format,
                    };
                    if let Some(c) = self.cursors.get_mut(i) {
                        c.push(msg, now);
                    }
                    self.health = SourceHealth::Running;
                }
                Some(Err(e)) => {
                    let why = e.to_string();
                    if self.health != SourceHealth::Stalled(why.clone()) {
                        tracing::warn!(error = %why, "kafka source stalled; retrying");
                    }
                    self.health = SourceHealth::Stalled(why);
                    break;
                }
            }
        }
    }

    /// Bounded mode: learns how far the client fetched, so a tail of transaction markers (no
    /// messages up to the stop offset) still ends the partition.
    fn check_positions(&mut self) {
        if self.options.follow
            || self
                .last_position_check
                .is_some_and(|t| t.elapsed() < POSITION_CHECK)
        {
            return;
        }
        self.last_position_check = Some(Instant::now());
        let Some(Ok(list)) = self.consumer.as_ref().map(|c| c.position()) else {
            return;
        };
        for e in list.elements() {
            if let (Offset::Offset(o), Some(&i)) = (
                e.offset(),
                self.index.get(&(e.topic().to_string(), e.partition())),
            ) {
                if let Some(c) = self.cursors.get_mut(i) {
                    c.fetched_to(o.max(0) as u64);
                }
            }
        }
    }

    /// One pass over the partitions from `self.next`: the first batch that is ready.
    fn next_batch(&mut self) -> Option<Vec<RawDocument>> {
        let batch_bytes = self.options.batch_max_bytes.max(1);
        let now = now_ms();
        loop {
            while self.next < self.cursors.len() {
                let i = self.next;
                self.next += 1;
                let docs = self
                    .cursors
                    .get_mut(i)?
                    .take_batch(self.round, batch_bytes, now);
                if !docs.is_empty() {
                    self.emitted = true;
                    return Some(docs);
                }
            }
            self.next = 0;
            if !std::mem::take(&mut self.emitted) {
                return None;
            }
            self.round += 1;
        }
    }

    /// Follow mode: idle markers of partitions silent for `idle_timeout_ms`, in the current
    /// round.
    fn idle_markers(&mut self) {
        let Some(timeout) = self.options.idle_timeout_ms else {
            return;
        };
        let now = now_ms();
        let round = self.round;
        for c in self.cursors.iter_mut() {
            if let Some(doc) = c.idle_marker(round, timeout as i64, now) {
                self.emitted = true;
                self.queue.push_back(doc);
            }
        }
    }

    /// Consumer lag per partition of this reader, from the high watermarks the client last
    /// reported (statistics every second; empty before the first report).
    pub fn lag(&self) -> Vec<PartitionLag> {
        let Some(consumer) = self.consumer.as_ref() else {
            return Vec::new();
        };
        let Ok(high) = consumer.context().high.lock() else {
            return Vec::new();
        };
        self.parts
            .iter()
            .zip(&self.cursors)
            .filter_map(|(p, c)| {
                let h = (*high.get(&(p.topic.clone(), p.partition))?).max(0) as u64;
                let next = c.next_offset();
                Some(PartitionLag {
                    topic: p.topic.clone(),
                    partition: p.partition,
                    next_offset: next,
                    high_watermark: h,
                    lag: h.saturating_sub(next),
                })
            })
            .collect()
    }

    /// Commits `positions` (next offsets) of this reader's partitions to the consumer group,
    /// synchronously. Call only once every output derived from before them is durable.
    pub fn commit(&self, positions: &[Position]) -> Result<(), CommitError> {
        let Some(consumer) = self.consumer.as_ref() else {
            return Err(CommitError("not connected".into()));
        };
        let mut list = TopicPartitionList::new();
        for pos in positions {
            if let Some(p) = self.parts.iter().find(|p| p.feed == pos.feed) {
                list.add_partition_offset(&p.topic, p.partition, Offset::Offset(pos.next as i64))
                    .map_err(|e| CommitError(e.to_string()))?;
            }
        }
        if list.count() == 0 {
            return Ok(());
        }
        consumer
            .commit(&list, CommitMode::Sync)
            .map_err(|e| CommitError(e.to_string()))
    }
}

impl SourceReader for KafkaReader {
    fn poll(&mut self) -> Poll {
        if let Some(doc) = self.queue.pop_front() {
            return Poll::Ready(doc);
        }
        if self.parts.is_empty() {
            return Poll::Done;
        }
        if self.consumer.is_none() {
            if self
                .last_connect_attempt
                .is_some_and(|t| t.elapsed() < RETRY_CONNECT)
            {
                return Poll::Pending;
            }
            self.last_connect_attempt = Some(Instant::now());
            if let Err(why) = self.connect() {
                tracing::warn!(error = %why, "kafka source cannot start; retrying");
                self.health = SourceHealth::Stalled(why);
                return Poll::Pending;
            }
        }
        self.drain();
        if let Some(docs) = self.next_batch() {
            self.queue.extend(docs);
        } else {
            self.check_positions();
            if let Some(docs) = self.next_batch() {
                self.queue.extend(docs);
            } else if self.options.follow {
                self.idle_markers();
                // Nothing handed out in this pass, so the current round is unused: move it to
                // the clock (see the module doc).
                self.round = self.round.max(now_us());
            }
        }
        if let Some(doc) = self.queue.pop_front() {
            return Poll::Ready(doc);
        }
        if !self.options.follow && self.cursors.iter().all(PartitionCursor::ended) {
            self.health = SourceHealth::Ceased;
            return Poll::Done;
        }
        Poll::Pending
    }

    fn positions(&self) -> Vec<Position> {
        if self.cursors.is_empty() {
            return self
                .parts
                .iter()
                .filter_map(|p| {
                    let next = *self.options.start.get(&p.feed)?;
                    Some(Position { feed: p.feed, next })
                })
                .collect();
        }
        self.cursors
            .iter()
            .map(|c| Position {
                feed: c.feed,
                next: c.next_offset(),
            })
            .collect()
    }

    fn health(&self) -> SourceHealth {
        self.health.clone()
    }

    /// Batches are stamped with the current round, which never goes back; queued documents
    /// may carry an earlier one.
    fn next_batch_floor(&self) -> Option<u64> {
        let queued = self.queue.iter().map(|d| d.batch).min();
        Some(queued.map_or(self.round, |q| q.min(self.round)))
    }
}
