//! Inserts, updates, deactivations, deletions and truncations reach the source as exact ±1
//! updates, including a transaction that commits after a later one was already read.

use crate::support::TestSchema;
use connectors::postgres::connect;
use connectors::reference::{PostgresSource, ReferenceSource};
use operators::model::reference::{InstrumentAlias, TaxonomyInstrument};
use operators::model::{ReferenceRow, Sym};
use std::collections::BTreeMap;
use std::time::Duration;

const JAN1: i64 = 1_704_067_200_000;
const DAY: i64 = 86_400_000;

fn instrument(
    id: &str,
    commodity: &str,
    active: bool,
    valid_from: i64,
    updated: i64,
) -> ReferenceRow {
    ReferenceRow::Instrument(TaxonomyInstrument {
        tenant_id: Sym::from("t"),
        instrument_id: Sym::from(id),
        commodity: Sym::from(commodity),
        region: None,
        product_tier: None,
        unit: None,
        contract_size: None,
        tick_size: None,
        metadata: "{}".into(),
        active,
        valid_from_ms: valid_from,
        updated_at_ms: updated,
    })
}

fn alias(alias: &str, target: &str, updated: i64) -> ReferenceRow {
    ReferenceRow::Alias(InstrumentAlias {
        tenant_id: Sym::from("t"),
        alias: Sym::from(alias),
        instrument_id: Sym::from(target),
        active: true,
        valid_from_ms: JAN1,
        updated_at_ms: updated,
    })
}

fn sorted(mut v: Vec<(ReferenceRow, i64)>) -> Vec<(ReferenceRow, i64)> {
    v.sort();
    v
}

/// The active rows after applying `updates` to `snapshot`; every count must stay 0 or 1.
fn apply(collection: &mut BTreeMap<ReferenceRow, i64>, updates: &[(ReferenceRow, i64)]) {
    for (row, d) in updates {
        let n = collection.entry(row.clone()).or_default();
        *n += d;
        assert!((0..=1).contains(n), "{row:?} has multiplicity {n}");
        if *n == 0 {
            collection.remove(row);
        }
    }
}

#[test]
fn every_kind_of_change_gives_exact_updates() {
    let mut s = TestSchema::new("changes");
    let c = &mut s.client;
    c.batch_execute(
        "INSERT INTO taxonomy_instruments (tenant_id, instrument_id, commodity, valid_from, updated_at) VALUES
           ('t', 'I1', 'power', '2024-01-01Z', '2024-01-01Z'),
           ('t', 'I2', 'power', '2024-01-01Z', '2024-01-01Z');
         INSERT INTO instrument_aliases (tenant_id, alias, instrument_id, valid_from, updated_at) VALUES
           ('t', 'A1', 'I1', '2024-01-01Z', '2024-01-01Z');",
    )
    .expect("seed");
    let mut source = PostgresSource::new(s.dsn.clone(), Duration::from_millis(1));
    let snapshot = source.snapshot().expect("snapshot");
    let mut collection: BTreeMap<ReferenceRow, i64> = snapshot
        .iter()
        .filter(|r| r.active())
        .map(|r| (r.clone(), 1))
        .collect();
    assert_eq!(collection.len(), 3);
    let mut step = |c: &mut postgres::Client, sql: &str, want: Vec<(ReferenceRow, i64)>| {
        c.batch_execute(sql).expect(sql);
        let got = sorted(source.poll_now());
        assert_eq!(got, sorted(want), "after {sql}");
        assert!(source.last_error().is_none(), "{:?}", source.last_error());
        apply(&mut collection, &got);
    };
    let d2 = JAN1 + DAY;
    step(
        c,
        "INSERT INTO taxonomy_instruments (tenant_id, instrument_id, commodity, valid_from, updated_at)
         VALUES ('t', 'I3', 'gas', '2024-01-01Z', '2024-01-02Z')",
        vec![(instrument("I3", "gas", true, JAN1, d2), 1)],
    );
    step(
        c,
        "UPDATE taxonomy_instruments SET commodity = 'natural_gas', updated_at = '2024-01-02Z' WHERE instrument_id = 'I1'",
        vec![
            (instrument("I1", "power", true, JAN1, JAN1), -1),
            (instrument("I1", "natural_gas", true, JAN1, d2), 1),
        ],
    );
    step(
        c,
        "UPDATE taxonomy_instruments SET active = false, updated_at = '2024-01-02Z' WHERE instrument_id = 'I2'",
        vec![(instrument("I2", "power", true, JAN1, JAN1), -1)],
    );
    step(
        c,
        "UPDATE taxonomy_instruments SET active = true, updated_at = '2024-01-03Z' WHERE instrument_id = 'I2'",
        vec![(instrument("I2", "power", true, JAN1, d2 + DAY), 1)],
    );
    // Inactive versions never enter the collection: writing them sends nothing.
    step(
        c,
        "INSERT INTO taxonomy_instruments (tenant_id, instrument_id, commodity, active)
         VALUES ('t', 'I9', 'power', false)",
        vec![],
    );
    step(
        c,
        "UPDATE taxonomy_instruments SET commodity = 'gas' WHERE instrument_id = 'I9'",
        vec![],
    );
    step(
        c,
        "DELETE FROM instrument_aliases WHERE alias = 'A1'",
        vec![(alias("A1", "I1", JAN1), -1)],
    );
    // A new valid_from is a new version: the old one is retracted.
    step(
        c,
        "UPDATE taxonomy_instruments SET valid_from = '2024-06-01Z', updated_at = '2024-01-03Z' WHERE instrument_id = 'I3'",
        vec![
            (instrument("I3", "gas", true, JAN1, d2), -1),
            (instrument("I3", "gas", true, 1_717_200_000_000, d2 + DAY), 1),
        ],
    );
    step(
        c,
        "INSERT INTO instrument_aliases (tenant_id, alias, instrument_id, valid_from, updated_at)
         VALUES ('t', 'A2', 'I2', '2024-01-01Z', '2024-01-02Z')",
        vec![(alias("A2", "I2", d2), 1)],
    );
    step(
        c,
        "TRUNCATE instrument_aliases",
        vec![(alias("A2", "I2", d2), -1)],
    );
    // Several changes between two polls: only the net effect.
    step(
        c,
        "INSERT INTO instrument_aliases (tenant_id, alias, instrument_id, valid_from, updated_at)
           VALUES ('t', 'A3', 'I1', '2024-01-01Z', '2024-01-02Z');
         UPDATE instrument_aliases SET instrument_id = 'I2', updated_at = '2024-01-03Z' WHERE alias = 'A3';
         INSERT INTO instrument_aliases (tenant_id, alias, instrument_id, valid_from, updated_at)
           VALUES ('t', 'A4', 'I1', '2024-01-01Z', '2024-01-02Z');
         DELETE FROM instrument_aliases WHERE alias = 'A4';",
        vec![(alias("A3", "I2", d2 + DAY), 1)],
    );

    // The collection built from the updates equals a fresh snapshot (independent read).
    let mut fresh = PostgresSource::new(s.dsn.clone(), Duration::from_millis(1));
    let now: BTreeMap<ReferenceRow, i64> = fresh
        .snapshot()
        .expect("fresh snapshot")
        .into_iter()
        .filter(|r| r.active())
        .map(|r| (r, 1))
        .collect();
    assert_eq!(collection, now);
}

