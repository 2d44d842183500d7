//! Parsing `<table>.csv` files into reference rows, collecting every problem.

use super::cells::Cells;
use super::{file_name, LoadErrors, RowError};
use ::csv::ReaderBuilder;
use operators::model::{ReferenceRow, RowKey, Table};
use std::collections::HashMap;
use std::path::Path;

/// The columns of a table besides `tenant_id`, `active`, `valid_from` and `updated_at`.
pub(super) fn columns(table: Table) -> &'static [&'static str] {
    match table {
        Table::Instruments => &[
            "instrument_id",
            "commodity",
            "region",
            "product_tier",
            "unit",
            "contract_size",
            "tick_size",
            "metadata",
        ],
        Table::Aliases => &["alias", "instrument_id"],
        Table::CommodityRules => &["commodity", "keywords", "priority"],
        Table::RegionRules => &["region", "keywords", "priority"],
        Table::CurveDefinitions => &["curve_id", "name", "commodity", "region", "interpolation"],
        Table::CurveMembers => &[
            "curve_id",
            "tenor",
            "instrument_id",
            "delivery_start",
            "delivery_end",
        ],
        Table::ApiKeys => &["key_sha256", "scopes"],
    }
}

pub(super) const COMMON: [&str; 4] = ["tenant_id", "active", "valid_from", "updated_at"];

/// Loads every `<table>.csv` of `dir` (a missing file is an empty table). Rows come in table
/// order, then file order. Any problem — an unreadable directory or file, an unknown `*.csv`
/// file, a bad row — makes the whole load an error listing all of them.
pub fn load_dir(dir: &Path) -> Result<Vec<ReferenceRow>, LoadErrors> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let whole = |file: &Path, message: String| RowError {
        file: file.display().to_string(),
        line: 0,
        message,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let message = format!("cannot read the reference directory: {e}");
            return Err(LoadErrors(vec![whole(dir, message)]));
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let table = name.strip_suffix(".csv").and_then(Table::from_name);
        if name.ends_with(".csv") && !name.starts_with('.') && table.is_none() {
            let expected: Vec<String> = Table::ALL.into_iter().map(file_name).collect();
            let message = format!("unknown reference table; expected {}", expected.join(", "));
            errors.push(whole(&dir.join(name), message));
        }
    }
    for table in Table::ALL {
        let path = dir.join(file_name(table));
        if !names.contains(&file_name(table)) {
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => parse_table(
                table,
                &path.display().to_string(),
                &bytes,
                &mut rows,
                &mut errors,
            ),
            Err(e) => errors.push(whole(&path, format!("cannot read: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        errors.sort();
        Err(LoadErrors(errors))
    }
}

/// Parses one table's CSV text (`file` names it in errors), appending good rows to `rows` and
/// one error per problem to `errors`. A row with any problem is not appended.
pub fn parse_table(
    table: Table,
    file: &str,
    bytes: &[u8],
    rows: &mut Vec<ReferenceRow>,
    errors: &mut Vec<RowError>,
) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let err = |line: u64, message: String| RowError {
        file: file.to_string(),
        line,
        message,
    };
    let header = match records.next() {
        None => return,
        Some(Err(e)) => return errors.push(err(1, format!("unreadable header: {e}"))),
        Some(Ok(h)) => h,
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
        if index.insert(name.clone(), i).is_some() {
            errors.push(err(1, format!("column `{name}` appears twice")));
        }
    }
    let missing: Vec<&str> = COMMON
        .iter()
        .chain(columns(table))
        .copied()
        .filter(|c| !index.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        let message = format!("missing column(s): {}", missing.join(", "));
        return errors.push(err(1, message));
    }
    let mut seen: HashMap<RowKey, u64> = HashMap::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(err(line, format!("unreadable record: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != header.len() {
            let message = format!("expected {} fields, found {}", header.len(), record.len());
            errors.push(err(line, message));
            continue;
        }
        let mut cells = Cells {
            record: &record,
            index: &index,
            problems: Vec::new(),
        };
        let row = cells.row(table);
        if !cells.problems.is_empty() {
            errors.extend(cells.problems.into_iter().map(|m| err(line, m)));
            continue;
        }
        if let Some(first) = seen.insert(row.key(), line) {
            let message = format!("duplicate of line {first} (same key and valid_from)");
            errors.push(err(line, message));
            continue;
        }
        rows.push(row);
    }
}
