//! Planning Kafka inputs into feeds, and the deterministic partition assignment.
//!
//! Every process asks the brokers for the partition counts of the input topics and lists the
//! partitions sorted by (topic, partition); that list, appended to the job's
//! [`FeedTable`], makes each partition a feed (display `topic/partition`). The partition at index
//! `i` of the list belongs to global worker `i mod W` ([`KafkaPlan::partitions_for`]) and is
//! assigned to that worker's consumer manually — no group rebalancing, so every worker of every
//! process agrees without talking. Planning fails when a topic does not exist or the brokers
//! cannot be reached within the timeout.

use super::config::KafkaSettings;
use operators::model::{FeedId, FeedKind, FeedTable};
use operators::parse::Format;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::time::Duration;

/// One input partition, a feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionPlan {
    /// Its feed id.
    pub feed: FeedId,
    /// Topic.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
    /// Format of its messages without a `format` header (`None`: detected from content).
    pub format: Option<Format>,
}

/// The planned input partitions of a job, sorted by (topic, partition).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KafkaPlan {
    /// Every input partition, in feed order.
    pub partitions: Vec<PartitionPlan>,
}

/// Why planning failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaPlanError {
    /// The consumer could not be created (bad configuration).
    #[error("kafka client: {0}")]
    Client(String),
    /// The brokers did not answer the metadata request.
    #[error("kafka metadata for topic {topic}: {error}")]
    Metadata {
        /// The topic asked for.
        topic: String,
        /// What went wrong.
        error: String,
    },
    /// The topic does not exist (or has no partitions).
    #[error("kafka topic {0} does not exist")]
    UnknownTopic(String),
}

/// How long planning waits for the brokers' metadata.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

impl KafkaPlan {
    /// Builds the plan from known partition counts (the pure core): `(topic, partitions)` pairs
    /// in any order, appended to `table` sorted by (topic, partition).
    pub fn from_counts(
        settings: &KafkaSettings,
        counts: &[(String, i32)],
        table: &mut FeedTable,
    ) -> KafkaPlan {
        let mut list: Vec<(String, i32)> = counts
            .iter()
            .flat_map(|(t, n)| (0..*n).map(move |p| (t.clone(), p)))
            .collect();
        list.sort();
        list.dedup();
        let partitions = list
            .into_iter()
            .map(|(topic, partition)| {
                let feed = table.add(
                    format!("{topic}/{partition}"),
                    FeedKind::Kafka {
                        topic: topic.clone(),
                        partition,
                    },
                );
                PartitionPlan {
                    feed,
                    format: settings.topic_format(&topic),
                    topic,
                    partition,
                }
            })
            .collect();
        KafkaPlan { partitions }
    }

    /// Asks the brokers for the partition counts of `topics` and plans them.
    pub fn fetch(
        settings: &KafkaSettings,
        topics: &[String],
        table: &mut FeedTable,
    ) -> Result<KafkaPlan, KafkaPlanError> {
        let consumer: BaseConsumer = settings
            .consumer_config()
            .create()
            .map_err(|e| KafkaPlanError::Client(e.to_string()))?;
        let mut counts = Vec::new();
        for topic in topics {
            let md = consumer
                .fetch_metadata(Some(topic), METADATA_TIMEOUT)
                .map_err(|e| KafkaPlanError::Metadata {
                    topic: topic.clone(),
                    error: e.to_string(),
                })?;
            let n = md
                .topics()
                .iter()
                .find(|t| t.name() == topic && t.error().is_none())
                .map(|t| t.partitions().len() as i32)
                .unwrap_or(0);
            if n == 0 {
                return Err(KafkaPlanError::UnknownTopic(topic.clone()));
            }
            counts.push((topic.clone(), n));
        }
        Ok(KafkaPlan::from_counts(settings, &counts, table))
    }

    /// The partitions of global worker `worker` of `workers`: index `i` of the sorted list goes
    /// to worker `i mod workers`.
    pub fn partitions_for(&self, worker: usize, workers: usize) -> Vec<PartitionPlan> {
        let workers = workers.max(1);
        self.partitions
            .iter()
            .enumerate()
            .filter(|(i, _)| i % workers == worker)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// The number of planned partitions (feeds).
    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    /// True when no partition is planned.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_sorted_and_dealt_round_robin() {
        let mut table = FeedTable::default();
        table.add("a.csv", FeedKind::File);
        let s = KafkaSettings::default();
        let plan = KafkaPlan::from_counts(
            &s,
            &[
                ("ingestion.pjm.raw.v1".into(), 2),
                ("ingestion.market.ticks.raw.v1".into(), 3),
            ],
            &mut table,
        );
        let names: Vec<String> = plan
            .partitions
            .iter()
            .map(|p| format!("{}/{}#{}", p.topic, p.partition, p.feed))
            .collect();
        assert_eq!(
            names,
            [
                "ingestion.market.ticks.raw.v1/0#1",
                "ingestion.market.ticks.raw.v1/1#2",
                "ingestion.market.ticks.raw.v1/2#3",
                "ingestion.pjm.raw.v1/0#4",
                "ingestion.pjm.raw.v1/1#5"
            ]
        );
        assert_eq!(plan.partitions[0].format, Some(Format::Envelope));
        assert_eq!(plan.partitions[3].format, None);
        assert_eq!(
            table.get(4).map(|f| f.display.as_str()),
            Some("ingestion.pjm.raw.v1/0")
        );
        for workers in 1..=4 {
            let mut all: Vec<FeedId> = (0..workers)
                .flat_map(|w| plan.partitions_for(w, workers))
                .map(|p| p.feed)
                .collect();
            all.sort_unstable();
            assert_eq!(all, vec![1, 2, 3, 4, 5], "workers {workers}");
        }
        let w1: Vec<FeedId> = plan.partitions_for(1, 2).iter().map(|p| p.feed).collect();
        assert_eq!(w1, vec![2, 4]);
    }
}