#[test]
fn a_transaction_committing_late_is_not_missed() {
    let mut s = TestSchema::new("late");
    let mut source = PostgresSource::new(s.dsn.clone(), Duration::from_millis(1));
    assert!(source.snapshot().expect("snapshot").is_empty());
    // Transaction A writes first (earlier txid and updated_at) but commits last.
    let mut other = connect(&s.dsn).expect("second connection");
    let mut late = other.transaction().expect("begin");
    late.batch_execute(
        "INSERT INTO taxonomy_instruments (tenant_id, instrument_id, commodity, valid_from, updated_at)
         VALUES ('t', 'LATE', 'power', '2024-01-01Z', '2024-01-01Z')",
    )
    .expect("insert late");
    s.client
        .batch_execute(
            "INSERT INTO taxonomy_instruments (tenant_id, instrument_id, commodity, valid_from, updated_at)
             VALUES ('t', 'EARLY', 'power', '2024-01-01Z', '2024-01-02Z')",
        )
        .expect("insert early");
    assert_eq!(
        source.poll_now(),
        vec![(instrument("EARLY", "power", true, JAN1, JAN1 + DAY), 1)]
    );
    late.commit().expect("commit late");
    assert_eq!(
        source.poll_now(),
        vec![(instrument("LATE", "power", true, JAN1, JAN1), 1)]
    );
    assert!(source.poll_now().is_empty());
}

#[test]
fn a_bad_change_is_held_back_until_fixed() {
    let mut s = TestSchema::new("badchange");
    s.client
        .batch_execute(
            "INSERT INTO taxonomy_instruments (tenant_id, instrument_id, commodity, valid_from, updated_at)
             VALUES ('t', 'I1', 'power', '2024-01-01Z', '2024-01-01Z')",
        )
        .expect("seed");
    let mut source = PostgresSource::new(s.dsn.clone(), Duration::from_millis(1));
    source.snapshot().expect("snapshot");
    s.client
        .batch_execute(
            "UPDATE taxonomy_instruments SET commodity = '', updated_at = '2024-01-02Z';
             INSERT INTO instrument_aliases (tenant_id, alias, instrument_id, valid_from, updated_at)
             VALUES ('t', 'A1', 'I1', '2024-01-01Z', '2024-01-01Z')",
        )
        .expect("bad update");
    assert!(
        source.poll_now().is_empty(),
        "a poll with a bad row changes nothing"
    );
    let e = source.last_error().expect("error recorded").to_string();
    assert!(e.contains("commodity: required"), "{e}");
    s.client
        .batch_execute(
            "UPDATE taxonomy_instruments SET commodity = 'gas', updated_at = '2024-01-03Z'",
        )
        .expect("fix");
    assert_eq!(
        sorted(source.poll_now()),
        sorted(vec![
            (instrument("I1", "power", true, JAN1, JAN1), -1),
            (instrument("I1", "gas", true, JAN1, JAN1 + 2 * DAY), 1),
            (alias("A1", "I1", JAN1), 1),
        ])
    );
    assert!(source.last_error().is_none());
}
