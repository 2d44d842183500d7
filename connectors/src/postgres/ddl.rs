//! The PostgreSQL schema of the reference tables (SPEC §5), applied by `tickflow migrate`.
//!
//! [`migrate`] runs `ddl.sql` (tables, change-tracking functions) and, per table, the indexes on
//! `(tenant_id, updated_at)` and `changed_txid` and the triggers that maintain `changed_txid`,
//! `updated_at` and `reference_deletions`, all in one transaction under an advisory lock, so two
//! processes migrating at once do not race and a failure leaves the schema as it was. Every
//! statement is idempotent. Needs PostgreSQL ≥ 14 (`xid8`, `CREATE OR REPLACE TRIGGER`).
//! Fails with the server's error (never the DSN) when a statement is refused.

use super::PgError;
use operators::model::Table;
use postgres::Client;

/// Tables and functions (`CREATE … IF NOT EXISTS` / `CREATE OR REPLACE`).
pub const DDL: &str = include_str!("ddl.sql");

/// Advisory lock key held while migrating (`tickflow` in ASCII).
const MIGRATE_LOCK: i64 = 0x7469_636b_666c_6f77;

/// The per-table statements: indexes and change-tracking triggers.
pub fn table_ddl(table: Table) -> String {
    let t = table.name();
    format!(
        "CREATE INDEX IF NOT EXISTS {t}_tenant_updated_at ON {t} (tenant_id, updated_at);\n\
         CREATE INDEX IF NOT EXISTS {t}_changed_txid ON {t} (changed_txid);\n\
         CREATE OR REPLACE TRIGGER {t}_touch BEFORE INSERT OR UPDATE ON {t} \
         FOR EACH ROW EXECUTE FUNCTION tickflow_reference_touch();\n\
         CREATE OR REPLACE TRIGGER {t}_deleted AFTER DELETE ON {t} \
         FOR EACH ROW EXECUTE FUNCTION tickflow_reference_deleted();\n\
         CREATE OR REPLACE TRIGGER {t}_truncated AFTER TRUNCATE ON {t} \
         FOR EACH STATEMENT EXECUTE FUNCTION tickflow_reference_deleted();\n"
    )
}

/// Creates (or confirms) every reference table, index and trigger in the session's first
/// search-path schema; returns the tables migrated.
pub fn migrate(client: &mut Client) -> Result<Vec<Table>, PgError> {
    let mut tx = client.transaction().map_err(PgError::from_server)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .map_err(PgError::from_server)?;
    tx.batch_execute(DDL).map_err(PgError::from_server)?;
    for table in Table::ALL {
        tx.batch_execute(&table_ddl(table))
            .map_err(PgError::from_server)?;
    }
    tx.commit().map_err(PgError::from_server)?;
    Ok(Table::ALL.to_vec())
}
