//! Reference data from a directory of CSV tables (SPEC §5), and the changes between two loads.
//!
//! [`load_dir`] reads `<table>.csv` for every table of [`Table`] (a missing file is an empty
//! table) into [`ReferenceRow`]s. Headers are the DDL column names (trimmed, case-insensitive,
//! in any order; extra columns are ignored); `keywords` and `scopes` are `;`-separated,
//! `metadata` a JSON object, booleans `true`/`false`, times RFC 3339. Every problem is reported,
//! not just the first: one [`RowError`] (`file:line: message`) per bad cell, short row,
//! duplicate key or unknown `*.csv` file, and a load with any error yields no rows at all, so a
//! half-edited directory never replaces a good snapshot.
//!
//! [`diff`] turns two loads into [`Change`]s — inserted, updated and deactivated rows — whose
//! [`Change::updates`] are the differential updates of the live reference collection
//! (`+1` new, `−1` old); the periodic re-scan every `refresh_interval_ms` sends exactly these.
//! [`ReferenceSource`] is the live interface: a snapshot, then polled changes;
//! [`CsvDirSource`] re-reads the directory when files changed, keeping the last good rows
//! when a re-scan fails; [`PostgresSource`] reads the same tables from PostgreSQL (validated by
//! the same code, so it yields the same rows) and polls the rows changed since its last read.

mod cells;
mod csv;
mod diff;
mod pg_rows;
mod postgres;
mod source;
#[cfg(test)]
mod tests;

pub use self::csv::{load_dir, parse_table};
pub use diff::{diff, Change};
pub use postgres::{PgBaseline, PostgresSource};
pub use source::{CsvDirSource, ReferenceSource};

use operators::model::{ReferenceRow, Table};
use std::fmt;

/// One problem found while loading reference data.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowError {
    /// The file as given (directory joined with `<table>.csv`).
    pub file: String,
    /// 1-based line of the record (1 = the header); 0 when the whole file is concerned.
    pub line: u64,
    /// What is wrong, naming the column.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// Every problem of one load, in file and line order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<RowError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problem(s) in reference data", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// The CSV file name of a table (`taxonomy_instruments.csv`).
pub fn file_name(table: Table) -> String {
    format!("{}.csv", table.name())
}

/// Live rows per table of a load (for logs and the `tickflow_reference_rows` gauge).
pub fn count_active(rows: &[ReferenceRow]) -> Vec<(Table, usize)> {
    Table::ALL
        .into_iter()
        .map(|t| {
            let n = rows.iter().filter(|r| r.table() == t && r.active()).count();
            (t, n)
        })
        .collect()
}
