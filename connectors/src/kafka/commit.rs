//! Committing input positions to the consumer group from outside the readers: at the end of a
//! run the readers are gone, and the runtime commits the positions the exactly-once machinery
//! found safe (see `dataflow::graph::commit`).
//!
//! The commit is synchronous, by a short-lived consumer of the group that is assigned nothing
//! (manual assignment, as the readers use, so no group rebalance is involved). Fails with
//! [`CommitError`] when the client cannot be created or the brokers refuse or do not answer
//! within a few attempts; nothing is retried after that (the caller decides).

use super::config::KafkaSettings;
use super::plan::KafkaPlan;
use super::resume::Marks;
use super::source::CommitError;
use crate::source::Position;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

const ATTEMPTS: u32 = 5;

/// Commits `positions` (next offsets of feeds of `plan`; other feeds are ignored) for the
/// consumer group of `settings`. Returns how many partitions were committed.
pub fn commit_positions(
    settings: &KafkaSettings,
    plan: &KafkaPlan,
    positions: &[Position],
    marks: &Marks,
) -> Result<usize, CommitError> {
    let list = position_list(plan, positions, marks).map_err(CommitError)?;
    let count = list.count();
    if count == 0 {
        return Ok(0);
    }
    let consumer: BaseConsumer = settings
        .consumer_config()
        .create()
        .map_err(|e| CommitError(format!("cannot create the consumer: {e}")))?;
    let mut attempt = 0;
    loop {
        match consumer.commit(&list, CommitMode::Sync) {
            Ok(()) => return Ok(count),
            Err(e) if attempt + 1 >= ATTEMPTS => return Err(CommitError(e.to_string())),
            Err(e) => {
                tracing::warn!(error = %e, attempt, "kafka commit failed, retrying");
                std::thread::sleep(Duration::from_millis(200 << attempt));
                attempt += 1;
            }
        }
    }
}

/// The partition list of `positions` (feeds of `plan` only; others are ignored), each with its
/// resume mark (if any) as metadata.
pub(crate) fn position_list(
    plan: &KafkaPlan,
    positions: &[Position],
    marks: &Marks,
) -> Result<TopicPartitionList, String> {
    let mut list = TopicPartitionList::new();
    for pos in positions {
        if let Some(p) = plan.partitions.iter().find(|p| p.feed == pos.feed) {
            let mut elem = list.add_partition(&p.topic, p.partition);
            elem.set_offset(Offset::Offset(pos.next as i64))
                .map_err(|e| e.to_string())?;
            if let Some(m) = marks.get(&pos.feed) {
                elem.set_metadata(m.encode());
            }
        }
    }
    Ok(list)
}
