//! What the runtime tells the health registry and the metrics when a run starts: one health
//! check per source kind and sink kind of the job, and the reference data that was loaded
//! before the workers start (SPEC §4: sources emit nothing before every worker holds it), with
//! `tickflow_reference_rows{table}` set from that snapshot. Sources that need no connection
//! (files, the generator) are up once planned; Kafka is up once the brokers answered the
//! planning requests, and its reader reports later stalls (`graph::source`).

use super::RunOptions;
use crate::spec::{InputSpec, OutputSpec};
use std::collections::BTreeMap;

/// The sink label of an output (SPEC §10 `sink`).
pub fn sink_label(o: &OutputSpec) -> &'static str {
    match o {
        OutputSpec::Dir(_) => "dir",
        OutputSpec::Stdout => "stdout",
        OutputSpec::Null => "null",
        OutputSpec::Kafka => "kafka",
        OutputSpec::Clickhouse => "clickhouse",
        OutputSpec::Redis => "redis",
    }
}

/// Registers the run's checks once its inputs are planned (Kafka brokers reached).
pub fn run_started(opts: &RunOptions) {
    for input in &opts.inputs {
        crate::health::up(match input {
            InputSpec::File { .. } | InputSpec::Dir { .. } => "source:file",
            InputSpec::Generator { .. } => "source:generator",
            InputSpec::Kafka { .. } => "source:kafka",
        });
    }
    for output in &opts.outputs {
        crate::health::up(&format!("sink:{}", sink_label(output)));
    }
    let rows: &[operators::model::ReferenceRow] = opts
        .normalize
        .reference
        .as_deref()
        .map_or(&[], |r| r.as_slice());
    let mut per_table: BTreeMap<&'static str, i64> = BTreeMap::new();
    for row in rows {
        *per_table.entry(row.table().name()).or_default() += 1;
    }
    let gauge = &crate::metrics::families().reference_rows;
    for (table, n) in &per_table {
        gauge.with_label_values(&[table]).set(*n);
    }
    let source = match (&opts.reference.dir, &opts.reference.postgres) {
        (Some(d), _) => format!("dir:{}", d.display()),
        (None, Some(_)) => "postgres".to_string(),
        (None, None) if rows.is_empty() => "none".to_string(),
        (None, None) => "snapshot".to_string(),
    };
    crate::health::up_with("reference", format!("{} rows from {source}", rows.len()));
}
