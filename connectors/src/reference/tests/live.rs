//! Live-source tests: real files in a temporary directory, re-scanned by [`CsvDirSource`].

use crate::reference::{load_dir, parse_table, CsvDirSource, ReferenceSource};
use operators::model::{ReferenceRow, Table};
use std::path::Path;
use std::time::Duration;

const INSTRUMENTS: &str = "tenant_id,instrument_id,commodity,region,product_tier,unit,contract_size,tick_size,metadata,active,valid_from,updated_at\n";
const ALIASES: &str = "tenant_id,alias,instrument_id,active,valid_from,updated_at\n";

const A: &str = "default,PJM.DA.A,electricity,northeast,standard,$/MWh,1,0.01,{},true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n";
const A_MIDWEST: &str = "default,PJM.DA.A,electricity,midwest,standard,$/MWh,1,0.01,{},true,2024-01-01T00:00:00Z,2024-06-01T00:00:00Z\n";
const B: &str = "default,PJM.DA.B,electricity,northeast,standard,$/MWh,1,0.01,{},true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n";
const B_2025: &str = "default,PJM.DA.B,electricity,northeast,premium,$/MWh,1,0.005,{},true,2025-01-01T00:00:00Z,2024-06-01T00:00:00Z\n";
const C: &str = "default,PJM.DA.C,electricity,northeast,standard,$/MWh,1,0.01,{},true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n";
const C_OFF: &str = "default,PJM.DA.C,electricity,northeast,standard,$/MWh,1,0.01,{},false,2024-01-01T00:00:00Z,2024-06-01T00:00:00Z\n";
const ALIAS_A: &str = "default,A1,PJM.DA.A,true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n";
const ALIAS_B: &str = "default,B1,PJM.DA.B,true,2024-01-01T00:00:00Z,2024-06-01T00:00:00Z\n";

fn write(dir: &Path, name: &str, header: &str, rows: &[&str]) {
    let text = format!("{header}{}", rows.concat());
    std::fs::write(dir.join(name), text).expect("write test file");
}

/// The single row of `line` in `table`.
fn row(table: Table, header: &str, line: &str) -> ReferenceRow {
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    let text = format!("{header}{line}");
    parse_table(table, "t.csv", text.as_bytes(), &mut rows, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    rows.pop().unwrap_or_else(|| panic!("no row in {line}"))
}

fn instrument(line: &str) -> ReferenceRow {
    row(Table::Instruments, INSTRUMENTS, line)
}

fn alias(line: &str) -> ReferenceRow {
    row(Table::Aliases, ALIASES, line)
}

fn initial(dir: &Path) {
    write(dir, "taxonomy_instruments.csv", INSTRUMENTS, &[A, B, C]);
    write(dir, "instrument_aliases.csv", ALIASES, &[ALIAS_A]);
}

#[test]
fn rescan_returns_exactly_the_differential_changes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    initial(d);
    let mut source = CsvDirSource::new(d, Duration::ZERO);
    let rows = source.snapshot().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 4);
    assert!(source.poll_changes().is_empty(), "nothing changed yet");
    // An updated region, a new version from 2025, a deactivation, a new alias.
    write(
        d,
        "taxonomy_instruments.csv",
        INSTRUMENTS,
        &[A_MIDWEST, B, B_2025, C_OFF],
    );
    write(d, "instrument_aliases.csv", ALIASES, &[ALIAS_A, ALIAS_B]);
    let changes = source.poll_changes();
    assert_eq!(
        changes,
        [
            (instrument(A), -1),
            (instrument(A_MIDWEST), 1),
            (instrument(B_2025), 1),
            (instrument(C), -1),
            (alias(ALIAS_B), 1),
        ]
    );
    assert!(
        source.poll_changes().is_empty(),
        "changes are reported once"
    );
    assert_eq!(source.last_error(), None);
    // Removing a file retracts all its live rows.
    std::fs::remove_file(d.join("instrument_aliases.csv")).expect("remove");
    let mut gone = source.poll_changes();
    gone.sort();
    assert_eq!(gone, [(alias(ALIAS_A), -1), (alias(ALIAS_B), -1)]);
}

#[test]
fn a_bad_file_on_rescan_keeps_the_old_rows_and_records_the_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    initial(d);
    let mut source = CsvDirSource::new(d, Duration::ZERO);
    let before = source.snapshot().unwrap_or_else(|e| panic!("{e}"));
    // A half-written instruments file and a bad alias row: no change, the error is kept.
    std::fs::write(
        d.join("taxonomy_instruments.csv"),
        format!("{INSTRUMENTS}default,PJM.DA.A,electricity"),
    )
    .expect("write");
    write(
        d,
        "instrument_aliases.csv",
        ALIASES,
        &[ALIAS_A, "default,B1,,maybe,x,y\n"],
    );
    assert!(source.poll_changes().is_empty());
    assert_eq!(source.rows(), before.as_slice());
    let error = source
        .last_error()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(error.contains("expected 12 fields, found 3"), "{error}");
    assert!(
        error.contains("active: `maybe` is not true or false"),
        "{error}"
    );
    // Still broken on the next scan: still no change, still the error.
    assert!(source.poll_changes().is_empty());
    assert!(source.last_error().is_some());
    // Fixed: the changes are relative to the last good rows, and the error clears.
    write(d, "taxonomy_instruments.csv", INSTRUMENTS, &[A, B, C_OFF]);
    write(d, "instrument_aliases.csv", ALIASES, &[ALIAS_A]);
    assert_eq!(source.poll_changes(), [(instrument(C), -1)]);
    assert_eq!(source.last_error(), None);
    assert_eq!(source.rows(), load_dir(d).unwrap_or_default().as_slice());
}

#[test]
fn polls_wait_for_the_refresh_interval_and_resume_diffs_from_a_given_snapshot() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    initial(d);
    let rows = load_dir(d).unwrap_or_else(|e| panic!("{e}"));
    write(d, "instrument_aliases.csv", ALIASES, &[ALIAS_A, ALIAS_B]);
    let mut slow = CsvDirSource::resume(d, rows.clone(), Duration::from_secs(3600));
    assert!(slow.poll_changes().is_empty(), "not yet time to look");
    assert_eq!(slow.rescan(), [(alias(ALIAS_B), 1)]);
    let mut fast = CsvDirSource::resume(d, rows, Duration::ZERO);
    assert_eq!(fast.poll_changes(), [(alias(ALIAS_B), 1)]);
    // A missing directory is an error, not a panic, and keeps the rows.
    let mut missing = CsvDirSource::new(d.join("nope"), Duration::ZERO);
    assert!(missing.snapshot().is_err());
    assert!(missing.poll_changes().is_empty());
    assert!(missing.last_error().is_some());
}
