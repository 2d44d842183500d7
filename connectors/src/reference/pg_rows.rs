//! Reading reference rows from PostgreSQL: the `SELECT` of each table and the conversion of its
//! result into [`ReferenceRow`]s.
//!
//! Every column is selected as the text a CSV file would hold (times RFC 3339 UTC with
//! milliseconds, arrays `;`-joined, JSON as text, NULL as an empty cell), so a database row is
//! validated by exactly the code that validates a CSV record ([`Cells`]), and a table loaded
//! into PostgreSQL from `<table>.csv` yields the same rows as the CSV file. A row that fails
//! validation becomes a [`RowError`] naming `postgres:<table>` and the row's `id`.

use super::cells::Cells;
use super::csv::{columns, COMMON};
use super::RowError;
use ::csv::ByteRecord;
use operators::model::{ReferenceRow, Table};
use std::collections::HashMap;

/// The columns of `table` in selection order (after `id`).
pub(super) fn column_names(table: Table) -> Vec<&'static str> {
    COMMON.iter().chain(columns(table)).copied().collect()
}

fn cell_sql(column: &str) -> String {
    let text = match column {
        "valid_from" | "updated_at" | "delivery_start" | "delivery_end" => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
        }
        "keywords" | "scopes" => format!("array_to_string({column}, ';')"),
        _ => format!("{column}::text"),
    };
    format!("COALESCE({text}, '')")
}

/// `SELECT id, <cells…> FROM <table>`, with `WHERE changed_txid >= $1::text::xid8` when
/// `since` (the parameter is the cursor as decimal text).
pub(super) fn select_sql(table: Table, since: bool) -> String {
    let cells: Vec<String> = column_names(table).into_iter().map(cell_sql).collect();
    let filter = if since {
        " WHERE changed_txid >= $1::text::xid8"
    } else {
        ""
    };
    format!(
        "SELECT id, {} FROM {}{filter} ORDER BY id",
        cells.join(", "),
        table.name()
    )
}

/// Converts one selected row (`id`, then the text cells of [`column_names`]) into a reference
/// row, or the problems of its cells.
pub(super) fn convert(
    table: Table,
    id: i64,
    cells: &[String],
) -> Result<ReferenceRow, Vec<RowError>> {
    let names = column_names(table);
    let index: HashMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), i))
        .collect();
    let record = ByteRecord::from(cells.to_vec());
    let mut c = Cells {
        record: &record,
        index: &index,
        problems: Vec::new(),
    };
    let row = c.row(table);
    if c.problems.is_empty() {
        return Ok(row);
    }
    Err(c
        .problems
        .into_iter()
        .map(|message| RowError {
            file: format!("postgres:{}", table.name()),
            line: u64::try_from(id).unwrap_or(0),
            message: format!("id {id}: {message}"),
        })
        .collect())
}

/// Reads `table` (every row, or those changed at or after `since`) inside `tx`; good rows are
/// appended to `rows` with their `id`, problems to `errors`.
pub(super) fn read_table(
    tx: &mut postgres::Transaction<'_>,
    table: Table,
    since: Option<u64>,
    rows: &mut Vec<(Table, i64, ReferenceRow)>,
    errors: &mut Vec<RowError>,
) -> Result<(), postgres::Error> {
    let result = match since {
        Some(cursor) => tx.query(&select_sql(table, true), &[&cursor.to_string()])?,
        None => tx.query(&select_sql(table, false), &[])?,
    };
    let width = column_names(table).len();
    for r in result {
        let id: i64 = r.try_get(0)?;
        let mut cells = Vec::with_capacity(width);
        for i in 1..=width {
            cells.push(r.try_get::<_, String>(i)?);
        }
        match convert(table, id, &cells) {
            Ok(row) => rows.push((table, id, row)),
            Err(problems) => errors.extend(problems),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_lists_every_column_as_text() {
        let sql = select_sql(Table::CommodityRules, true);
        assert!(sql.starts_with("SELECT id, COALESCE(tenant_id::text, '')"));
        assert!(sql.contains("COALESCE(array_to_string(keywords, ';'), '')"));
        assert!(sql.ends_with(
            "FROM taxonomy_commodity_rules WHERE changed_txid >= $1::text::xid8 ORDER BY id"
        ));
    }

    #[test]
    fn bad_cells_name_table_and_id() {
        let cells: Vec<String> = [
            "t",
            "maybe",
            "2024-01-01T00:00:00.000Z",
            "2024-01-01T00:00:00.000Z",
            "gas",
            "NG",
            "1",
        ]
        .map(String::from)
        .to_vec();
        let errors = convert(Table::CommodityRules, 7, &cells).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "postgres:taxonomy_commodity_rules:7: id 7: active: `maybe` is not true or false"
        );
    }
}
