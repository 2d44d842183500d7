//! The PostgreSQL source's snapshot of the bundled tables equals the CSV source's.

use crate::support::{reference_dir, TestSchema};
use connectors::postgres::load_csv_dir;
use connectors::reference::{load_dir, PostgresSource, ReferenceSource};
use operators::model::Table;
use std::time::Duration;

#[test]
fn snapshot_of_the_bundled_tables_equals_the_csv_source() {
    let mut s = TestSchema::new("snapshot");
    let counts = load_csv_dir(&mut s.client, &reference_dir()).expect("load CSV into PostgreSQL");
    let mut expected = load_dir(&reference_dir()).expect("CSV tables");
    expected.sort();
    for t in Table::ALL {
        let n = expected.iter().filter(|r| r.table() == t).count() as u64;
        assert!(n > 0, "the bundled set has no {} rows", t.name());
        assert!(
            counts.contains(&(t, n)),
            "{counts:?}: {} expected {n}",
            t.name()
        );
    }
    let mut source = PostgresSource::new(s.dsn.clone(), Duration::from_millis(1));
    let mut rows = source.snapshot().expect("snapshot");
    rows.sort();
    assert_eq!(rows.len(), expected.len());
    for (got, want) in rows.iter().zip(&expected) {
        assert_eq!(got, want);
    }
    assert!(source.last_error().is_none());
    assert!(source.poll_now().is_empty(), "no change since the snapshot");
}

#[test]
fn a_bad_row_fails_the_snapshot_with_its_table_and_id() {
    let mut s = TestSchema::new("badrow");
    s.client
        .batch_execute(
            "INSERT INTO taxonomy_commodity_rules (id, tenant_id, commodity, keywords, priority)
             VALUES (41, 't', 'gas', '{NG}', 1), (42, 't', 'oil', '{CRUDE-OIL}', 1)",
        )
        .expect("insert");
    let mut source = PostgresSource::new(s.dsn.clone(), Duration::from_millis(1));
    let e = source
        .snapshot()
        .expect_err("a keyword that can never be a token");
    let text = e.to_string();
    assert!(
        text.contains("postgres:taxonomy_commodity_rules:42: id 42: keywords: `CRUDE-OIL`"),
        "{text}"
    );
    assert_eq!(source.last_error(), Some(&e));
}

#[test]
fn connection_errors_never_show_the_password() {
    let dsn = connectors::postgres::PgDsn::new(
        "postgres://postgres:Sup3rS3cret@127.0.0.1:1/tickflow?connect_timeout=2",
    );
    let mut source = PostgresSource::new(dsn.clone(), Duration::from_millis(1));
    let e = source.snapshot().expect_err("nothing listens on port 1");
    let shown = format!("{e} {e:?} {source:?}");
    assert!(!shown.contains("Sup3rS3cret"), "{shown}");
    assert!(shown.contains("unavailable"), "{shown}");
}
