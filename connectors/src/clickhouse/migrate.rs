//! `migrate`: creates the database and the tables of SPEC §6 (idempotent: `IF NOT EXISTS`),
//! choosing the DDL variant from the server's `SELECT version()`.

use super::client::{ClickhouseError, Client};
use super::config::ClickhouseConfig;
use super::ddl::{statements, ServerFeatures};

/// What `migrate` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrateReport {
    /// The server's version string.
    pub server_version: String,
    /// The features the DDL used.
    pub features: ServerFeatures,
    /// Statements run (all `IF NOT EXISTS`).
    pub statements: usize,
}

/// Creates `cfg.database` and its tables where missing. Existing tables are left as they are.
pub fn migrate(cfg: &ClickhouseConfig) -> Result<MigrateReport, ClickhouseError> {
    let client = Client::new(cfg)?;
    let server_version = client.version()?;
    let features = ServerFeatures::of_version(&server_version);
    let sql = statements(&cfg.database, features, cfg.ttl_days);
    for s in &sql {
        client.query(s)?;
    }
    tracing::info!(
        server_version = %server_version,
        database = %cfg.database,
        ttl = features.ttl,
        low_cardinality = features.low_cardinality,
        "clickhouse schema applied"
    );
    Ok(MigrateReport {
        server_version,
        features,
        statements: sql.len(),
    })
}
