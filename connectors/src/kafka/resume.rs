//! What a restarted job needs besides its committed offsets (SPEC §11): the global watermark
//! `G` at the commit and, per partition, the next offset after the records that run had judged.
//! Both travel in the offset commit's metadata string, `tickflow/1 g=<ms> judged=<offset>`, so
//! they are committed atomically with the offset they belong to.
//!
//! A restart reads them back ([`read_marks`]) and seeds its lateness stage: records between the
//! committed offset and `judged` are read again, and their ticks of windows already closed at
//! `G` (written before the commit) are dropped instead of rewriting those windows from a subset
//! of their ticks. Metadata that is missing or not ours is ignored (the partition resumes as
//! before).

use super::config::KafkaSettings;
use super::plan::KafkaPlan;
use operators::model::{EpochMs, FeedId};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::TopicPartitionList;
use std::collections::BTreeMap;
use std::time::Duration;

const PREFIX: &str = "tickflow/1 ";
const TIMEOUT: Duration = Duration::from_secs(10);

/// What a commit of one partition carries besides its offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumeMark {
    /// The global watermark (last finite one) of the committing run, epoch ms.
    pub watermark_ms: EpochMs,
    /// The next offset after every record that run had judged.
    pub judged_next: u64,
}

/// Resume marks per feed (partition).
pub type Marks = BTreeMap<FeedId, ResumeMark>;

impl ResumeMark {
    /// The metadata string.
    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}g={} judged={}",
            self.watermark_ms, self.judged_next
        )
    }

    /// Parses [`ResumeMark::encode`]'s form; `None` for anything else.
    pub fn parse(s: &str) -> Option<ResumeMark> {
        let rest = s.strip_prefix(PREFIX)?;
        let mut g = None;
        let mut judged = None;
        for part in rest.split(' ') {
            match part.split_once('=') {
                Some(("g", v)) => g = v.parse().ok(),
                Some(("judged", v)) => judged = v.parse().ok(),
                _ => return None,
            }
        }
        Some(ResumeMark {
            watermark_ms: g?,
            judged_next: judged?,
        })
    }
}

/// The resume marks committed for the partitions of `plan` in the consumer group of
/// `settings` (partitions without a mark are absent).
pub fn read_marks(settings: &KafkaSettings, plan: &KafkaPlan) -> Result<Marks, String> {
    let mut asked = TopicPartitionList::new();
    for p in &plan.partitions {
        asked.add_partition(&p.topic, p.partition);
    }
    if asked.count() == 0 {
        return Ok(Marks::new());
    }
    let consumer: BaseConsumer = settings
        .consumer_config()
        .create()
        .map_err(|e| format!("cannot create the consumer: {e}"))?;
    let committed = consumer
        .committed_offsets(asked, TIMEOUT)
        .map_err(|e| format!("committed offsets: {e}"))?;
    let mut marks = Marks::new();
    for p in &plan.partitions {
        let mark = committed
            .find_partition(&p.topic, p.partition)
            .and_then(|e| {
                // The client's accessor panics on metadata that is not UTF-8 (another
                // client's): treat that as no mark.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.metadata().to_string()))
                    .ok()
            })
            .and_then(|m| ResumeMark::parse(&m));
        if let Some(m) = mark {
            marks.insert(p.feed, m);
        }
    }
    Ok(marks)
}

/// The offsets committed in the consumer group of `settings` for partitions `0..partitions`
/// of `topic` (`None`: nothing committed) — what a restarted job resumes from, for
/// operators and tests (`read_marks` reads the resume marks stored beside them).
pub fn committed_offsets(
    settings: &KafkaSettings,
    topic: &str,
    partitions: i32,
) -> Result<Vec<Option<i64>>, String> {
    let consumer: BaseConsumer = settings
        .consumer_config()
        .create()
        .map_err(|e| format!("cannot create the consumer: {e}"))?;
    let mut asked = TopicPartitionList::new();
    for p in 0..partitions {
        asked.add_partition(topic, p);
    }
    let got = consumer
        .committed_offsets(asked, TIMEOUT)
        .map_err(|e| format!("committed offsets: {e}"))?;
    Ok((0..partitions)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(rdkafka::Offset::Offset(o)) => Some(o),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_foreign_metadata_is_ignored() {
        let m = ResumeMark {
            watermark_ms: -5,
            judged_next: 42,
        };
        assert_eq!(ResumeMark::parse(&m.encode()), Some(m));
        assert_eq!(ResumeMark::parse(""), None);
        assert_eq!(ResumeMark::parse("tickflow/1 g=1"), None);
        assert_eq!(ResumeMark::parse("tickflow/1 g=1 judged=x"), None);
        assert_eq!(ResumeMark::parse("someone else's"), None);
    }
}
