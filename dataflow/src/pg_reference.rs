//! `--reference postgres`: the reference snapshot read from `postgres.dsn` before the job
//! starts, and what the live source needs to continue from it on worker 0.
//!
//! Fails (the run does not start) when the database cannot be reached or a row does not
//! validate; the message never contains the password.

use crate::config::Config;
use crate::runtime::PostgresReference;
use connectors::postgres::PgDsn;
use connectors::reference::{count_active, PostgresSource, ReferenceSource};
use operators::model::ReferenceRow;
use std::sync::Arc;
use std::time::Duration;

/// Reads every reference table from the database of `config.postgres.dsn`.
pub fn postgres_snapshot(
    config: &Config,
) -> Result<(Arc<Vec<ReferenceRow>>, PostgresReference), String> {
    let dsn = PgDsn::new(config.postgres.dsn.expose());
    let refresh = Duration::from_millis(config.reference.refresh_interval_ms);
    let mut source = PostgresSource::new(dsn.clone(), refresh);
    let rows = source
        .snapshot()
        .map_err(|e| format!("--reference postgres: {e}"))?;
    for (table, n) in count_active(&rows) {
        tracing::debug!(
            table = table.name(),
            rows = n,
            "reference rows from PostgreSQL"
        );
    }
    tracing::info!(
        rows = rows.len(),
        cursor = source.baseline().cursor(),
        "reference snapshot read from PostgreSQL"
    );
    let live = PostgresReference {
        dsn,
        baseline: source.baseline().clone(),
    };
    Ok((Arc::new(rows), live))
}
