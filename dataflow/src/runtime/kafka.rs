//! The runtime's side of `kafka:` inputs: planning the partitions into the job's feed table and
//! building each worker's reader. Planning fails (before any worker starts) when the brokers
//! cannot be reached or a topic does not exist.

use super::{RunError, RunOptions};
use crate::spec::InputSpec;
use connectors::kafka::{KafkaPlan, KafkaReadOptions, KafkaReader};
use operators::model::FeedTable;
use std::sync::Arc;

/// Plans every `kafka:` input (all topics of all of them, sorted) after the file feeds of
/// `table`; `None` without Kafka inputs.
pub fn plan(opts: &RunOptions, table: &mut FeedTable) -> Result<Option<Arc<KafkaPlan>>, RunError> {
    let mut topics: Vec<String> = opts
        .inputs
        .iter()
        .filter_map(|i| match i {
            InputSpec::Kafka { topics } => Some(topics.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    if topics.is_empty() {
        return Ok(None);
    }
    topics.sort();
    topics.dedup();
    let plan = KafkaPlan::fetch(&opts.kafka, &topics, table)
        .map_err(|e| RunError::Plan(format!("--input kafka:{}: {e}", topics.join(","))))?;
    tracing::info!(
        topics = topics.len(),
        partitions = plan.len(),
        "kafka inputs planned"
    );
    Ok(Some(Arc::new(plan)))
}

/// The reader of global worker `worker` of `workers`.
pub fn reader(opts: &RunOptions, plan: &KafkaPlan, worker: usize, workers: usize) -> KafkaReader {
    let start = plan
        .partitions
        .iter()
        .filter_map(|p| {
            let next = opts.kafka_start.get(&(p.topic.clone(), p.partition))?;
            Some((p.feed, *next))
        })
        .collect();
    KafkaReader::new(
        opts.kafka.clone(),
        plan,
        worker,
        workers,
        KafkaReadOptions {
            follow: opts.follow,
            batch_max_bytes: opts.batch_max_bytes,
            idle_timeout_ms: Some(opts.idle_timeout_ms),
            start,
        },
    )
}
