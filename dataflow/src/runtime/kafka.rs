//! The runtime's side of Kafka: the client settings from `[kafka]`, planning the partitions into the job's feed table and
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

/// The Kafka client settings of `[kafka]`; an unknown `topic_formats` format is an error.
pub fn kafka_settings(
    k: &crate::config::KafkaConfig,
    errors: &mut Vec<String>,
) -> connectors::kafka::KafkaSettings {
    use connectors::kafka::{KafkaSettings, KafkaTopics, OffsetReset, Password};
    let path = |p: &std::path::Path| (!p.as_os_str().is_empty()).then(|| p.to_path_buf());
    let t = &k.topics;
    let mut topic_formats = std::collections::BTreeMap::new();
    for (topic, name) in &k.topic_formats {
        match operators::parse::Format::from_name(name) {
            Some(f) => {
                topic_formats.insert(topic.clone(), f);
            }
            None => errors.push(format!(
                "kafka.topic_formats.{topic}: unknown format {name:?}"
            )),
        }
    }
    KafkaSettings {
        bootstrap: k.bootstrap.clone(),
        consumer_group: k.consumer_group.clone(),
        client_id: k.client_id.clone(),
        security_protocol: k.security_protocol.name().to_string(),
        sasl_mechanism: (k.sasl_mechanism != crate::config::SaslMechanism::None)
            .then(|| k.sasl_mechanism.name().to_string()),
        sasl_username: k.sasl_username.clone(),
        sasl_password: Password::new(k.sasl_password.expose()),
        ssl_ca_location: path(&k.ssl_ca_location),
        ssl_certificate_location: path(&k.ssl_certificate_location),
        ssl_key_location: path(&k.ssl_key_location),
        ssl_key_password: Password::new(k.ssl_key_password.expose()),
        message_max_bytes: k.message_max_bytes,
        compression: k.compression.name().to_string(),
        auto_offset_reset: match k.auto_offset_reset {
            crate::config::OffsetReset::Earliest => OffsetReset::Earliest,
            crate::config::OffsetReset::Latest => OffsetReset::Latest,
        },
        session_timeout_ms: k.session_timeout_ms,
        fetch_wait_max_ms: k.fetch_wait_max_ms,
        topics: KafkaTopics {
            in_envelopes: t.in_envelopes.clone(),
            in_native: [
                &t.in_miso,
                &t.in_caiso,
                &t.in_ercot,
                &t.in_pjm,
                &t.in_nyiso,
                &t.in_isone,
                &t.in_spp,
            ]
            .into_iter()
            .cloned()
            .collect(),
            out_normalized: t.out_normalized.clone(),
            out_enriched: t.out_enriched.clone(),
            out_bars: t.out_bars.clone(),
            out_curves: t.out_curves.clone(),
            out_latest_prices: t.out_latest_prices.clone(),
            out_dead_letters: t.out_dead_letters.clone(),
        },
        topic_formats,
    }
}
