//! Loading a directory of `<table>.csv` reference files into the PostgreSQL tables (for tests
//! and for seeding a new database with the bundled set).
//!
//! The conversion is done by the server, not by tickflow's CSV parser: each file is `COPY`ed
//! into a temporary all-text table, then inserted with casts to the real column types
//! (`;`-separated lists → arrays, empty cells → NULL). So PostgreSQL's own parsing of times,
//! numbers and JSON checks tickflow's (the CSV and PostgreSQL sources must agree). Rows whose
//! key already exists are updated (`ON CONFLICT … DO UPDATE`). Fails on the first refused file,
//! in one transaction (nothing is loaded then).

use super::PgError;
use operators::model::Table;
use postgres::Client;
use std::io::Write;
use std::path::Path;

/// The natural key of a table (its `UNIQUE` constraint in `ddl.sql`).
fn natural_key(table: Table) -> &'static str {
    match table {
        Table::Instruments => "tenant_id, instrument_id, valid_from",
        Table::Aliases => "tenant_id, alias, valid_from",
        Table::CommodityRules => "tenant_id, commodity, valid_from",
        Table::RegionRules => "tenant_id, region, valid_from",
        Table::CurveDefinitions => "tenant_id, curve_id, valid_from",
        Table::CurveMembers => "tenant_id, curve_id, tenor, valid_from",
        Table::ApiKeys => "key_sha256, valid_from",
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Loads every `<table>.csv` present in `dir` into the tables of the session's schema; returns
/// the number of rows per table loaded.
pub fn load_csv_dir(client: &mut Client, dir: &Path) -> Result<Vec<(Table, u64)>, PgError> {
    let mut tx = client.transaction().map_err(PgError::from_server)?;
    let mut counts = Vec::new();
    for table in Table::ALL {
        let path = dir.join(format!("{}.csv", table.name()));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let header: Vec<String> = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        if header.is_empty() {
            continue;
        }
        let t = table.name();
        let stage = format!("tickflow_stage_{t}");
        let stage_cols: Vec<String> = header
            .iter()
            .map(|c| format!("{} text", quote_ident(c)))
            .collect();
        tx.batch_execute(&format!(
            "CREATE TEMP TABLE {stage} ({}) ON COMMIT DROP",
            stage_cols.join(", ")
        ))
        .map_err(PgError::from_server)?;
        let mut writer = tx
            .copy_in(&format!(
                "COPY {stage} FROM STDIN WITH (FORMAT csv, HEADER true)"
            ))
            .map_err(PgError::from_server)?;
        writer
            .write_all(&bytes)
            .map_err(|e| PgError::Unavailable(format!("{}: {e}", path.display())))?;
        writer.finish().map_err(PgError::from_server)?;
        // The real column types, to cast each staged text column.
        let types: Vec<(String, String)> = tx
            .query(
                "SELECT column_name::text, udt_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
                &[&t],
            )
            .map_err(PgError::from_server)?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut cols = Vec::new();
        let mut exprs = Vec::new();
        for c in &header {
            let Some((_, udt)) = types.iter().find(|(name, _)| name == c) else {
                continue;
            };
            let cell = format!("NULLIF({}, '')", quote_ident(c));
            exprs.push(match udt.strip_prefix('_') {
                Some(elem) => format!("COALESCE(string_to_array({cell}, ';')::{elem}[], '{{}}')"),
                None => format!("{cell}::{udt}"),
            });
            cols.push(quote_ident(c));
        }
        let updates: Vec<String> = cols.iter().map(|c| format!("{c} = EXCLUDED.{c}")).collect();
        let n = tx
            .execute(
                &format!(
                    "INSERT INTO {t} ({}) SELECT {} FROM {stage} \
                     ON CONFLICT ({}) DO UPDATE SET {}",
                    cols.join(", "),
                    exprs.join(", "),
                    natural_key(table),
                    updates.join(", ")
                ),
                &[],
            )
            .map_err(|e| match PgError::from_server(e) {
                PgError::Server(m) => PgError::Server(format!("{}: {m}", path.display())),
                other => other,
            })?;
        counts.push((table, n));
    }
    tx.commit().map_err(PgError::from_server)?;
    Ok(counts)
}
